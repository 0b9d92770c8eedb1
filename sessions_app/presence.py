"""Database side of presence: who is in a call, as every process sees it."""

from __future__ import annotations

from channels.db import database_sync_to_async
from django.db import transaction
from django.utils import timezone

from . import signals
from .logs import call_log, participant_log
from .models import END_REASON_EMPTY, CallSession, Participant, SessionStatus, SessionType
from .tokens import CallIdentity, call_tokens

LEAVE_REASON_SERVER_STOPPED = "server_stopped"


class SessionUnavailable(Exception):
    """The session does not exist or has ended."""

    def __init__(self, ended: bool) -> None:
        super().__init__("ended" if ended else "not found")
        self.ended = ended


@database_sync_to_async
def load_session(session_id: str) -> CallSession:
    try:
        session = CallSession.objects.select_related("app").get(session_id=session_id)
    except CallSession.DoesNotExist:
        raise SessionUnavailable(ended=False) from None
    if session.is_ended:
        raise SessionUnavailable(ended=True)
    return session


@database_sync_to_async
def verify_call_token(token: str, session_id: str) -> CallIdentity:
    return call_tokens.verify(token, session_id)


def session_payload(session: CallSession) -> dict[str, object]:
    """A webhook's ``data`` for meeting_started/ended: the session's call log, without its joins."""
    return call_log(session, with_participants=False)


@database_sync_to_async
def add_participant(
    session: CallSession,
    identity: CallIdentity,
    display_name: str,
    audio_muted: bool,
    video_paused: bool,
    served_by: str = "",
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
            served_by=served_by,
        )
        others = list(session.participants.filter(left_at__isnull=True).exclude(pk=participant.pk))
        if len(others) + 1 > session.peak_participants:
            session.peak_participants = len(others) + 1
            session.save(update_fields=["peak_participants"])
        if started:
            signals.meeting_started.send(CallSession, session=session, data=session_payload(session))
        signals.meeting_participant_joined.send(CallSession, session=session, data=participant_log(participant))
    return participant, others


@database_sync_to_async
def present(participant_id: str) -> tuple[Participant, list[Participant]]:
    """A participant and the others present in its call, as they stand now (a resume's snapshot)."""
    participant = Participant.objects.get(participant_id=participant_id)
    others = participant.session.participants.filter(left_at__isnull=True).exclude(pk=participant.pk)
    return participant, list(others.order_by("joined_at"))


@database_sync_to_async
def close_ghosts(participant_ids: list[str]) -> None:
    """
    Close participants a stopped server left open (the single-process server knows every live one:
    anyone else marked present is a ghost of its previous run). No one is told: no one saw them here.
    """
    Participant.objects.filter(participant_id__in=participant_ids, left_at__isnull=True).update(
        left_at=timezone.now(), leave_reason=LEAVE_REASON_SERVER_STOPPED
    )


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
def mark_left(participant_id: str, reason: str) -> bool:
    """
    Record a leave; when it empties the call, the meeting ends (the link still reopens it).
    Return whether this call recorded it (False: it had already left).
    """
    now = timezone.now()
    with transaction.atomic():
        participant = (
            Participant.objects.select_for_update()
            .select_related("session")
            .filter(participant_id=participant_id, left_at__isnull=True)
            .first()
        )
        if participant is None:
            return False
        participant.account_media(now)
        participant.left_at = now
        participant.leave_reason = reason
        participant.save()
        session = CallSession.objects.select_for_update().get(pk=participant.session_id)
        participant.session = session
        signals.meeting_participant_left.send(CallSession, session=session, data=participant_log(participant))
        if not session.participants.filter(left_at__isnull=True).exists() and session.status != SessionStatus.ENDED:
            session.mark_ended(END_REASON_EMPTY)
            signals.meeting_ended.send(CallSession, session=session, data=session_payload(session))
    return True


@database_sync_to_async
def set_hand(participant_id: str, raised: bool) -> int:
    """Raise or lower a hand; return its raise time in ms (0 when lowered). Hands are ordered by it."""
    raised_at = timezone.now() if raised else None
    participant = Participant.objects.get(participant_id=participant_id)
    if raised and participant.hand_raised_at is not None:
        raised_at = participant.hand_raised_at  # raising again keeps one's place in the queue
    Participant.objects.filter(pk=participant.pk).update(hand_raised_at=raised_at)
    return int(raised_at.timestamp() * 1000) if raised_at else 0


@database_sync_to_async
def set_presenting(participant_id: str, presenting: bool) -> None:
    Participant.objects.filter(participant_id=participant_id).update(is_presenting=presenting)
