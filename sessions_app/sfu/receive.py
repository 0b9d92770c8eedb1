"""
A publisher's video as it arrives: its simulcast layers told apart, each assembled into frames.

aiortc's receiver handles one RTP stream: one NACK generator, one jitter buffer, the SSRC the
answer declared. A browser sending simulcast sends three streams on one media section (one per
``rid`` we offered), with SSRCs no answer declares: the first packets of each carry the
``rtp-stream-id`` header extension (its retransmissions ``repaired-rtp-stream-id``). We take over
the receiver's packet handler for video: each packet is routed to its layer by SSRC (learned from
those extensions), retransmissions are unwrapped, and every layer has its own NACK generator and
frame assembler. What aiortc's handler did besides (the REMB the publisher's browser adapts its
encoders to, the receiver reports' statistics) is kept. A publisher that sends one stream (no rid)
is a single layer 0. Nothing is depayloaded or decoded: frames keep their packets' payloads.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiortc.codecs import is_rtx
from aiortc.rtp import RTCP_PSFB_APP, RtcpPsfbPacket, RtpPacket, pack_remb_fci, unwrap_rtx

from .bandwidth import PublisherUplink
from .compat import (
    JitterBuffer,
    NackGenerator,
    StreamStatistics,
    receiver_codecs,
    receiver_enabled,
    receiver_rtcp_ssrc,
    receiver_statistics,
    rtx_ssrc_table,
    send_nack,
    send_receiver_rtcp,
)
from .frames import TappedFrame
from .vp8 import Vp8FrameInfo, descriptor_length, parse_frame_info, starts_frame

if TYPE_CHECKING:
    from aiortc.rtcrtpreceiver import RTCRtpReceiver

    from .published import PublishedTrack

# The rids we offer a camera, lowest layer first (LiveKit's names: quarter, half, full resolution).
SIMULCAST_RIDS = ("q", "h", "f")
LAYER_OF_RID = {rid: index for index, rid in enumerate(SIMULCAST_RIDS)}
MAX_TEMPORAL_LAYERS = 3

VIDEO_JITTER_CAPACITY = 512
# A frame that cannot complete while later ones arrive this long after it has lost a packet for good
# (NACK repair takes one round trip): drop it and start again from a keyframe rather than freeze.
VIDEO_STALL_S = 0.4
VIDEO_STALL_TICKS = int(VIDEO_STALL_S * 90_000)
RTP_TIMESTAMP_HALF_RANGE = 1 << 31
RTP_SEQUENCE_HALF_RANGE = 1 << 15
VP8_START_CODE = b"\x9d\x01\x2a"
LOSS_SAMPLE_S = 0.5
# How often the publisher is told its uplink figure (REMB); the first with its first packet.
REMB_INTERVAL_MS = 500


def keyframe_size(first_payload: bytes) -> tuple[int, int] | None:
    """The (width, height) a VP8 keyframe's header declares (RFC 6386 §9.1), read past the descriptor."""
    offset = descriptor_length(first_payload)
    header = first_payload[offset : offset + 10] if offset > 0 else b""
    if len(header) < 10 or header[0] & 0x01 or header[3:6] != VP8_START_CODE:
        return None
    return int.from_bytes(header[6:8], "little") & 0x3FFF, int.from_bytes(header[8:10], "little") & 0x3FFF


class FrameAssembler(JitterBuffer):
    """
    aiortc's video jitter buffer for one layer's stream, made to recover from what would freeze it.

    aiortc's buffer waits for a lost packet until 512 later ones have piled up, seconds of
    video at a screen share's bitrate. Here a frame still incomplete when packets
    ``VIDEO_STALL_S`` younger arrive is given up: the buffer empties, waits for the start of
    the next frame, and reports picture loss (a PLI for this layer, and its subscribers wait
    for the keyframe that answers it).
    """

    def __init__(self, layer: VideoLayer) -> None:
        super().__init__(capacity=VIDEO_JITTER_CAPACITY, is_video=True)
        self._layer = layer
        self._awaiting_frame_start = False
        self.stalls = 0

    # aiortc types a jitter buffer's frames as JitterFrame; this one makes TappedFrames.
    def add(self, packet: RtpPacket) -> tuple[bool, TappedFrame | None]:  # type: ignore[override]
        if self._awaiting_frame_start:
            if not starts_frame(packet.payload):
                return False, None
            self._awaiting_frame_start = False
        pli_flag, frame = super().add(packet)
        if frame is None and not pli_flag and self._stalled_behind(packet.timestamp):
            self.stalls += 1
            self.start_again()
            return True, None
        return pli_flag, frame  # type: ignore[return-value]  # made by our _remove_frame: a TappedFrame

    # aiortc types a jitter buffer's frames as JitterFrame; this one makes TappedFrames.
    def _remove_frame(self, sequence_number: int) -> TappedFrame | None:  # type: ignore[override]
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
        """The first ``count`` packets from the origin as one frame, removed from the buffer, payloads as they came."""
        packets = self._packets
        capacity = self._capacity
        origin: int = self._origin  # type: ignore[assignment]
        payloads = []
        size = 0
        for offset in range(count):
            position = (origin + offset) % capacity
            payload = packets[position].payload  # type: ignore[union-attr]
            payloads.append(payload)
            size += len(payload)
            packets[position] = None
        self._origin = (origin + count) & 0xFFFF
        layer = self._layer
        info = parse_frame_info(payloads[0])
        is_keyframe = info is not None and info.is_keyframe
        if is_keyframe:
            layer.observe_keyframe(payloads[0])
        return TappedFrame(
            payloads, timestamp, is_keyframe, layer=layer.index, generation=layer.generation, info=info, size=size
        )

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

    def is_behind(self, sequence_number: int) -> bool:
        """The packet ``sequence_number`` is older than the buffer's origin: its frame went out, or was given up."""
        origin = self._origin
        return origin is not None and 0 < (origin - sequence_number) & 0xFFFF < RTP_SEQUENCE_HALF_RANGE

    def start_again(self) -> None:
        """Forget every buffered packet and take the next packet that opens a frame as the origin."""
        packets = self._packets
        for index in range(self._capacity):
            packets[index] = None
        self._origin = None
        self._awaiting_frame_start = True


class VideoLayer:
    """
    One simulcast layer of a publisher's video (or its only stream): its SSRC, repair and frames,
    and what subscribers' bandwidth allocation needs to know of it (bitrate per temporal layer,
    resolution, whether it is being sent at all).
    """

    __slots__ = (
        "assembler",
        "generation",
        "height",
        "index",
        "last_frame_at",
        "nack",
        "octets_by_tid",
        "rates_by_tid",
        "ssrc",
        "width",
    )

    def __init__(self, index: int) -> None:
        self.index = index
        self.ssrc: int | None = None
        self.generation = 0
        self.nack = NackGenerator()
        self.assembler = FrameAssembler(self)
        self.width = 0
        self.height = 0
        self.last_frame_at = 0.0
        # Bytes received per temporal layer since the last rate sample, and the rates sampled (bit/s).
        self.octets_by_tid = [0] * MAX_TEMPORAL_LAYERS
        self.rates_by_tid = [0.0] * MAX_TEMPORAL_LAYERS

    def bind(self, ssrc: int) -> bool:
        """This layer is now sent on ``ssrc``; True when that starts a new stream (the old one's state goes)."""
        if ssrc == self.ssrc:
            return False
        fresh = self.ssrc is not None
        self.ssrc = ssrc
        if fresh:
            self.generation += 1
            self.nack = NackGenerator()
            self.assembler.start_again()
        return fresh

    def observe_keyframe(self, first_payload: bytes) -> None:
        size = keyframe_size(first_payload)
        if size is not None:
            self.width, self.height = size

    def count(self, info: Vp8FrameInfo | None, size: int, now: float) -> None:
        tid = info.tid if info is not None and info.tid < MAX_TEMPORAL_LAYERS else 0
        self.octets_by_tid[tid] += size
        self.last_frame_at = now

    def sample_rates(self, elapsed_s: float) -> None:
        """Turn the bytes counted over ``elapsed_s`` into bit rates (smoothed), and start counting again."""
        octets = self.octets_by_tid
        rates = self.rates_by_tid
        for tid in range(MAX_TEMPORAL_LAYERS):
            measured = octets[tid] * 8 / elapsed_s
            rates[tid] = measured if rates[tid] == 0 else 0.5 * rates[tid] + 0.5 * measured
            octets[tid] = 0

    def rate_up_to(self, tid: int) -> float:
        """Bit rate of this layer's temporal layers 0..tid."""
        return sum(self.rates_by_tid[: tid + 1])


class VideoReceivePath:
    """
    Stands in for ``RTCRtpReceiver._handle_rtp_packet`` on a publisher's video receiver.

    Sends the publisher REMB feedback (its browser turns its top layers off by itself when our
    figure for its uplink is low; ``bandwidth.PublisherUplink`` says how it is made, without
    aiortc's per-packet delay estimator, which cost more than parsing the packets), keeps the
    receiver-report statistics, and does the rest per layer: RTX unwrapping, NACKs, frame
    assembly, keyframe requests.
    """

    def __init__(self, receiver: RTCRtpReceiver, published: PublishedTrack) -> None:
        self._receiver = receiver
        self._published = published
        self._codecs = receiver_codecs(receiver)
        self._remote_streams = receiver_statistics(receiver)
        self._rtx_ssrcs = rtx_ssrc_table(receiver)
        # SSRC -> (layer, whether the SSRC carries that layer's retransmissions).
        self._streams: dict[int, tuple[VideoLayer, bool]] = {}
        self.uplink = PublisherUplink()
        self._received_octets = 0
        self._remb_sent_ms = 0
        self._loss_sampled_at = 0.0
        self._loss = 0.0
        self._counted: dict[int, tuple[int, int]] = {}

    async def handle(self, packet: RtpPacket, arrival_time_ms: int) -> None:
        receiver = self._receiver
        if not receiver_enabled(receiver):
            return
        self._received_octets += len(packet.payload) + packet.padding_size
        if arrival_time_ms - self._remb_sent_ms >= REMB_INTERVAL_MS:
            await self._send_remb(arrival_time_ms)
        codec = self._codecs.get(packet.payload_type)
        if codec is None:
            return
        ssrc = packet.ssrc
        statistics = self._remote_streams.get(ssrc)
        if statistics is None:
            statistics = self._remote_streams[ssrc] = StreamStatistics(codec.clockRate)
        statistics.add(packet)
        retransmission = is_rtx(codec)
        stream = self._streams.get(ssrc)
        if stream is None:
            stream = self._identify(packet, retransmission)
            if stream is None:
                return
        layer, retransmission = stream
        if retransmission:
            apt = codec.parameters.get("apt")
            if len(packet.payload) < 2 or apt not in self._codecs or layer.ssrc is None:
                return  # padding (a bandwidth probe) or a repair for a stream not seen yet
            packet = unwrap_rtx(packet, payload_type=apt, ssrc=layer.ssrc)
            if layer.assembler.is_behind(packet.sequence_number):
                # Payload padding: a browser probing its uplink sends old packets again on RTX
                # (Firefox 153 one packet, over and over). aiortc's buffer would start again from
                # one more than 100 behind, replay its frame and stall waiting for the next.
                return
        elif ssrc != layer.ssrc:
            return  # a layer's old stream, still in flight after it moved to a new SSRC
        if layer.nack.add(packet):
            await send_nack(receiver, layer.ssrc, sorted(layer.nack.missing))
        lost, frame = layer.assembler.add(packet)
        if lost:
            self._published.on_upstream_loss(layer)
        if frame is not None:
            self._published.on_frame(frame)

    def _identify(self, packet: RtpPacket, retransmission: bool) -> tuple[VideoLayer, bool] | None:
        """The layer of a packet from an SSRC not seen before, from its rid extensions or the negotiated SSRCs."""
        extensions = packet.extensions
        published = self._published
        ssrc = packet.ssrc
        if retransmission:
            rid = extensions.repaired_rtp_stream_id
            if rid is not None:
                index = LAYER_OF_RID.get(rid)
                if index is None:
                    return None
                layer = published.layer(index)
            else:
                media = self._streams.get(self._rtx_ssrcs.get(ssrc, -1))
                if media is None:
                    return None
                layer = media[0]
            stream = self._streams[ssrc] = (layer, True)
            return stream
        rid = extensions.rtp_stream_id
        index = LAYER_OF_RID.get(rid, -1) if rid is not None else 0
        if index < 0:
            return None
        layer = published.layer(index)
        old = layer.ssrc
        if layer.bind(ssrc):
            self._streams.pop(old, None)  # type: ignore[arg-type]
            published.on_new_stream(layer)
        stream = self._streams[ssrc] = (layer, False)
        return stream

    def _recent_loss(self, now: float) -> float:
        """The share of the publisher's media packets lost since the last sample (at most every LOSS_SAMPLE_S)."""
        if now - self._loss_sampled_at < LOSS_SAMPLE_S:
            return self._loss
        self._loss_sampled_at = now
        expected = received = 0
        for ssrc, (_, retransmission) in self._streams.items():
            statistics = self._remote_streams.get(ssrc)
            if retransmission or statistics is None or statistics.base_seq is None:
                continue
            before = self._counted.get(ssrc, (statistics.packets_expected, statistics.packets_received))
            now_counts = (statistics.packets_expected, statistics.packets_received)
            expected += now_counts[0] - before[0]
            received += now_counts[1] - before[1]
            self._counted[ssrc] = now_counts
        self._loss = max(expected - received, 0) / expected if expected > 0 else 0.0
        return self._loss

    async def _send_remb(self, arrival_time_ms: int) -> None:
        """Tell the publisher's browser what its uplink may carry (REMB): ``bandwidth.PublisherUplink``."""
        receiver = self._receiver
        rtcp_ssrc = receiver_rtcp_ssrc(receiver)
        ssrcs = [layer.ssrc for layer in self._published.layers if layer.ssrc is not None]
        if rtcp_ssrc is None or not ssrcs:
            return
        elapsed_ms = arrival_time_ms - self._remb_sent_ms
        received_bps = self._received_octets * 8000 / elapsed_ms if self._remb_sent_ms else 0.0
        self._remb_sent_ms = arrival_time_ms
        self._received_octets = 0
        now = arrival_time_ms / 1000
        bitrate = self.uplink.advertise(received_bps, now, self._recent_loss(now))
        await send_receiver_rtcp(
            receiver, RtcpPsfbPacket(fmt=RTCP_PSFB_APP, ssrc=rtcp_ssrc, media_ssrc=0, fci=pack_remb_fci(bitrate, ssrcs))
        )
