"""One participant's server-side peer connection: what it publishes and what it receives."""

from __future__ import annotations

import gc
import logging
import weakref
from dataclasses import dataclass

from aiortc import (
    RTCBundlePolicy,
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCRtpCodecCapability,
    RTCRtpSender,
    RTCRtpTransceiver,
    RTCSessionDescription,
)

from .bandwidth import SubscriberBandwidth, View
from .compat import (
    install_simulcast_support,
    intercept_transport_rtcp,
    park_receiver,
    receive_from_socket,
    receivers_without_estimator,
)
from .config import MediaConfig
from .errors import NegotiationError
from .events import MediaEvent, Offer, OfferedTrack, SendSignal
from .forwarding import ForwardingTrack
from .published import SOURCE_KINDS, PublishedTrack
from .receive import SIMULCAST_RIDS
from .sdp import (
    accepts_transport_cc,
    announce_address,
    ask_opus_resilience,
    bundle_mids,
    offer_simulcast,
    offer_transport_cc,
    share_bundle_candidates,
)
from .sender import PacketSender
from .tap import tap_receiver
from .twcc import TRANSPORT_CC_ID, TRANSPORT_CC_URI, parse_feedback, transport_feedback

logger = logging.getLogger(__name__)

PREFERRED_CODEC = {"audio": "audio/opus", "video": "video/VP8"}

# Every peer connection the SFU made, until it is garbage-collected: what /metrics counts to tell
# a connection left open (or held on to) from one that is gone. Added to once per join.
_connections: weakref.WeakSet[RTCPeerConnection] = weakref.WeakSet()


def peer_connections() -> list[RTCPeerConnection]:
    """The SFU's peer connections not yet garbage-collected, closed or not."""
    return list(_connections)


# A closed peer connection is a web of reference cycles (about 0.7 MB with its media state) that only
# a full garbage collection frees, and the collector is tuned to run those rarely (calls_project/gc_tuning.py).
# Once this many closed ones wait, or a fiftieth of those held, one collection frees them all: a small
# process collects often and quickly, a large one rarely (its full collection takes seconds).
COLLECT_AFTER_CLOSED = 8
COLLECT_AFTER_CLOSED_SHARE = 50


def collect_closed_connections() -> bool:
    """Run a full collection if enough closed peer connections wait for one; return whether it ran."""
    held = len(_connections)
    closed = sum(1 for pc in _connections if pc.connectionState == "closed")
    if closed < max(COLLECT_AFTER_CLOSED, held // COLLECT_AFTER_CLOSED_SHARE):
        return False
    gc.collect()
    return True


def codec_preferences(kind: str) -> list[RTCRtpCodecCapability]:
    """Opus for audio, VP8 (with RTX) for video: publisher and subscribers must agree."""
    wanted = {PREFERRED_CODEC[kind].lower(), f"{kind}/rtx"}
    capabilities = RTCRtpSender.getCapabilities(kind)
    return [codec for codec in capabilities.codecs if codec.mimeType.lower() in wanted]


def ice_servers(config: MediaConfig) -> list[RTCIceServer]:
    servers = []
    for server in config.ice_servers:
        urls = server.get("urls")
        if urls:
            servers.append(
                RTCIceServer(urls=urls, username=server.get("username"), credential=server.get("credential"))
            )
    return servers


def add_sending_transceiver(pc: RTCPeerConnection, track: ForwardingTrack) -> RTCRtpTransceiver:
    """
    A sendonly transceiver for ``track``. Its receiver never starts (the subscription receives nothing),
    yet aiortc gives it the machinery of one that does: a receive-side estimator, a decoder queue with
    three threading conditions, a threading event and two asyncio events, about 40 objects a
    subscription, and 18 subscriptions a participant in a call of 10. The garbage collector traces
    every one of them in each full collection, a pause that grows with the participants a process holds
    (bench/signaling.py): the receiver gets shared stand-ins instead (``compat.park_receiver``).
    """
    with receivers_without_estimator():
        transceiver = pc.addTransceiver(track, direction="sendonly")
    park_receiver(transceiver.receiver)
    return transceiver


@dataclass(slots=True)
class Subscription:
    """A sendonly transceiver carrying one remote publisher's track (or idle, for reuse)."""

    transceiver: RTCRtpTransceiver
    track: ForwardingTrack
    publisher_id: str | None
    source: str | None = None
    fresh: bool = True
    packet_sender: PacketSender | None = None
    # How big the subscriber shows this video (None: not said; every layer may be needed).
    view: View | None = None


class ParticipantPeer:
    """
    The server side of one participant's peer connection.

    The server always makes the offers (the browser only answers), so there is
    no glare; renegotiation is serialised: a change while an offer waits for
    its answer marks the peer dirty, and the next offer goes out once the
    answer is in (aiortc loses transceivers added mid-negotiation otherwise).
    """

    def __init__(self, participant_id: str, sources: tuple[str, ...], config: MediaConfig, send_signal: SendSignal):
        self.participant_id = participant_id
        self.config = config
        self._send_signal = send_signal
        install_simulcast_support()
        self.pc = RTCPeerConnection(
            RTCConfiguration(iceServers=ice_servers(config), bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
        )
        _connections.add(self.pc)
        self.published: dict[str, PublishedTrack] = {}
        self._publish_transceivers: dict[str, RTCRtpTransceiver] = {}
        self.subscriptions: list[Subscription] = []
        self.bandwidth = SubscriberBandwidth(self.subscriptions)
        self._awaiting_answer = False
        self._dirty = False
        self._closed = False
        self.negotiations = 0
        for source in sources:
            self.start_publishing(source)

        @self.pc.on("connectionstatechange")
        def on_connection_state() -> None:
            logger.debug("participant %s connection %s", participant_id, self.pc.connectionState)

    async def signal(self, event: MediaEvent) -> None:
        """Tell this participant something (a closed peer says nothing)."""
        if not self._closed:
            await self._send_signal(event)

    @property
    def connection_state(self) -> str:
        return self.pc.connectionState

    def start_publishing(self, source: str) -> PublishedTrack:
        """
        Receive ``source`` (audio, video, screen) from this participant, from the next offer on.

        A source published before (a screen share started again) reuses its
        transceiver: aiortc cannot remove m-lines.
        """
        published = self.published.get(source)
        if published is not None:
            self._publish_transceivers[source].direction = "recvonly"
            published.set_forwarding(True)
        else:
            kind = SOURCE_KINDS[source]
            with receivers_without_estimator():
                transceiver = self.pc.addTransceiver(kind, direction="recvonly")
            transceiver.setCodecPreferences(codec_preferences(kind))
            published = PublishedTrack(kind, self.participant_id, source)
            tap_receiver(transceiver.receiver, published)
            self.published[source] = published
            self._publish_transceivers[source] = transceiver
        self._dirty = True
        return published

    def stop_publishing(self, source: str) -> PublishedTrack | None:
        """Stop receiving ``source``; its transceiver goes inactive until it is published again."""
        published = self.published.get(source)
        if published is None or self._publish_transceivers[source].direction == "inactive":
            return None
        self._publish_transceivers[source].direction = "inactive"
        published.set_forwarding(False)
        self._dirty = True
        return published

    def is_publishing(self, source: str) -> bool:
        transceiver = self._publish_transceivers.get(source)
        return transceiver is not None and transceiver.direction != "inactive"

    @property
    def is_closed(self) -> bool:
        """Closed by us, or by the browser (aiortc closes a peer connection whose DTLS peer said goodbye)."""
        return self._closed or self.pc.connectionState == "closed"

    def subscribe(self, published: PublishedTrack) -> None:
        """Start forwarding ``published`` to this participant (sent with the next offer); once only."""
        if self.is_closed or any(s.track.source is published for s in self.subscriptions):
            return
        idle = next(
            (s for s in self.subscriptions if s.publisher_id is None and s.track.kind == published.kind),
            None,
        )
        if idle is None:
            track = ForwardingTrack(published.kind)
            transceiver = add_sending_transceiver(self.pc, track)
            transceiver.setCodecPreferences(codec_preferences(published.kind))
            is_video = published.kind == "video"
            packet_sender = PacketSender(transceiver.sender, track, self.bandwidth if is_video else None)
            if is_video and self.bandwidth.sent_packets is not None:
                packet_sender.use_transport_cc(self.bandwidth.sent_packets)
            idle = Subscription(transceiver=transceiver, track=track, publisher_id=None, packet_sender=packet_sender)
            self.subscriptions.append(idle)
        else:
            idle.transceiver.direction = "sendonly"
        idle.track.attach(published)
        idle.publisher_id = published.participant_id
        idle.source = published.source
        idle.view = None
        idle.fresh = True
        self._dirty = True
        if published.kind == "video":
            self.bandwidth.ensure_running()

    def set_views(self, views: dict[tuple[str, str], View]) -> None:
        """
        How big this participant shows each video it receives ((publisher, source) -> view): a
        small tile needs no 720p, a hidden one nothing. Videos not named keep what they had.
        """
        for subscription in self.subscriptions:
            if subscription.publisher_id is None or subscription.source is None:
                continue
            view = views.get((subscription.publisher_id, subscription.source))
            if view is not None:
                subscription.view = view
        self.bandwidth.views_changed()

    def unsubscribe(self, publisher_id: str, source: str | None = None) -> None:
        """Stop forwarding a publisher (or one of its sources); the transceivers go inactive for reuse."""
        for subscription in self.subscriptions:
            if subscription.publisher_id == publisher_id and source in (None, subscription.source):
                subscription.track.detach()
                subscription.transceiver.direction = "inactive"
                subscription.publisher_id = None
                self._dirty = True

    async def negotiate(self) -> None:
        """Send an offer if anything changed, unless one is already waiting for its answer."""
        if self.is_closed or self._awaiting_answer:
            return
        self._dirty = False
        self._awaiting_answer = True
        try:
            await self.pc.setLocalDescription(await self.pc.createOffer())
        except Exception:
            self._awaiting_answer = False
            raise
        if self._closed:
            return
        self.negotiations += 1
        await self._send_signal(self._offer())

    async def repeat_offer(self) -> None:
        """
        Send the offer that waits for its answer once more: the browser may never have got it,
        or its answer went down with a dropped socket. Answering the same offer twice is harmless.
        """
        if self._awaiting_answer and not self._closed and self.pc.localDescription is not None:
            await self._send_signal(self._offer())

    def _offer(self) -> Offer:
        """The current local offer with what each of its media sections publishes or carries."""
        local = self.pc.localDescription
        assert local is not None, "an offer is made after setLocalDescription"
        sdp = ask_opus_resilience(announce_address(local.sdp, self.config.announced_ip))
        camera = self._publish_transceivers.get("video")
        if camera is not None and camera.mid is not None:
            sdp = offer_simulcast(sdp, {camera.mid: SIMULCAST_RIDS})
        sending_video = {s.transceiver.mid for s in self.subscriptions if s.track.kind == "video" and s.transceiver.mid}
        if sending_video:
            sdp = offer_transport_cc(sdp, sending_video, TRANSPORT_CC_ID, TRANSPORT_CC_URI)
        publish = {
            source: t.mid
            for source, t in self._publish_transceivers.items()
            if t.mid is not None and t.direction != "inactive"
        }
        tracks = {
            s.transceiver.mid: OfferedTrack(s.publisher_id, s.track.kind, s.source)
            for s in self.subscriptions
            # A subscription's source is set whenever its publisher is.
            if s.publisher_id is not None and s.source is not None and s.transceiver.mid is not None
        }
        return Offer(sdp=sdp, publish=publish, tracks=tracks)

    async def handle_answer(self, sdp: str) -> None:
        """Apply the browser's answer, then send the next offer if changes piled up meanwhile."""
        if not self._awaiting_answer or self._closed:
            raise NegotiationError("No offer is waiting for an answer.")
        # aiortc takes the first bundled mid's transport for every other bundled section without
        # checking it: an unknown one leaves them with none, breaking this connection for good.
        offered = {t.mid for t in self.pc.getTransceivers() if t.mid is not None}
        if not set(bundle_mids(sdp)) <= offered:
            self._awaiting_answer = False
            raise NegotiationError("The answer bundles media sections that were not offered.")
        sdp = share_bundle_candidates(sdp)
        logger.debug("participant %s answer:\n%s", self.participant_id, sdp)
        try:
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))
        except Exception as exc:
            raise NegotiationError(f"The answer was refused: {exc}") from exc
        finally:
            self._awaiting_answer = False
        if self.config.receive_from_socket:
            for transport in {t.receiver.transport for t in self.pc.getTransceivers() if t.receiver.transport}:
                receive_from_socket(transport)
        if self.bandwidth.sent_packets is None and accepts_transport_cc(sdp, TRANSPORT_CC_URI):
            self._use_transport_cc()
        for subscription in self.subscriptions:
            if subscription.fresh:
                subscription.fresh = False
                subscription.track.restart()
        if self._dirty:
            await self.negotiate()

    def _use_transport_cc(self) -> None:
        """
        The browser takes transport-wide feedback: number every video packet sent to it, and read its
        feedback from the connection's RTCP before aiortc does (aiortc would drop it as a malformed NACK).
        """
        sent = self.bandwidth.use_transport_cc()
        for subscription in self.subscriptions:
            if subscription.track.kind == "video" and subscription.packet_sender is not None:
                subscription.packet_sender.use_transport_cc(sent)
        transports = {t.sender.transport for t in self.pc.getTransceivers() if t.sender.transport is not None}
        bandwidth = self.bandwidth

        def observe_rtcp(data: bytes) -> None:
            for fci in transport_feedback(data):
                try:
                    reports = parse_feedback(fci)
                except ValueError:
                    continue
                bandwidth.on_transport_feedback(reports)

        for transport in transports:
            intercept_transport_rtcp(transport, observe_rtcp)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.bandwidth.close()
        for published in self.published.values():
            published.close()
        for subscription in self.subscriptions:
            subscription.track.stop()
        await self.pc.close()
        collect_closed_connections()
