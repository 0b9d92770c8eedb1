"""
Sampling profiles of the server under test with py-spy, and what they say in a few lines.

``Profiler(pid, seconds, path)`` runs ``py-spy record --format raw`` (collapsed stacks) against
the server's process from outside, with ``--nonblocking`` so the server is never paused; the
summary lists the functions with the most samples, by their own time and with their callees.
py-spy needs ptrace rights (root, or ``kernel.yama.ptrace_scope=0``); without them the summary
says so and the benchmark goes on.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

SAMPLE_RATE_HZ = 100
# Frames every sample passes through (process start, event loop, thread pools): left out of "with callees".
PLUMBING = (
    "asyncio/",
    "multiprocessing/",
    "<frozen",
    "<string>",
    "threading.py",
    "concurrent/",
    "daphne/",
    "twisted/",
    "bench/server.py",
    "selectors.py",
)


def py_spy() -> str | None:
    local = Path(sys.executable).parent / "py-spy"
    return str(local) if local.exists() else shutil.which("py-spy")


class Profiler:
    """py-spy recording one process for a bounded time, in the background."""

    def __init__(self, pid: int, seconds: float, path: Path) -> None:
        self.path = path
        self.process: subprocess.Popen[bytes] | None = None
        self.error = ""
        executable = py_spy()
        if executable is None:
            self.error = "py-spy is not installed"
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                executable,
                "record",
                "--pid",
                str(pid),
                "--duration",
                str(max(1, round(seconds))),
                "--rate",
                str(SAMPLE_RATE_HZ),
                "--nonblocking",
                "--threads",
                "--format",
                "raw",
                "--output",
                str(path),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def finish(self, timeout: float = 30.0) -> dict[str, Any]:
        """Wait for py-spy to write its file; the summary (or why there is none)."""
        if self.process is not None:
            try:
                _, stderr = self.process.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                _, stderr = self.process.communicate()
            if not self.path.exists():
                self.error = stderr.decode(errors="replace").strip()[-500:] or "py-spy wrote nothing"
        if self.error:
            return {"error": self.error}
        return summarize(self.path)


def frame_name(frame: str) -> str:
    """``recv (aiortc/rtcrtpreceiver.py:123)`` -> ``aiortc/rtcrtpreceiver.py:recv``; py-spy names vary a little."""
    name, _, where = frame.partition(" (")
    where = where.rstrip(")")
    path = where.rsplit(":", 1)[0]
    for marker in ("site-packages/", "lib/python3.11/", "/wt-bench/", "/main/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{path}:{name}" if path else name


def summarize(path: Path, top: int = 15) -> dict[str, Any]:
    """Top functions by own samples and by inclusive samples, from py-spy's collapsed stacks."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    idle = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [frame_name(f) for f in stack.split(";") if f and not f.startswith("thread (")]
        if not frames:
            continue
        total += count
        leaf = frames[-1]
        if "select" in leaf or "epoll" in leaf or leaf.endswith(":_worker") or leaf.endswith(":wait"):
            idle += count
        own[leaf] += count
        for name in set(frames):
            inclusive[name] += count

    def share(counter: Counter[str]) -> list[dict[str, Any]]:
        return [{"function": name, "share": round(count / total, 3)} for name, count in counter.most_common(top)]

    for name in [name for name in inclusive if name.startswith(PLUMBING)]:
        del inclusive[name]
    return {
        "samples": total,
        "idle_share": round(idle / total, 3) if total else 0.0,
        "own": share(own),
        "inclusive": share(inclusive),
        "raw": str(path),
    }


def markdown(summary: dict[str, Any], title: str, rows: int = 10) -> str:
    if "error" in summary:
        return f"{title}: no profile ({summary['error']}).\n"
    lines = [
        f"{title}: {summary['samples']} samples (py-spy, {SAMPLE_RATE_HZ} Hz, every thread; "
        f"{summary['idle_share']:.0%} waiting in the event loop's poll or a thread's wait).",
        "",
        "| own time | function | | with callees | function |",
        "|---|---|---|---|---|",
    ]
    for mine, theirs in zip(summary["own"][:rows], summary["inclusive"][:rows], strict=False):
        lines.append(
            f"| {mine['share']:.1%} | `{mine['function']}` | | {theirs['share']:.1%} | `{theirs['function']}` |"
        )
    return "\n".join(lines) + "\n"
