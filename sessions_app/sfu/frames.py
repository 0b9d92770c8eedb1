"""The encoded frames that travel from a publisher's receiver to subscribers' senders."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .vp8 import Vp8FrameInfo

NTP_UNIX_OFFSET_S = 2_208_988_800
NTP_FRACTION = 1 << 32


def ntp_now() -> int:
    """The wall clock as a 64-bit NTP timestamp, as RTCP sender reports carry it."""
    return int((time.time() + NTP_UNIX_OFFSET_S) * NTP_FRACTION)


class TappedFrame:
    """
    A complete frame as the receiver's jitter buffer hands it on: the RTP payloads it came in,
    as they came (a VP8 frame's packets keep their payload descriptors). Audio's ``timestamp`` is
    on aiortc's timeline (starting at 0); video's is the RTP timestamp of its layer's stream.

    Video frames also say which simulcast ``layer`` they belong to (0 lowest), which of that
    layer's streams (``generation``: a new SSRC starts a new one), their VP8 descriptor's
    fields (``info``: temporal layer, picture ID) and their ``size`` in bytes.
    """

    __slots__ = ("audio_level", "generation", "info", "is_keyframe", "layer", "payloads", "size", "timestamp")

    def __init__(
        self,
        payloads: Sequence[bytes],
        timestamp: int,
        is_keyframe: bool = False,
        audio_level: tuple[bool, int] | None = None,
        layer: int = 0,
        generation: int = 0,
        info: Vp8FrameInfo | None = None,
        size: int = 0,
    ) -> None:
        self.payloads = payloads
        self.timestamp = timestamp
        self.is_keyframe = is_keyframe
        self.audio_level = audio_level
        self.layer = layer
        self.generation = generation
        self.info = info
        self.size = size


class EncodedFrame:
    """
    One frame on its way to every subscriber of a publisher, shared read-only by them all.

    ``pts`` is in RTP clock units (90 kHz video, 48 kHz audio): audio's on the publisher's
    timeline; video's on its layer's own RTP clock, which each subscriber maps onto one timeline
    across layer switches. Each subscriber's sender adds its own random origin. ``ntp`` is the
    wall clock when the frame came in, read once for every subscriber: their abs-send-time
    header extension and RTCP sender reports carry it. ``layer``, ``generation`` and ``info`` as
    in ``TappedFrame``.
    """

    __slots__ = ("audio_level", "generation", "info", "is_keyframe", "layer", "ntp", "payloads", "pts")

    def __init__(
        self,
        payloads: Sequence[bytes],
        pts: int,
        is_keyframe: bool,
        ntp: int,
        audio_level: tuple[bool, int] | None = None,
        layer: int = 0,
        generation: int = 0,
        info: Vp8FrameInfo | None = None,
    ) -> None:
        self.payloads = payloads
        self.pts = pts
        self.is_keyframe = is_keyframe
        self.ntp = ntp
        self.audio_level = audio_level
        self.layer = layer
        self.generation = generation
        self.info = info
