"""Which local addresses the SFU offers as ICE host candidates."""

from __future__ import annotations

from collections.abc import Sequence

from .compat import replace_host_addresses


def use_host_addresses(addresses: Sequence[str]) -> None:
    """
    Gather host candidates on exactly ``addresses`` (CALLS_MEDIA_IPS).

    aioice never offers 127.0.0.1 on its own, which loopback deployments and
    tests need; an empty list restores its default (every interface but
    loopback). This is process-wide, as aioice reads it per gathering.
    """
    if not addresses:
        replace_host_addresses(None)
        return
    chosen = tuple(addresses)

    def configured_host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        return [a for a in chosen if (use_ipv6 if ":" in a else use_ipv4)]

    replace_host_addresses(configured_host_addresses)
