"""
Admission: who may join a call, with what settings and media, the join itself, and coming back.

A ``join`` is checked and carried out here, in one pass the signaling consumer makes
once: the call token (``tokens.py``), the session's guest policy, a media server for the
call, the participant's effective settings (its asks under the session's locks), a
moderator's holds and removals (``restrictions.py``), the call's size; then the join is
recorded (``presence.admit``), whoever it replaces is put out, everyone else hears of it,
and the SFU starts the participant's media (and, with ``autoStartRecording``, the first one's
join starts recording the call). The consumer renders the result (``joined``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .. import errors
from ..errors import CallsError
from ..models import CallSession, Participant, SessionType
from ..sfu import MediaUnavailable, SendSignal
from ..tokens import CallIdentity, CallTokenError
from . import broadcast, departures, presence, recording, session_settings
from .media import apply_media_state, get_sfu


@dataclass(frozen=True, slots=True)
class JoinRequest:
    """What a participant asks for when it joins (the ``join`` message's fields)."""

    token: str
    display_name: str
    audio_muted: bool
    video_paused: bool
    settings: dict[str, Any]
    client_ip: str | None = None


@dataclass(frozen=True, slots=True)
class Admitted:
    """A join carried out: the participant, who else is present, and what it may do."""

    participant: Participant
    others: list[Participant]
    identity: CallIdentity
    settings: dict[str, Any]  # the effective ones
    locked: list[str]  # the options the session locks
    forbidden: frozenset[str]  # client messages its locked settings forbid (session_settings)
    recording: bool = False  # whether the call is being recorded (its indicator shows from the start)


async def join(
    session: CallSession,
    request: JoinRequest,
    signal: SendSignal,
    *,
    sender: str = "",
    is_live: Callable[[str, datetime], bool] | None = None,
) -> Admitted:
    """
    Admit ``request`` into ``session`` or raise CallsError with the reason's code. ``signal`` is
    how the SFU reaches the participant (its offers); ``sender`` the channel name of its socket;
    ``is_live`` (a single-process server knows every live participant) tells ghosts of a
    stopped server from the present. A join that fails once recorded is recorded as left
    (``disconnected``) before the error goes on: nobody would ever let it go otherwise.
    """
    session_id = session.session_id
    try:
        identity = await presence.verify_call_token(request.token, session_id)
    except CallTokenError as exc:
        raise CallsError(errors.ERROR_CALL_TOKEN, str(exc)) from None
    if identity.is_guest and not session.allow_guests:
        # A guest token minted before the session was made members-only no longer admits anyone.
        raise CallsError(errors.ERR_GUESTS_NOT_ALLOWED, "This call asks you to log in.")
    media = get_sfu()
    try:
        await media.reserve(session_id)
    except MediaUnavailable:
        raise CallsError(
            errors.ERR_MEDIA_SERVER_UNAVAILABLE, "No media server is available for this call; try again shortly."
        ) from None
    locked = session.locked_settings
    effective = session_settings.effective_settings(
        {}, session_settings.session_defaults(session), locked, session_settings.clean_settings(request.settings)
    )
    forbidden = frozenset(session_settings.forbidden_messages(effective, locked))
    # A host's locked "start muted" holds whatever the client asks.
    audio_muted = request.audio_muted or ("startAudioMuted" in locked and effective["startAudioMuted"])
    video_paused = request.video_paused or ("startVideoPaused" in locked and effective["startVideoPaused"])
    # Signed-in users are who their token says; guests and hosts chose their name, and apps may allow it.
    display_name = (request.display_name if identity.may_rename else "") or identity.name
    try:
        admission = await presence.admit(
            session, identity, display_name, audio_muted, video_paused, media.process_id, request.client_ip, is_live
        )
    except presence.RemovedFromCall:
        raise CallsError(
            errors.AUTH_ERR_NO_ACCESS, "A moderator removed you from this call.", {"reason": errors.REFUSAL_REMOVED}
        ) from None
    except presence.CallFull as exc:
        raise CallsError(
            errors.ERR_CALL_FULL,
            f"This call is full ({exc.max_participants} people).",
            {"maxParticipants": exc.max_participants},
        ) from None
    participant = admission.participant
    pid = participant.participant_id
    try:
        for replaced in admission.replaced:
            await departures.evict(session_id, replaced, errors.LEAVE_REASON_REPLACED, recorded=True)
            # Its socket frees its media too, if it still has one: a process that died (its browser is
            # the one joining again) leaves nobody else to.
            await media.leave(session_id, replaced)
        await broadcast.participant_joined(session_id, participant.as_wire(), sender)
        sources = ("audio",) if session.session_type == SessionType.VOICE else ("audio", "video")
        await media.join(session_id, pid, signal, sources)
        await apply_media_state(session_id, pid, participant.audio_muted, participant.video_paused)
    except Exception:
        await departures.leave_call(session_id, pid, errors.LEAVE_REASON_DISCONNECTED)
        raise
    if effective["autoStartRecording"] and not admission.others:
        # The first participant in: the call records itself from now on.
        await recording.auto_start(session_id)
    is_recording = await recording.is_recording(session_id)
    return Admitted(participant, admission.others, identity, effective, locked, forbidden, is_recording)


async def resume(session_id: str, participant_id: str) -> tuple[Participant, list[Participant], bool]:
    """
    A participant back on a new socket: itself and the others as they stand now, whether the call
    is being recorded (it may have started or stopped meanwhile), its media as the record says (a
    moderator may have acted meanwhile, from another process). Raise CallsError(ERR_CALL_NOT_A_PART)
    when it was removed, or replaced by a newer join, while its socket was away, after freeing what
    is left of it: it must join again.
    """
    me, others = await presence.present(participant_id)
    if not me.is_present:
        await departures.leave_call(session_id, participant_id, me.leave_reason)
        raise CallsError(
            errors.ERR_CALL_NOT_A_PART, "The call no longer has this participant: join again.", {"resume": False}
        )
    await apply_media_state(session_id, participant_id, me.audio_muted, me.video_paused)
    return me, others, await recording.is_recording(session_id)
