"""
Participants leaving a call for good, and how everyone else learns of it, from any process.

A leave is recorded once (``presence.mark_left`` says whether this call recorded it) and
announced once, by whoever recorded it. The participant's media is freed where its socket
is served (the SFU's rooms live in that process's event loop), or, for one whose socket is
away, when its resume grace ends.
"""

from __future__ import annotations

from .. import errors
from ..cluster.processes import Orphan
from . import broadcast, presence, recording
from .media import get_sfu


async def leave_call(session_id: str, participant_id: str, reason: str) -> None:
    """Take a participant out of its call for good: media, database, and everyone else's view."""
    try:
        await get_sfu().leave(session_id, participant_id)
    finally:
        if await presence.mark_left(participant_id, reason):
            await broadcast.participant_left(session_id, participant_id, reason)
            # The last one out stops the call's recording (the SFU finished its files as the room closed).
            await recording.finish_if_empty(session_id)


async def evict(session_id: str, participant_id: str, reason: str, *, recorded: bool = False) -> None:
    """
    Put a participant out of its call (``removed`` by a moderator, ``replaced`` by a newer join with
    its token), wherever its socket is: the socket is told and closed, and frees the media
    (``CallConsumer.call_evicted``). ``recorded``: the leave is already in the database (a join
    that replaced it recorded it in its own transaction).
    """
    await broadcast.evicted(session_id, participant_id, reason)
    if recorded or await presence.mark_left(participant_id, reason):
        await broadcast.participant_left(session_id, participant_id, reason)


async def close_orphans(orphans: list[Orphan]) -> list[Orphan]:
    """
    Participants whose Daphne process died: close them for everyone; return those this process
    closed (each is closed by one process only), whose media the caller frees. Their browsers
    reconnect through another process and join again.
    """
    closed = []
    for orphan in orphans:
        if await presence.mark_left(orphan.participant_id, errors.LEAVE_REASON_DISCONNECTED):
            await broadcast.participant_left(orphan.session_id, orphan.participant_id, errors.LEAVE_REASON_DISCONNECTED)
            closed.append(orphan)
    return closed
