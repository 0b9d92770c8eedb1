"""Share links and session IDs as people paste them."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse

from .models import SESSION_ID_MAX_LENGTH

SESSION_ID_RE = re.compile(rf"^[A-Za-z0-9_-]{{1,{SESSION_ID_MAX_LENGTH}}}$")
DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000"


def is_valid_session_id(value: str) -> bool:
    return bool(SESSION_ID_RE.match(value))


def session_id_from_input(text: str) -> str | None:
    """
    Return the session ID in what a person typed: a bare ID or a share link.

    Return None when there is none to be found.
    """
    text = text.strip()
    if not text:
        return None
    if "/" in text:
        match = re.search(r"/s/([^/?#]+)", urlsplit(text).path if "://" in text else text)
        text = match.group(1) if match else ""
    return text if is_valid_session_id(text) else None


def share_url(session_id: str, request: HttpRequest | None = None) -> str:
    """The absolute share link: CALLS_PUBLIC_URL if set, else the request's own host."""
    return public_url(reverse("session", args=[session_id]), request)


def public_url(path: str, request: HttpRequest | None = None) -> str:
    """An absolute URL of one of our pages: CALLS_PUBLIC_URL if set, else the request's own host."""
    if settings.CALLS_PUBLIC_URL:
        return settings.CALLS_PUBLIC_URL + path
    if request is not None:
        return request.build_absolute_uri(path)
    return DEFAULT_PUBLIC_URL + path
