"""
The decode/re-encode baseline: a media server built the way toy aiortc SFUs are.

Each subscriber's sender is fed by ``MediaRelay`` from the publisher's decoded
``RemoteStreamTrack``, so aiortc decodes every published VP8 stream once and
encodes it again for every subscriber. It exists only so the benchmark can
show what forwarding saves; it is not part of the product. Its signaling has
the SFU's shape (the server offers, the client answers, the offer names which
transceiver publishes and whose track each other one carries) so the same
``MediaClient`` drives both servers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiortc import (
    RTCBundlePolicy,
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpTransceiver,
    RTCSessionDescription,
)
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from sessions_app.sfu.ice import use_host_addresses
from sessions_app.sfu.peer import codec_preferences
from sessions_app.sfu.sdp import share_bundle_candidates

# The baseline speaks the wire format directly: it says to a participant what its browser would get.
SendSignal = Callable[[dict[str, Any]], Awaitable[None]]


class RelayedTrack(MediaStreamTrack):
    """
    A subscriber's view of a publisher's decoded track, through ``MediaRelay``.

    The publisher's ``RemoteStreamTrack`` only exists once its answer is in,
    while the subscriber's transceiver is added at join: the relay proxy is
    made on the first ``recv()``. Unbuffered, so a sender that cannot keep up
    skips frames instead of queueing decoded pictures without bound.
    """

    def __init__(self, kind: str, relay: MediaRelay, source: asyncio.Future[MediaStreamTrack]) -> None:
        super().__init__()
        self.kind = kind
        self._relay = relay
        self._source = source
        self._proxy: MediaStreamTrack | None = None

    async def recv(self) -> Any:  # type: ignore[override]
        if self._proxy is None:
            await asyncio.wait([self._source])
            if self._source.cancelled():  # the publisher left before it published
                raise MediaStreamError
            self._proxy = self._relay.subscribe(self._source.result(), buffered=False)
        return await self._proxy.recv()

    def stop(self) -> None:
        if self._proxy is not None:
            self._proxy.stop()
        super().stop()


class BaselinePeer:
    """One participant's connection: a recvonly transceiver per kind it publishes, a sendonly one per track it gets."""

    def __init__(self, participant_id: str, kinds: tuple[str, ...], relay: MediaRelay, send_signal: SendSignal):
        self.participant_id = participant_id
        self._relay = relay
        self._send_signal = send_signal
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))
        loop = asyncio.get_running_loop()
        self.published: dict[str, asyncio.Future[MediaStreamTrack]] = {}
        self._publish_transceivers: dict[str, RTCRtpTransceiver] = {}
        for kind in kinds:
            transceiver = self.pc.addTransceiver(kind, direction="recvonly")
            transceiver.setCodecPreferences(codec_preferences(kind))
            self._publish_transceivers[kind] = transceiver
            self.published[kind] = loop.create_future()
        self._subscriptions: list[tuple[RTCRtpTransceiver, RelayedTrack, str]] = []
        self._awaiting_answer = False
        self._dirty = False
        self._closed = False

        @self.pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            future = self.published.get(track.kind)
            if future is not None and not future.done():
                future.set_result(track)

    def subscribe(self, publisher: BaselinePeer) -> None:
        for kind, source in publisher.published.items():
            track = RelayedTrack(kind, self._relay, source)
            transceiver = self.pc.addTransceiver(track, direction="sendonly")
            transceiver.setCodecPreferences(codec_preferences(kind))
            self._subscriptions.append((transceiver, track, publisher.participant_id))
        self._dirty = True

    def unsubscribe(self, publisher_id: str) -> None:
        for transceiver, track, owner in self._subscriptions:
            if owner == publisher_id and transceiver.direction != "inactive":
                track.stop()
                transceiver.direction = "inactive"
                self._dirty = True

    async def negotiate(self) -> None:
        """Offer if anything changed; one offer at a time (aiortc loses transceivers added mid-negotiation)."""
        if self._closed or self._awaiting_answer:
            return
        self._dirty = False
        self._awaiting_answer = True
        await self.pc.setLocalDescription(await self.pc.createOffer())
        publish = {kind: t.mid for kind, t in self._publish_transceivers.items() if t.mid is not None}
        tracks = {
            transceiver.mid: {"participantId": owner, "kind": track.kind}
            for transceiver, track, owner in self._subscriptions
            if transceiver.mid is not None and transceiver.direction != "inactive"
        }
        sdp = self.pc.localDescription.sdp
        await self._send_signal({"type": "offer", "sdp": sdp, "publish": publish, "tracks": tracks})

    async def handle_answer(self, sdp: str) -> None:
        try:
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=share_bundle_candidates(sdp), type="answer"))
        finally:
            self._awaiting_answer = False
        if self._dirty:
            await self.negotiate()

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for future in self.published.values():
            future.cancel()
        for _, track, _ in self._subscriptions:
            track.stop()
        await self.pc.close()


class BaselineRelayServer:
    """The baseline's entry point, with the calls the benchmark makes on ``sessions_app.sfu.SFU``."""

    def __init__(self, media_ips: Sequence[str]) -> None:
        use_host_addresses(media_ips)
        self._relay = MediaRelay()
        self._rooms: dict[str, dict[str, BaselinePeer]] = {}

    async def join(
        self, session_id: str, participant_id: str, send_signal: SendSignal, kinds: tuple[str, ...] = ("video",)
    ) -> None:
        room = self._rooms.setdefault(session_id, {})
        peer = BaselinePeer(participant_id, kinds, self._relay, send_signal)
        for other in room.values():
            peer.subscribe(other)
            other.subscribe(peer)
        room[participant_id] = peer
        await asyncio.gather(*(p.negotiate() for p in room.values()))

    async def handle_answer(self, session_id: str, participant_id: str, sdp: str) -> None:
        await self._rooms[session_id][participant_id].handle_answer(sdp)

    async def leave(self, session_id: str, participant_id: str) -> None:
        room = self._rooms.get(session_id, {})
        peer = room.pop(participant_id, None)
        if peer is None:
            return
        for other in room.values():
            other.unsubscribe(participant_id)
        await peer.close()
        await asyncio.gather(*(p.negotiate() for p in room.values()))

    async def close_all(self) -> None:
        peers = [peer for room in self._rooms.values() for peer in room.values()]
        self._rooms.clear()
        await asyncio.gather(*(peer.close() for peer in peers), return_exceptions=True)
