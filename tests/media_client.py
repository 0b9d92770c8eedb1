"""
An aiortc client that speaks our signaling, for SFU tests and benchmarks.

It answers the server's offers the way the browser SDK does: publish
transceivers become sendonly and carry the client's tracks; every other
transceiver receives a remote participant's track named in the offer.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiortc import RTCBundlePolicy, RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack

SendAnswer = Callable[[str], Awaitable[None]]


class EncodedFrameRecorder:
    """
    Stands in for a receiver's decoder queue and records the encoded frames it completes.

    ``keep_frames=False`` only counts them, for long runs that must not grow.
    """

    def __init__(self, keep_frames: bool = True) -> None:
        self.keep_frames = keep_frames
        self.count = 0
        self.frames: list[bytes] = []
        self.arrival_times: list[float] = []

    def put(self, item: Any) -> None:
        if item is not None:
            self.count += 1
            if self.keep_frames:
                self.frames.append(item[1].data)
                self.arrival_times.append(time.monotonic())

    def get(self) -> None:
        return None


class MediaClient:
    def __init__(
        self, name: str, tracks: dict[str, MediaStreamTrack], record_encoded: bool = False, keep_frames: bool = True
    ) -> None:
        self.name = name
        self.record_encoded = record_encoded
        self.keep_frames = keep_frames
        self.recorders: dict[str, EncodedFrameRecorder] = {}
        self.tracks = tracks
        # Like browsers in our SDK: one transport for everything (aiortc's default loses some).
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))
        self.remote: dict[tuple[str, str], MediaStreamTrack] = {}
        self.track_owner: dict[str, dict[str, str]] = {}
        self.offers = 0
        self._track_arrived = asyncio.Event()

        @self.pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            transceiver = next(t for t in self.pc.getTransceivers() if t.receiver.track is track)
            owner = self.track_owner.get(transceiver.mid or "")
            if owner is not None:
                self.remote[(owner["participantId"], owner["kind"])] = track
                self._track_arrived.set()

    async def handle_offer(self, message: dict[str, Any], send_answer: SendAnswer) -> None:
        self.offers += 1
        self.track_owner.update(message["tracks"])
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=message["sdp"], type="offer"))
        if self.record_encoded:
            self._install_recorders()
        for kind, mid in message["publish"].items():
            transceiver = next(t for t in self.pc.getTransceivers() if t.mid == mid)
            if kind in self.tracks and transceiver.sender.track is None:
                transceiver.direction = "sendonly"
                transceiver.sender.replaceTrack(self.tracks[kind])
        # Tracks that were re-assigned to another publisher keep their receiver.
        for transceiver in self.pc.getTransceivers():
            owner = self.track_owner.get(transceiver.mid or "")
            if owner is not None and transceiver.receiver.track is not None:
                self.remote[(owner["participantId"], owner["kind"])] = transceiver.receiver.track
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        await send_answer(self.pc.localDescription.sdp)

    def _install_recorders(self) -> None:
        """Record encoded frames instead of decoding them (installed before the receivers start)."""
        for transceiver in self.pc.getTransceivers():
            mid = transceiver.mid
            if mid in self.track_owner and mid not in self.recorders:
                recorder = EncodedFrameRecorder(self.keep_frames)
                transceiver.receiver._RTCRtpReceiver__decoder_queue = recorder
                self.recorders[mid] = recorder

    def recorder_for(self, participant_id: str, kind: str) -> EncodedFrameRecorder:
        for mid, owner in self.track_owner.items():
            if owner["participantId"] == participant_id and owner["kind"] == kind:
                return self.recorders[mid]
        raise KeyError((participant_id, kind))

    async def wait_for_tracks(self, expected: set[tuple[str, str]], timeout: float = 10) -> None:
        async def wait() -> None:
            while not expected <= set(self.remote):
                self._track_arrived.clear()
                await self._track_arrived.wait()

        await asyncio.wait_for(wait(), timeout)

    async def close(self) -> None:
        await self.pc.close()
