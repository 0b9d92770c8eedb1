"""
The video every benchmark publisher sends: camera-like 640x480 VP8 at about 850 kbit/s.

``tests.synthetic.encode_vp8_frames`` encodes a flat test pattern that libvpx
squeezes to ~110 kbit/s, about one RTP packet per frame. Forwarding cost grows
with packets (SRTP, RTP parsing, sendto), so that stream would flatter the
SFU. Here a textured scene pans under sensor-like noise, which makes libvpx
spend its budget much as it does on a webcam: ~3.4 packets a frame, in the
range browsers send 640x480 at 30 fps.
"""

from __future__ import annotations

import fractions
import functools
import math
from dataclasses import dataclass

import av
import numpy as np

WIDTH, HEIGHT, FPS = 640, 480, 30
TARGET_BITRATE = 1_000_000
RTP_PAYLOAD_BYTES = 1200  # roughly what aiortc's VP8 packetiser puts in one packet
PAN = 200  # pixels of scene beyond the frame, so the camera can pan


@dataclass(frozen=True)
class StreamProfile:
    """What one replayed stream looks like on the wire, reported next to the results."""

    width: int
    height: int
    fps: int
    frames_in_loop: int
    keyframe_every: int
    kbit_per_s: float
    mean_frame_bytes: float
    approx_packets_per_frame: float


def pan_offset(index: int, period: int, phase: float) -> int:
    """A smooth back-and-forth pan with period ``period``, so the loop has no scene cut anywhere."""
    return round((PAN - 1) / 2 * (1 - math.cos(2 * math.pi * index / period + phase)))


def encode_camera_like_vp8(count: int = 120, gop: int = 60, seed: int = 1) -> list[bytes]:
    """
    ``count`` raw VP8 frames that loop cleanly, a keyframe every ``gop`` (frame 0 is one).

    Publishers replay a loop and cannot honour keyframe requests, so keyframes
    must recur for subscribers (and the SFU) to start. The encoder runs over
    the loop twice and the second pass is kept: libvpx's rate control
    overshoots wildly on its very first keyframe. ``deadline=good`` rather than
    ``realtime``: libvpx's realtime mode trades quality for time as the
    machine gets busier, so the same call would give different streams.
    """
    codec = av.CodecContext.create("libvpx", "w")
    codec.width, codec.height, codec.pix_fmt = WIDTH, HEIGHT, "yuv420p"
    codec.time_base = fractions.Fraction(1, FPS)
    codec.gop_size = gop
    codec.bit_rate = TARGET_BITRATE
    codec.options = {"deadline": "good", "cpu-used": "8", "lag-in-frames": "0"}
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0 : HEIGHT + PAN, 0 : WIDTH + PAN].astype(np.float32)
    scene = np.stack(
        [
            128 + 60 * np.sin(xx / 17) * np.cos(yy / 23),
            128 + 50 * np.sin((xx + yy) / 31),
            128 + 40 * np.cos(xx / 11),
        ],
        axis=-1,
    ) + rng.normal(0, 8, (HEIGHT + PAN, WIDTH + PAN, 3))
    scene16 = scene.clip(0, 255).astype(np.int16)
    encoded: list[bytes] = []
    for index in range(2 * count):
        dx, dy = pan_offset(index, count, 0.0), pan_offset(index, count, math.pi / 2)
        grain = rng.integers(-5, 6, (HEIGHT, WIDTH, 3), dtype=np.int16)  # fresh each frame, like a sensor
        image = (scene16[dy : dy + HEIGHT, dx : dx + WIDTH] + grain).clip(0, 255).astype(np.uint8)
        frame = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="yuv420p")
        frame.pts = index
        encoded.extend(bytes(packet) for packet in codec.encode(frame))
    encoded.extend(bytes(packet) for packet in codec.encode(None))
    loop = encoded[count : 2 * count]
    if len(loop) != count or loop[0][0] & 0x01:
        raise RuntimeError("the encoder did not produce a loop that starts on a keyframe")
    return loop


@functools.cache
def _camera_like_loop(gop: int) -> tuple[bytes, ...]:
    return tuple(encode_camera_like_vp8(gop=gop))


def camera_like_vp8(gop: int = 60) -> list[bytes]:
    """``encode_camera_like_vp8`` once per process: encoding takes a while on a busy machine."""
    return list(_camera_like_loop(gop))


def profile(frames: list[bytes], gop: int) -> StreamProfile:
    total = sum(len(frame) for frame in frames)
    mean = total / len(frames)
    packets = sum(-(-len(frame) // RTP_PAYLOAD_BYTES) for frame in frames) / len(frames)
    return StreamProfile(
        width=WIDTH,
        height=HEIGHT,
        fps=FPS,
        frames_in_loop=len(frames),
        keyframe_every=gop,
        kbit_per_s=round(mean * 8 * FPS / 1000, 1),
        mean_frame_bytes=round(mean, 1),
        approx_packets_per_frame=round(packets, 2),
    )
