"""
Abuse limits on signaling: a budget per socket for every message type, and connects per address.

A socket's budgets live with the socket (a token bucket per message type: a burst, then a
steady rate), so a refused message costs a dictionary lookup and an error frame: nothing
reaches the database, the channel layer or the SFU. A socket that keeps sending past its
budgets is closed. Connects are counted per client address in Django's cache (Redis when
``REDIS_URL`` is set), so several Daphne processes share one count.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from asgiref.sync import sync_to_async
from django.conf import settings
from django_ratelimit.core import is_ratelimited

from . import protocol


@dataclass(frozen=True, slots=True)
class Rate:
    """``burst`` messages at once, then one every ``per_s / burst`` seconds on average."""

    burst: int
    per_s: float

    @property
    def refill_per_s(self) -> float:
        return self.burst / self.per_s


# What a well-behaved SDK sends, with room to spare: pings every 2 s, an answer per offer (offers
# come one at a time), a media change per click.
MESSAGE_RATES: dict[type, Rate] = {
    protocol.Ping: Rate(20, 10.0),
    protocol.Join: Rate(5, 10.0),
    protocol.Resume: Rate(5, 10.0),
    protocol.Answer: Rate(60, 10.0),
    protocol.MediaState: Rate(20, 10.0),
    protocol.Moderate: Rate(30, 10.0),
    protocol.Hand: Rate(10, 10.0),
    protocol.Chat: Rate(20, 10.0),
    protocol.ScreenShare: Rate(10, 10.0),
    # Sent when tiles are resized or scrolled (debounced by the SDK): a window being dragged sends several.
    protocol.VideoViews: Rate(40, 10.0),
    protocol.EndForAll: Rate(3, 10.0),
    protocol.Leave: Rate(3, 10.0),
}
# Messages that do not parse (not JSON, unknown type, bad fields) have a budget of their own.
INVALID_MESSAGE_RATE = Rate(20, 10.0)
# A socket refused this many messages within FLOOD_WINDOW_S is not a client that went wrong once.
FLOOD_REFUSALS = 50
FLOOD_WINDOW_S = 10.0


class _Bucket:
    __slots__ = ("tokens", "updated")

    def __init__(self, tokens: float, now: float) -> None:
        self.tokens = tokens
        self.updated = now


class MessageBudget:
    """One socket's budgets: ``take`` says whether a message of a kind may be handled now."""

    __slots__ = ("_buckets", "_clock", "_refusals", "_window_start")

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._buckets: dict[type | None, _Bucket] = {}
        self._refusals = 0
        self._window_start = 0.0

    def take(self, kind: type | None) -> float:
        """
        Spend one message of ``kind`` (a protocol message class; None for one that did not parse).
        Return 0.0 if it may be handled, else the seconds until it could be.
        """
        rate = MESSAGE_RATES.get(kind, INVALID_MESSAGE_RATE) if kind is not None else INVALID_MESSAGE_RATE
        now = self._clock()
        bucket = self._buckets.get(kind)
        if bucket is None:
            bucket = self._buckets[kind] = _Bucket(float(rate.burst), now)
        else:
            bucket.tokens = min(float(rate.burst), bucket.tokens + (now - bucket.updated) * rate.refill_per_s)
            bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        self._count_refusal(now)
        return (1.0 - bucket.tokens) / rate.refill_per_s

    def _count_refusal(self, now: float) -> None:
        if now - self._window_start > FLOOD_WINDOW_S:
            self._window_start, self._refusals = now, 0
        self._refusals += 1

    @property
    def flooding(self) -> bool:
        """Whether the socket keeps sending past its budgets (it should be closed)."""
        return self._refusals >= FLOOD_REFUSALS


def _count_connect(address: str) -> bool:
    return is_ratelimited(
        None,
        group="ws-connect",
        key=lambda group, request: address,
        rate=settings.CALLS_WS_CONNECT_RATE,
        increment=True,
    )


async def too_many_connects(address: str) -> bool:
    """Count a websocket connect from ``address``; True once it exceeds CALLS_WS_CONNECT_RATE."""
    return await sync_to_async(_count_connect, thread_sensitive=False)(address)
