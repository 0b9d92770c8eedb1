"""
The composer's vocabulary: what it is given, what it gives back, and how it fails.

Plain values with no behaviour of their own, so the worker that calls ``compose`` can build them
from whatever it stores (a recording's ``RecordedTrack`` list, say) without the composer knowing
where they came from.
"""

from __future__ import annotations

from dataclasses import dataclass

SOURCES = ("audio", "video", "screen")


@dataclass(frozen=True, slots=True)
class TrackInput:
    """
    One recorded file: what ``participant_id`` published of ``source`` ("audio", "video" for the
    camera, or "screen"), on the recording's timeline. The file's own timestamps are on that
    timeline too; ``start_offset_ms`` and ``duration_ms`` say when the track was live, which is when
    it makes its participant present (a gap inside it, such as a paused camera, included).
    """

    participant_id: str
    source: str
    path: str
    start_offset_ms: int
    duration_ms: int

    @property
    def end_ms(self) -> int:
        return self.start_offset_ms + self.duration_ms

    def covers(self, at_ms: float) -> bool:
        """Whether the track was live at ``at_ms`` on the recording's timeline."""
        return self.start_offset_ms <= at_ms < self.end_ms


@dataclass(frozen=True, slots=True)
class Canvas:
    """The composed video's picture: even dimensions (4:2:0 chroma halves them), frame rate and bitrate."""

    width: int = 1280
    height: int = 720
    fps: int = 15
    video_bitrate: int = 1_500_000

    def __post_init__(self) -> None:
        if self.width < 16 or self.height < 16 or self.width % 2 or self.height % 2:
            raise ValueError(f"a canvas needs even dimensions of at least 16 pixels, not {self.width}x{self.height}")
        if self.fps < 1 or self.video_bitrate < 1:
            raise ValueError("a canvas needs a positive frame rate and bitrate")


@dataclass(frozen=True, slots=True)
class Composed:
    """
    The file ``compose`` wrote. ``skipped`` lists the input paths it could not read in full
    (missing, empty, corrupt or cut short): the output holds whatever of them was readable.
    """

    path: str
    duration_ms: int
    size_bytes: int
    video_frames: int
    width: int
    height: int
    skipped: tuple[str, ...]


class ComposeError(Exception):
    """Nothing could be composed: no readable track, nothing to compose, or the output cannot be written."""
