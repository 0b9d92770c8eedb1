"""
The server process: the SFU or the baseline, reachable over the loopback signaling channel.

It runs alone in its process so that its CPU time (every thread: aiortc's
decoder threads and encoder executor included) is what the benchmark
measures, and nothing of the load generator's. The SFU also takes
``start_recording`` and ``stop_recording`` (``bench/recording.py``) and answers
them with a ``reply``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
from multiprocessing.connection import Connection
from typing import Any, Literal, Protocol

from .channel import LOOPBACK, MAX_LINE_BYTES, read_message, write_message

ServerKind = Literal["forwarding", "baseline"]
SESSION_ID = "bench"


class MediaServer(Protocol):
    """The calls the benchmark makes; ``sessions_app.sfu.SFU`` and the baseline both have them."""

    async def join(
        self, session_id: str, participant_id: str, send_signal: Any, kinds: tuple[str, ...] = ...
    ) -> None: ...

    async def handle_answer(self, session_id: str, participant_id: str, sdp: str) -> None: ...

    async def close_all(self) -> None: ...


def make_server(kind: ServerKind) -> MediaServer:
    if kind == "forwarding":
        from sessions_app.sfu import SFU, MediaConfig

        # CALLS_SFU_RECEIVE_FROM_SOCKET=0: aiortc's queued receive path, to compare the two.
        from_socket = os.environ.get("CALLS_SFU_RECEIVE_FROM_SOCKET", "1") != "0"
        return SFU(MediaConfig(media_ips=(LOOPBACK,), receive_from_socket=from_socket))
    from .baseline_relay import BaselineRelayServer

    return BaselineRelayServer(media_ips=(LOOPBACK,))


async def serve(kind: ServerKind, ready: Connection) -> None:
    """
    Serve one load connection, then close everything and return.

    The load process sends ``join``/``answer`` for its participants and
    ``shutdown`` at the end; a closed connection means the same, so a crashed
    load process never leaves a server running.
    """
    from sessions_app.signaling.protocol import media_event_message

    server = make_server(kind)
    finished = asyncio.Event()

    async def on_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        def signal_to(participant_id: str) -> Any:
            async def send_signal(message: Any) -> None:
                # The SFU says typed events (the baseline, wire messages already): send what a browser gets.
                if not isinstance(message, dict):
                    message = media_event_message(message)
                await write_message(writer, {"pid": participant_id, "message": message})

            return send_signal

        try:
            while (message := await read_message(reader)) is not None:
                op = message["op"]
                if op == "join":
                    pid = message["pid"]
                    await server.join(SESSION_ID, pid, signal_to(pid), tuple(message["kinds"]))
                elif op == "answer":
                    await server.handle_answer(SESSION_ID, message["pid"], message["sdp"])
                elif op in ("start_recording", "stop_recording"):
                    await write_message(writer, await recording_command(server, op, message))
                elif op == "shutdown":
                    break
        finally:
            await server.close_all()
            writer.close()
            finished.set()

    listener = await asyncio.start_server(on_connection, LOOPBACK, 0, limit=MAX_LINE_BYTES)
    ready.send(listener.sockets[0].getsockname()[1])
    ready.close()
    try:
        await finished.wait()
    finally:
        listener.close()


async def recording_command(server: MediaServer, op: str, message: dict[str, Any]) -> dict[str, Any]:
    """Start or stop recording the bench's session (the SFU only); the reply says what came of it."""
    media: Any = server
    try:
        if op == "start_recording":
            await media.start_recording(SESSION_ID, message["directory"])
            return {"reply": op}
        tracks = await media.stop_recording(SESSION_ID)
        return {"reply": op, "tracks": [dataclasses.asdict(track) for track in tracks]}
    except Exception as exc:
        return {"reply": op, "error": repr(exc)}


def main(kind: ServerKind, ready: Connection) -> None:
    """Process entry point: sends the listening port through ``ready``."""
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(serve(kind, ready))
