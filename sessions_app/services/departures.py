"""
Participants leaving a call for good, and how everyone else learns of it, from any process.

A leave is recorded once (``presence.mark_left`` says whether this call recorded it) and
announced once, by whoever recorded it. The participant's media is freed where its socket
is served (the SFU's rooms live in that process's event loop), or, for one whose socket is
away, when its resume grace ends.
"""

from __future__ import annotations

from channels.layers import get_channel_layer

from ..cluster.processes import Orphan
from ..signaling import protocol
from ..signaling.live import LiveParticipant, get_live_participants
from . import presence
from .media import get_sfu


def group_name(session_id: str) -> str:
    """The channel-layer group of every connection in one session."""
    return f"call.{session_id}"


async def announce_left(session_id: str, participant_id: str, reason: str) -> None:
    await get_channel_layer().group_send(
        group_name(session_id),
        {
            "type": "call.participant_left",
            "message": protocol.participant_left_message(participant_id, reason),
            "sender": "",
        },
    )


async def leave_call(live: LiveParticipant, reason: str) -> None:
    """Take a participant out of its call for good: media, database, and everyone else's view."""
    try:
        await get_sfu().leave(live.session_id, live.participant_id)
    finally:
        if await presence.mark_left(live.participant_id, reason):
            await announce_left(live.session_id, live.participant_id, reason)


async def evict(session_id: str, participant_id: str, reason: str, *, recorded: bool = False) -> None:
    """
    Put a participant out of its call (``removed`` by a moderator, ``replaced`` by a newer join with
    its token), wherever its socket is: the socket is told and closed, and frees the media
    (``CallConsumer.call_evicted``). ``recorded``: the leave is already in the database (a join
    that replaced it recorded it in its own transaction).
    """
    await get_channel_layer().group_send(
        group_name(session_id), {"type": "call.evicted", "target": participant_id, "reason": reason, "sender": ""}
    )
    if recorded or await presence.mark_left(participant_id, reason):
        await announce_left(session_id, participant_id, reason)


async def close_orphans(orphans: list[Orphan]) -> list[Orphan]:
    """
    Participants whose Daphne process died: close them for everyone; return those this process
    closed (each is closed by one process only), whose media the caller frees. Their browsers
    reconnect through another process and join again.
    """
    closed = []
    for orphan in orphans:
        if await presence.mark_left(orphan.participant_id, protocol.LEAVE_REASON_DISCONNECTED):
            await announce_left(orphan.session_id, orphan.participant_id, protocol.LEAVE_REASON_DISCONNECTED)
            closed.append(orphan)
    return closed


async def move_participants(session_id: str, participant_ids: list[str]) -> None:
    """
    The SFU worker hosting their media died: each leaves and joins again (the SDK does it on
    close code 4013), which places the session on a live worker. One away has nothing to rejoin with.
    """
    registry = get_live_participants()
    for participant_id in participant_ids:
        live = registry.discard(participant_id)
        if live is None:
            continue
        if live.channel_name:
            await get_channel_layer().send(live.channel_name, {"type": "call.media_moved"})
        else:
            await leave_call(live, protocol.LEAVE_REASON_MEDIA_MOVED)
