"""
The forwarding SFU: Django-free asyncio + aiortc.

Each participant has one server-side peer connection. What a participant
publishes is tapped as encoded frames before aiortc's decoder and handed,
unchanged, to a forwarding track per subscriber: no decode, no re-encode.
The consumer talks to it through ``SFU`` (``registry.py``) with plain calls
in and signaling messages out, so it can move to a worker process later.
"""

from .config import MediaConfig
from .registry import SFU

__all__ = ["SFU", "MediaConfig"]
