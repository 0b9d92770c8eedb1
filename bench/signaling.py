"""
Signaling load on one Daphne process: idle participants it holds, and presence fan-out time.

An *idle participant* is one that has joined a call over the signaling websocket and then
only keeps its socket alive, as an SDK with nobody talking does: a ``ping`` every
``HEARTBEAT_INTERVAL_S`` (the SDK's), nothing else. It never answers the server's offer, so
no media flows; the server still holds what a join costs it: the websocket and consumer, the
participant's row, and its SFU peer connection with its ICE candidates gathered. (Media is the
memory benchmark's business.) Idle participants sit in calls of ``IDLE_CALL_SIZE``.

They come from client processes (``websockets``), so the server process is measured alone:
RSS and CPU through psutil. The ramp steps up to the target; at each step every participant
must have joined and no socket may have been closed by the server during a hold. It stops at
the first step that does not hold, or when the time budget runs out.

Presence fan-out is measured first, on the quiet server: 49 participants in a call, a 50th
joins; the time from its ``join`` to the moment the last of the 49 has ``participant_joined``
(and the median of the 49). Everyone is in this process, on one clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import multiprocessing
import random
import resource
import tempfile
import time
import traceback
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np
import psutil
from websockets.asyncio.client import ClientConnection, connect

from .profile import Profiler
from .soak_server import SoakServer

logger = logging.getLogger(__name__)

HEARTBEAT_INTERVAL_S = 2.0  # static/calls/signaling.js HEARTBEAT_INTERVAL_MS
IDLE_CALL_SIZE = 10
PRESENCE_CALL_SIZE = 50
CLIENT_PROCESSES = 2
JOIN_CONCURRENCY = 8  # joins in flight per client process: a join burst is not what this measures
JOIN_TIMEOUT_S = 30.0
TARGET_IDLE = 5000
TARGET_FANOUT_P95_MS = None  # the issue sets no figure for fan-out time; the report gives it


def raise_descriptor_limit() -> int:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else 65536
    resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    return wanted


class IdleParticipant:
    """A joined participant that only pings."""

    def __init__(self, url: str, origin: str, token: str) -> None:
        self.url, self.origin, self.token = url, origin, token
        self.socket: ClientConnection | None = None
        self.closed_by_server = False
        self.close_code: int | None = None
        self._tasks: list[asyncio.Task[None]] = []

    async def join(self) -> None:
        self.socket = await connect(
            self.url, origin=self.origin, compression=None, ping_interval=None, open_timeout=JOIN_TIMEOUT_S
        )  # type: ignore[arg-type]
        self._tasks = [asyncio.ensure_future(self._ping())]  # the SDK pings from the moment its socket opens
        await self.socket.send(json.dumps({"type": "join", "token": self.token, "displayName": "idle"}))
        while True:
            message = json.loads(await self.socket.recv())
            if message.get("type") == "joined":
                break
            if message.get("type") == "error":
                raise RuntimeError(f"join refused: {message}")
        self._tasks.append(asyncio.ensure_future(self._drain()))

    async def _ping(self) -> None:
        assert self.socket is not None
        with contextlib.suppress(Exception):
            await self.socket.send('{"type": "ping"}')
            await asyncio.sleep(random.random() * HEARTBEAT_INTERVAL_S)  # spread out, as browsers are
            while True:
                await self.socket.send('{"type": "ping"}')
                await asyncio.sleep(HEARTBEAT_INTERVAL_S)

    async def _drain(self) -> None:
        """Read (and drop) what the server sends: pongs, offers, presence."""
        assert self.socket is not None
        with contextlib.suppress(Exception):
            async for _ in self.socket:
                pass
        self.closed_by_server = True
        self.close_code = self.socket.close_code

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        if self.socket is not None:
            self.socket.transport.abort()


async def idle_client(commands: Connection, url_for: dict[str, str], origin: str) -> None:
    """
    Serve the ramp's commands: ``("grow", [(session_id, token), ...])`` joins those, ``("count",)``
    reports, ``("stop",)`` ends. Replies go back on the same pipe.
    """
    participants: list[IdleParticipant] = []
    failures: list[str] = []
    loop = asyncio.get_running_loop()
    while True:
        command = await loop.run_in_executor(None, commands.recv)
        if command[0] == "grow":

            async def join_one(session_id: str, token: str, gate: asyncio.Semaphore) -> None:
                async with gate:
                    participant = IdleParticipant(url_for[session_id], origin, token)
                    try:
                        await participant.join()
                        participants.append(participant)
                    except Exception as exc:
                        failures.append(repr(exc))
                        await participant.close()

            started = time.monotonic()
            gate = asyncio.Semaphore(JOIN_CONCURRENCY)
            await asyncio.gather(*(join_one(session_id, token, gate) for session_id, token in command[1]))
            commands.send(
                {"joined": len(participants), "failures": failures[-3:], "join_s": time.monotonic() - started}
            )
        elif command[0] == "count":
            closed = sum(p.closed_by_server for p in participants)
            codes: dict[str, int] = {}
            for p in participants:
                if p.closed_by_server:
                    codes[str(p.close_code)] = codes.get(str(p.close_code), 0) + 1
            commands.send(
                {"joined": len(participants), "closed": closed, "close_codes": codes, "failures": len(failures)}
            )
        else:
            await asyncio.gather(*(p.close() for p in participants), return_exceptions=True)
            commands.send({"stopped": True})
            return


def idle_client_main(commands: Connection, url_for: dict[str, str], origin: str) -> None:
    logging.basicConfig(level=logging.WARNING)
    raise_descriptor_limit()
    try:
        asyncio.run(idle_client(commands, url_for, origin))
    except Exception:
        with contextlib.suppress(Exception):
            commands.send({"error": traceback.format_exc()})


async def presence_fanout(server: SoakServer, session_id: str, tokens: list[str], trials: int) -> dict[str, Any]:
    """``PRESENCE_CALL_SIZE - 1`` joined; then ``trials`` times, one more joins, is announced to all, and leaves."""
    url = server.socket_url(session_id)
    present = [IdleParticipant(url, server.origin, token) for token in tokens[: PRESENCE_CALL_SIZE - 1]]
    joiners = tokens[PRESENCE_CALL_SIZE - 1 :][:trials]
    heard: dict[int, list[float]] = {}
    trial = -1

    for participant in present:
        await participant.join()

    async def listen(participant: IdleParticipant) -> None:
        assert participant.socket is not None
        async for raw in participant.socket:
            if trial >= 0 and '"participant_joined"' in raw:
                heard.setdefault(trial, []).append(time.monotonic())

    # Their own readers take over from _drain: cancel it and listen instead.
    listeners = []
    for participant in present:
        participant._tasks[1].cancel()
        listeners.append(asyncio.ensure_future(listen(participant)))
    await asyncio.sleep(1.0)
    all_ms: list[float] = []
    last_ms: list[float] = []
    try:
        for trial_index, token in enumerate(joiners):
            joiner = IdleParticipant(url, server.origin, token)
            joiner.socket = await connect(url, origin=server.origin, compression=None, ping_interval=None)  # type: ignore[arg-type]
            trial = trial_index
            started = time.monotonic()
            await joiner.socket.send(json.dumps({"type": "join", "token": token, "displayName": "joiner"}))
            deadline = started + 10.0
            while len(heard.get(trial_index, [])) < len(present) and time.monotonic() < deadline:
                await asyncio.sleep(0.002)
            times = [(at - started) * 1000 for at in heard.get(trial_index, [])]
            if len(times) == len(present):
                last_ms.append(max(times))
                all_ms.extend(times)
            with contextlib.suppress(Exception):
                await joiner.socket.send('{"type": "leave"}')
                await asyncio.wait_for(joiner.socket.wait_closed(), 5)
            await asyncio.sleep(0.3)
    finally:
        for task in listeners:
            task.cancel()
        await asyncio.gather(*(p.close() for p in present), return_exceptions=True)

    def stats(values: list[float]) -> dict[str, float]:
        if not values:
            return {}
        return {
            "p50_ms": round(float(np.percentile(values, 50)), 1),
            "p95_ms": round(float(np.percentile(values, 95)), 1),
            "max_ms": round(float(max(values)), 1),
        }

    return {
        "call_size": PRESENCE_CALL_SIZE,
        "trials": len(joiners),
        "complete_trials": len(last_ms),
        "all_notified": stats(last_ms),  # join sent -> the last of the 49 has participant_joined
        "each_notified": stats(all_ms),  # join sent -> one of the 49 has it
        "last_ms": [round(v, 1) for v in last_ms],
    }


def sample(server: SoakServer, seconds: float) -> dict[str, Any]:
    """Server CPU (cores) over ``seconds``, then RSS and descriptors."""
    assert server.ps is not None
    before = server.ps.cpu_times()
    time.sleep(seconds)
    after = server.ps.cpu_times()
    cores = (after.user + after.system - before.user - before.system) / seconds
    return {"server_cores": round(cores, 3), **server.process_figures()}


def ramp(
    server: SoakServer,
    calls: list[tuple[str, list[str]]],
    steps: list[int],
    hold_s: float,
    budget_s: float,
    profile_path: Path | None = None,
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """Grow idle participants through ``steps`` (client processes do the joining), measuring each step."""
    context = multiprocessing.get_context("spawn")
    url_for = {session_id: server.socket_url(session_id) for session_id, _ in calls}
    seats = [(session_id, token) for session_id, tokens in calls for token in tokens]
    pipes, processes = [], []
    for _ in range(CLIENT_PROCESSES):
        ours, theirs = context.Pipe()
        process = context.Process(target=idle_client_main, args=(theirs, url_for, server.origin), daemon=True)
        process.start()
        pipes.append(ours)
        processes.append(process)
    rows: list[dict[str, Any]] = []
    profile: dict[str, Any] | None = None  # of the last hold: the most participants
    started = time.monotonic()
    placed = 0
    try:
        rows.append({"participants": 0, **sample(server, 2.0), "held": True})
        for step in steps:
            if time.monotonic() - started > budget_s:
                rows.append({"participants": step, "skipped": "time budget spent"})
                break
            new = seats[placed:step]
            placed = step
            for index, pipe in enumerate(pipes):
                pipe.send(("grow", new[index::CLIENT_PROCESSES]))
            remaining = max(30.0, budget_s - (time.monotonic() - started)) + JOIN_TIMEOUT_S
            replies = [pipe.recv() if pipe.poll(remaining) else {"error": "no reply"} for pipe in pipes]
            if any("error" in reply for reply in replies):
                rows.append({"participants": step, "error": [r.get("error") for r in replies]})
                break
            joined = sum(reply["joined"] for reply in replies)
            join_s = max(reply["join_s"] for reply in replies)
            profiler = Profiler(server.process.pid, hold_s, profile_path) if profile_path and server.process else None
            figures = sample(server, hold_s)
            if profiler is not None:
                profile = profiler.finish()
            for pipe in pipes:
                pipe.send(("count",))
            counts = [pipe.recv() if pipe.poll(30) else {"closed": -1, "joined": 0} for pipe in pipes]
            closed = sum(c["closed"] for c in counts)
            still = sum(c["joined"] for c in counts) - closed
            close_codes: dict[str, int] = {}
            for count in counts:
                for code, number in count.get("close_codes", {}).items():
                    close_codes[code] = close_codes.get(code, 0) + number
            row = {
                "participants": step,
                "joined": joined,
                "connected_after_hold": still,
                "closed_by_server": closed,
                "close_codes": close_codes,
                "join_s": round(join_s, 1),
                "joins_per_s": round(len(new) / join_s, 1) if join_s else 0.0,
                **figures,
                "held": joined == step and closed == 0,
                "join_failures": [failure for reply in replies for failure in reply["failures"]],
            }
            rows.append(row)
            print(f"signaling: {row}", flush=True)
            if not row["held"]:
                break
    finally:
        for pipe in pipes:
            with contextlib.suppress(Exception):
                pipe.send(("stop",))
        for pipe in pipes:
            with contextlib.suppress(Exception):
                pipe.poll(30) and pipe.recv()
        for process in processes:
            process.join(10)
            if process.is_alive():
                process.kill()
    return rows, profile


def run(
    target: int, steps: int, hold_s: float, budget_s: float, trials: int, profile_path: Path | None = None
) -> dict[str, Any]:
    raise_descriptor_limit()
    calls_needed = -(-target // IDLE_CALL_SIZE)
    with tempfile.TemporaryDirectory(prefix="calls-bench-signaling-") as work:
        server = SoakServer(Path(work))
        prepared = server.prepare_sessions([PRESENCE_CALL_SIZE - 1 + trials] + [IDLE_CALL_SIZE] * calls_needed)
        server.start()
        try:
            presence_session, presence_tokens = prepared[0]
            fanout = asyncio.run(presence_fanout(server, presence_session, presence_tokens, trials))
            print(f"presence fan-out: {fanout['all_notified']}", flush=True)
            # Geometric steps: joins are slow on a busy machine, and the budget should buy a curve, not one point.
            step_sizes = sorted({max(1, round(target / 2 ** (steps - 1 - i))) for i in range(steps)})
            rows, profile = ramp(server, prepared[1:], step_sizes, hold_s, budget_s, profile_path)
        finally:
            server.stop()
    held = [row for row in rows if row.get("held") and row["participants"] > 0]
    top = held[-1] if held else None
    rss_slope = None
    if len(held) >= 2:
        xs = np.array([rows[0]["participants"]] + [r["participants"] for r in held], dtype=float)
        ys = np.array([rows[0]["rss_mb"]] + [r["rss_mb"] for r in held])
        rss_slope = round(float(np.polyfit(xs, ys, 1)[0]) * 1024, 1)
    return {
        "idle_definition": (
            "joined over the signaling websocket, a ping every 2 s as the SDK sends, the server's offer never "
            f"answered (no media); calls of {IDLE_CALL_SIZE}"
        ),
        "target_idle": TARGET_IDLE,
        "ramp": rows,
        "max_idle_held": top["participants"] if top else 0,
        "met": bool(top) and top["participants"] >= TARGET_IDLE,
        "rss_kb_per_idle_participant": rss_slope,
        "presence_fanout": fanout,
        "profile_at_most_participants": profile,
        "server_descriptor_limit": psutil.Process().rlimit(psutil.RLIMIT_NOFILE)[0],
    }
