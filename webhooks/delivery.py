"""
One POST of one event to one endpoint, and what came of it. No database here:
the worker runs these in threads and records the outcomes itself.

Plain ``urllib`` is enough for one signed POST with a timeout, and adds no dependency.
"""

from __future__ import annotations

import http.client
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from . import signing

USER_AGENT = "calls-webhooks/1"
MAX_RESPONSE_BYTES = 64 * 1024


@dataclass(frozen=True)
class Target:
    """Everything one attempt needs, read from the database before the network is touched."""

    delivery_id: int
    url: str
    secret: str
    event_id: str
    trigger: str
    body: bytes


@dataclass(frozen=True)
class Outcome:
    """The result of an attempt: a status code, or the error that prevented one."""

    status_code: int | None
    error: str
    duration_seconds: float

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer other than 2xx: the endpoint's URL needs updating, not following."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def headers(target: Target, timestamp: int) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Calls-Event-Id": target.event_id,
        "X-Calls-Trigger": target.trigger,
        "X-Calls-Timestamp": str(timestamp),
        "X-Calls-Signature": signing.signature(target.secret, timestamp, target.body),
    }


def describe(error: BaseException, timeout_seconds: float) -> str:
    """A short, secret-free account of a failure (never the URL, which may carry a token)."""
    reason = error.reason if isinstance(error, urllib.error.URLError) else error
    if isinstance(reason, TimeoutError):
        return f"timed out after {timeout_seconds:g} s"
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, BaseException):
        return f"{type(reason).__name__}: {reason}"[:300]
    return str(reason)[:300]


def send(target: Target, timeout_seconds: float, now: Any = time.time) -> Outcome:
    """POST ``target`` once; any status, timeout or network error becomes an Outcome, never an exception."""
    request = urllib.request.Request(target.url, data=target.body, headers=headers(target, int(now())), method="POST")
    started = time.monotonic()
    try:
        with _opener.open(request, timeout=timeout_seconds) as response:
            response.read(MAX_RESPONSE_BYTES)
            return Outcome(response.status, "", time.monotonic() - started)
    except urllib.error.HTTPError as error:
        error.close()
        return Outcome(error.code, f"HTTP {error.code} {error.reason}"[:300], time.monotonic() - started)
    except (OSError, http.client.HTTPException, ValueError) as error:
        return Outcome(None, describe(error, timeout_seconds), time.monotonic() - started)
