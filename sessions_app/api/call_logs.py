"""Call logs: the persisted history of sessions, as CometChat's GET /calls presents it."""

from __future__ import annotations

from datetime import UTC, datetime

from django.db.models import Q, QuerySet
from django.http import HttpRequest, JsonResponse

from .. import errors
from ..logs import call_log
from ..models import CallSession, SessionStatus, SessionType
from .support import ApiError, api_view, app_session, paginate, require_api_key

TRUE_VALUES = {"true", "1", "yes"}
FALSE_VALUES = {"false", "0", "no"}


def _timestamp(request: HttpRequest, name: str) -> datetime | None:
    value = request.GET.get(name)
    if value is None:
        return None
    try:
        return datetime.fromtimestamp(int(value), tz=UTC)
    except (ValueError, OverflowError, OSError):
        raise ApiError(errors.ERR_BAD_REQUEST, f"'{name}' must be a Unix timestamp.", details={"field": name}) from None


def filtered_calls(request: HttpRequest, sessions: QuerySet[CallSession]) -> QuerySet[CallSession]:
    """Filters: type, status, uid, startedAfter/startedBefore (Unix seconds), hasRecording."""
    call_type = request.GET.get("type")
    if call_type:
        call_type = SessionType.VOICE if call_type.upper() in {"AUDIO", "VOICE"} else call_type.upper()
        if call_type not in SessionType.values:
            raise ApiError(errors.ERR_BAD_REQUEST, "'type' is VIDEO or VOICE.", details={"field": "type"})
        sessions = sessions.filter(session_type=call_type)
    status = request.GET.get("status")
    if status:
        if status not in SessionStatus.values:
            raise ApiError(errors.ERR_BAD_REQUEST, "Unknown status.", details={"field": "status"})
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
                errors.ERR_BAD_REQUEST, "'hasRecording' is true or false.", details={"field": "hasRecording"}
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
