"""
Moderation: what moderators (and operators in the admin) do to participants and to the call.

Every decision is recorded first (the participant's state, a restriction that outlives its
join, a revoked token), then reaches the target's socket, wherever it is served, through the
channel layer: the socket applies it to the media it serves and tells its client. A hold (a
moderator's mute or camera-off) is the server's: the participant cannot lift it, only ask
(raise its hand) until a moderator allows it. A removal revokes the participant's token and
refuses its identity's joins until an operator readmits it (or ``CALLS_REMOVAL_SECONDS``).
"""

from __future__ import annotations

from typing import Any

from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.db import transaction
from django.utils import timezone

from .. import restrictions, signals
from ..models import END_REASON_TERMINATED, CallSession, Participant, RestrictionKind, SessionStatus
from ..signaling import protocol
from ..signaling.protocol import ProtocolError
from ..tokens import call_tokens
from .departures import evict, group_name
from .presence import record_left, session_payload

# A moderation action: the restriction it makes or lifts, and the participant fields it sets.
HOLDS = {
    protocol.MODERATION_MUTE: (RestrictionKind.AUDIO, True),
    protocol.MODERATION_PAUSE_VIDEO: (RestrictionKind.VIDEO, True),
    protocol.MODERATION_ALLOW_AUDIO: (RestrictionKind.AUDIO, False),
    protocol.MODERATION_ALLOW_VIDEO: (RestrictionKind.VIDEO, False),
}
BY_OPERATOR = "admin"


def record_moderation(session_id: str, target: str, action: str, by: str) -> Participant:
    """
    Record ``action`` on ``target`` (present in ``session_id``) and return it as it now stands.
    Raise ProtocolError(ERR_CALL_NOT_A_PART) when it is not in the call.
    """
    with transaction.atomic():
        participant = (
            Participant.objects.select_for_update()
            .select_related("session")
            .filter(participant_id=target, session__session_id=session_id, left_at__isnull=True)
            .first()
        )
        if participant is None:
            raise ProtocolError(protocol.ERR_CALL_NOT_A_PART, "That participant is not in the call.")
        if action == protocol.MODERATION_REMOVE:
            restrictions.restrict(participant, RestrictionKind.REMOVED, by)
            if participant.token_jti:
                call_tokens.revoke(participant.token_jti)
            record_left(participant.participant_id, protocol.LEAVE_REASON_REMOVED)
            return participant
        kind, hold = HOLDS[action]
        if hold:
            restrictions.restrict(participant, kind, by)
        else:
            restrictions.lift(participant, kind)
        participant.account_media(timezone.now())
        if kind == RestrictionKind.AUDIO:
            participant.audio_held = hold
            participant.audio_muted = participant.audio_muted or hold
        else:
            participant.video_held = hold
            participant.video_paused = participant.video_paused or hold
        participant.save(
            update_fields=[
                "audio_held", "video_held", "audio_muted", "video_paused",
                "audio_seconds", "video_seconds", "media_since",
            ]
        )  # fmt: skip
    return participant


async def carry_out(participant: Participant, action: str, by: str) -> None:
    """Tell the target's socket (it applies the decision to its media) and everyone else."""
    session_id = participant.session.session_id
    if action == protocol.MODERATION_REMOVE:
        await evict(session_id, participant.participant_id, protocol.LEAVE_REASON_REMOVED, recorded=True)
        return
    layer = get_channel_layer()
    state = media_state(participant)
    await layer.group_send(
        group_name(session_id),
        {"type": "call.moderate", "target": participant.participant_id, "action": action, "by": by, **state},
    )
    message = protocol.media_message(participant.participant_id, **state)
    await layer.group_send(group_name(session_id), {"type": "call.media", "message": message, "sender": ""})


def media_state(participant: Participant) -> dict[str, Any]:
    return {
        "audio_muted": participant.audio_muted,
        "video_paused": participant.video_paused,
        "audio_held": participant.audio_held,
        "video_held": participant.video_held,
    }


async def moderate(session_id: str, target: str, action: str, by: str) -> None:
    """A moderator's ``moderate`` message, from its socket."""
    participant = await database_sync_to_async(record_moderation)(session_id, target, action, by)
    await carry_out(participant, action, by)


def moderate_as_operator(session_id: str, target: str, action: str) -> Participant:
    """The admin's Live calls page: the same as a moderator's, from a request."""
    participant = record_moderation(session_id, target, action, BY_OPERATOR)
    async_to_sync(carry_out)(participant, action, BY_OPERATOR)
    return participant


async def end_for_everyone(session_id: str, reason: str) -> None:
    await get_channel_layer().group_send(group_name(session_id), {"type": "call.ended", "reason": reason, "sender": ""})


end_for_everyone_sync = async_to_sync(end_for_everyone)


def end_call(session: CallSession) -> None:
    """End a call for everyone: record it, revoke its tokens, then drop every connected participant."""
    with transaction.atomic():
        was_running = session.status == SessionStatus.ONGOING
        session.mark_ended(END_REASON_TERMINATED)
        call_tokens.revoke_for_session(session)
        if was_running:
            signals.meeting_ended.send(CallSession, session=session, data=session_payload(session))
    end_for_everyone_sync(session.session_id, protocol.LEAVE_REASON_ENDED)


@database_sync_to_async
def _end_call_by_id(session_id: str) -> bool:
    session = CallSession.objects.filter(session_id=session_id).first()
    if session is None or session.is_ended:
        return False
    end_call(session)
    return True


async def end_session_for_all(session_id: str) -> None:
    """A moderator's endSessionForAll(): the same as the REST API's and the admin's end."""
    await _end_call_by_id(session_id)
