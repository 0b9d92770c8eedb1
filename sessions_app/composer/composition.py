"""
One recording's track files composed into one WebM: the output clock advances a frame at a time,
and every source is decoded only up to it (sound first, so the active speaker is current).

Everything that decodes or encodes runs here, in the calling (worker) process.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Sequence

import av

from .mixer import ActiveSpeaker, Mixer
from .output import OPUS_FRAME_SAMPLES, Output
from .scene import Scene
from .sources import SAMPLE_RATE, AudioSource, SourceError, VideoSource
from .values import Canvas, Composed, ComposeError, TrackInput

logger = logging.getLogger(__name__)

# The most often ``progress`` is told, besides its last call (1.0).
PROGRESS_INTERVAL_S = 0.5
DEFAULT_CANVAS = Canvas()


class _Sources:
    """The readable tracks, opened, by participant; and the paths that could not be opened."""

    def __init__(self, tracks: Sequence[TrackInput]) -> None:
        self.presence: dict[str, list[TrackInput]] = {}
        self.cameras: dict[str, list[VideoSource]] = {}
        self.screens: list[VideoSource] = []
        self.voices: dict[str, list[AudioSource]] = {}
        self.unreadable: list[str] = []
        # Participants in order of first appearance (the order given breaks ties).
        for track in sorted(tracks, key=lambda track: track.start_offset_ms):
            source = self._open(track)
            if source is None:
                self.unreadable.append(track.path)
                continue
            self.presence.setdefault(track.participant_id, []).append(track)
            if isinstance(source, AudioSource):
                self.voices.setdefault(track.participant_id, []).append(source)
            elif track.source == "screen":
                self.screens.append(source)
            else:
                self.cameras.setdefault(track.participant_id, []).append(source)
        self.all: list[VideoSource | AudioSource] = [
            *self.screens,
            *(source for sources in self.cameras.values() for source in sources),
            *(source for sources in self.voices.values() for source in sources),
        ]

    @staticmethod
    def _open(track: TrackInput) -> VideoSource | AudioSource | None:
        if track.source not in ("audio", "video", "screen"):
            logger.warning("%s: unknown source %r", track.path, track.source)
            return None
        try:
            return AudioSource(track) if track.source == "audio" else VideoSource(track)
        except SourceError as exc:
            logger.warning("composing without %s", exc)
            return None

    def skipped(self) -> tuple[str, ...]:
        """Paths not read in full: those that could not be opened, then those damaged on the way."""
        damaged = [source.track.path for source in self.all if source.damaged]
        return tuple(dict.fromkeys([*self.unreadable, *damaged]))

    def close(self) -> None:
        for source in self.all:
            source.close()


def compose(
    tracks: Sequence[TrackInput],
    output_path: str,
    canvas: Canvas = DEFAULT_CANVAS,
    progress: Callable[[float], None] | None = None,
    duration_ms: int | None = None,
) -> Composed:
    """
    Compose ``tracks`` into one VP8 and Opus WebM at ``output_path`` (written in place), lasting
    ``duration_ms`` or, by default, until the latest track ends. Tracks that cannot be read, in
    whole or in part, are composed without (what is readable of them is kept) and reported in
    ``Composed.skipped``.

    ``progress`` is told the fraction done, at most every ``PROGRESS_INTERVAL_S`` and 1.0 at the
    end; an exception it raises stops the compose and propagates. Raise ComposeError if no track
    is readable, there is nothing to compose, or the output cannot be written.
    """
    if duration_ms is None:
        duration_ms = max((track.end_ms for track in tracks), default=0)
    if duration_ms <= 0:
        raise ComposeError("nothing to compose: no track lasts any time")
    sources = _Sources(tracks)
    try:
        if not sources.all:
            raise ComposeError(f"no readable track among {len(tracks)}")
        try:
            output = Output(output_path, canvas)
        except (OSError, av.FFmpegError) as exc:
            raise ComposeError(f"cannot write {output_path}: {exc!r}") from exc
        try:
            _run(sources, output, canvas, duration_ms, progress)
            output.finish()
        except (OSError, av.FFmpegError) as exc:
            output.abandon()
            raise ComposeError(f"writing {output_path} failed: {exc!r}") from exc
        except BaseException:
            output.abandon()
            raise
    finally:
        sources.close()
    if progress is not None:
        progress(1.0)
    return Composed(
        path=output_path,
        duration_ms=duration_ms,
        size_bytes=os.path.getsize(output_path),
        video_frames=output.video_frames,
        width=canvas.width,
        height=canvas.height,
        skipped=sources.skipped(),
    )


def _run(
    sources: _Sources, output: Output, canvas: Canvas, duration_ms: int, progress: Callable[[float], None] | None
) -> None:
    """The output clock: each video frame, preceded by the sound up to its time; the sound ends with the video."""
    scene = Scene(canvas, sources.presence, sources.cameras, sources.screens)
    mixer = Mixer(sources.voices)
    speaker = ActiveSpeaker()
    frame_count = max(1, round(duration_ms * canvas.fps / 1000))
    end_sample = frame_count * SAMPLE_RATE // canvas.fps
    next_sample = 0

    def sound_until(sample: int) -> None:
        nonlocal next_sample
        while next_sample < sample:
            count = min(OPUS_FRAME_SAMPLES, end_sample - next_sample)
            mixed, levels = mixer.mix(next_sample, count)
            speaker.hear(levels, count)
            output.audio(mixed)
            next_sample += count

    reported_at = time.monotonic()
    for index in range(frame_count):
        at_ms = index * 1000 / canvas.fps
        sound_until(min(index * SAMPLE_RATE // canvas.fps, end_sample))
        output.video(scene.render(at_ms, speaker.current))
        if progress is not None and time.monotonic() - reported_at >= PROGRESS_INTERVAL_S:
            reported_at = time.monotonic()
            progress(index / frame_count)
    sound_until(end_sample)
