"""Database side of presence: who is in a call, as every process sees it."""

from __future__ import annotations

from channels.db import database_sync_to_async
from django.db import transaction
from django.utils import timezone

from . import signals
from .models import END_REASON_EMPTY, CallSession, Participant, SessionStatus, SessionType
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


def session_payload(session: CallSession) -> dict[str, object]:
    return {
        "sessionId": session.session_id,
        "title": session.title,
        "type": session.session_type,
        "status": session.status,
        "startedAt": int(session.started_at.timestamp()) if session.started_at else None,
        "endedAt": int(session.ended_at.timestamp()) if session.ended_at else None,
        "peakParticipants": session.peak_participants,
    }


def participant_payload(participant: Participant) -> dict[str, object]:
    return {
        "sessionId": participant.session.session_id,
        "participantId": participant.participant_id,
        "uid": participant.uid,
        "name": participant.display_name,
        "isGuest": participant.is_guest,
        "joinedAt": int(participant.joined_at.timestamp()),
        "leftAt": int(participant.left_at.timestamp()) if participant.left_at else None,
        "leaveReason": participant.leave_reason,
        "durationSeconds": round(participant.duration_seconds, 3),
        "audioSeconds": round(participant.audio_seconds, 3),
        "videoSeconds": round(participant.video_seconds, 3),
    }


@database_sync_to_async
def add_participant(
    session: CallSession, identity: CallIdentity, display_name: str, audio_muted: bool, video_paused: bool
) -> tuple[Participant, list[Participant]]:
    """Record a join (and the meeting's start); return the new participant and the others present."""
    now = timezone.now()
    with transaction.atomic():
        session = CallSession.objects.select_for_update().get(pk=session.pk)
        started = session.mark_started()
        participant = Participant.objects.create(
            session=session,
            uid=identity.uid,
            is_guest=identity.is_guest,
            display_name=display_name,
            audio_muted=audio_muted,
            video_paused=video_paused or session.session_type == SessionType.VOICE,
            joined_at=now,
            media_since=now,
        )
        others = list(session.participants.filter(left_at__isnull=True).exclude(pk=participant.pk))
        if len(others) + 1 > session.peak_participants:
            session.peak_participants = len(others) + 1
            session.save(update_fields=["peak_participants"])
        if started:
            signals.meeting_started.send(CallSession, session=session, data=session_payload(session))
        signals.meeting_participant_joined.send(CallSession, session=session, data=participant_payload(participant))
    return participant, others


@database_sync_to_async
def update_media(participant_id: str, audio_muted: bool, video_paused: bool) -> None:
    with transaction.atomic():
        participant = (
            Participant.objects.select_for_update().select_related("session").get(participant_id=participant_id)
        )
        if not participant.is_present:
            return
        participant.account_media(timezone.now())
        participant.audio_muted = audio_muted
        participant.video_paused = video_paused or participant.session.session_type == SessionType.VOICE
        participant.save(update_fields=["audio_muted", "video_paused", "audio_seconds", "video_seconds", "media_since"])


@database_sync_to_async
def mark_left(participant_id: str, reason: str) -> None:
    """Record a leave; when it empties the call, the meeting ends (the link still reopens it)."""
    now = timezone.now()
    with transaction.atomic():
        participant = (
            Participant.objects.select_for_update()
            .select_related("session")
            .filter(participant_id=participant_id, left_at__isnull=True)
            .first()
        )
        if participant is None:
            return
        participant.account_media(now)
        participant.left_at = now
        participant.leave_reason = reason
        participant.save()
        session = CallSession.objects.select_for_update().get(pk=participant.session_id)
        participant.session = session
        signals.meeting_participant_left.send(CallSession, session=session, data=participant_payload(participant))
        if not session.participants.filter(left_at__isnull=True).exists() and session.status != SessionStatus.ENDED:
            session.mark_ended(END_REASON_EMPTY)
            signals.meeting_ended.send(CallSession, session=session, data=session_payload(session))
