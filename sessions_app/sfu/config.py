"""Media configuration handed to the SFU by whoever hosts it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class MediaConfig:
    """
    Where the SFU listens and what it tells browsers.

    ``media_ips``: addresses to gather ICE host candidates on (empty: every
    interface but loopback, aioice's default). ``announced_ip``: the public
    address written into our candidates instead of the local one (behind NAT).
    ``ice_servers``: STUN/TURN servers as RTCIceServer dicts, for browsers and
    for the server's own gathering.
    """

    media_ips: tuple[str, ...] = ()
    announced_ip: str = ""
    ice_servers: tuple[dict[str, Any], ...] = field(default_factory=tuple)
