"""
Recorded track files decoded as the output clock asks: nothing is decoded before it is needed, and
nothing is kept once it has been used, so an hour-long call costs no more memory than a minute.

A recording can be cut short by a crash, or damaged: a file that cannot be opened is refused
(``SourceError``); one that breaks, or ends well before its track should, is read as far as it
goes and flagged ``damaged``. Anything a file does to the demuxer or the decoder stays with that
file: it never stops the compose.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterator
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import av
import numpy as np

from .values import TrackInput

if TYPE_CHECKING:
    from av.audio.frame import AudioFrame
    from av.container import InputContainer
    from av.packet import Packet
    from av.video.frame import VideoFrame

logger = logging.getLogger(__name__)

SAMPLE_RATE = 48_000
SAMPLES_PER_MS = SAMPLE_RATE // 1000
# A file whose packets stop this long before its track's end was cut short (a crash, a bad stretch).
TRUNCATED_MS = 500
# Audio frames whose timestamps are this close to where the previous frame ended follow on from it:
# timestamps are whole milliseconds, and the recorder nudges a frame by one to keep times increasing.
AUDIO_CONTINUITY_SAMPLES = 20 * SAMPLES_PER_MS


class SourceError(Exception):
    """A track file that cannot be read at all: missing, empty, not a WebM of the expected kind, no packet."""


def _ms(value: int, time_base: Fraction | None) -> float:
    """A timestamp in ``time_base`` units, in milliseconds (WebM's own base is 1/1000)."""
    return float(value * time_base * 1000) if time_base is not None else float(value)


class _TrackFile:
    """An open track file and its demuxed packets, one ahead (peeked), of its one stream of ``kind``."""

    def __init__(self, track: TrackInput, kind: str) -> None:
        self.track = track
        self.damaged = False
        self.last_end_ms = float(track.start_offset_ms)
        try:
            container = av.open(track.path, "r")
        except Exception as exc:
            raise SourceError(f"{track.path}: {exc!r}") from exc
        self._container: InputContainer | None = container
        streams = [stream for stream in container.streams if stream.type == kind]
        if not streams:
            container.close()
            raise SourceError(f"{track.path}: no {kind} stream")
        self.stream: Any = streams[0]
        self._packets: Iterator[Packet] = container.demux(self.stream)
        self.next_packet = self._read()
        if self.next_packet is None:
            self.close()
            raise SourceError(f"{track.path}: no {kind} packet")

    def _read(self) -> Packet | None:
        """The next packet with a timestamp, or None at the end of the file (or where it breaks)."""
        if self._container is None:
            return None
        try:
            for packet in self._packets:
                if packet.pts is not None:
                    return packet
        except Exception as exc:
            self._break(exc)
            return None
        if self.last_end_ms < self.track.end_ms - TRUNCATED_MS:
            logger.warning(
                "%s ends at %d ms, before its track's end at %d ms",
                self.track.path,
                self.last_end_ms,
                self.track.end_ms,
            )
            self.damaged = True
        self.close()
        return None

    def pop(self) -> Packet | None:
        """The peeked packet, reading the one after it."""
        packet = self.next_packet
        if packet is not None:
            assert packet.pts is not None, "only packets with a timestamp are peeked"
            self.last_end_ms = max(self.last_end_ms, _ms(packet.pts + (packet.duration or 0), packet.time_base))
            self.next_packet = self._read()
        return packet

    def next_ms(self) -> float | None:
        """When the peeked packet plays, in milliseconds; None at the end."""
        packet = self.next_packet
        return None if packet is None or packet.pts is None else _ms(packet.pts, packet.time_base)

    def dropped(self, at_ms: float, exc: Exception) -> None:
        """A packet the decoder refused: the file is damaged (said once a file, not once a packet)."""
        if not self.damaged:
            logger.warning("%s: dropping undecodable frames, the first at %d ms: %r", self.track.path, at_ms, exc)
        self.damaged = True

    def _break(self, exc: Exception) -> None:
        logger.warning("%s is unreadable from %d ms on: %r", self.track.path, self.last_end_ms, exc)
        self.damaged = True
        self.close()

    def close(self) -> None:
        container, self._container = self._container, None
        self.next_packet = None
        if container is not None:
            container.close()


class VideoSource:
    """
    A VP8 (camera or screen) file, decoded up to the output clock, keeping only its latest frame.

    A packet the decoder refuses is dropped, and so is every one after it up to the next keyframe
    (they predict from what was lost): the tile keeps the last good frame meanwhile.
    """

    def __init__(self, track: TrackInput) -> None:
        self.track = track
        self._file = _TrackFile(track, "video")
        self.latest: VideoFrame | None = None
        self.latest_ms = float("-inf")
        self._need_keyframe = False

    @property
    def damaged(self) -> bool:
        return self._file.damaged

    def advance(self, at_ms: float) -> None:
        """Decode every frame that plays at or before ``at_ms``."""
        file = self._file
        while (next_ms := file.next_ms()) is not None and next_ms <= at_ms:
            packet = file.pop()
            assert packet is not None, "a packet was peeked"
            if self._need_keyframe and not packet.is_keyframe:
                continue
            try:
                frames = packet.decode()
            except Exception as exc:
                file.dropped(next_ms, exc)
                self._need_keyframe = True
                continue
            self._need_keyframe = False
            for frame in frames:
                if not isinstance(frame, av.VideoFrame):
                    continue
                self.latest = frame
                self.latest_ms = _ms(frame.pts, frame.time_base) if frame.pts is not None else next_ms

    def close(self) -> None:
        self._file.close()
        self.latest = None


class AudioSource:
    """
    An Opus file, decoded to 48 kHz stereo float samples as the mix reads them.

    Each decoded frame is placed where its timestamp says on the recording's timeline (in samples
    since it started), so a muted stretch, which has no packets, reads as silence.
    """

    def __init__(self, track: TrackInput) -> None:
        self.track = track
        self._file = _TrackFile(track, "audio")
        self._resampler = av.AudioResampler(format="fltp", layout="stereo", rate=SAMPLE_RATE)
        # Decoded samples not yet read past, each as (first sample on the timeline, channels x samples).
        self._chunks: deque[tuple[int, np.ndarray[Any, np.dtype[np.float32]]]] = deque()
        self._next_sample = -1

    @property
    def damaged(self) -> bool:
        return self._file.damaged

    def read(self, start: int, count: int) -> np.ndarray[Any, np.dtype[np.float32]] | None:
        """
        Samples ``start`` to ``start + count`` of the timeline, channels x samples; None if the track
        has none there. Reads go forwards: what lies before ``start`` is forgotten.
        """
        end = start + count
        while (not self._chunks or self._chunks[-1][0] + self._chunks[-1][1].shape[1] < end) and self._decode_more():
            pass
        chunks = self._chunks
        while chunks and chunks[0][0] + chunks[0][1].shape[1] <= start:
            chunks.popleft()
        out: np.ndarray[Any, np.dtype[np.float32]] | None = None
        for first, samples in chunks:
            if first >= end:
                break
            low, high = max(first, start), min(first + samples.shape[1], end)
            if out is None:
                out = np.zeros((2, count), dtype=np.float32)
            out[:, low - start : high - start] = samples[:, low - first : high - first]
        return out

    def _decode_more(self) -> bool:
        """Decode one more packet into chunks; False at the end of the file."""
        file = self._file
        next_ms = file.next_ms()
        packet = file.pop()
        if packet is None or next_ms is None:
            return False
        try:
            for frame in packet.decode():
                if isinstance(frame, av.AudioFrame):
                    at_ms = _ms(frame.pts, frame.time_base) if frame.pts is not None else next_ms
                    self._place(round(at_ms * SAMPLES_PER_MS), frame)
        except Exception as exc:
            file.dropped(next_ms, exc)
        return True

    def _place(self, first: int, frame: AudioFrame) -> None:
        """
        Queue a decoded frame from sample ``first``, or from where the one before ended if it follows
        on (within AUDIO_CONTINUITY_SAMPLES either way: further, its timestamp wins, so no drift builds up).
        """
        if self._next_sample >= 0 and abs(first - self._next_sample) < AUDIO_CONTINUITY_SAMPLES:
            first = self._next_sample
        for resampled in self._resampler.resample(frame):
            samples = resampled.to_ndarray().astype(np.float32, copy=False)
            self._chunks.append((first, samples))
            first += samples.shape[1]
        self._next_sample = first

    def close(self) -> None:
        self._file.close()
        self._chunks.clear()
