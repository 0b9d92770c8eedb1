"""
TURN credentials for one join: coturn's shared-secret scheme (the "TURN REST API" of
draft-uberti-behave-turn-rest), as Jitsi and most self-hosted deployments use it.

The server and coturn share ``CALLS_TURN_SECRET`` (coturn: ``use-auth-secret`` and
``static-auth-secret``). Each join gets a username ``"<expiry unix time>:<participant id>"`` and a
password ``base64(HMAC-SHA1(secret, username))``: coturn recomputes it, and refuses it once the expiry
has passed. Nobody can relay with a credential copied from a page or a log for longer than that, and
credentials reach a browser only in its own ``joined`` message, never on the share page.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings


def rest_credential(secret: str, name: str, expires_at: int) -> tuple[str, str]:
    """The (username, password) pair coturn's use-auth-secret accepts until ``expires_at``."""
    username = f"{expires_at}:{name}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


def ice_servers_for(participant_id: str, now: Callable[[], float] = time.time) -> list[dict[str, Any]]:
    """
    The RTCIceServer list one participant's browser gets with ``joined``: the configured STUN (or
    static TURN) servers, then the TURN servers of CALLS_TURN_URLS with a credential for this join.
    """
    servers: list[dict[str, Any]] = [dict(server) for server in settings.CALLS_ICE_SERVERS]
    if settings.CALLS_TURN_SECRET and settings.CALLS_TURN_URLS:
        expires_at = int(now()) + settings.CALLS_TURN_CREDENTIAL_TTL_SECONDS
        username, credential = rest_credential(settings.CALLS_TURN_SECRET, participant_id, expires_at)
        servers.append({"urls": list(settings.CALLS_TURN_URLS), "username": username, "credential": credential})
    return servers


def public_ice_servers() -> list[dict[str, Any]]:
    """What a page may carry before anyone joins: servers that need no credential (STUN)."""
    return [server for server in settings.CALLS_ICE_SERVERS if "credential" not in server and "username" not in server]
