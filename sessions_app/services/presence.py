"""
Presence: who is in a call, as every process sees it, and what each has on.

The database is the record (joins, leaves, media, hands, screens); each change made here
also reaches the SFU where it has a media side, and everyone in the call through the bus.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from .. import errors, restrictions, signals
from ..errors import LEAVE_REASON_REPLACED, LEAVE_REASON_SERVER_STOPPED, CallsError
from ..logs import call_log, participant_log
from ..models import END_REASON_EMPTY, CallSession, Participant, RestrictionKind, SessionStatus, SessionType
from ..sfu import UnknownParticipant
from ..tokens import CallIdentity, call_tokens
from . import broadcast
from .broadcast import MediaState
from .database import off_the_loop
from .media import apply_media_state, get_sfu


class CallFull(Exception):
    """The call already has its maximum number of participants."""

    def __init__(self, max_participants: int) -> None:
        super().__init__(f"full at {max_participants}")
        self.max_participants = max_participants


class RemovedFromCall(Exception):
    """A moderator removed this identity from the call, and no one has readmitted it."""


@dataclass(frozen=True, slots=True)
class Admission:
    """A recorded join: the new participant, the others present, and those it replaced (same token)."""

    participant: Participant
    others: list[Participant]
    replaced: list[str]


class SessionUnavailable(Exception):
    """The session does not exist or has ended."""

    def __init__(self, ended: bool) -> None:
        super().__init__("ended" if ended else "not found")
        self.ended = ended


@off_the_loop
def load_session(session_id: str) -> CallSession:
    try:
        session: CallSession = CallSession.objects.select_related("app").get(session_id=session_id)
    except CallSession.DoesNotExist:
        raise SessionUnavailable(ended=False) from None
    if session.is_ended:
        raise SessionUnavailable(ended=True)
    return session


@off_the_loop
def verify_call_token(token: str, session_id: str) -> CallIdentity:
    return call_tokens.verify(token, session_id)


def session_payload(session: CallSession) -> dict[str, object]:
    """A webhook's ``data`` for meeting_started/ended: the session's call log, without its joins."""
    return call_log(session, with_participants=False)


@off_the_loop
def admit(
    session: CallSession,
    identity: CallIdentity,
    display_name: str,
    audio_muted: bool,
    video_paused: bool,
    served_by: str = "",
    client_ip: str | None = None,
    is_live: Callable[[str, datetime], bool] | None = None,
) -> Admission:
    """
    Record a join (and the meeting's start) unless a moderator removed this identity or the call is
    full. One call token is one participant: whoever is present with the same token leaves
    (``replaced``) in the same transaction. ``is_live(participant_id, joined_at)`` (the single-process
    server knows who it serves) says who is really present: the others are ghosts of a stopped server.
    A moderator's holds on this identity carry over: it starts muted, or with its camera off.
    """
    now = timezone.now()
    with transaction.atomic():
        session = CallSession.objects.select_for_update().get(pk=session.pk)
        kinds = restrictions.kinds_for(session, identity.uid, identity.is_guest, client_ip)
        if RestrictionKind.REMOVED in kinds:
            raise RemovedFromCall
        present = list(session.participants.filter(left_at__isnull=True))
        if is_live is not None:
            ghosts = [other.pk for other in present if not is_live(other.participant_id, other.joined_at)]
            if ghosts:
                Participant.objects.filter(pk__in=ghosts).update(left_at=now, leave_reason=LEAVE_REASON_SERVER_STOPPED)
                present = [other for other in present if other.pk not in ghosts]
        replaced = [other for other in present if other.token_jti and other.token_jti == identity.jti]
        for other in replaced:
            other.session = session
            _record_leave(other, LEAVE_REASON_REPLACED, now)
        others = [other for other in present if other not in replaced]
        if len(others) >= session.max_participants:
            raise CallFull(session.max_participants)
        started = session.mark_started()
        audio_held = RestrictionKind.AUDIO in kinds
        video_held = RestrictionKind.VIDEO in kinds
        participant = Participant.objects.create(
            session=session,
            uid=identity.uid,
            is_guest=identity.is_guest,
            role=identity.role,
            token_jti=identity.jti,
            client_ip=client_ip,
            display_name=display_name,
            avatar=identity.avatar,
            audio_muted=audio_muted or audio_held,
            video_paused=video_paused or video_held or session.session_type == SessionType.VOICE,
            audio_held=audio_held,
            video_held=video_held,
            joined_at=now,
            media_since=now,
            served_by=served_by,
        )
        if len(others) + 1 > session.peak_participants:
            session.peak_participants = len(others) + 1
            session.save(update_fields=["peak_participants"])
        if started:
            signals.meeting_started.send(CallSession, session=session, data=session_payload(session))
        signals.meeting_participant_joined.send(CallSession, session=session, data=participant_log(participant))
    others.sort(key=lambda other: other.joined_at)
    return Admission(participant, others, [other.participant_id for other in replaced])


@off_the_loop
def present(participant_id: str) -> tuple[Participant, list[Participant]]:
    """A participant and the others present in its call, as they stand now (a resume's snapshot)."""
    participant = Participant.objects.get(participant_id=participant_id)
    others = participant.session.participants.filter(left_at__isnull=True).exclude(pk=participant.pk)
    return participant, list(others.order_by("joined_at"))


@off_the_loop
def update_media(participant_id: str, audio_muted: bool, video_paused: bool) -> None:
    with transaction.atomic():
        participant = (
            Participant.objects.select_for_update().select_related("session").get(participant_id=participant_id)
        )
        if not participant.is_present:
            return
        participant.account_media(timezone.now())
        # A moderator's hold recorded meanwhile wins over what the participant asked for.
        participant.audio_muted = audio_muted or participant.audio_held
        participant.video_paused = (
            video_paused or participant.video_held or participant.session.session_type == SessionType.VOICE
        )
        participant.save(update_fields=["audio_muted", "video_paused", "audio_seconds", "video_seconds", "media_since"])


def record_left(participant_id: str, reason: str) -> bool:
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
        session = CallSession.objects.select_for_update().get(pk=participant.session_id)
        participant.session = session
        _record_leave(participant, reason, now)
        if not session.participants.filter(left_at__isnull=True).exists() and session.status != SessionStatus.ENDED:
            session.mark_ended(END_REASON_EMPTY)
            signals.meeting_ended.send(CallSession, session=session, data=session_payload(session))
    return True


mark_left = off_the_loop(record_left)


def _record_leave(participant: Participant, reason: str, now: datetime) -> None:
    """Record one participant's leave (inside its caller's transaction, its session locked)."""
    participant.account_media(now)
    participant.left_at = now
    participant.leave_reason = reason
    participant.save()
    signals.meeting_participant_left.send(CallSession, session=participant.session, data=participant_log(participant))


@off_the_loop
def set_hand(participant_id: str, raised: bool) -> int:
    """Raise or lower a hand; return its raise time in ms (0 when lowered). Hands are ordered by it."""
    raised_at = timezone.now() if raised else None
    participant = Participant.objects.get(participant_id=participant_id)
    if raised and participant.hand_raised_at is not None:
        raised_at = participant.hand_raised_at  # raising again keeps one's place in the queue
    Participant.objects.filter(pk=participant.pk).update(hand_raised_at=raised_at)
    return int(raised_at.timestamp() * 1000) if raised_at else 0


@off_the_loop
def set_presenting(participant_id: str, presenting: bool) -> None:
    Participant.objects.filter(participant_id=participant_id).update(is_presenting=presenting)


@dataclass(frozen=True, slots=True)
class MediaChange:
    """A participant's own change of media: its state now, and what a moderator's hold kept off."""

    state: MediaState
    refusal: CallsError | None


async def change_own_media(
    session_id: str, participant_id: str, current: MediaState, audio_muted: bool, video_paused: bool, sender: str = ""
) -> MediaChange:
    """
    The participant's own microphone and camera. What a moderator holds stays off: the rest of the
    change applies, and the refusal says what is held (the participant raises its hand to ask).
    """
    state: MediaState = {
        **current,
        "audio_muted": audio_muted or current["audio_held"],
        "video_paused": video_paused or current["video_held"],
    }
    if (state["audio_muted"], state["video_paused"]) != (current["audio_muted"], current["video_paused"]):
        await change_media(session_id, participant_id, state, sender)
    held = "audio" if state["audio_muted"] != audio_muted else "video" if state["video_paused"] != video_paused else ""
    refusal = None
    if held:
        refusal = CallsError(
            errors.AUTH_ERR_NO_ACCESS,
            "A moderator turned this off: raise your hand to ask to turn it back on.",
            {"reason": errors.REFUSAL_HELD, "kind": held},
        )
    return MediaChange(state, refusal)


async def change_media(session_id: str, participant_id: str, state: MediaState, sender: str = "") -> None:
    """A participant's microphone or camera went on or off: the SFU, the database and everyone follow."""
    await apply_media_state(session_id, participant_id, state["audio_muted"], state["video_paused"])
    await update_media(participant_id, state["audio_muted"], state["video_paused"])
    await broadcast.media_changed(session_id, participant_id, state, sender)


async def raise_hand(session_id: str, participant_id: str, raised: bool) -> None:
    raised_at_ms = await set_hand(participant_id, raised)
    await broadcast.hand_changed(session_id, participant_id, raised_at_ms)


async def share_screen(session_id: str, participant_id: str, enabled: bool) -> None:
    """Start or stop presenting: the SFU receives (and forwards) the screen, and everyone hears of it."""
    try:
        await get_sfu().set_screen_share(session_id, participant_id, enabled)
    except UnknownParticipant:
        raise CallsError(errors.ERR_CALL_NOT_A_PART, "Your media connection is gone.") from None
    await set_presenting(participant_id, enabled)
    await broadcast.screen_share_changed(session_id, participant_id, enabled)
