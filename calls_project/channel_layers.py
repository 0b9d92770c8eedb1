"""The embedded channel layer: Channels' in-memory layer, made to scale with the sockets one process holds."""

from __future__ import annotations

import time

from channels.layers import InMemoryChannelLayer

EXPIRY_SWEEP_INTERVAL_S = 1.0


class LocalChannelLayer(InMemoryChannelLayer):
    """
    Channels' in-memory layer sweeps every channel and every group membership for expired
    entries on each ``receive`` and ``group_send``: O(sockets) work per message, so a join
    announced in a call cost more the more idle participants the process held (8% of the
    server's CPU at 2,500 of them, bench/signaling.py). Messages expire after a minute and
    memberships after a day: sweeping at most once a second changes nothing a consumer can see.
    """

    _next_sweep = 0.0

    def _clean_expired(self) -> None:
        now = time.monotonic()
        if now < self._next_sweep:
            return
        self._next_sweep = now + EXPIRY_SWEEP_INTERVAL_S
        super()._clean_expired()
