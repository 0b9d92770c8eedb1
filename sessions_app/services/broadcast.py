"""
A session's bus: what the services tell every process serving the session's participants.

Every signaling socket joins its session's group on the channel layer, so a message
published here reaches each of them, in whichever process, and each renders it for its
client (the ``call_*`` handlers of ``signaling/consumer.py``). Messages carry data, never
wire text: the wire format is signaling's. ``sender`` is the channel name of the socket the
news comes from (it already knows), or "" when no socket does.
"""

from __future__ import annotations

from typing import Any, TypedDict

from channels.layers import get_channel_layer


class MediaState(TypedDict):
    """A participant's microphone and camera as everyone sees them, with a moderator's holds."""

    audio_muted: bool
    video_paused: bool
    audio_held: bool
    video_held: bool


def group_name(session_id: str) -> str:
    """The channel-layer group of every connection in one session."""
    return f"call.{session_id}"


async def _publish(session_id: str, kind: str, sender: str = "", **fields: Any) -> None:
    await get_channel_layer().group_send(group_name(session_id), {"type": kind, "sender": sender, **fields})


async def participant_joined(session_id: str, participant: dict[str, Any], sender: str = "") -> None:
    """``participant``: the joiner as the others see it (``Participant.as_wire()``)."""
    await _publish(session_id, "call.participant_joined", sender, participant=participant)


async def participant_left(session_id: str, participant_id: str, reason: str) -> None:
    await _publish(session_id, "call.participant_left", participant_id=participant_id, reason=reason)


async def media_changed(session_id: str, participant_id: str, state: MediaState, sender: str = "") -> None:
    await _publish(session_id, "call.media", sender, participant_id=participant_id, **state)


async def moderated(session_id: str, target: str, action: str, by: str, state: MediaState) -> None:
    """A moderator's hold (or its lifting) on ``target``: its socket applies it to the media and tells it."""
    await _publish(session_id, "call.moderate", target=target, action=action, by=by, **state)


async def evicted(session_id: str, target: str, reason: str) -> None:
    """``target`` is out of the call (removed, replaced): its socket frees its media, tells it and closes."""
    await _publish(session_id, "call.evicted", target=target, reason=reason)


async def ended(session_id: str, reason: str) -> None:
    """The call ended for everyone: every socket says so and closes."""
    await _publish(session_id, "call.ended", reason=reason)


async def hand_changed(session_id: str, participant_id: str, raised_at_ms: int) -> None:
    """A hand raised (its raise time in ms: hands are ordered by it) or lowered (0); to everyone, itself included."""
    await _publish(session_id, "call.hand", participant_id=participant_id, raised_at_ms=raised_at_ms)


async def screen_share_changed(session_id: str, participant_id: str, enabled: bool) -> None:
    await _publish(session_id, "call.screen_share", participant_id=participant_id, enabled=enabled)


async def recording_changed(session_id: str, recording: bool, by: str) -> None:
    """The call's recording started or stopped; ``by``: the moderator's participant ID, "" for the call itself."""
    await _publish(session_id, "call.recording", recording=recording, by=by)


class ChatMessage(TypedDict):
    id: str
    participant_id: str
    name: str
    is_guest: bool
    text: str
    sent_at_ms: int


async def chat(session_id: str, message: ChatMessage) -> None:
    """An in-call chat message, to everyone (the sender sees its own echo)."""
    await _publish(session_id, "call.chat", **message)
