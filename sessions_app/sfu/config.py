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
    for the server's own gathering. ``receive_from_socket``: publishers' RTP goes from
    the socket to the forwarding table in one call (``compat.receive_from_socket``);
    off, it takes aiortc's queued path (kept for comparison: ``bench.forwarding``).
    """

    media_ips: tuple[str, ...] = ()
    announced_ip: str = ""
    ice_servers: tuple[dict[str, Any], ...] = field(default_factory=tuple)
    receive_from_socket: bool = True
