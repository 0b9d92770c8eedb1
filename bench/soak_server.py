"""
The soak's server: the real app in its own Daphne process, watched from outside.

Its own SQLite database, media on loopback, production settings (so no query log
grows in memory), and ``/metrics`` on with a token made for the run. What the
soak measures of it comes from psutil on its PID and from ``/metrics``: nothing
runs inside the server for the soak's sake.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import psutil

PROJECT_ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 15.0
SCRAPE_TIMEOUT_S = 5.0

# Creates the database, one session and ``count`` guest call tokens for it; prints them as JSON.
PREPARE = """
import json
from django.core.management import call_command
from sessions_app.models import CallSession
from sessions_app.tokens import call_tokens
call_command("migrate", verbosity=0, interactive=False)
session = CallSession.objects.create(title="soak")
tokens = [call_tokens.issue(session, None, f"soak-{{index}}")[0] for index in range({count})]
print(json.dumps({{"session_id": session.session_id, "tokens": tokens}}))
"""

# Creates the database and one session per entry of ``counts`` with that many guest call tokens; prints them as JSON.
PREPARE_SESSIONS = """
import json
from django.core.management import call_command
from django.db import transaction
from sessions_app.models import CallSession
from sessions_app.tokens import call_tokens
call_command("migrate", verbosity=0, interactive=False)
prepared = []
with transaction.atomic():
    for number, count in enumerate({counts}):
        session = CallSession.objects.create(title=f"bench {{number}}")
        tokens = [call_tokens.issue(session, None, f"bench-{{number}}-{{index}}")[0] for index in range(count)]
        prepared.append({{"session_id": session.session_id, "tokens": tokens}})
print(json.dumps(prepared))
"""


class ServerFailed(RuntimeError):
    """The server did not start, or could not be scraped."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def server_environment(work_dir: Path, metrics_token: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "calls_project.settings",
        "DATABASE_URL": f"sqlite:///{work_dir / 'soak.sqlite3'}",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DJANGO_SECURE_COOKIES": "0",
        "CALLS_MEDIA_IPS": "127.0.0.1",
        "CALLS_METRICS_TOKEN": metrics_token,
        # Every simulated participant connects from 127.0.0.1: the per-address limit is not what is measured.
        "CALLS_WS_CONNECT_RATE": "1000000/m",
        "CALLS_LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }


class SoakServer:
    """A Daphne process serving the whole app, with its database prepared for one soak session."""

    def __init__(self, work_dir: Path) -> None:
        self.work_dir = work_dir
        self.metrics_token = secrets.token_urlsafe(24)
        self.env = server_environment(work_dir, self.metrics_token)
        self.database = work_dir / "soak.sqlite3"
        self.log_path = work_dir / "daphne.log"
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.ps: psutil.Process | None = None

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def socket_url(self, session_id: str) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/calls/{session_id}/"

    def prepare(self, token_count: int) -> tuple[str, list[str]]:
        """Migrate the soak database and make its session; returns the session ID and call tokens."""
        result = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", PREPARE.format(count=token_count)],
            cwd=PROJECT_ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if result.returncode != 0:
            raise ServerFailed(f"preparing the database failed:\n{result.stderr}")
        prepared = json.loads(result.stdout.strip().splitlines()[-1])
        return prepared["session_id"], prepared["tokens"]

    def prepare_sessions(self, counts: list[int]) -> list[tuple[str, list[str]]]:
        """Migrate the database and make one session per entry of ``counts``, with that many call tokens each."""
        result = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", PREPARE_SESSIONS.format(counts=list(counts))],
            cwd=PROJECT_ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if result.returncode != 0:
            raise ServerFailed(f"preparing the database failed:\n{result.stderr}")
        prepared = json.loads(result.stdout.strip().splitlines()[-1])
        return [(entry["session_id"], entry["tokens"]) for entry in prepared]

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "daphne",
                    "-b",
                    "127.0.0.1",
                    "-p",
                    str(self.port),
                    "calls_project.asgi:application",
                ],
                cwd=PROJECT_ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.ps = psutil.Process(self.process.pid)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerFailed(f"Daphne exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                self.scrape()
                return
            except (OSError, ServerFailed):
                time.sleep(0.2)
        raise ServerFailed(f"Daphne did not answer within {START_TIMEOUT_S:.0f} s:\n{self.log_tail()}")

    def scrape(self) -> dict[str, float]:
        """The server's ``/metrics`` as name -> value (blocking: call it from a thread)."""
        request = urllib.request.Request(
            f"{self.origin}/metrics", headers={"Authorization": f"Bearer {self.metrics_token}"}
        )
        with urllib.request.urlopen(request, timeout=SCRAPE_TIMEOUT_S) as response:
            if response.status != 200:
                raise ServerFailed(f"/metrics answered {response.status}")
            text = response.read().decode()
        values = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, value = line.rsplit(" ", 1)
                values[name] = float(value)
        return values

    def process_figures(self) -> dict[str, Any]:
        """RSS, open file descriptors and threads of the server process, read by psutil from outside."""
        assert self.ps is not None
        with self.ps.oneshot():
            return {
                "rss_mb": round(self.ps.memory_info().rss / 2**20, 2),
                "fds": self.ps.num_fds(),
                "threads": self.ps.num_threads(),
            }

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL if it lingers; returns the exit code."""
        process, self.process = self.process, None
        if process is None:
            return None
        process.terminate()
        try:
            return process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            return process.wait()

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""
