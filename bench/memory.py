"""
Server memory per participant with media: RSS of one Daphne process as calls fill up.

Participants are the soak's (``churn.py``): aiortc clients on the real signaling websocket,
each publishing audio (Opus silence) and replayed 640x480 VP8, and receiving everyone else
in its call without decoding. Calls hold ``CALL_SIZE`` people; the ramp adds whole calls.
After each step, once media flows both ways in every call, it waits ``SETTLE_S`` and reads
the server's RSS through psutil (from outside). The figure is the slope of a least-squares
line through (participants, RSS): the cost of one more participant, the process's fixed
start-up memory excluded.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from sessions_app.sfu.ice import use_host_addresses
from tests.synthetic import encode_vp8_frames

from .churn import ChurnParticipant
from .soak_server import SoakServer

CALL_SIZE = 4
SETTLE_S = 3.0
FLOW_TIMEOUT_S = 40.0
TARGET_MB_PER_PARTICIPANT = 5.0
VIDEO_FPS = 15  # the load process carries every stream in and out: half rate keeps it from being the limit


async def ramp(server: SoakServer, calls: list[tuple[str, list[str]]], budget_s: float) -> list[dict[str, Any]]:
    use_host_addresses(("127.0.0.1",))
    frames = encode_vp8_frames(count=30, width=640, height=480, fps=VIDEO_FPS, gop=30)
    rows: list[dict[str, Any]] = []
    everyone: list[ChurnParticipant] = []
    started = time.monotonic()
    await asyncio.sleep(1.0)
    rows.append({"participants": 0, **server.process_figures(), "flowing": True})
    try:
        for number, (session_id, tokens) in enumerate(calls):
            if time.monotonic() - started > budget_s:
                break
            call = [
                ChurnParticipant(
                    f"m{number}-{i}", server.socket_url(session_id), server.origin, token, frames, VIDEO_FPS
                )
                for i, token in enumerate(tokens[:CALL_SIZE])
            ]
            everyone += call
            for participant in call:
                await participant.join()
            ids = [participant.participant_id for participant in call]
            deadline = time.monotonic() + FLOW_TIMEOUT_S
            flowing = False
            while time.monotonic() < deadline:
                flowing = all(p.receives_from(other) for p in call for other in ids if other != p.participant_id)
                if flowing:
                    break
                await asyncio.sleep(0.2)
            await asyncio.sleep(SETTLE_S)
            row = {"participants": len(everyone), **server.process_figures(), "flowing": flowing}
            rows.append(row)
            print(f"memory: {row}", flush=True)
            if not flowing:
                break
    finally:
        await asyncio.gather(*(p.close() for p in everyone), return_exceptions=True)
    return rows


def run(max_participants: int, budget_s: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="calls-bench-memory-") as work:
        server = SoakServer(Path(work))
        calls = server.prepare_sessions([CALL_SIZE] * max(1, max_participants // CALL_SIZE))
        server.start()
        try:
            rows = asyncio.run(ramp(server, calls, budget_s))
        finally:
            server.stop()
    usable = [row for row in rows if row["flowing"]]
    slope = None
    if len(usable) >= 3:
        xs = np.array([row["participants"] for row in usable], dtype=float)
        ys = np.array([row["rss_mb"] for row in usable])
        # The first call also pays one-off costs (aiortc's codecs, first DTLS context): fit from the first call on.
        slope = round(float(np.polyfit(xs[1:], ys[1:], 1)[0]), 2)
    return {
        "call_size": CALL_SIZE,
        "media": f"audio (Opus) + 640x480 VP8 at {VIDEO_FPS} fps per participant, every other one in the call received",
        "ramp": rows,
        "mb_per_participant": slope,
        "target_mb_per_participant": TARGET_MB_PER_PARTICIPANT,
        "met": slope is not None and slope < TARGET_MB_PER_PARTICIPANT,
    }
