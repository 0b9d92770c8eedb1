"""The encoded frame that travels from a publisher's receiver to subscribers' senders."""

from __future__ import annotations

from fractions import Fraction

VIDEO_TIME_BASE = Fraction(1, 90000)
AUDIO_TIME_BASE = Fraction(1, 48000)


class EncodedFrame:
    """
    One complete encoded frame (a VP8 frame or an Opus packet).

    aiortc's sender hands anything that is not an ``av.Frame`` to the codec's
    ``pack()``, which only needs ``bytes(frame)``, ``pts`` and ``time_base``:
    this is that, without copying the payload into an ``av.Packet``. One
    instance is shared, read-only, by every subscriber of the publisher.
    """

    __slots__ = ("data", "is_keyframe", "pts", "received_at", "time_base")

    def __init__(self, data: bytes, pts: int, time_base: Fraction, is_keyframe: bool, received_at: float) -> None:
        self.data = data
        self.pts = pts
        self.time_base = time_base
        self.is_keyframe = is_keyframe
        self.received_at = received_at

    def __bytes__(self) -> bytes:
        return self.data


def is_vp8_keyframe(data: bytes) -> bool:
    """A VP8 frame is a keyframe when the low bit of its first byte is 0 (RFC 6386 §9.1)."""
    return bool(data) and not data[0] & 0x01


def starts_vp8_frame(payload: bytes) -> bool:
    """
    An RTP payload that opens a VP8 frame: its descriptor's S bit is set and its partition
    index is 0 (RFC 7741 §4.2). Checked on the raw payload, descriptor included.
    """
    return bool(payload) and payload[0] & 0x17 == 0x10
