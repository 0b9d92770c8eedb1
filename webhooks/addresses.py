"""
Where webhooks may go: public addresses only, unless an operator allows private ones (development).

A staff user who could point an endpoint at loopback, a private network or a cloud metadata address
(169.254.169.254) would make the server send requests inside its own network, and read from the
delivery log which ports answer there. URLs are checked when an endpoint is saved and again, after
resolving the host, at every send; the request then goes to the address that was checked, so a name
that resolves differently a moment later (DNS rebinding) cannot redirect it.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings

DEFAULT_PORTS = {"http": 80, "https": 443}


class ForbiddenAddress(Exception):
    """A webhook URL that resolves to an address the server must not send to."""


def allow_private() -> bool:
    return bool(getattr(settings, "CALLS_WEBHOOKS_ALLOW_PRIVATE", False))


def is_public(address: str) -> bool:
    """Whether ``address`` is on the public internet (not loopback, private, link-local, multicast, reserved)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (a literal address resolves to itself)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def checked_address(url: str) -> tuple[str, int, str]:
    """
    The URL's host, port and the address to connect to; raise ForbiddenAddress when any address the
    host resolves to is not public (unless CALLS_WEBHOOKS_ALLOW_PRIVATE), OSError when it does not resolve.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or DEFAULT_PORTS.get(parts.scheme, 80)
    addresses = resolve(host, port)
    if not allow_private() and not all(is_public(address) for address in addresses):
        raise ForbiddenAddress("the URL's host is a loopback, private, link-local or reserved address")
    return host, port, addresses[0]


def refusal_at_save(url: str) -> str | None:
    """Why an endpoint with ``url`` cannot be saved, or None. A name that does not resolve yet may be saved."""
    try:
        checked_address(url)
    except ForbiddenAddress as exc:
        return f"Webhooks are not sent to private addresses: {exc}."
    except (OSError, UnicodeError, ValueError):
        return None
    return None
