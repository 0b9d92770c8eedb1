"""
One POST of one event to one endpoint, and what came of it. No database here:
the worker runs these in threads and records the outcomes itself.

Plain ``http.client`` is enough for one signed POST with a timeout, and adds no dependency; it
connects to the address ``addresses.checked_address`` approved (never following redirects).
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time
import urllib.error
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from . import signing
from .addresses import ForbiddenAddress, checked_address

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


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection to an address resolved and checked beforehand, for the URL's host."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """The same over TLS: the certificate is checked against the URL's host name, as usual."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


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
    """
    POST ``target`` once; any status, timeout or network error becomes an Outcome, never an exception.
    A URL whose host is not public is refused before anything is sent: the outcome says so, and
    nothing about what answers there.
    """
    started = time.monotonic()
    try:
        host, port, address = checked_address(target.url)
        parts = urlsplit(target.url)
        kind = _PinnedHTTPSConnection if parts.scheme == "https" else _PinnedHTTPConnection
        connection = kind(host, port, address, timeout_seconds)
        try:
            path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            connection.request("POST", path, body=target.body, headers=headers(target, int(now())))
            response = connection.getresponse()
            response.read(MAX_RESPONSE_BYTES)
        finally:
            connection.close()
    except ForbiddenAddress as error:
        return Outcome(None, f"refused: {error}", time.monotonic() - started)
    except (OSError, http.client.HTTPException, ValueError, UnicodeError) as error:
        return Outcome(None, describe(error, timeout_seconds), time.monotonic() - started)
    if 200 <= response.status < 300:
        return Outcome(response.status, "", time.monotonic() - started)
    return Outcome(response.status, f"HTTP {response.status} {response.reason}"[:300], time.monotonic() - started)
