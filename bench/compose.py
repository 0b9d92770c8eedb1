"""
How long the composer takes on a recording: ``python -m bench.compose [--seconds 60] [--participants 2]``.

The recording is written as the SFU's recorder writes it: each participant's camera is the
benchmarks' camera-like 640x480 VP8 at 30 fps (``bench/media.py``), its microphone 20-ms Opus
packets of a tone, the participants taking turns every 5 s. Only ``compose`` is timed, at the
default canvas (1280x720, 15 fps); it prints wall and CPU seconds, the real-time factor and the
process's peak memory (which should not grow with the recording's length).
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from sessions_app.composer import Canvas, TrackInput, compose
from sessions_app.sfu.recording.webm import add_opus_stream

from .media import FPS, HEIGHT, WIDTH, camera_like_vp8

MILLISECONDS = Fraction(1, 1000)
TURN_MS = 5000


def write_camera(path: Path, duration_ms: int, first_frame: int) -> None:
    """The camera-like loop, replayed from ``first_frame`` (a keyframe) for ``duration_ms``."""
    loop = camera_like_vp8()
    with av.open(str(path), "w", format="webm") as container:
        stream = container.add_mux_stream("vp8", width=WIDTH, height=HEIGHT)
        stream.time_base = MILLISECONDS
        for index in range(duration_ms * FPS // 1000):
            data = loop[(first_frame + index) % len(loop)]
            packet = av.Packet(data)
            packet.stream, packet.time_base = stream, MILLISECONDS
            packet.pts = packet.dts = index * 1000 // FPS
            packet.duration = 1000 // FPS
            packet.is_keyframe = not data[0] & 0x01
            container.mux(packet)


def write_microphone(path: Path, duration_ms: int, turn: int, turns: int) -> None:
    """20-ms Opus packets: a tone while it is this participant's turn to speak, near-silence otherwise."""
    encoder = av.CodecContext.create("libopus", "w")
    encoder.sample_rate, encoder.layout, encoder.format = 48_000, "stereo", "s16"
    with av.open(str(path), "w", format="webm") as container:
        stream = add_opus_stream(container)
        stream.time_base = MILLISECONDS
        sent = 0
        for at in range(0, duration_ms, 20):
            speaking = (at // TURN_MS) % turns == turn
            times = (np.arange(960) + at * 48) / 48_000
            level = 0.3 if speaking else 0.001
            wave = (level * 32767 * np.sin(2 * np.pi * (220 + 110 * turn) * times)).astype(np.int16)
            frame = av.AudioFrame.from_ndarray(np.repeat(wave, 2).reshape(1, -1), format="s16", layout="stereo")
            frame.sample_rate, frame.pts = 48_000, at * 48
            for encoded in encoder.encode(frame):
                packet = av.Packet(bytes(encoded))
                packet.stream, packet.time_base = stream, MILLISECONDS
                packet.pts = packet.dts = sent * 20
                packet.duration = 20
                container.mux(packet)
                sent += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--participants", type=int, default=2)
    args = parser.parse_args()
    duration_ms = args.seconds * 1000
    with tempfile.TemporaryDirectory() as directory:
        tracks = []
        for index in range(args.participants):
            camera, microphone = Path(directory, f"p{index}-video.webm"), Path(directory, f"p{index}-audio.webm")
            write_camera(camera, duration_ms, first_frame=0 if index % 2 == 0 else 60)
            write_microphone(microphone, duration_ms, index, args.participants)
            tracks += [
                TrackInput(f"p{index}", "video", str(camera), 0, duration_ms),
                TrackInput(f"p{index}", "audio", str(microphone), 0, duration_ms),
            ]
        wall, cpu = time.perf_counter(), time.process_time()
        composed = compose(tracks, str(Path(directory, "composed.webm")), Canvas())
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{args.seconds} s, {args.participants} participants at {composed.width}x{composed.height}: "
        f"composed in {wall:.1f} s wall ({args.seconds / wall:.1f}x real time), {cpu:.1f} s CPU; "
        f"{composed.video_frames} frames, {composed.size_bytes / 1e6:.1f} MB; peak RSS {peak_mib:.0f} MiB"
    )


if __name__ == "__main__":
    main()
