"""
The ``X-Calls-Signature`` scheme: ``v1=<hex HMAC-SHA256 of "<timestamp>.<body>">``.

The timestamp is signed with the body so a receiver can refuse an old request
replayed by whoever saw it; the version prefix leaves room for another scheme.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable

SIGNATURE_VERSION = "v1"
DEFAULT_TOLERANCE_SECONDS = 300


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The header value for ``body`` sent at ``timestamp`` (Unix seconds)."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"{SIGNATURE_VERSION}={digest}"


def verify(
    secret: str,
    timestamp_header: str,
    body: bytes,
    signature_header: str,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
    now: Callable[[], float] = time.time,
) -> bool:
    """
    Whether a request was signed with ``secret`` less than ``tolerance_seconds`` ago.

    What a receiver runs (docs/webhooks.md shows the same steps); the clock is
    injectable for tests. Comparison is constant-time.
    """
    try:
        timestamp = int(timestamp_header)
    except ValueError:
        return False
    if abs(now() - timestamp) > tolerance_seconds:
        return False
    return hmac.compare_digest(signature(secret, timestamp, body), signature_header)
