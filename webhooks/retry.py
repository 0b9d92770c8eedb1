"""When a failed delivery is tried again: exponential backoff with jitter, capped, for a bounded number of tries."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from .conf import WebhookSettings

# Each delay is drawn from [(1 - JITTER) * d, d]: receivers that came back up are not hit by every sender at once.
JITTER = 0.25


@dataclass(frozen=True)
class RetryPolicy:
    """
    After attempt ``n`` fails, wait ``min(base * 2**(n-1), cap)`` less up to 25%;
    after ``max_attempts`` failures, give up. The random source is injectable for tests.
    """

    base_seconds: float
    max_seconds: float
    max_attempts: int
    random: Callable[[], float] = field(default=random.random, compare=False)

    @classmethod
    def from_settings(cls, config: WebhookSettings) -> RetryPolicy:
        return cls(config.backoff_base_seconds, config.backoff_max_seconds, config.max_attempts)

    def gives_up_after(self, attempts: int) -> bool:
        return attempts >= self.max_attempts

    def delay_seconds(self, attempts: int) -> float:
        """The wait after the ``attempts``-th failed attempt (1-based)."""
        nominal = min(self.base_seconds * 2 ** min(attempts - 1, 64), self.max_seconds)
        return nominal * (1 - JITTER * self.random())
