"""
Where each tile goes on the canvas: pure arithmetic on rectangles, no pixels.

Without a screen share the participants present share a grid (one fills the canvas, two sit side
by side, up to four in 2x2, then 3 columns, and so on), in a stable order. A screen share takes
about three quarters of the width and the participants form a column beside it, the active
speaker first. Every edge is even: 4:2:0 chroma planes are half the size of the luma plane.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

SCREEN_SHARE_OF_WIDTH = 3 / 4
# Strip tiles are no taller than a 16:9 picture of the strip's width.
STRIP_TILE_ASPECT = 16 / 9


def even(value: float) -> int:
    """``value`` rounded down to an even number of pixels."""
    return int(value) // 2 * 2


@dataclass(frozen=True, slots=True)
class Rect:
    x: int
    y: int
    width: int
    height: int

    def fit(self, width: int, height: int) -> Rect:
        """
        The largest rectangle of ``width``:``height``'s aspect centred in this one (letterboxed or
        pillarboxed), with even edges.
        """
        scale = min(self.width / width, self.height / height)
        fitted_width = max(2, min(self.width, 2 * round(width * scale / 2)))
        fitted_height = max(2, min(self.height, 2 * round(height * scale / 2)))
        return Rect(
            self.x + even((self.width - fitted_width) / 2),
            self.y + even((self.height - fitted_height) / 2),
            fitted_width,
            fitted_height,
        )


@dataclass(frozen=True, slots=True)
class Layout:
    """The cell of each participant shown, in drawing order, and the screen share's region if one is featured."""

    tiles: tuple[tuple[str, Rect], ...]
    screen: Rect | None = None


def gap_px(width: int) -> int:
    """The space between tiles (and around them): 8 px on a 1280-px canvas, never under 2."""
    return max(2, even(width / 160))


def arrange(participants: Sequence[str], width: int, height: int, screen: bool, speaker: str | None) -> Layout:
    """The layout of ``participants`` (in their stable order) on a ``width`` x ``height`` canvas."""
    if screen:
        return _featured_screen(participants, width, height, speaker)
    return Layout(tuple(zip(participants, grid(len(participants), width, height), strict=True)))


def grid(count: int, width: int, height: int) -> list[Rect]:
    """``count`` equal cells in rows, filled left to right and top to bottom; a short last row is centred."""
    if count == 0:
        return []
    gap = gap_px(width)
    columns = math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    cell_width = max(2, even((width - gap * (columns + 1)) / columns))
    cell_height = max(2, even((height - gap * (rows + 1)) / rows))
    top = even((height - rows * cell_height - (rows - 1) * gap) / 2)
    cells = []
    for index in range(count):
        row, column = divmod(index, columns)
        in_row = min(columns, count - row * columns)
        left = even((width - in_row * cell_width - (in_row - 1) * gap) / 2)
        cells.append(Rect(left + column * (cell_width + gap), top + row * (cell_height + gap), cell_width, cell_height))
    return cells


def _featured_screen(participants: Sequence[str], width: int, height: int, speaker: str | None) -> Layout:
    gap = gap_px(width)
    screen_width = even(width * SCREEN_SHARE_OF_WIDTH)
    screen = Rect(gap, gap, screen_width - 2 * gap, height - 2 * gap)
    ordered = list(participants)
    if speaker in ordered:
        ordered.remove(speaker)
        ordered.insert(0, speaker)
    if not ordered:
        return Layout((), screen)
    strip_x = screen_width
    strip_width = width - strip_x - gap
    count = len(ordered)
    tile_height = max(2, even(min((height - gap * (count + 1)) / count, strip_width / STRIP_TILE_ASPECT)))
    top = even((height - count * tile_height - (count - 1) * gap) / 2)
    tiles = tuple(
        (participant, Rect(strip_x, top + index * (tile_height + gap), strip_width, tile_height))
        for index, participant in enumerate(ordered)
    )
    return Layout(tiles, screen)
