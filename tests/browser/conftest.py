"""
Browser tests: a real server (Daphne, as in production) and Debian's Chromium driven by Playwright.

The server runs as a subprocess on a free port with its own database (SQLite, or
PostgreSQL when the suite runs on it) and the suite's channel layer (Redis under REDIS_URL);
sessions are created with ``manage.py create_session`` against that database.
Every page gets its own browser context, so each one is a separate person
(own storage, own fake camera and microphone).
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, sync_playwright

from .call_page import Call
from .rest import AppServer

PROJECT_ROOT = Path(__file__).resolve().parents[2]
BIN_DIR = Path(sys.executable).parent
CHROMIUM = "/usr/bin/chromium"
SERVER_START_TIMEOUT_S = 60
PAGE_TIMEOUT_MS = 20_000
SCREENSHOT_DIR = PROJECT_ROOT / "test-artifacts" / "screenshots"

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--allow-loopback-in-peer-connection",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
    "--autoplay-policy=no-user-gesture-required",
]
# Every page reports Content-Security-Policy violations on its console (Chromium's own messages say
# "Content Security Policy" too): a policy that silently broke the call UI would be worse than none.
CSP_VIOLATION = "Content Security Policy"
CSP_REPORTER = (
    'document.addEventListener("securitypolicyviolation", (event) => console.error('
    f'`{CSP_VIOLATION} violation: ${{event.violatedDirective}} blocked ${{event.blockedURI || "inline code"}}`));'
)
# What a visitor who has not granted camera or microphone access gets: autoplay with sound is blocked.
AUTOPLAY_ANYTHING = "--autoplay-policy=no-user-gesture-required"
NO_PERMISSION_ARGS = [arg for arg in CHROMIUM_ARGS if arg not in {"--use-fake-ui-for-media-stream", AUTOPLAY_ANYTHING}]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen[bytes], log_path: Path, host: str = "127.0.0.1") -> None:
    """Return once the server accepts connections; fail with its log if it dies or never does."""
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"The server exited with {process.returncode}:\n{log_path.read_text()}")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    pytest.fail(f"The server did not listen on port {port} within {SERVER_START_TIMEOUT_S} s:\n{log_path.read_text()}")


@pytest.fixture(scope="session")
def server_database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """
    The test server's own database: a new SQLite file, or, when the suite runs on PostgreSQL
    (``DATABASE_URL``), a new database on that server, dropped at the end.
    """
    url = os.environ.get("DATABASE_URL", "")
    if urlsplit(url).scheme not in {"postgres", "postgresql"}:
        yield f"sqlite:///{tmp_path_factory.mktemp('browser-db') / 'calls.sqlite3'}"
        return
    import psycopg

    name = f"calls_browser_{secrets.token_hex(4)}"
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(urlsplit(url)._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def recordings_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the test server records calls (its CALLS_RECORDINGS_DIR)."""
    return tmp_path_factory.mktemp("recordings")


@pytest.fixture(scope="session")
def server_env(server_database_url: str, recordings_dir: Path) -> dict[str, str]:
    """The environment of the test server and of the management commands run against its database."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "calls_project.settings",
        "DJANGO_DEBUG": "1",
        "CALLS_MEDIA_IPS": "127.0.0.1",
        "DATABASE_URL": server_database_url,
        "PYTHONUNBUFFERED": "1",
        # Every page of the suite asks for tokens and logins from 127.0.0.1: production's limits would trip.
        "CALLS_TOKEN_RATE": "10000/m",
        "CALLS_WS_CONNECT_RATE": "100000/m",
        "CALLS_CREATE_RATE": "10000/m",
        "CALLS_LOGIN_RATE": "10000/m",
        "CALLS_RECORDINGS_DIR": str(recordings_dir),
    }
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=PROJECT_ROOT, env=env, check=True)
    return env


def stop_process(process: subprocess.Popen[bytes] | None, *, kill: bool = False) -> None:
    """Stop a server process: politely, or (``kill``) as a crash would; kill it if it lingers."""
    if process is None:
        return
    if kill:
        process.kill()
    else:
        process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class DaphneServer:
    """A Daphne process serving the whole app (pages, static files, websockets), as ``make run`` does."""

    def __init__(self, port: int, env: dict[str, str], log_path: Path, extra_addresses: Sequence[str] = ()) -> None:
        """
        Serve on 127.0.0.1:``port``, and on the same port of every one of ``extra_addresses`` (for a
        browser that cannot reach the host's loopback, such as one in a network namespace).
        """
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.env = env
        self.log_path = log_path
        self.extra_addresses = tuple(extra_addresses)
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        endpoints = [
            arg for address in self.extra_addresses for arg in ("-e", f"tcp:port={self.port}:interface={address}")
        ]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    str(BIN_DIR / "daphne"),
                    "-b",
                    "127.0.0.1",
                    "-p",
                    str(self.port),
                    *endpoints,
                    "calls_project.asgi:application",
                ],
                cwd=PROJECT_ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        for host in ("127.0.0.1", *self.extra_addresses):
            wait_for_port(self.port, self.process, self.log_path, host)

    def stop(self, *, kill: bool = False) -> None:
        """Stop the server: politely, or (``kill``) as a crash would, with no chance to say goodbye."""
        process, self.process = self.process, None
        stop_process(process, kill=kill)


@pytest.fixture(scope="session")
def live_server_url(server_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Daphne server for the whole test session, on a free port."""
    server = DaphneServer(free_port(), server_env, tmp_path_factory.mktemp("browser-server") / "daphne.log")
    server_env["CALLS_PUBLIC_URL"] = server.url
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def manage(live_server_url: str, server_env: dict[str, str]) -> Callable[..., str]:
    """Run a management command against the test server's database; return its output."""

    def run(*args: str) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=PROJECT_ROOT, env=server_env, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    return run


@pytest.fixture
def app_server(live_server_url: str, manage: Callable[..., str]) -> AppServer:
    """A new app (``manage.py create_app``) and its server's use of the REST API."""
    keys = json.loads(manage("create_app", "--name", "Browser test app").strip().splitlines()[-1])
    return AppServer(live_server_url, keys["appId"], keys["apiKey"], keys["authKey"])


def session_links(manage: Callable[..., str], base_url: str, *args: str) -> tuple[str, str]:
    """Create a session with ``manage.py create_session`` and ``args``; return its share URL and its host link."""
    lines = manage("create_session", *args).strip().splitlines()
    host_url = next(line.rsplit(" ", 1)[-1] for line in lines if line.startswith("Host link"))
    assert lines[-1].startswith(f"{base_url}/s/") and host_url.startswith(base_url), lines
    return lines[-1], host_url


@pytest.fixture
def create_session(live_server_url: str, manage: Callable[..., str]) -> Callable[..., str]:
    """Create a session with ``manage.py create_session``; return its share URL (the command's last line)."""

    def create(title: str = "", session_type: str = "VIDEO") -> str:
        args = ["--type", session_type, *(["--title", title] if title else [])]
        return session_links(manage, live_server_url, *args)[0]

    return create


@pytest.fixture
def new_call(live_server_url: str, manage: Callable[..., str], open_page: Callable[..., Page]) -> Callable[..., Call]:
    """
    Create a session with ``manage.py create_session`` (its title, type, default ``settings``, the names
    of the ``locked`` ones and its app); return it as a Call that people join, each on a page of their own.
    """

    def create(
        title: str = "",
        session_type: str = "VIDEO",
        settings: Mapping[str, str] | None = None,
        locked: Sequence[str] = (),
        app_id: str = "",
    ) -> Call:
        args = ["--type", session_type, *(["--title", title] if title else []), *(["--app", app_id] if app_id else [])]
        args += [arg for name, value in (settings or {}).items() for arg in ("--setting", f"{name}={value}")]
        args += [arg for name in locked for arg in ("--lock", name)]
        return Call(open_page, *session_links(manage, live_server_url, *args))

    return create


# Module scope, not session: Playwright's sync API keeps an event loop running in this thread
# while it is open, which would break every pytest-asyncio test collected after the browser tests.
@pytest.fixture(scope="module")
def playwright_instance() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (scripts/test.sh does).")
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="module")
def browser(playwright_instance: object) -> Iterator[Browser]:
    """Headless Chromium with a fake camera and microphone that autoplays sound."""
    browser = playwright_instance.chromium.launch(  # type: ignore[attr-defined]
        executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
    )
    yield browser
    browser.close()


@pytest.fixture(scope="module")
def browser_without_permissions(playwright_instance: object) -> Iterator[Browser]:
    """Chromium where camera and microphone are refused and Chromium's own autoplay policy applies."""
    browser = playwright_instance.chromium.launch(  # type: ignore[attr-defined]
        executable_path=CHROMIUM,
        headless=True,
        args=NO_PERMISSION_ARGS,
        ignore_default_args=[AUTOPLAY_ANYTHING],
    )
    yield browser
    browser.close()


@pytest.fixture
def open_page(browser: Browser) -> Iterator[Callable[..., Page]]:
    """
    Open ``url`` as a new person (own context). Console output is printed (pytest shows it for
    failing tests) and, when ``console`` is a list, collected into it from the first line on.
    ``init_script`` runs in every document of the context before the page's own scripts.
    The test fails if any page reported a Content-Security-Policy violation.
    """
    contexts: list[BrowserContext] = []
    violations: list[str] = []

    def open_(
        url: str,
        width: int = 1280,
        height: int = 800,
        on: Browser | None = None,
        console: list[str] | None = None,
        init_script: str | None = None,
    ) -> Page:
        context = (on or browser).new_context(viewport={"width": width, "height": height})
        contexts.append(context)
        context.add_init_script(CSP_REPORTER)
        if init_script:
            context.add_init_script(init_script)
        page = context.new_page()
        page.set_default_timeout(PAGE_TIMEOUT_MS)
        label = f"page {len(contexts)}"

        def on_console(message: ConsoleMessage) -> None:
            print(f"[{label}] console.{message.type}: {message.text}")
            if console is not None:
                console.append(message.text)
            if CSP_VIOLATION in message.text:
                violations.append(f"[{label}] {message.text}")

        page.on("console", on_console)
        page.on("pageerror", lambda error: print(f"[{label}] page error: {error}"))
        page.goto(url)
        return page

    yield open_
    for context in contexts:
        context.close()
    assert not violations, "Content-Security-Policy violations:\n" + "\n".join(violations)


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    return SCREENSHOT_DIR
