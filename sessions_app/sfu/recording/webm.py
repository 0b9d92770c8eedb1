"""
One recorded track's WebM file: encoded frames muxed as they came, on the recording's timeline.

Nothing here decodes or encodes. PyAV muxes packets into a stream that has no codec opened:
VP8 through ``add_mux_stream``; Opus through a stream copied from a template that is never
opened, because WebM wants Opus's identification header (``OpusHead``) as the track's codec
private data and only a codec context can carry it. A VP8 frame is its RTP payloads with each
payload descriptor stripped (RFC 7741 §4.2), as a receiver depayloads it; an Opus frame is its
payload. Everything in this module runs on the recording's writer thread.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING

import av

from ..receive import keyframe_size
from ..vp8 import descriptor_length

if TYPE_CHECKING:
    from av.container import OutputContainer
    from av.stream import Stream

logger = logging.getLogger(__name__)

MILLISECONDS = Fraction(1, 1000)
CLOCK_RATES = {"video": 90_000, "audio": 48_000}
CODECS = {"video": "vp8", "audio": "opus"}
RTP_TIMESTAMP_MODULUS = 1 << 32
RTP_TIMESTAMP_HALF_RANGE = 1 << 31
# Two frames whose RTP timestamps are further apart than the time between their arrivals by this
# much are not on one clock: a new stream (or a sender whose clock jumped). The second is placed by
# its arrival instead. Repair and loss hold video back by less (receive.VIDEO_STALL_S).
DISCONTINUITY_MS = 1000
# Opus's identification header (RFC 7845 §5.1): version 1, two channels (the opus/48000/2 WebRTC
# negotiates), no pre-skip (the stream starts mid-way: there is no encoder delay to skip), 48 kHz,
# no gain, channel mapping family 0.
OPUS_HEAD = b"OpusHead" + struct.pack("<BBHIhB", 1, 2, 0, 48_000, 0, 0)
OPUS_SAMPLES_PER_MS = 48
# The longest a video file's last frame is taken to last (its duration is that of the frame before it).
MAX_VIDEO_FRAME_MS = 100
# The frame size of each Opus configuration (RFC 6716 §3.1), in 48 kHz samples.
_OPUS_SILK_SAMPLES = (480, 960, 1920, 2880)
_OPUS_HYBRID_SAMPLES = (480, 960)
_OPUS_CELT_SAMPLES = (120, 240, 480, 960)


@dataclass(frozen=True, slots=True)
class RecordedTrack:
    """
    One file of a recording: what a participant published of one source, from its first frame
    recorded to its last.

    ``source`` is "audio", "video" or "screen"; ``codec`` "opus" or "vp8". The file's timestamps
    are on the recording's timeline (milliseconds since it started, shared by all its files), so a
    track that started later starts at ``start_offset_ms``; ``duration_ms`` runs from there to the
    end of its last frame (gaps, such as a mute, included). ``frames_dropped`` counts frames lost
    because the writer fell behind.
    """

    participant_id: str
    source: str
    path: str
    codec: str
    start_offset_ms: int
    duration_ms: int
    frame_count: int
    size_bytes: int
    frames_dropped: int = 0


def vp8_frame(payloads: Sequence[bytes]) -> bytes | memoryview:
    """
    A VP8 frame from its RTP payloads: each without its payload descriptor, concatenated (one copy;
    none for a frame of one packet). A payload too short to carry VP8 data adds nothing.
    """
    if len(payloads) == 1:
        payload = payloads[0]
        length = descriptor_length(payload)
        return memoryview(payload)[length:] if length > 0 else b""
    return b"".join(
        [memoryview(payload)[length:] for payload in payloads if (length := descriptor_length(payload)) > 0]
    )


def opus_samples(packet: bytes) -> int:
    """How long an Opus packet plays, in 48 kHz samples, from its TOC byte (RFC 6716 §3.1); 0 if malformed."""
    if not packet:
        return 0
    toc = packet[0]
    config = toc >> 3
    if config < 12:
        frame = _OPUS_SILK_SAMPLES[config & 3]
    elif config < 16:
        frame = _OPUS_HYBRID_SAMPLES[config & 1]
    else:
        frame = _OPUS_CELT_SAMPLES[config & 3]
    code = toc & 3
    if code == 0:
        return frame
    if code < 3:
        return 2 * frame
    return frame * (packet[1] & 0x3F) if len(packet) > 1 else 0


class Timeline:
    """
    Places one track's frames on the recording's timeline, in milliseconds since its ``epoch``.

    The first frame, and the first of every new stream (a simulcast layer switched to, a new SSRC),
    goes where its arrival says; the frames after it follow their RTP timestamps (unwrapped), which
    keep the spacing the sender gave them, however the network bunched them. A mute leaves a gap
    (the sender's clock ran on meanwhile). Two frames whose timestamps disagree with their arrivals
    by more than DISCONTINUITY_MS start again from the arrival. Times only go forwards.
    """

    __slots__ = ("_anchor_ms", "_clock_rate", "_epoch", "_last_arrival", "_last_timestamp", "_ticks", "last_ms")

    def __init__(self, clock_rate: int, epoch: float) -> None:
        self._clock_rate = clock_rate
        self._epoch = epoch
        self._anchor_ms = 0
        self._ticks = 0
        self._last_timestamp: int | None = None
        self._last_arrival = 0.0
        self.last_ms = -1

    def place(self, timestamp: int, arrival: float, new_stream: bool = False) -> int:
        """The time of a frame with RTP timestamp ``timestamp`` that arrived at ``arrival`` (``time.monotonic()``)."""
        last_timestamp = self._last_timestamp
        self._last_timestamp = timestamp
        elapsed_ms = (arrival - self._last_arrival) * 1000
        self._last_arrival = arrival
        if last_timestamp is not None and not new_stream:
            delta = (timestamp - last_timestamp) % RTP_TIMESTAMP_MODULUS
            if delta >= RTP_TIMESTAMP_HALF_RANGE:
                delta -= RTP_TIMESTAMP_MODULUS
            if delta > 0 and abs(delta * 1000 / self._clock_rate - elapsed_ms) <= DISCONTINUITY_MS:
                self._ticks += delta
                at = self._anchor_ms + self._ticks * 1000 // self._clock_rate
                self.last_ms = at = max(at, self.last_ms + 1)
                return at
        at = max(round((arrival - self._epoch) * 1000), self.last_ms + 1)
        self._anchor_ms = self.last_ms = at
        self._ticks = 0
        return at


def add_opus_stream(container: OutputContainer) -> Stream:
    """
    An Opus stream for muxing, with ``OPUS_HEAD`` as its codec private data: copied from a
    libopus stream of a container that is never written (its encoder is never opened, nor is the
    copy's: a stream made from a template is not).
    """
    scratch = av.open(io.BytesIO(), "w", format="webm")
    try:
        template = scratch.add_stream("libopus", rate=48_000)
        stream = container.add_stream_from_template(template, opaque=True)
    finally:
        scratch.close()
    stream.codec_context.extradata = OPUS_HEAD
    return stream


def free_path(directory: str, stem: str) -> str:
    """``directory/stem.webm``, or ``stem-2.webm`` and so on if that exists: a recording never overwrites a file."""
    path = os.path.join(directory, f"{stem}.webm")
    number = 1
    while os.path.exists(path):
        number += 1
        path = os.path.join(directory, f"{stem}-{number}.webm")
    return path


class TrackFile:
    """
    One source of one participant in one WebM file, written by the writer thread only.

    The file is created with its first frame: a video file's is a keyframe (earlier frames are
    dropped and counted), whose header gives the stream's dimensions. A failure to write is
    logged once; the file then takes nothing more and is reported as far as it got.
    """

    __slots__ = (
        "_container",
        "_directory",
        "_stem",
        "_stream",
        "closed",
        "first_ms",
        "frame_count",
        "frames_dropped",
        "frames_refused",
        "kind",
        "last_duration_ms",
        "participant_id",
        "path",
        "source",
        "timeline",
    )

    def __init__(self, directory: str, stem: str, participant_id: str, source: str, kind: str, epoch: float) -> None:
        self._directory = directory
        self._stem = stem
        self.participant_id = participant_id
        self.source = source
        self.kind = kind
        self.timeline = Timeline(CLOCK_RATES[kind], epoch)
        self.path = ""
        self._container: OutputContainer | None = None
        self._stream: Stream | None = None
        self.first_ms = 0
        self.last_duration_ms = 0
        self.frame_count = 0
        # Frames skipped here (before a video file's first keyframe, or after a failure), and frames
        # the writer refused for being behind (counted by the tap, set once it is done).
        self.frames_dropped = 0
        self.frames_refused = 0
        self.closed = False

    def write(
        self, payloads: Sequence[bytes], timestamp: int, arrival: float, keyframe: bool, new_stream: bool
    ) -> bool:
        """Mux one frame; False if it was not written (no keyframe yet, or the file failed)."""
        video = self.kind == "video"
        if self._container is None and not self._open(payloads[0], keyframe):
            self.frames_dropped += 1
            return False
        container, stream = self._container, self._stream
        assert container is not None and stream is not None, "an open file has its container and stream"
        previous_ms = self.timeline.last_ms
        at = self.timeline.place(timestamp, arrival, new_stream)
        if video:
            # A Packet references any buffer without copying it (PyAV's stub only names bytes).
            packet = av.Packet(vp8_frame(payloads))  # type: ignore[arg-type]
            packet.is_keyframe = keyframe
            # Known only from the next frame: each is taken to last as long as the one before it.
            duration_ms = min(at - previous_ms, MAX_VIDEO_FRAME_MS) if self.frame_count else 0
        else:
            data = payloads[0]
            packet = av.Packet(data)
            packet.is_keyframe = True
            duration_ms = opus_samples(data) // OPUS_SAMPLES_PER_MS
        packet.stream = stream
        packet.time_base = MILLISECONDS
        packet.pts = packet.dts = at
        packet.duration = duration_ms
        try:
            container.mux(packet)
        except Exception as exc:
            self._fail(exc)
            return False
        if not self.frame_count:
            self.first_ms = at
        self.frame_count += 1
        self.last_duration_ms = duration_ms
        return True

    def _open(self, first_payload: bytes, keyframe: bool) -> bool:
        """Create the file for its first frame; False if that cannot be the first (or it failed before)."""
        if self.closed or self.path:
            return False  # finished, or failed: it takes nothing more
        size = None
        if self.kind == "video":
            size = keyframe_size(first_payload) if keyframe else None
            if size is None:
                return False  # not a keyframe, or one whose header cannot be read: wait for the next
        try:
            self.path = free_path(self._directory, self._stem)
            container = self._container = av.open(self.path, "w", format="webm")
            if size is not None:
                width, height = size
                stream = container.add_mux_stream("vp8", width=width, height=height)
            else:
                stream = add_opus_stream(container)
            stream.time_base = MILLISECONDS
        except Exception as exc:
            self._fail(exc)
            return False
        self._stream = stream
        return True

    def _fail(self, exc: Exception) -> None:
        logger.error("recording %s stopped: %r", self.path or self._stem, exc)
        container, self._container, self._stream = self._container, None, None
        if container is not None:
            try:
                container.close()
            except Exception:
                logger.debug("closing %s after a failure failed too", self.path, exc_info=True)

    def close(self) -> RecordedTrack | None:
        """
        Finish the file (its index and duration are written now). None if it holds no frame (it is
        then removed) or was closed before.
        """
        if self.closed:
            return None
        self.closed = True
        container, self._container, self._stream = self._container, None, None
        if container is not None:
            try:
                container.close()
            except Exception as exc:
                logger.error("recording %s could not be finished: %r", self.path, exc)
        if not self.path:
            return None
        if not self.frame_count:
            with contextlib.suppress(OSError):
                os.remove(self.path)
            return None
        try:
            size = os.path.getsize(self.path)
        except OSError:
            size = 0
        end_ms = self.timeline.last_ms + self.last_duration_ms
        return RecordedTrack(
            participant_id=self.participant_id,
            source=self.source,
            path=self.path,
            codec=CODECS[self.kind],
            start_offset_ms=self.first_ms,
            duration_ms=max(end_ms - self.first_ms, 0),
            frame_count=self.frame_count,
            size_bytes=size,
            frames_dropped=self.frames_dropped + self.frames_refused,
        )
