"""
Who hosts a call made from the home page: the browser that created it, or whoever opens its host link.

Calls made on the home page belong to no app and have no users, so the creator is
recognised by capability, as Whereby's host room URLs do it: the creating browser's
Django session records the call, and a host link (a signature of the session ID)
does the same for any browser that opens it. The share page then embeds a short-lived
host grant that the SDK sends with its token request (the REST API never reads
cookies), and the token minted for it carries the moderator role.
"""

from __future__ import annotations

from django.core import signing
from django.http import HttpRequest
from django.urls import reverse

from .links import public_url

HOSTED_SESSIONS_KEY = "calls_hosted_sessions"
# A browser keeps host rights to its latest calls; older ones need the host link again.
MAX_HOSTED_SESSIONS = 50
HOST_KEY_SALT = "sessions_app.hosting.host-key"
HOST_GRANT_SALT = "sessions_app.hosting.host-grant"
# A grant only has to outlive the pre-join screen (and the SDK's reconnects within one page).
HOST_GRANT_MAX_AGE_S = 12 * 60 * 60


def host_key(session_id: str) -> str:
    """The secret part of a call's host link: a signature of its session ID."""
    return signing.Signer(salt=HOST_KEY_SALT).signature(session_id)


def host_url(session_id: str, request: HttpRequest | None = None) -> str:
    """The host link: whoever opens it may moderate the call (keep it private)."""
    return public_url(reverse("session-host", args=[session_id, host_key(session_id)]), request)


def is_host_key(session_id: str, key: str) -> bool:
    return signing.constant_time_compare(host_key(session_id), key)


def mark_host(request: HttpRequest, session_id: str) -> None:
    """Remember in the browser's session that it hosts ``session_id``."""
    hosted = [sid for sid in request.session.get(HOSTED_SESSIONS_KEY, []) if sid != session_id]
    request.session[HOSTED_SESSIONS_KEY] = [*hosted, session_id][-MAX_HOSTED_SESSIONS:]


def is_host(request: HttpRequest, session_id: str) -> bool:
    return session_id in request.session.get(HOSTED_SESSIONS_KEY, [])


def host_grant(session_id: str) -> str:
    """What the host's share page gives the SDK to ask for a moderator's token."""
    return signing.TimestampSigner(salt=HOST_GRANT_SALT).sign(session_id)


def is_host_grant(grant: str, session_id: str) -> bool:
    try:
        signed_for = signing.TimestampSigner(salt=HOST_GRANT_SALT).unsign(grant, max_age=HOST_GRANT_MAX_AGE_S)
    except signing.BadSignature:
        return False
    return signing.constant_time_compare(signed_for, session_id)
