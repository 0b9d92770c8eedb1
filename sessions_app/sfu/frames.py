"""The encoded frames that travel from a publisher's receiver to subscribers' senders."""

from __future__ import annotations

import time
from collections.abc import Sequence

NTP_UNIX_OFFSET_S = 2_208_988_800
NTP_FRACTION = 1 << 32


def ntp_now() -> int:
    """The wall clock as a 64-bit NTP timestamp, as RTCP sender reports carry it."""
    return int((time.time() + NTP_UNIX_OFFSET_S) * NTP_FRACTION)


class TappedFrame:
    """
    A complete frame as the receiver's jitter buffer hands it on: the RTP payloads it came in,
    as they came (a VP8 frame's packets keep their payload descriptors). aiortc's receiver only
    rewrites ``timestamp`` (onto a timeline starting at 0) before the tap takes it.
    """

    __slots__ = ("audio_level", "is_keyframe", "payloads", "timestamp")

    def __init__(
        self,
        payloads: Sequence[bytes],
        timestamp: int,
        is_keyframe: bool = False,
        audio_level: tuple[bool, int] | None = None,
    ) -> None:
        self.payloads = payloads
        self.timestamp = timestamp
        self.is_keyframe = is_keyframe
        self.audio_level = audio_level


class EncodedFrame:
    """
    One frame on its way to every subscriber of a publisher, shared read-only by them all.

    ``pts`` is on the publisher's continuous timeline in RTP clock units (90 kHz video, 48 kHz
    audio); each subscriber's sender adds its own random origin. ``ntp`` is the wall clock when
    the frame came in, read once for every subscriber: their abs-send-time header extension and
    RTCP sender reports carry it.
    """

    __slots__ = ("audio_level", "is_keyframe", "ntp", "payloads", "pts")

    def __init__(
        self,
        payloads: Sequence[bytes],
        pts: int,
        is_keyframe: bool,
        ntp: int,
        audio_level: tuple[bool, int] | None = None,
    ) -> None:
        self.payloads = payloads
        self.pts = pts
        self.is_keyframe = is_keyframe
        self.ntp = ntp
        self.audio_level = audio_level


def is_vp8_keyframe(data: bytes) -> bool:
    """A VP8 frame is a keyframe when the low bit of its first byte is 0 (RFC 6386 §9.1)."""
    return bool(data) and not data[0] & 0x01


def starts_vp8_frame(payload: bytes) -> bool:
    """
    An RTP payload that opens a VP8 frame: its descriptor's S bit is set and its partition
    index is 0 (RFC 7741 §4.2). Checked on the raw payload, descriptor included.
    """
    return bool(payload) and payload[0] & 0x17 == 0x10
