"""
The soak's participants: aiortc clients on the real signaling websocket, joining and leaving.

Each speaks the protocol as the SDK does: ``join`` with a call token, an answer to
every offer, a ``ping`` every second (the server closes a socket silent for 5 s).
Each publishes audio (aiortc's silence, Opus-encoded) and replayed VP8 video, and
counts the encoded frames it receives from everyone else without decoding them.

A participant goes in one of two ways: ``leave`` (the server removes it at once), or
its TCP connection is torn down without a word, as when a browser crashes or loses
its network: the server then keeps it for its resume grace before removing it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from aiortc.mediastreams import AudioStreamTrack
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.media_client import MediaClient
from tests.synthetic import ReplayVideoTrack

logger = logging.getLogger(__name__)

PING_INTERVAL_S = 1.0
JOIN_TIMEOUT_S = 15.0
CLOSE_TIMEOUT_S = 10.0
KINDS = ("audio", "video")


class ChurnError(RuntimeError):
    """The call did not behave: a join refused, media that never came, an error from the server."""


class ChurnParticipant:
    """One browser tab: a signaling socket and a peer connection, from ``join`` to ``leave`` or a drop."""

    def __init__(self, name: str, url: str, origin: str, token: str, frames: list[bytes], fps: int) -> None:
        self.name = name
        self.url = url
        self.origin = origin
        self.token = token
        tracks = {"audio": AudioStreamTrack(), "video": ReplayVideoTrack(frames, fps=fps)}
        self.client = MediaClient(name, tracks, record_encoded=True, keep_frames=False)
        self.participant_id = ""
        self.errors: list[dict[str, Any]] = []
        self._socket: ClientConnection | None = None
        self._joined: asyncio.Future[dict[str, Any]] | None = None
        self._tasks: list[asyncio.Task[None]] = []

    async def join(self) -> str:
        """Open the socket and join; returns the participant ID the server gave."""
        self._socket = await connect(self.url, origin=self.origin, compression=None, ping_interval=None)  # type: ignore[arg-type]
        self._joined = asyncio.get_running_loop().create_future()
        self._tasks = [asyncio.ensure_future(self._read()), asyncio.ensure_future(self._ping())]
        await self._send({"type": "join", "token": self.token, "displayName": self.name})
        try:
            joined = await asyncio.wait_for(self._joined, JOIN_TIMEOUT_S)
        except TimeoutError:
            raise ChurnError(f"{self.name}: no 'joined' within {JOIN_TIMEOUT_S} s ({self.errors})") from None
        self.participant_id = joined["participantId"]
        return self.participant_id

    async def _send(self, message: dict[str, Any]) -> None:
        assert self._socket is not None
        await self._socket.send(json.dumps(message))

    async def _read(self) -> None:
        assert self._socket is not None and self._joined is not None
        with contextlib.suppress(ConnectionClosed):
            async for raw in self._socket:
                message = json.loads(raw)
                kind = message.get("type")
                if kind == "joined" and not self._joined.done():
                    self._joined.set_result(message)
                elif kind == "offer":
                    self._forget_reassigned(message["tracks"])
                    try:
                        await self.client.handle_offer(message, self._answer)
                    except ConnectionClosed:
                        return  # an offer that raced our leave
                    except Exception as exc:
                        self.errors.append({"type": "offer_failed", "error": repr(exc)})
                elif kind == "error":
                    logger.warning("%s: server error %s", self.name, message)
                    self.errors.append(message)

    async def _answer(self, sdp: str) -> None:
        await self._send({"type": "answer", "sdp": sdp})

    def _forget_reassigned(self, tracks: dict[str, dict[str, str]]) -> None:
        """A transceiver handed to a new publisher counts that publisher's frames from zero."""
        for mid, owner in tracks.items():
            recorder = self.client.recorders.get(mid)
            if recorder is not None and self.client.track_owner.get(mid) != owner:
                recorder.count = 0

    async def _ping(self) -> None:
        with contextlib.suppress(ConnectionClosed):
            while True:
                await self._send({"type": "ping"})
                await asyncio.sleep(PING_INTERVAL_S)

    def frames_from(self, participant_id: str, kind: str) -> int:
        try:
            return self.client.recorder_for(participant_id, kind).count
        except KeyError:
            return 0

    def receives_from(self, participant_id: str) -> bool:
        return all(self.frames_from(participant_id, kind) > 0 for kind in KINDS)

    async def leave(self, abrupt: bool) -> None:
        """Say ``leave`` and wait for the server to close the socket, or (``abrupt``) just drop it."""
        socket = self._socket
        assert socket is not None
        self._tasks[1].cancel()  # no more pings either way
        if abrupt:
            socket.transport.abort()
        else:
            with contextlib.suppress(ConnectionClosed):
                await self._send({"type": "leave"})
            try:
                await asyncio.wait_for(socket.wait_closed(), CLOSE_TIMEOUT_S)
            except TimeoutError:
                raise ChurnError(f"{self.name}: the server did not close the socket after 'leave'") from None
        await self.close()

    async def close(self) -> None:
        """Stop everything on this side (idempotent): tasks, socket, peer connection."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._socket is not None:
            self._socket.transport.abort()
        await self.client.close()
