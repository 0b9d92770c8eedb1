"""Requests per client address: one counter for every HTTP endpoint that limits how fast a client may go."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django_ratelimit.core import is_ratelimited

from . import errors
from .errors import CallsError


class TooManyRequests(CallsError):
    """A client past its rate for one kind of request (``details.rate``); an HTTP 429."""

    def __init__(self, rate: str) -> None:
        super().__init__(errors.ERR_TOO_MANY_REQUESTS, "Too many requests; slow down.", {"rate": rate})


def _client_ip(group: str, request: HttpRequest) -> str:
    """The client's address; ASGI servers leave REMOTE_ADDR out when they do not know it (unix sockets)."""
    return request.META.get("REMOTE_ADDR") or "unknown"


def check_rate(request: HttpRequest, group: str, setting: str, default: str) -> None:
    """Count this request against its client's rate for ``group``; raise TooManyRequests past it."""
    rate = getattr(settings, setting, default)
    if is_ratelimited(request, group=group, key=_client_ip, rate=rate, method=is_ratelimited.ALL, increment=True):
        raise TooManyRequests(rate)
