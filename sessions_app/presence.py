"""Database side of presence: who is in a call, as every process sees it."""

from __future__ import annotations

from channels.db import database_sync_to_async
from django.db import transaction
from django.utils import timezone

from .models import CallSession, Participant
from .tokens import CallIdentity, call_tokens


class SessionUnavailable(Exception):
    """The session does not exist or has ended."""

    def __init__(self, ended: bool) -> None:
        super().__init__("ended" if ended else "not found")
        self.ended = ended


@database_sync_to_async
def load_session(session_id: str) -> CallSession:
    try:
        session = CallSession.objects.get(session_id=session_id)
    except CallSession.DoesNotExist:
        raise SessionUnavailable(ended=False) from None
    if session.is_ended:
        raise SessionUnavailable(ended=True)
    return session


@database_sync_to_async
def verify_call_token(token: str, session_id: str) -> CallIdentity:
    return call_tokens.verify(token, session_id)


@database_sync_to_async
def add_participant(
    session: CallSession, identity: CallIdentity, display_name: str, audio_muted: bool, video_paused: bool
) -> tuple[Participant, list[Participant]]:
    """Record a join; return the new participant and the others present."""
    with transaction.atomic():
        participant = Participant.objects.create(
            session=session,
            uid=identity.uid,
            is_guest=identity.is_guest,
            display_name=display_name,
            audio_muted=audio_muted,
            video_paused=video_paused,
        )
        session.mark_started()
    others = list(session.participants.filter(left_at__isnull=True).exclude(pk=participant.pk))
    return participant, others


@database_sync_to_async
def update_media(participant_id: str, audio_muted: bool, video_paused: bool) -> None:
    Participant.objects.filter(participant_id=participant_id).update(audio_muted=audio_muted, video_paused=video_paused)


@database_sync_to_async
def mark_left(participant_id: str, reason: str) -> None:
    Participant.objects.filter(participant_id=participant_id, left_at__isnull=True).update(
        left_at=timezone.now(), leave_reason=reason
    )
