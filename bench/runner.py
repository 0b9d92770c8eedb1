"""
Runs one meeting: a fresh server process, a load process, one measurement window.

Also copes with a shared machine. Other processes competing for the two
cores starve the server or the load process for long enough to overflow
UDP receive buffers; the resulting loss, NACKs and keyframe waits then show
up as dropped frames and extra retransmission work. So before a run it
waits (briefly) for the machine to quiet down, and it repeats a run whose
window was disturbed, within a fixed budget so the benchmark stays bounded.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import load, server
from .report import BUSY_MACHINE_CORES, RunFigures, figures

SERVER_START_TIMEOUT_S = 30.0
RESULT_SLACK_S = 30.0  # joining, closing and process start-up on top of the load's own timeouts
RUN_ESTIMATE_S = 20.0  # what one more attempt costs, roughly; no retry unless the budget has it


class RunFailed(RuntimeError):
    """One server/size run produced no measurement."""


@dataclass
class PatienceBudget:
    """Seconds the whole benchmark may spend waiting for, or re-running because of, a busy machine."""

    seconds: float

    def spend(self, seconds: float) -> None:
        self.seconds = max(0.0, self.seconds - seconds)


def busy_cores(seconds: float) -> float:
    """How many cores are in use (by anything) over ``seconds``."""
    before = load.machine_busy_seconds()
    time.sleep(seconds)
    return (load.machine_busy_seconds() - before) / seconds


def wait_for_quiet(budget: PatienceBudget, max_wait_s: float = 10.0) -> float:
    """Sample once a second until the machine is quiet, for at most ``max_wait_s`` of the budget."""
    started = time.monotonic()
    busy = busy_cores(1.0)
    while busy > BUSY_MACHINE_CORES and time.monotonic() - started < min(max_wait_s, budget.seconds):
        busy = busy_cores(1.0)
    budget.spend(max(0.0, time.monotonic() - started - 1.0))
    return busy


def stop(process: multiprocessing.process.BaseProcess, grace_s: float) -> None:
    """Let ``process`` exit on its own, then terminate, then kill: every run ends bounded."""
    process.join(grace_s)
    if process.is_alive():
        process.terminate()
        process.join(5)
    if process.is_alive():
        process.kill()
        process.join(5)


def run_once(
    kind: server.ServerKind,
    topology: load.Topology,
    frames: list[bytes],
    settings: load.LoadSettings,
    load_target: Callable[..., None] = load.main,
) -> dict[str, Any]:
    """
    One meeting against a fresh server process; returns what the load process sent back
    (for ``load.main``, the raw measurement window).
    """
    context = multiprocessing.get_context("spawn")  # no inherited event loop, threads or codec state
    ready_in, ready_out = context.Pipe(duplex=False)
    server_process = context.Process(target=server.main, args=(kind, ready_out), name=f"bench-{kind}", daemon=True)
    server_process.start()
    ready_out.close()
    load_process = None
    try:
        if not ready_in.poll(SERVER_START_TIMEOUT_S):
            raise RunFailed(f"{kind} server did not start")
        port = ready_in.recv()
        result_in, result_out = context.Pipe(duplex=False)
        load_process = context.Process(
            target=load_target, args=(port, topology, frames, server_process.pid, settings, result_out), daemon=True
        )
        load_process.start()
        result_out.close()
        timeout = settings.flow_timeout_s + settings.warmup_s + settings.window_s + RESULT_SLACK_S
        if not result_in.poll(timeout):
            raise RunFailed(f"{kind} {topology.label}: no result within {timeout:.0f} s")
        raw: dict[str, Any] = result_in.recv()
        if "error" in raw:
            raise RunFailed(f"{kind} {topology.label}: load process failed:\n{raw['error']}")
        return raw
    finally:
        if load_process is not None:
            stop(load_process, 10)
        stop(server_process, 10)


def measure(
    kind: server.ServerKind,
    topology: load.Topology,
    frames: list[bytes],
    settings: load.LoadSettings,
    budget: PatienceBudget,
) -> tuple[RunFigures, list[RunFigures]]:
    """The least disturbed of at most two attempts, and every attempt (for the record)."""
    attempts: list[RunFigures] = []
    while True:
        wait_for_quiet(budget)
        started = time.monotonic()
        attempts.append(figures(kind, run_once(kind, topology, frames, settings)))
        elapsed = time.monotonic() - started
        if attempts[-1].other_cores <= BUSY_MACHINE_CORES or len(attempts) == 2 or budget.seconds < elapsed:
            break
        budget.spend(elapsed)
    return min(attempts, key=lambda figures: figures.other_cores), attempts
