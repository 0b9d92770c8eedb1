"""Taps a receiver's encoded frames before aiortc would decode them."""

from __future__ import annotations

from typing import Any

from aiortc import rtcrtpreceiver
from aiortc.jitterbuffer import JitterBuffer
from aiortc.rtcrtpparameters import RTCRtpReceiveParameters
from aiortc.rtcrtpreceiver import RTCRtpReceiver
from aiortc.rtp import RtpPacket

from .frames import TappedFrame, is_vp8_keyframe, starts_vp8_frame
from .published import PublishedTrack

VIDEO_JITTER_CAPACITY = 512
# A frame that cannot complete while later ones arrive this long after it has lost a packet for good
# (NACK repair takes one round trip): drop it and start again from a keyframe rather than freeze.
VIDEO_STALL_S = 0.4
VIDEO_STALL_TICKS = int(VIDEO_STALL_S * 90_000)
RTP_TIMESTAMP_HALF_RANGE = 1 << 31


class SourceTrackingJitterBuffer(JitterBuffer):
    """
    aiortc's video jitter buffer, made to recover from what would freeze it.

    It follows the SSRC the publisher really sends: the one in the SDP goes stale when a
    browser stops and restarts a screen share or replaces its track. Keyframe requests must
    name the live SSRC, and a new stream starts afresh, from a keyframe.

    aiortc's buffer waits for a lost packet until 512 later ones have piled up, seconds of
    video at a screen share's bitrate. Here a frame still incomplete when packets
    ``VIDEO_STALL_S`` younger arrive is given up: the buffer empties, waits for the start of
    the next frame, and reports picture loss (the receiver sends a PLI and every subscriber
    waits for the keyframe that answers it).
    """

    def __init__(self, published: PublishedTrack) -> None:
        super().__init__(capacity=VIDEO_JITTER_CAPACITY, is_video=True)
        self._published = published
        self._awaiting_frame_start = False
        self.stalls = 0

    def add(self, packet: RtpPacket) -> tuple[bool, TappedFrame | None]:
        if packet.ssrc != self._published.media_ssrc:
            self._published.on_new_stream(packet.ssrc)
            self._start_again()
        if self._awaiting_frame_start:
            if not starts_vp8_frame(packet.payload):
                return False, None
            self._awaiting_frame_start = False
        pli_flag, frame = super().add(packet)
        if frame is None and not pli_flag and self._stalled_behind(packet.timestamp):
            self.stalls += 1
            self._start_again()
            return True, None
        return pli_flag, frame

    def _remove_frame(self, sequence_number: int) -> TappedFrame | None:
        """
        The oldest frame, once complete: its packets run without a gap from the origin to the
        one with the marker bit, or (a sender that sets no marker) to a packet of the next frame.
        """
        packets = self._packets
        capacity = self._capacity
        origin = self._origin
        first = packets[origin % capacity]  # type: ignore[operator]
        if first is None:
            return None
        timestamp = first.timestamp
        for count in range(capacity):
            packet = packets[(origin + count) % capacity]  # type: ignore[operator]
            if packet is None:
                return None
            if packet.timestamp != timestamp:
                return self._take_frame(count, timestamp)
            if packet.marker:
                return self._take_frame(count + 1, timestamp)
        return None

    def _take_frame(self, count: int, timestamp: int) -> TappedFrame:
        """
        The first ``count`` packets from the origin as one frame, removed from the buffer: their
        payloads as they came, to be forwarded as they are. The first one's depayloaded bytes
        (``_data``, set by aiortc's receiver) open the VP8 frame and tell a keyframe.
        """
        packets = self._packets
        capacity = self._capacity
        origin: int = self._origin  # type: ignore[assignment]
        first = packets[origin % capacity]
        payloads = []
        for offset in range(count):
            position = (origin + offset) % capacity
            payloads.append(packets[position].payload)  # type: ignore[union-attr]
            packets[position] = None
        self._origin = (origin + count) & 0xFFFF
        return TappedFrame(payloads, timestamp, is_vp8_keyframe(first._data))  # type: ignore[union-attr]

    def _stalled_behind(self, timestamp: int) -> bool:
        origin = self._origin
        if origin is None:
            return False
        packets, capacity = self._packets, self._capacity
        oldest = packets[origin % capacity]
        if oldest is None:
            # The packet at the origin is the one missing (the frame before it went out whole):
            # the oldest frame waiting is the one of the first packet that is here.
            oldest = next((p for p in (packets[(origin + i) % capacity] for i in range(1, capacity)) if p), None)
            if oldest is None:
                return False
        ahead = (timestamp - oldest.timestamp) & 0xFFFFFFFF
        return VIDEO_STALL_TICKS < ahead < RTP_TIMESTAMP_HALF_RANGE

    def _start_again(self) -> None:
        """Forget every buffered packet and take the next packet that opens a frame as the origin."""
        packets = self._packets
        for index in range(self._capacity):
            packets[index] = None
        self._origin = None
        self._awaiting_frame_start = True


class ImmediateAudioBuffer(JitterBuffer):
    """
    Audio without buffering: every Opus packet is a whole frame, forwarded the moment it arrives.

    aiortc's buffer holds each packet until the next one shows it is complete (20 ms more
    latency) and a lost packet holds everything behind it until 16 have piled up (a
    320 ms gap). The subscriber's browser has its own jitter buffer that conceals loss.
    Packets older than the newest forwarded one (late or duplicated) are dropped. It also
    reads each packet's audio-level header extension, for speaker detection, and passes it
    on to subscribers.
    """

    def __init__(self, published: PublishedTrack) -> None:
        super().__init__(capacity=2)
        self._observe = published.observe_audio_level
        self._newest: int | None = None

    def add(self, packet: RtpPacket) -> tuple[bool, TappedFrame | None]:
        level = packet.extensions.audio_level
        if level is not None:
            self._observe(level[1])
        sequence = packet.sequence_number
        newest = self._newest
        if newest is not None and not 0 < (sequence - newest) & 0xFFFF < 0x8000:
            return False, None
        self._newest = sequence
        return False, TappedFrame((packet.payload,), packet.timestamp, audio_level=level)


class LazyBitrateEstimator:
    """
    A publisher's receive-side bandwidth estimator (what its REMB feedback comes from), made
    when its first packet arrives: a participant who never sends video never pays for one.
    """

    __slots__ = ("_receiver",)

    def __init__(self, receiver: RTCRtpReceiver) -> None:
        self._receiver = receiver

    def add(self, **packet: Any) -> Any:
        estimator = rtcrtpreceiver.RemoteBitrateEstimator()
        self._receiver._RTCRtpReceiver__remote_bitrate_estimator = estimator  # type: ignore[attr-defined]
        return estimator.add(**packet)


class DecoderQueueTap:
    """
    Stands in for the receiver's private decoder queue (``queue.Queue``).

    aiortc puts ``(codec, encoded_frame)`` on it for every complete frame:
    we hand the frame to the published track instead. aiortc's decoder
    thread reads it with ``get()``; returning None at once ends that thread
    before it creates a decoder, so nothing is ever decoded.
    """

    __slots__ = ("_on_frame",)

    def __init__(self, published: PublishedTrack) -> None:
        self._on_frame = published.on_frame

    def put(self, item: Any) -> None:
        if item is not None:
            self._on_frame(item[1])

    def get(self) -> None:
        return None


def tap_receiver(receiver: RTCRtpReceiver, published: PublishedTrack) -> None:
    """
    Route ``receiver``'s encoded frames to ``published``; call before it starts.

    Also learns the publisher's SSRC when the receiver starts (for keyframe
    requests), follows the retransmission (RTX) SSRCs each new answer declares,
    and tells ``published`` when a packet is lost for good. Audio is forwarded
    packet by packet, unbuffered (we forward, we do not play out), its level metered.
    """
    receiver._RTCRtpReceiver__decoder_queue = DecoderQueueTap(published)  # type: ignore[attr-defined]
    if published.kind == "video":
        receiver._RTCRtpReceiver__remote_bitrate_estimator = LazyBitrateEstimator(receiver)  # type: ignore[attr-defined]
    if published.kind == "audio":
        receiver._RTCRtpReceiver__jitter_buffer = ImmediateAudioBuffer(published)  # type: ignore[attr-defined]
    else:
        receiver._RTCRtpReceiver__jitter_buffer = SourceTrackingJitterBuffer(published)  # type: ignore[attr-defined]

    send_pli = receiver._send_rtcp_pli
    start_receiving = receiver.receive

    async def send_pli_after_loss(media_ssrc: int) -> None:
        published.media_ssrc = media_ssrc
        published.on_upstream_loss()
        await send_pli(media_ssrc)

    rtx_ssrcs: dict[int, int] = receiver._RTCRtpReceiver__rtx_ssrc  # type: ignore[attr-defined]

    async def receive(parameters: RTCRtpReceiveParameters) -> None:
        # aiortc calls this after every negotiation but reads the parameters only the first time:
        # a restarted screen share's new retransmission SSRC would go unrecognised, and its losses unrepaired.
        for encoding in parameters.encodings:
            if encoding.rtx is not None:
                rtx_ssrcs[encoding.rtx.ssrc] = encoding.ssrc
        if parameters.encodings and published.media_ssrc is None:
            published.media_ssrc = parameters.encodings[0].ssrc
        await start_receiving(parameters)

    receiver._send_rtcp_pli = send_pli_after_loss  # type: ignore[method-assign]
    receiver.receive = receive  # type: ignore[method-assign]
    published.bind_pli_sender(send_pli)
