"""Synthetic media for SFU tests and benchmarks: real VP8 and Opus, encoded once, replayed."""

from __future__ import annotations

import asyncio
import fractions
import time

import av
import numpy as np
from aiortc.mediastreams import MediaStreamTrack

VIDEO_CLOCK = 90000
VIDEO_TIME_BASE = fractions.Fraction(1, VIDEO_CLOCK)


def encode_vp8_frames(
    count: int = 60, width: int = 640, height: int = 480, fps: int = 30, gop: int = 30
) -> list[bytes]:
    """Encode ``count`` moving test-pattern frames to raw VP8 frames (a keyframe every ``gop``)."""
    codec = av.CodecContext.create("libvpx", "w")
    codec.width = width
    codec.height = height
    codec.pix_fmt = "yuv420p"
    codec.time_base = fractions.Fraction(1, fps)
    codec.gop_size = gop
    codec.bit_rate = 800_000
    codec.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
    frames: list[bytes] = []
    for index in range(count):
        image = np.zeros((height, width, 3), dtype=np.uint8)
        image[:, :, 0] = (index * 4) % 256
        image[(index * 7) % height :, : (index * 11) % width, 1] = 200
        frame = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="yuv420p")
        frame.pts = index
        for packet in codec.encode(frame):
            frames.append(bytes(packet))
    for packet in codec.encode(None):
        frames.append(bytes(packet))
    return frames


class EncodedPacket:
    """What aiortc's sender packs without encoding: bytes, pts and time_base."""

    __slots__ = ("data", "pts", "time_base")

    def __init__(self, data: bytes, pts: int, time_base: fractions.Fraction) -> None:
        self.data = data
        self.pts = pts
        self.time_base = time_base

    def __bytes__(self) -> bytes:
        return self.data


class ReplayVideoTrack(MediaStreamTrack):
    """Replays pre-encoded VP8 frames at ``fps`` in real time, looping."""

    kind = "video"

    def __init__(self, frames: list[bytes], fps: int = 30, limit: int | None = None) -> None:
        super().__init__()
        self.frames = frames
        self.fps = fps
        self.limit = limit
        self.sent: list[bytes] = []
        self._index = 0
        self._start: float | None = None

    async def recv(self) -> EncodedPacket:  # type: ignore[override]
        if self._start is None:
            self._start = time.monotonic()
        if self.limit is not None and self._index >= self.limit:
            await asyncio.sleep(3600)
        due = self._start + self._index / self.fps
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        data = self.frames[self._index % len(self.frames)]
        packet = EncodedPacket(data, self._index * (VIDEO_CLOCK // self.fps), VIDEO_TIME_BASE)
        self._index += 1
        self.sent.append(data)
        return packet


AUDIO_CLOCK = 48000
AUDIO_TIME_BASE = fractions.Fraction(1, AUDIO_CLOCK)
OPUS_FRAME_SAMPLES = 960  # 20 ms


def encode_opus_packets(count: int = 100) -> list[bytes]:
    """Encode ``count`` 20 ms Opus packets of a rising tone: every one different, as speech would be."""
    codec = av.CodecContext.create("libopus", "w")
    codec.sample_rate = AUDIO_CLOCK
    codec.layout = "stereo"
    codec.format = "s16"
    codec.time_base = AUDIO_TIME_BASE
    codec.bit_rate = 32_000
    packets: list[bytes] = []
    phase = 0.0
    for index in range(count):
        frequency = 200.0 + 10.0 * index
        steps = phase + 2 * np.pi * frequency * np.arange(OPUS_FRAME_SAMPLES) / AUDIO_CLOCK
        phase = float(steps[-1]) + 2 * np.pi * frequency / AUDIO_CLOCK
        samples = (np.sin(steps) * 8000).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(np.repeat(samples, 2).reshape(1, -1), format="s16", layout="stereo")
        frame.sample_rate = AUDIO_CLOCK
        frame.pts = index * OPUS_FRAME_SAMPLES
        packets.extend(bytes(packet) for packet in codec.encode(frame))
    packets.extend(bytes(packet) for packet in codec.encode(None))
    return packets


class ReplayAudioTrack(MediaStreamTrack):
    """Replays pre-encoded 20 ms Opus packets in real time, looping: the sender packs them as they are."""

    kind = "audio"

    def __init__(self, packets: list[bytes]) -> None:
        super().__init__()
        self.packets = packets
        self.sent: list[bytes] = []
        self._index = 0
        self._start: float | None = None

    async def recv(self) -> EncodedPacket:  # type: ignore[override]
        if self._start is None:
            self._start = time.monotonic()
        delay = self._start + self._index * OPUS_FRAME_SAMPLES / AUDIO_CLOCK - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        data = self.packets[self._index % len(self.packets)]
        packet = EncodedPacket(data, self._index * OPUS_FRAME_SAMPLES, AUDIO_TIME_BASE)
        self._index += 1
        self.sent.append(data)
        return packet
