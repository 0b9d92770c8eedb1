"""
What a recording takes from a publisher's track, on the media path: which frames go to its file.

A ``PublishedTrack`` that is recorded hands every frame it forwards to its tap (``recorder``),
in the receiving task, as it hands it to subscribers. A tap decides in a few attribute reads
and hands the frame, untouched, to the writer thread (``writer.RecordingWriter``): audio all of
it, video one simulcast layer, from a keyframe on.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from ..published import LAYER_IDLE_S
from .writer import KEYFRAME, NEW_STREAM, RecordingWriter

if TYPE_CHECKING:
    from ..frames import TappedFrame
    from ..published import PublishedTrack
    from .webm import TrackFile


class TrackTap:
    """One recorded source of one participant, feeding one file (audio: every frame)."""

    __slots__ = ("file", "frames_dropped", "published", "writer")

    def __init__(self, published: PublishedTrack, file: TrackFile, writer: RecordingWriter) -> None:
        self.published = published
        self.file = file
        self.writer = writer
        self.frames_dropped = 0

    def begin(self) -> None:
        """The tap is attached: frames come from now on."""

    def on_frame(self, frame: TappedFrame) -> None:
        if not self.writer.put_frame(self.file, frame.payloads, frame.timestamp, time.monotonic(), KEYFRAME):
            self.frames_dropped += 1

    def resume(self) -> None:
        """The track is forwarded again after being held back (unmuted)."""

    def on_upstream_loss(self, layer: int) -> None:
        """A frame of ``layer`` was lost before it reached the SFU, for good."""


class VideoTap(TrackTap):
    """
    A video's frames, one simulcast layer of it: the highest the publisher sends.

    A file starts with a keyframe: until one comes, frames are skipped and the publisher is
    asked for one (``PublishedTrack.request_keyframe``, debounced there). When media starts, a
    layer whose stream is known but whose first frame is still on its way counts as sent, for
    LAYER_IDLE_S: the file then starts on the top layer (its header gives the dimensions) rather
    than on the smallest, whose keyframe is complete first. The tap moves to another
    layer only at a keyframe of that layer: up when a higher layer is being sent, down when the
    one recorded stops (``LAYER_IDLE_S`` without a frame). A layer's new stream (a new SSRC) is
    joined the same way. Each move is a new stream to the file's timeline (its RTP clock is
    another). After frames are lost (upstream, to the writer falling behind, or while the track
    was held back) the tap waits for a keyframe again, so the file never holds a frame that
    references one it lacks.
    """

    __slots__ = ("_first_seen", "_generation", "_layer", "_waiting")

    def __init__(self, published: PublishedTrack, file: TrackFile, writer: RecordingWriter) -> None:
        super().__init__(published, file, writer)
        self._layer = -1
        self._generation = -1
        self._waiting = True
        self._first_seen: float | None = None

    def begin(self) -> None:
        wanted = self._wanted_layer(time.monotonic())
        if wanted >= 0:
            self.published.request_keyframe(wanted)

    def on_frame(self, frame: TappedFrame) -> None:
        layer = frame.layer
        flags = KEYFRAME if frame.is_keyframe else 0
        if layer == self._layer and frame.generation == self._generation:
            if self._waiting:
                if not flags:
                    self.published.request_keyframe(layer)
                    return
                self._waiting = False
        else:
            if not self._moves_to(layer):
                return
            if not flags:
                self.published.request_keyframe(layer)
                return
            if self._layer >= 0:
                flags |= NEW_STREAM
            self._layer = layer
            self._generation = frame.generation
            self._waiting = False
        if not self.writer.put_frame(self.file, frame.payloads, frame.timestamp, time.monotonic(), flags):
            self.frames_dropped += 1
            self._waiting = True

    def _moves_to(self, layer: int) -> bool:
        """A frame of ``layer`` (or of the recorded layer's new stream) arrived: is that the layer to record?"""
        current = self._layer
        now = time.monotonic()
        if self._first_seen is None:
            self._first_seen = now
        if 0 <= layer < current and now - self.published.layers[current].last_frame_at < LAYER_IDLE_S:
            return False  # a lower layer while the recorded one goes on
        return layer == self._wanted_layer(now)

    def _wanted_layer(self, now: float) -> int:
        """The highest layer the publisher sends now (-1: none yet)."""
        starting = self._layer < 0 and (self._first_seen is None or now - self._first_seen < LAYER_IDLE_S)
        wanted = -1
        for candidate in self.published.layers:
            if candidate.ssrc is None:
                continue
            last_frame_at = candidate.last_frame_at
            if now - last_frame_at < LAYER_IDLE_S or (starting and not last_frame_at):
                wanted = candidate.index
        return wanted

    def resume(self) -> None:
        self._waiting = True
        if self._layer >= 0:
            self.published.request_keyframe(self._layer)

    def on_upstream_loss(self, layer: int) -> None:
        if layer == self._layer:
            self._waiting = True
