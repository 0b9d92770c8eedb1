"""
A recording's per-track files composed into one playable WebM (VP8 and Opus) to share.

The SFU records without decoding: one file per participant per source (``sfu.recording``). Here,
in a worker process, they are decoded as a clock advances and composed: a grid of the participants
present (a featured screen share beside a column of them when one is live), the active speaker
highlighted, every voice mixed. Django-free: the worker's management command builds ``TrackInput``
values and calls ``compose``.
"""

from .composition import compose
from .values import Canvas, Composed, ComposeError, TrackInput

__all__ = ["Canvas", "ComposeError", "Composed", "TrackInput", "compose"]
