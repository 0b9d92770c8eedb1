"""Call logs: the persisted history of sessions, as CometChat's GET /calls presents it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.db.models import Q, QuerySet
from django.http import HttpRequest, JsonResponse

from . import protocol
from .api_support import ApiError, api_view, app_session, paginate, require_api_key
from .models import CallSession, Participant, SessionStatus, SessionType

MINUTE_SECONDS = 60.0
TRUE_VALUES = {"true", "1", "yes"}
FALSE_VALUES = {"false", "0", "no"}


def participant_log(participant: Participant) -> dict[str, Any]:
    return {
        "participantId": participant.participant_id,
        "uid": participant.uid,
        "name": participant.display_name,
        "isGuest": participant.is_guest,
        "joinedAt": int(participant.joined_at.timestamp()),
        "leftAt": int(participant.left_at.timestamp()) if participant.left_at else None,
        "leaveReason": participant.leave_reason,
        "totalDurationSeconds": round(participant.duration_seconds, 3),
        "audioMinutes": round(participant.audio_seconds / MINUTE_SECONDS, 3),
        "videoMinutes": round(participant.video_seconds / MINUTE_SECONDS, 3),
    }


def call_log(session: CallSession, with_participants: bool) -> dict[str, Any]:
    participants = list(session.participants.all())
    log: dict[str, Any] = {
        "sessionId": session.session_id,
        "title": session.title,
        "type": session.session_type,
        "status": session.status,
        "endReason": session.end_reason,
        "initiator": participants[0].uid if participants else None,
        "startedAt": int(session.started_at.timestamp()) if session.started_at else None,
        "endedAt": int(session.ended_at.timestamp()) if session.ended_at else None,
        "totalDurationSeconds": round(session.total_duration_seconds, 3),
        "totalParticipants": len({p.uid or p.participant_id for p in participants}),
        "totalJoins": len(participants),
        "peakParticipants": session.peak_participants,
        "totalAudioMinutes": round(sum(p.audio_seconds for p in participants) / MINUTE_SECONDS, 3),
        "totalVideoMinutes": round(sum(p.video_seconds for p in participants) / MINUTE_SECONDS, 3),
        "hasRecording": False,
        "recordings": [],
    }
    if with_participants:
        log["participants"] = [participant_log(p) for p in participants]
    return log


def _timestamp(request: HttpRequest, name: str) -> datetime | None:
    value = request.GET.get(name)
    if value is None:
        return None
    try:
        return datetime.fromtimestamp(int(value), tz=UTC)
    except (ValueError, OverflowError, OSError):
        raise ApiError(
            protocol.ERR_BAD_REQUEST, f"'{name}' must be a Unix timestamp.", details={"field": name}
        ) from None


def filtered_calls(request: HttpRequest, sessions: QuerySet[CallSession]) -> QuerySet[CallSession]:
    """Filters: type, status, uid, startedAfter/startedBefore (Unix seconds), hasRecording."""
    call_type = request.GET.get("type")
    if call_type:
        call_type = SessionType.VOICE if call_type.upper() in {"AUDIO", "VOICE"} else call_type.upper()
        if call_type not in SessionType.values:
            raise ApiError(protocol.ERR_BAD_REQUEST, "'type' is VIDEO or VOICE.", details={"field": "type"})
        sessions = sessions.filter(session_type=call_type)
    status = request.GET.get("status")
    if status:
        if status not in SessionStatus.values:
            raise ApiError(protocol.ERR_BAD_REQUEST, "Unknown status.", details={"field": "status"})
        sessions = sessions.filter(status=status)
    uid = request.GET.get("uid")
    if uid:
        sessions = sessions.filter(participants__uid=uid).distinct()
    after, before = _timestamp(request, "startedAfter"), _timestamp(request, "startedBefore")
    if after:
        sessions = sessions.filter(started_at__gte=after)
    if before:
        sessions = sessions.filter(started_at__lt=before)
    has_recording = request.GET.get("hasRecording")
    if has_recording is not None:
        if has_recording.lower() in TRUE_VALUES:
            sessions = sessions.none()  # recordings are not produced by this server
        elif has_recording.lower() not in FALSE_VALUES:
            raise ApiError(
                protocol.ERR_BAD_REQUEST, "'hasRecording' is true or false.", details={"field": "hasRecording"}
            )
    return sessions


def list_calls(request: HttpRequest) -> JsonResponse:
    app = require_api_key(request)
    sessions = filtered_calls(request, CallSession.objects.filter(app=app).exclude(Q(started_at__isnull=True)))
    sessions = sessions.prefetch_related("participants").order_by("-started_at", "-pk")
    return paginate(request, sessions, lambda session: call_log(session, with_participants=False))


def get_call(request: HttpRequest, session_id: str) -> JsonResponse:
    session = app_session(require_api_key(request), session_id)
    return JsonResponse({"data": call_log(session, with_participants=True)})


calls_view = api_view({"GET": list_calls})
call_view = api_view({"GET": get_call})
