"""Production mode: `daphne calls_project.asgi:application` with DJANGO_DEBUG=0 serves everything."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

pytestmark = pytest.mark.timeout(120)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fetch(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.fixture(scope="module")
def production_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("production")
    env = {
        **os.environ,
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "test-only-secret-key-for-production-mode-0123456789",
        "DJANGO_STATIC_ROOT": str(tmp / "static"),
        "DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite3'}",
        "DJANGO_SETTINGS_MODULE": "calls_project.settings",
        # This server speaks plain http on loopback; a real deployment redirects to https (the default).
        "DJANGO_SECURE_SSL_REDIRECT": "0",
    }
    env.pop("REDIS_URL", None)
    for command in (["migrate", "--noinput", "-v0"], ["collectstatic", "--noinput", "-v0"]):
        subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True, timeout=60)
    port = free_port()
    log_path = tmp / "daphne.log"
    log = log_path.open("wb")
    process = subprocess.Popen(
        [str(BIN / "daphne"), "-b", "127.0.0.1", "-p", str(port), "calls_project.asgi:application"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"daphne did not start: {log_path.read_text()}") from None
            time.sleep(0.1)
    yield base
    process.terminate()
    process.wait(timeout=10)
    log.close()


def test_pages_and_hashed_static_files_are_served(production_server: str) -> None:
    """The home page renders and links hashed static files that daphne itself serves."""
    status, page = fetch(production_server + "/")
    assert status == 200
    assets = re.findall(r'(?:href|src)="(/static/[^"]+)"', page)
    assert assets, "the home page links no static files"
    for asset in assets:
        assert re.search(r"\.[0-9a-f]{12}\.", asset), f"{asset} is not a hashed file name"
        asset_status, body = fetch(production_server + asset)
        assert asset_status == 200 and body


def test_unknown_session_is_a_friendly_404(production_server: str) -> None:
    """Without debug, an unknown session still gets the product's 404 page."""
    status, page = fetch(production_server + "/s/nosuchcall/")
    assert status == 404 and "<html" in page.lower()


def test_pages_carry_the_security_headers(production_server: str) -> None:
    """Without debug, pages have the CSP, refuse framing and set the CSRF cookie Secure-only."""
    with urllib.request.urlopen(production_server + "/", timeout=5) as response:
        headers = response.headers
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert "unsafe-inline" not in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY" and headers["X-Content-Type-Options"] == "nosniff"
    csrf_cookie = next(value for value in headers.get_all("Set-Cookie") if value.startswith("csrftoken="))
    assert "Secure" in csrf_cookie
