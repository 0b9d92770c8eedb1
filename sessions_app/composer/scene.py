"""
What the picture shows at one instant: who is present, which frame each tile holds, where it goes.

A participant is present while any of its tracks is live. Its tile shows its camera's latest frame,
or a flat placeholder when it has no camera then or its camera's latest frame is older than
``STALE_VIDEO_MS`` (a paused camera leaves a gap in its file). A screen share shows its latest frame
however old: a still screen sends few frames.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from .layout import Rect, arrange
from .picture import HIGHLIGHT, PLACEHOLDER, Picture, border_px
from .sources import VideoSource
from .values import Canvas, TrackInput

if TYPE_CHECKING:
    from av.video.frame import VideoFrame

STALE_VIDEO_MS = 1000
# A source is closed (its decoder freed) this long after its track's end.
RETIRE_AFTER_MS = 2000


class Scene:
    """Paints the output frame for each instant, pulling each video source's frames up to it."""

    def __init__(
        self,
        canvas: Canvas,
        presence: Mapping[str, Sequence[TrackInput]],
        cameras: Mapping[str, Sequence[VideoSource]],
        screens: Sequence[VideoSource],
    ) -> None:
        """``presence`` holds each participant's readable tracks, participants in their stable order."""
        self._canvas = canvas
        self._presence = {participant: list(tracks) for participant, tracks in presence.items()}
        self._cameras = {participant: list(sources) for participant, sources in cameras.items()}
        self._screens = list(screens)
        self._picture = Picture(canvas.width, canvas.height)
        self._border = border_px(canvas.width)
        # Each source's latest frame as last scaled, and for which rectangle: a frame is scaled once.
        self._scaled: dict[VideoSource, tuple[VideoFrame, Rect, VideoFrame]] = {}

    def render(self, at_ms: float, speaker: str | None) -> VideoFrame:
        """The picture at ``at_ms``, ``speaker`` (if present) highlighted."""
        self._advance(at_ms)
        present = [p for p, tracks in self._presence.items() if any(track.covers(at_ms) for track in tracks)]
        screen = self._screen_at(at_ms)
        if speaker not in present:
            speaker = None
        layout = arrange(present, self._canvas.width, self._canvas.height, screen is not None, speaker)
        picture = self._picture
        picture.clear()
        if screen is not None and layout.screen is not None:
            self._paste(screen, layout.screen)
        for participant, cell in layout.tiles:
            camera = self._camera_at(participant, at_ms)
            if camera is None:
                picture.fill(cell, PLACEHOLDER)
            else:
                self._paste(camera, cell)
            if participant == speaker:
                picture.frame_around(cell, HIGHLIGHT, self._border)
        return picture.to_frame()

    def _advance(self, at_ms: float) -> None:
        """Decode every live source up to ``at_ms``; close those long finished."""
        for sources in (*self._cameras.values(), self._screens):
            for source in list(sources):
                if at_ms > source.track.end_ms + RETIRE_AFTER_MS:
                    source.close()
                    sources.remove(source)
                    self._scaled.pop(source, None)
                elif source.track.start_offset_ms <= at_ms:
                    source.advance(at_ms)

    def _camera_at(self, participant: str, at_ms: float) -> VideoSource | None:
        """The camera whose frame the participant's tile shows, if a live one has a recent frame."""
        live = [
            source
            for source in self._cameras.get(participant, ())
            if source.track.covers(at_ms) and source.latest is not None and at_ms - source.latest_ms <= STALE_VIDEO_MS
        ]
        return max(live, key=lambda source: source.latest_ms, default=None)

    def _screen_at(self, at_ms: float) -> VideoSource | None:
        """The screen share to feature: the one started last among those live with a frame."""
        live = [source for source in self._screens if source.track.covers(at_ms) and source.latest is not None]
        return max(live, key=lambda source: source.track.start_offset_ms, default=None)

    def _paste(self, source: VideoSource, cell: Rect) -> None:
        frame = source.latest
        assert frame is not None, "only sources with a frame are pasted"
        cached = self._scaled.get(source)
        if cached is not None and cached[0] is frame and cached[1] == cell:
            scaled, place = cached[2], cell.fit(frame.width, frame.height)
        else:
            place = cell.fit(frame.width, frame.height)
            scaled = frame.reformat(width=place.width, height=place.height, format="yuv420p")
            self._scaled[source] = (frame, cell, scaled)
        self._picture.paste(scaled, place)
