"""
The delivery worker's knobs: a Django setting wins, then the environment, then the default.

Every ``CALLS_WEBHOOK_*`` name below may be set in settings or exported in the
environment (the way every other deployment choice of this project is made);
values are read when the worker starts, never at import time, and a bad one
fails fast with a message naming it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def _number(name: str, default: float, minimum: float, kind: type[int] | type[float]) -> float:
    value = getattr(settings, name, None)
    if value is None:
        value = os.environ.get(name, "") or default
    try:
        number = kind(value)
    except (TypeError, ValueError):
        raise ImproperlyConfigured(f"{name} must be a {kind.__name__}, not {value!r}.") from None
    if number < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {number}.")
    return number


@dataclass(frozen=True)
class WebhookSettings:
    """How the worker delivers: timeouts, the retry schedule and how much it takes on at once."""

    timeout_seconds: float = 5.0
    max_attempts: int = 12
    backoff_base_seconds: float = 1.0
    backoff_max_seconds: float = 600.0
    poll_interval_seconds: float = 1.0
    batch_size: int = 20
    concurrency: int = 4
    claim_margin_seconds: float = 30.0

    @classmethod
    def load(cls) -> WebhookSettings:
        return cls(
            timeout_seconds=_number("CALLS_WEBHOOK_TIMEOUT_SECONDS", cls.timeout_seconds, 0.01, float),
            max_attempts=int(_number("CALLS_WEBHOOK_MAX_ATTEMPTS", cls.max_attempts, 1, int)),
            backoff_base_seconds=_number("CALLS_WEBHOOK_BACKOFF_BASE_SECONDS", cls.backoff_base_seconds, 0, float),
            backoff_max_seconds=_number("CALLS_WEBHOOK_BACKOFF_MAX_SECONDS", cls.backoff_max_seconds, 0, float),
            poll_interval_seconds=_number(
                "CALLS_WEBHOOK_POLL_INTERVAL_SECONDS", cls.poll_interval_seconds, 0.01, float
            ),
            batch_size=int(_number("CALLS_WEBHOOK_BATCH_SIZE", cls.batch_size, 1, int)),
            concurrency=int(_number("CALLS_WEBHOOK_CONCURRENCY", cls.concurrency, 1, int)),
            claim_margin_seconds=_number("CALLS_WEBHOOK_CLAIM_MARGIN_SECONDS", cls.claim_margin_seconds, 0, float),
        )

    @property
    def claim_seconds(self) -> float:
        """
        How long a claim lasts: an endpoint's deliveries go out one after the other, so a whole
        batch to one slow endpoint must fit before another worker may take them over. A worker
        killed mid-batch frees its claims when this has passed (the margin covers database time).
        """
        return self.batch_size * self.timeout_seconds + self.claim_margin_seconds
