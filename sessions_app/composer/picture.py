"""
The output picture, painted in yuv420p planes with numpy slicing: flat fills, borders and scaled
frames pasted whole. No per-pixel Python; scaling is swscale's (``VideoFrame.reformat``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import av
import numpy as np

from .layout import Rect

if TYPE_CHECKING:
    from av.video.frame import VideoFrame

Plane = np.ndarray[Any, np.dtype[np.uint8]]
Colour = tuple[int, int, int]

BACKGROUND_RGB = (32, 32, 32)
# A participant present without a picture (no camera, or a paused one).
PLACEHOLDER_RGB = (46, 64, 96)
HIGHLIGHT_RGB = (240, 240, 240)


def yuv(rgb: tuple[int, int, int]) -> Colour:
    """BT.601 limited-range YUV of an RGB colour: what VP8 decoders (and browsers) assume."""
    red, green, blue = rgb
    y = 16 + (65.481 * red + 128.553 * green + 24.966 * blue) / 255
    u = 128 + (-37.797 * red - 74.203 * green + 112.0 * blue) / 255
    v = 128 + (112.0 * red - 93.786 * green - 18.214 * blue) / 255
    return round(y), round(u), round(v)


BACKGROUND = yuv(BACKGROUND_RGB)
PLACEHOLDER = yuv(PLACEHOLDER_RGB)
HIGHLIGHT = yuv(HIGHLIGHT_RGB)


def border_px(width: int) -> int:
    """The highlight frame's thickness: 4 px on a 1280-px canvas, never under 2 (one chroma row)."""
    return max(2, width // 320 // 2 * 2)


class Picture:
    """One reusable yuv420p buffer of the canvas's size, repainted for every output frame."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        luma = width * height
        self._buffer: Plane = np.empty(luma * 3 // 2, dtype=np.uint8)
        self._planes = (
            self._buffer[:luma].reshape(height, width),
            self._buffer[luma : luma * 5 // 4].reshape(height // 2, width // 2),
            self._buffer[luma * 5 // 4 :].reshape(height // 2, width // 2),
        )

    def clear(self, colour: Colour = BACKGROUND) -> None:
        for plane, value in zip(self._planes, colour, strict=True):
            plane.fill(value)

    def fill(self, rect: Rect, colour: Colour) -> None:
        """Paint ``rect`` (even edges) one flat colour."""
        for index, (plane, value) in enumerate(zip(self._planes, colour, strict=True)):
            plane[_slices(rect, 1 if index == 0 else 2)] = value

    def frame_around(self, rect: Rect, colour: Colour, thickness: int) -> None:
        """Paint a frame ``thickness`` (even) pixels wide just inside ``rect``'s edges."""
        x, y, width, height = rect.x, rect.y, rect.width, rect.height
        thickness = min(thickness, width // 2 // 2 * 2, height // 2 // 2 * 2)
        if thickness <= 0:
            return
        for edge in (
            Rect(x, y, width, thickness),
            Rect(x, y + height - thickness, width, thickness),
            Rect(x, y, thickness, height),
            Rect(x + width - thickness, y, thickness, height),
        ):
            self.fill(edge, colour)

    def paste(self, frame: VideoFrame, rect: Rect) -> None:
        """Paste a yuv420p ``frame`` of ``rect``'s size at its place (clipped to the canvas)."""
        for index, plane in enumerate(self._planes):
            source = frame.planes[index]
            data: Plane = np.frombuffer(memoryview(source), dtype=np.uint8).reshape(source.height, source.line_size)
            scale = 1 if index == 0 else 2
            target = plane[_slices(rect, scale)]
            top = max(0, -rect.y) // scale
            left = max(0, -rect.x) // scale
            target[...] = data[top : top + target.shape[0], left : left + target.shape[1]]

    def to_frame(self) -> VideoFrame:
        """The picture as a new VideoFrame (copied: the buffer is repainted for the next one)."""
        return av.VideoFrame.from_ndarray(self._buffer.reshape(self.height * 3 // 2, self.width), format="yuv420p")


def _slices(rect: Rect, scale: int) -> tuple[slice, slice]:
    """The rows and columns of ``rect`` in a plane ``scale`` times smaller than the canvas, clipped at 0."""
    return (
        slice(max(0, rect.y) // scale, max(0, rect.y + rect.height) // scale),
        slice(max(0, rect.x) // scale, max(0, rect.x + rect.width) // scale),
    )
