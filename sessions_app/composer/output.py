"""
The composed file: a WebM of VP8 and Opus that browsers play, encoded as the compose loop hands
over pictures and sound.

VP8 is encoded for speed (libvpx's realtime deadline, its fastest ``cpu-used``), with a keyframe
at least every ``KEYFRAME_INTERVAL_S`` so a player can seek. Opus is 48 kHz stereo in 20 ms frames.
Both streams are muxed with WebM's millisecond time base.
"""

from __future__ import annotations

import contextlib
import os
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import av
import numpy as np

from .sources import SAMPLE_RATE
from .values import Canvas

if TYPE_CHECKING:
    from av.audio.stream import AudioStream
    from av.container import OutputContainer
    from av.packet import Packet
    from av.video.frame import VideoFrame
    from av.video.stream import VideoStream

MILLISECONDS = Fraction(1, 1000)
OPUS_FRAME_SAMPLES = 960  # 20 ms: libopus's frame size
KEYFRAME_INTERVAL_S = 2
VP8_OPTIONS = {"deadline": "realtime", "cpu-used": "16", "lag-in-frames": "0", "auto-alt-ref": "0"}
AUDIO_BITRATE = 64_000


class Output:
    """The output container and its two encoders. Every method may raise what writing can (OSError, av errors)."""

    def __init__(self, path: str, canvas: Canvas) -> None:
        self.path = path
        self.video_frames = 0
        self._fps = canvas.fps
        self._audio_samples = 0
        self._container: OutputContainer = av.open(path, "w", format="webm")
        try:
            self._video = self._add_video(canvas)
            self._audio = self._add_audio()
        except Exception:
            self._container.close()
            raise

    def _add_video(self, canvas: Canvas) -> VideoStream:
        stream = self._container.add_stream("libvpx", rate=canvas.fps)
        stream.width, stream.height, stream.pix_fmt = canvas.width, canvas.height, "yuv420p"
        stream.bit_rate = canvas.video_bitrate
        stream.codec_context.gop_size = canvas.fps * KEYFRAME_INTERVAL_S
        stream.codec_context.thread_count = os.cpu_count() or 1
        stream.codec_context.options = dict(VP8_OPTIONS)
        stream.time_base = MILLISECONDS
        return stream

    def _add_audio(self) -> AudioStream:
        stream = self._container.add_stream("libopus", rate=SAMPLE_RATE)
        stream.layout = "stereo"
        stream.format = "flt"
        stream.bit_rate = AUDIO_BITRATE
        stream.time_base = MILLISECONDS
        return stream

    def video(self, frame: VideoFrame) -> None:
        """Encode the next picture (the frames follow each other at the canvas's frame rate)."""
        frame.pts = self.video_frames
        frame.time_base = Fraction(1, self._fps)
        frame.duration = 1
        self.video_frames += 1
        self._mux(self._video.encode(frame))

    def audio(self, samples: np.ndarray[Any, np.dtype[np.float32]]) -> None:
        """Encode the next ``OPUS_FRAME_SAMPLES`` samples (channels x samples) of sound."""
        interleaved = np.ascontiguousarray(samples.T).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(interleaved, format="flt", layout="stereo")
        frame.sample_rate = SAMPLE_RATE
        frame.time_base = Fraction(1, SAMPLE_RATE)
        frame.pts = self._audio_samples
        self._audio_samples += samples.shape[1]
        self._mux(self._audio.encode(frame))

    def finish(self) -> None:
        """Flush both encoders and write the container's index and duration."""
        self._mux(self._video.encode(None))
        self._mux(self._audio.encode(None))
        self._container.close()

    def abandon(self) -> None:
        """Close without flushing, after a failure (the file is left as it is: the caller owns the path)."""
        with contextlib.suppress(Exception):  # already failing: the first error is the one reported
            self._container.close()

    def _mux(self, packets: list[Packet]) -> None:
        if packets:
            self._container.mux(packets)
