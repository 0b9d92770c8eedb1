"""
Track files as the SFU records them, made without a call: VP8 frames of one flat colour and Opus
tones, muxed with millisecond timestamps on a recording's shared timeline. Tests of the recordings
worker, the download and the call logs use them.
"""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy

MILLISECONDS = Fraction(1, 1000)


def write_video(path: Path, colour: tuple[int, int, int], start_ms: int, duration_ms: int, fps: int = 15) -> None:
    """A VP8 WebM of ``colour`` (RGB) frames, 160x120, from ``start_ms`` on the timeline."""
    with av.open(str(path), "w", format="webm") as container:
        stream = container.add_stream("libvpx", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        stream.time_base = MILLISECONDS
        stream.codec_context.time_base = MILLISECONDS
        picture = numpy.zeros((120, 160, 3), dtype=numpy.uint8)
        picture[:, :] = colour
        for number in range(duration_ms * fps // 1000):
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            frame.pts, frame.time_base = start_ms + number * 1000 // fps, MILLISECONDS
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


def write_tone(path: Path, hertz: float, start_ms: int, duration_ms: int) -> None:
    """An Opus WebM of a sine tone (48 kHz stereo, 20 ms frames), from ``start_ms`` on the timeline."""
    with av.open(str(path), "w", format="webm") as container:
        stream = container.add_stream("libopus", rate=48_000)
        stream.layout = "stereo"
        stream.time_base = MILLISECONDS
        samples_per_frame = 960
        for number in range(duration_ms // 20):
            t = (numpy.arange(samples_per_frame) + number * samples_per_frame) / 48_000
            wave = (0.4 * numpy.sin(2 * math.pi * hertz * t) * 32767).astype(numpy.int16)
            frame = av.AudioFrame.from_ndarray(numpy.repeat(wave, 2).reshape(1, -1), format="s16", layout="stereo")
            frame.sample_rate, frame.pts, frame.time_base = 48_000, number * samples_per_frame, Fraction(1, 48_000)
            for packet in stream.encode(frame):
                packet.pts = packet.dts = start_ms + int((packet.pts or 0) * 1000 // 48_000)
                packet.time_base = MILLISECONDS
                container.mux(packet)
        for packet in stream.encode(None):
            if packet.pts is not None:
                packet.pts = packet.dts = start_ms + int(packet.pts * 1000 // 48_000)
                packet.time_base = MILLISECONDS
            container.mux(packet)


def two_people(folder: Path, root: Path, duration_ms: int = 3000) -> list[dict[str, Any]]:
    """
    A recording of two participants under ``folder``: A (red camera, 440 Hz) throughout, B (blue
    camera, 660 Hz) from 1 s on. Returns ``Recording.tracks`` rows (paths relative to ``root``).
    """
    folder.mkdir(parents=True, exist_ok=True)
    made = [
        ("a", "video", "vp8", lambda p: write_video(p, (220, 30, 30), 0, duration_ms), 0, duration_ms),
        ("a", "audio", "opus", lambda p: write_tone(p, 440, 0, duration_ms), 0, duration_ms),
        ("b", "video", "vp8", lambda p: write_video(p, (30, 30, 220), 1000, duration_ms - 1000), 1000, duration_ms),
        ("b", "audio", "opus", lambda p: write_tone(p, 660, 1000, duration_ms - 1000), 1000, duration_ms),
    ]
    tracks = []
    for participant, source, codec, write, start, end in made:
        path = folder / f"{participant}-{source}-1.webm"
        write(path)
        tracks.append(
            {
                "participantId": participant,
                "source": source,
                "path": str(path.relative_to(root)),
                "codec": codec,
                "startOffsetMs": start,
                "durationMs": end - start,
                "sizeBytes": path.stat().st_size,
                "frames": 0,
                "framesDropped": 0,
            }
        )
    return tracks
