"""
A scaled-out server for browser tests: Daphne processes and SFU workers (``CALLS_SFU=workers``)
sharing one database and Redis, as docs/deployment.md lays them out.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from .conftest import PROJECT_ROOT, DaphneServer, free_port, stop_process

REDIS_URL = os.environ.get("CALLS_TEST_REDIS_URL", "redis://127.0.0.1:6379/7")
WORKER_TIMEOUT_S = 4.0
WAIT_TIMEOUT_S = 20.0
# A process starting on a loaded machine (Django, aiortc and Redis to load) can take a while.
START_TIMEOUT_S = 60.0


def redis_reachable(url: str) -> bool:
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except Exception:
        return False
    return True


class SFUWorkerProcess:
    """``manage.py runsfu``, which a test may kill as a crash would."""

    def __init__(self, worker_id: str, env: dict[str, str], log_path: Path) -> None:
        self.worker_id = worker_id
        self.env = env
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "manage.py", "runsfu", "--worker-id", self.worker_id],
                cwd=PROJECT_ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def stop(self, *, kill: bool = False) -> None:
        process, self.process = self.process, None
        stop_process(process, kill=kill)


class Cluster:
    """Daphne processes and SFU workers on one SQLite database file and one Redis."""

    def __init__(
        self,
        tmp_path: Path,
        base_env: dict[str, str],
        daphnes: int,
        workers: int,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.database = tmp_path / "cluster.sqlite3"
        self.env = {
            **base_env,
            **(extra_env or {}),
            "DATABASE_URL": f"sqlite:///{self.database}",
            "REDIS_URL": REDIS_URL,
            "CALLS_SFU": "workers",
            "CALLS_HEARTBEAT_TIMEOUT_S": str(WORKER_TIMEOUT_S),
        }
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=PROJECT_ROOT, env=self.env, check=True
        )
        ports = [free_port() for _ in range(daphnes)]
        self.env["CALLS_PUBLIC_URL"] = f"http://127.0.0.1:{ports[0]}"
        self.daphnes = [DaphneServer(port, self.env, tmp_path / f"daphne-{port}.log") for port in ports]
        run = uuid.uuid4().hex[:6]
        self.workers = [
            SFUWorkerProcess(f"worker-{index}-{run}", self.env, tmp_path / f"worker-{index}.log")
            for index in range(workers)
        ]
        self.tmp_path = tmp_path
        # The recordings storage the processes share, when a test gives them one (tests/s3_server.py).
        self.bucket: Any = None

    def start(self) -> None:
        for worker in self.workers:
            worker.start()
        for daphne in self.daphnes:
            daphne.start()
        self.wait_until(
            lambda: len(self.live_workers()) == len(self.workers), "every SFU worker to register", START_TIMEOUT_S
        )

    def stop(self) -> None:
        for daphne in self.daphnes:
            daphne.stop()
        for worker in self.workers:
            worker.stop()

    def add_worker(self, name: str) -> SFUWorkerProcess:
        worker = SFUWorkerProcess(f"{name}-{uuid.uuid4().hex[:6]}", self.env, self.tmp_path / f"{name}.log")
        self.workers.append(worker)
        worker.start()
        self.wait_until(
            lambda: worker.worker_id in self.live_workers(), f"SFU worker {name} to register", START_TIMEOUT_S
        )
        return worker

    def logs(self) -> str:
        return "\n".join(f"--- {path.name}\n{path.read_text()[-4000:]}" for path in sorted(self.tmp_path.glob("*.log")))

    def manage(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=PROJECT_ROOT, env=self.env, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    def create_session(self, title: str) -> str:
        return self.manage("create_session", "--title", title).strip().splitlines()[-1]

    def through(self, daphne: DaphneServer, share_url: str) -> str:
        """The same share link, served by another Daphne process."""
        return self.through_url(daphne.url, share_url)

    def through_url(self, base_url: str, share_url: str) -> str:
        return share_url.replace(self.env["CALLS_PUBLIC_URL"], base_url, 1)

    def _query(self, sql: str, *params: object) -> list[tuple[object, ...]]:
        with sqlite3.connect(self.database, timeout=10) as connection:
            return connection.execute(sql, params).fetchall()

    def live_workers(self) -> dict[str, int]:
        """worker ID → participants, of the workers heard from within the timeout."""
        rows = self._query(
            "SELECT worker_id, participants FROM sessions_app_mediaworker WHERE stopped_at IS NULL "
            "AND last_seen >= datetime('now', ?)",
            f"-{WORKER_TIMEOUT_S} seconds",
        )
        return {str(worker_id): int(count) for worker_id, count in rows}  # type: ignore[call-overload]

    def leave_reason(self, participant_id: str) -> str:
        rows = self._query("SELECT leave_reason FROM sessions_app_participant WHERE participant_id = ?", participant_id)
        return str(rows[0][0]) if rows else ""

    def host_of(self, session_id: str) -> str:
        rows = self._query(
            "SELECT w.worker_id FROM sessions_app_callsession s JOIN sessions_app_mediaworker w "
            "ON s.media_worker_id = w.id WHERE s.session_id = ?",
            session_id,
        )
        return str(rows[0][0]) if rows else ""

    def wait_until(self, condition: object, what: str, timeout: float = WAIT_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():  # type: ignore[operator]
                return
            time.sleep(0.1)
        pytest.fail(f"Timed out waiting for {what}.\n{self.logs()}")


def session_id_of(share_url: str) -> str:
    return share_url.rstrip("/").split("/")[-1]
