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

from asgiref.sync import async_to_sync
from django.db import transaction
from django.utils import timezone

from .. import errors, restrictions, signals
from ..errors import CallsError
from ..models import END_REASON_TERMINATED, CallSession, Participant, RestrictionKind, SessionStatus
from ..tokens import call_tokens
from . import broadcast
from .broadcast import MediaState
from .database import off_the_loop
from .departures import evict
from .presence import record_left, session_payload

# A moderation action: the restriction it makes or lifts, and the participant fields it sets.
HOLDS = {
    errors.MODERATION_MUTE: (RestrictionKind.AUDIO, True),
    errors.MODERATION_PAUSE_VIDEO: (RestrictionKind.VIDEO, True),
    errors.MODERATION_ALLOW_AUDIO: (RestrictionKind.AUDIO, False),
    errors.MODERATION_ALLOW_VIDEO: (RestrictionKind.VIDEO, False),
}
BY_OPERATOR = "admin"


def record_moderation(session_id: str, target: str, action: str, by: str) -> Participant:
    """
    Record ``action`` on ``target`` (present in ``session_id``) and return it as it now stands.
    Raise CallsError(ERR_CALL_NOT_A_PART) when it is not in the call.
    """
    with transaction.atomic():
        participant: Participant | None = (
            Participant.objects.select_for_update()
            .select_related("session")
            .filter(participant_id=target, session__session_id=session_id, left_at__isnull=True)
            .first()
        )
        if participant is None:
            raise CallsError(errors.ERR_CALL_NOT_A_PART, "That participant is not in the call.")
        if action == errors.MODERATION_REMOVE:
            restrictions.restrict(participant, RestrictionKind.REMOVED, by)
            if participant.token_jti:
                call_tokens.revoke(participant.token_jti)
            record_left(participant.participant_id, errors.LEAVE_REASON_REMOVED)
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
    if action == errors.MODERATION_REMOVE:
        await evict(session_id, participant.participant_id, errors.LEAVE_REASON_REMOVED, recorded=True)
        return
    state = media_state(participant)
    await broadcast.moderated(session_id, participant.participant_id, action, by, state)
    await broadcast.media_changed(session_id, participant.participant_id, state)


def media_state(participant: Participant) -> MediaState:
    return {
        "audio_muted": participant.audio_muted,
        "video_paused": participant.video_paused,
        "audio_held": participant.audio_held,
        "video_held": participant.video_held,
    }


async def moderate(session_id: str, target: str, action: str, by: str) -> None:
    """A moderator's ``moderate`` message, from its socket."""
    participant = await off_the_loop(record_moderation)(session_id, target, action, by)
    await carry_out(participant, action, by)


def moderate_as_operator(session_id: str, target: str, action: str) -> Participant:
    """The admin's Live calls page: the same as a moderator's, from a request."""
    participant = record_moderation(session_id, target, action, BY_OPERATOR)
    async_to_sync(carry_out)(participant, action, BY_OPERATOR)
    return participant


end_for_everyone_sync = async_to_sync(broadcast.ended)


def end_call(session: CallSession) -> None:
    """End a call for everyone: record it, revoke its tokens, then drop every connected participant."""
    with transaction.atomic():
        was_running = session.status == SessionStatus.ONGOING
        session.mark_ended(END_REASON_TERMINATED)
        call_tokens.revoke_for_session(session)
        if was_running:
            signals.meeting_ended.send(CallSession, session=session, data=session_payload(session))
    end_for_everyone_sync(session.session_id, errors.LEAVE_REASON_ENDED)


@off_the_loop
def _end_call_by_id(session_id: str) -> bool:
    session = CallSession.objects.filter(session_id=session_id).first()
    if session is None or session.is_ended:
        return False
    end_call(session)
    return True


async def end_session_for_all(session_id: str) -> None:
    """A moderator's endSessionForAll(): the same as the REST API's and the admin's end."""
    await _end_call_by_id(session_id)
