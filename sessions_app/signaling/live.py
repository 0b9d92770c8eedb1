"""
The participants this process serves, and what lets them survive a dropped websocket.

A participant outlives its socket by ``RESUME_GRACE_S``. A browser whose socket
drops (a network blip, a proxy restart, a laptop lid) comes back on a new socket
with ``resume`` and its resume token, and finds the call as it left it: the same
participant and the same peer connection (media never went through the socket,
so it may not even have stopped), with whatever the SFU said meanwhile (an offer)
delivered on its return. A participant not back in time is removed for everyone,
as is one whose socket has been silent for ``silence.SILENCE_TIMEOUT_S`` (a browser
that vanished without closing it): at most ``SILENCE_TIMEOUT_S + RESUME_GRACE_S``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import secrets
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..sfu import MediaEvent
from . import protocol

logger = logging.getLogger(__name__)

RESUME_GRACE_S = 4.0
# What the SFU may say to a participant while its socket is down: a few offers and speaker changes.
MAX_PENDING_SIGNALS = 32

Send = Callable[[dict[str, Any]], Awaitable[None]]


class SignalRoute:
    """
    The SFU's way to one participant (its ``SendSignal``): its current socket, or a short queue
    while it has none.

    The SFU keeps the route it was given at join for the participant's whole stay;
    a resumed socket takes it over with ``attach``, which first delivers the queue. A
    joining socket starts with none: the SFU's first offer waits for the ``joined`` reply.
    Events are rendered to the wire (``protocol.media_event_message``) as they come.
    """

    __slots__ = ("_pending", "_send")

    def __init__(self, send: Send | None = None) -> None:
        self._send: Send | None = send
        self._pending: deque[dict[str, Any]] = deque(maxlen=MAX_PENDING_SIGNALS)

    async def __call__(self, event: MediaEvent) -> None:
        message = protocol.media_event_message(event)
        if self._send is None:
            self._pending.append(message)
        else:
            await self._send(message)

    def detach(self) -> None:
        self._send = None

    async def attach(self, send: Send) -> bool:
        """Route to ``send`` from now on, after what was queued; return whether anything was."""
        queued = bool(self._pending)
        while self._pending:
            await send(self._pending.popleft())
        self._send = send
        return queued


@dataclass(eq=False)
class LiveParticipant:
    """One participant in a call on this process, whichever socket serves it now."""

    participant_id: str
    session_id: str
    display_name: str
    route: SignalRoute
    uid: str = ""
    forbidden: frozenset[str] = frozenset()
    is_moderator: bool = False
    is_guest: bool = False
    audio_muted: bool = False
    video_paused: bool = False
    # A moderator's holds: the participant cannot turn these back on itself.
    audio_held: bool = False
    video_held: bool = False
    # The channel name of the socket serving it; "" while it is away.
    channel_name: str = ""
    resume_token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    _expiry: asyncio.Task[None] | None = None


class LiveParticipants:
    """This process's participants by ID: joins add them, leaves and expired absences remove them."""

    def __init__(self) -> None:
        self._by_id: dict[str, LiveParticipant] = {}
        # Joins recorded since then are this process's own, even before they are added here.
        self.started_at = datetime.now(UTC)

    def __len__(self) -> int:
        return len(self._by_id)

    def __contains__(self, participant_id: object) -> bool:
        return participant_id in self._by_id

    def may_be_serving(self, participant_id: str, joined_at: datetime) -> bool:
        """
        Whether this process serves a participant the database says is present, or may be about to:
        one that joined since the registry started is a join of this process still under way. (The
        rest, when this process is the whole server, are ghosts of a server that stopped.)
        """
        return participant_id in self._by_id or joined_at >= self.started_at

    def away(self) -> int:
        """How many are waiting to resume (their socket dropped, their grace runs)."""
        return sum(1 for live in self._by_id.values() if not live.channel_name)

    def add(self, live: LiveParticipant) -> None:
        self._by_id[live.participant_id] = live

    def discard(self, participant_id: str) -> LiveParticipant | None:
        """Forget a participant that left for good (its absence timer, if any, is cancelled)."""
        live = self._by_id.pop(participant_id, None)
        if live is not None and live._expiry is not None:
            live._expiry.cancel()
        return live

    def claim(self, participant_id: str, session_id: str, resume_token: str) -> LiveParticipant | None:
        """The participant a ``resume`` names, if its token matches and it has not been let go."""
        live = self._by_id.get(participant_id)
        if live is None or live.session_id != session_id:
            return None
        if not hmac.compare_digest(live.resume_token.encode(), resume_token.encode()):
            return None
        if live._expiry is not None:
            live._expiry.cancel()
            live._expiry = None
        return live

    def suspend(self, live: LiveParticipant, let_go: Callable[[], Awaitable[None]]) -> None:
        """
        Its socket is gone: queue what the SFU says, and call ``let_go`` (remove it from the call)
        unless a ``resume`` claims it within RESUME_GRACE_S.
        """
        live.route.detach()
        live.channel_name = ""
        if live._expiry is None and live.participant_id in self._by_id:
            live._expiry = asyncio.ensure_future(self._expire(live, let_go))

    async def _expire(self, live: LiveParticipant, let_go: Callable[[], Awaitable[None]]) -> None:
        await asyncio.sleep(RESUME_GRACE_S)
        if self._by_id.get(live.participant_id) is not live or live.channel_name:
            return
        live._expiry = None
        del self._by_id[live.participant_id]
        try:
            await let_go()
        except Exception:
            logger.exception("could not remove participant %s after its socket dropped", live.participant_id)

    async def close_all(self) -> None:
        """Cancel every absence timer and forget everyone (tests, shutdown)."""
        for live in self._by_id.values():
            if live._expiry is not None:
                live._expiry.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await live._expiry
        self._by_id.clear()


_live: LiveParticipants | None = None


def get_live_participants() -> LiveParticipants:
    """The process-wide registry (signaling and the SFU live in one process by default)."""
    global _live
    if _live is None:
        _live = LiveParticipants()
    return _live


async def reset_live_participants() -> None:
    global _live
    if _live is not None:
        await _live.close_all()
    _live = None
