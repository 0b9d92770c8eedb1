"""
Closing signaling sockets that went silent: a browser that vanished without closing its socket.

The SDK pings every 2 s; a socket that says nothing for ``SILENCE_TIMEOUT_S`` is dead. One sweep
a process looks at every socket twice a second: a sleeping task per socket cost one timer and
one task wake-up per socket every half second (5,000 a second at 2,500 sockets).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Protocol

logger = logging.getLogger(__name__)

# The SDK pings every 2 s; a socket silent for two and a half of those is dead.
SILENCE_TIMEOUT_S = 5.0
SILENCE_CHECK_INTERVAL_S = 0.5


class Watched(Protocol):
    def silent_for(self, now: float) -> float:
        """Seconds without a word from the client, time spent handling its messages not counted."""
        ...

    async def close_silent(self) -> None:
        """Close the socket as dead."""
        ...


class Heard:
    """
    When a socket's client last spoke, with time the server spent busy on it not counted.

    A consumer handles its messages one at a time: a ping queued behind a slow join (a
    saturated server, a database wait) is heard only when the join is done. Silence is
    therefore counted only while nothing is being handled, and resumes where it was.
    """

    __slots__ = ("_busy_since", "_depth", "_last")

    def __init__(self) -> None:
        self._last = time.monotonic()
        self._depth = 0
        self._busy_since = 0.0

    def heard(self) -> None:
        self._last = time.monotonic()

    def busy(self) -> None:
        if self._depth == 0:
            self._busy_since = time.monotonic()
        self._depth += 1

    def idle(self) -> None:
        self._depth -= 1
        if self._depth == 0:
            self._last += time.monotonic() - self._busy_since

    def silent_for(self, now: float) -> float:
        if self._depth:
            return 0.0
        return now - self._last


class SilenceWatch:
    """The sweep: started with the first socket of an event loop, ended with the last."""

    def __init__(self, timeout_s: float = SILENCE_TIMEOUT_S, interval_s: float = SILENCE_CHECK_INTERVAL_S) -> None:
        self.timeout_s = timeout_s
        self.interval_s = interval_s
        self._watched: dict[Watched, None] = {}
        self._task: asyncio.Task[None] | None = None
        self._closing: set[asyncio.Task[None]] = set()

    def watch(self, socket: Watched) -> None:
        self._watched[socket] = None
        loop = asyncio.get_running_loop()
        task = self._task
        if task is None or task.done() or task.get_loop() is not loop:
            self._task = loop.create_task(self._sweep())

    def unwatch(self, socket: Watched) -> None:
        self._watched.pop(socket, None)

    def __len__(self) -> int:
        return len(self._watched)

    async def _sweep(self) -> None:
        last = time.monotonic()
        while self._watched:
            await asyncio.sleep(self.interval_s)
            now = time.monotonic()
            stalled, last = now - last > 2 * self.interval_s, now
            if stalled:
                # The event loop was held up (a long garbage collection, a saturated CPU): what the
                # clients said meanwhile is still queued, unread. They get a round to be heard first.
                continue
            silent = [socket for socket in self._watched if socket.silent_for(now) > self.timeout_s]
            for socket in silent:
                del self._watched[socket]
                closing = asyncio.ensure_future(self._close(socket))
                self._closing.add(closing)
                closing.add_done_callback(self._closing.discard)

    @staticmethod
    async def _close(socket: Watched) -> None:
        try:
            await socket.close_silent()
        except Exception:
            logger.exception("closing a silent signaling socket failed")


silence_watch = SilenceWatch()
