"""
Synthetic publishers for the simulcast benchmark: VP8 RTP as a browser sends it, SRTP-protected.

aiortc cannot send simulcast, so the packets are written here: per layer its own SSRC, sequence
numbers, RTP clock, 15-bit picture IDs and (with temporal layers) TL0PICIDX and TID in an L1T3
pattern (0, 2, 1, 2), the MID, abs-send-time and rid header extensions, a keyframe on every layer
every ``gop`` frames, and payloads split at RTP_PAYLOAD_BYTES. The SFU never decodes, so frames
are random bytes behind a real VP8 frame tag (keyframes carry the start code and their size,
which the receive path reads); their sizes follow each layer's bit rate, a keyframe five times a
delta frame, base-layer frames bigger than the upper temporal layers' as encoders make them.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass

from aiortc.rtcdtlstransport import SRTP_PROFILES
from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpParameters
from aiortc.rtp import HeaderExtensionsMap, RtpPacket
from pylibsrtp import Policy, Session

from sessions_app.sfu.compat import RID_EXTENSIONS

from .media import RTP_PAYLOAD_BYTES

FPS = 30
FRAME_TICKS = 90_000 // FPS
VP8_PAYLOAD_TYPE = 96
KEYFRAME_WEIGHT = 5.0
# Relative frame sizes by temporal layer in L1T3 (mean 1 over the pattern 0, 2, 1, 2).
TEMPORAL_WEIGHTS = (1.6, 1.0, 0.7)
L1T3_PATTERN = (0, 2, 1, 2)
# The ids aiortc negotiates for video (aiortc.codecs.HEADER_EXTENSIONS), with the rid ones the SFU adds.
HEADER_EXTENSIONS = [
    RTCRtpHeaderExtensionParameters(id=1, uri="urn:ietf:params:rtp-hdrext:sdes:mid"),
    RTCRtpHeaderExtensionParameters(id=2, uri="http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"),
    *RID_EXTENSIONS,
]
PUBLISHER_MID = "0"


@dataclass(frozen=True)
class LayerSpec:
    """One RTP stream a publisher sends: a simulcast layer (``rid``) or its only stream (no rid)."""

    rid: str | None
    width: int
    height: int
    kbit_per_s: float
    temporal_layers: bool


# Today's path: one VP8 stream per publisher, as bench/media.py's camera-like stream (640x480, ~850 kbit/s).
SINGLE_LAYER = (LayerSpec(None, 640, 480, 850, temporal_layers=False),)
# A browser's three layers at LiveKit's default bit rates for 180p, 360p and 720p, L1T3 each.
SIMULCAST = (
    LayerSpec("q", 320, 180, 150, temporal_layers=True),
    LayerSpec("h", 640, 360, 500, temporal_layers=True),
    LayerSpec("f", 1280, 720, 1500, temporal_layers=True),
)


def extensions_map() -> HeaderExtensionsMap:
    """The header extension ids both ends agreed on (what the SFU's offer and the browser's answer say)."""
    mapping = HeaderExtensionsMap()
    mapping.configure(RTCRtpParameters(headerExtensions=HEADER_EXTENSIONS))
    return mapping


def srtp_key() -> bytes:
    """A fixed key and salt of aiortc's first SRTP profile (what two aiortc ends agree on)."""
    profile = SRTP_PROFILES[0]
    return bytes(range(profile.key_length + profile.salt_length))


def srtp_session(outbound: bool) -> Session:
    policy = Policy(
        key=srtp_key(),
        ssrc_type=Policy.SSRC_ANY_OUTBOUND if outbound else Policy.SSRC_ANY_INBOUND,
        srtp_profile=SRTP_PROFILES[0].libsrtp_profile,
    )
    policy.allow_repeat_tx = True
    policy.window_size = 1024
    return Session(policy)


def descriptor(start: bool, picture_id: int, tl0picidx: int | None, tid: int | None) -> bytes:
    """A VP8 payload descriptor (RFC 7741): X, S on a frame's first packet, a 15-bit picture ID, L and T if layered."""
    flags = 0x80 | (0x40 if tl0picidx is not None else 0) | (0x20 if tid is not None else 0)
    out = [0x90 if start else 0x80, flags, 0x80 | picture_id >> 8, picture_id & 0xFF]
    if tl0picidx is not None:
        out.append(tl0picidx)
    if tid is not None:
        out.append(tid << 6 | (0x20 if tid else 0))
    return bytes(out)


def frame_tag(spec: LayerSpec, keyframe: bool) -> bytes:
    """The start of a VP8 frame: its tag, and for a keyframe the start code and its size (RFC 6386 §9.1)."""
    if not keyframe:
        return b"\x31\x02\x00"
    return b"\x30\x02\x00\x9d\x01\x2a" + spec.width.to_bytes(2, "little") + spec.height.to_bytes(2, "little")


def frame_sizes(spec: LayerSpec, count: int, gop: int) -> list[int]:
    """Bytes of each frame, averaging the layer's bit rate over a GOP."""
    weights = []
    for index in range(count):
        tid = L1T3_PATTERN[index % len(L1T3_PATTERN)] if spec.temporal_layers else 0
        weight = TEMPORAL_WEIGHTS[tid] if spec.temporal_layers else 1.0
        weights.append(KEYFRAME_WEIGHT if index % gop == 0 else weight)
    per_gop = sum(weights[:gop]) if count >= gop else sum(weights)
    mean_bytes = spec.kbit_per_s * 1000 / 8 / FPS
    scale = mean_bytes * min(gop, count) / per_gop
    return [max(16, round(weight * scale)) for weight in weights]


@dataclass
class StreamSummary:
    """What one synthetic publisher sends, reported next to the results."""

    layers: list[dict[str, object]]
    frames: int
    packets: int
    kbit_per_s: float
    packets_per_s: float


def publisher_packets(
    layers: tuple[LayerSpec, ...], frames: int, gop: int, seed: int = 7
) -> tuple[list[list[bytes]], StreamSummary]:
    """
    ``frames`` frames of every layer as SRTP datagrams, grouped by frame index (every layer's
    packets of frame ``i``, lowest layer first), and what they add up to.
    """
    rng = random.Random(seed)
    filler = rng.randbytes(1 << 16)
    mapping = extensions_map()
    srtp = srtp_session(outbound=True)
    by_frame: list[list[bytes]] = [[] for _ in range(frames)]
    total_bytes = total_packets = 0
    for spec in layers:
        ssrc = rng.getrandbits(32)
        sequence = rng.getrandbits(16)
        timestamp = rng.getrandbits(32)
        picture_id = rng.getrandbits(15)
        tl0picidx = rng.getrandbits(8)
        for index, size in enumerate(frame_sizes(spec, frames, gop)):
            keyframe = index % gop == 0
            tid = L1T3_PATTERN[index % len(L1T3_PATTERN)] if spec.temporal_layers else None
            if tid == 0 and index:
                tl0picidx = (tl0picidx + 1) & 0xFF
            head = frame_tag(spec, keyframe)
            offset = rng.randrange(len(filler) - size)
            data = head + filler[offset : offset + max(0, size - len(head))]
            chunk = RTP_PAYLOAD_BYTES
            chunks = [data[start : start + chunk] for start in range(0, len(data), chunk)]
            for number, part in enumerate(chunks):
                packet = RtpPacket(
                    payload_type=VP8_PAYLOAD_TYPE,
                    marker=int(number == len(chunks) - 1),
                    sequence_number=sequence,
                    timestamp=timestamp,
                    ssrc=ssrc,
                )
                packet.extensions.mid = PUBLISHER_MID
                packet.extensions.abs_send_time = (index * (1 << 18) // FPS) & 0xFFFFFF
                packet.extensions.rtp_stream_id = spec.rid
                tl0 = tl0picidx if spec.temporal_layers else None
                packet.payload = descriptor(number == 0, picture_id, tl0, tid) + part
                by_frame[index].append(srtp.protect(packet.serialize(mapping)))
                sequence = (sequence + 1) & 0xFFFF
                total_packets += 1
                total_bytes += len(packet.payload)
            picture_id = (picture_id + 1) & 0x7FFF
            timestamp = (timestamp + FRAME_TICKS) & 0xFFFFFFFF
    seconds = frames / FPS
    summary = StreamSummary(
        layers=[asdict(spec) for spec in layers],
        frames=frames,
        packets=total_packets,
        kbit_per_s=round(total_bytes * 8 / seconds / 1000, 1),
        packets_per_s=round(total_packets / seconds, 1),
    )
    return by_frame, summary
