"""
Call logs: the persisted history of sessions, as CometChat's GET /calls presents it.

Two readers: the app's server (``apikey``) reads every call of the app; a user (``authtoken``, as the
SDK's ``CallLogRequest`` sends it) reads only the calls it took part in, with the same filters and pages.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.db.models import QuerySet
from django.http import HttpRequest, JsonResponse

from .. import errors
from ..logs import call_log
from ..models import App, AppUser, CallSession, Participant, Recording, SessionStatus, SessionType
from .support import ApiError, api_view, app_session, paginate, require_api_key, require_user

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


def _flag(request: HttpRequest, name: str) -> bool | None:
    """A true/false query parameter, or None when absent."""
    value = request.GET.get(name)
    if value is None:
        return None
    if value.lower() in TRUE_VALUES:
        return True
    if value.lower() in FALSE_VALUES:
        return False
    raise ApiError(errors.ERR_BAD_REQUEST, f"'{name}' is true or false.", details={"field": name})


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
        sessions = sessions.filter(pk__in=Participant.objects.filter(uid=uid).values("session_id"))
    after, before = _timestamp(request, "startedAfter"), _timestamp(request, "startedBefore")
    if after:
        sessions = sessions.filter(started_at__gte=after)
    if before:
        sessions = sessions.filter(started_at__lt=before)
    has_recording = _flag(request, "hasRecording")
    if has_recording is not None:
        composed = Recording.objects.exclude(composed_file="").values("session_id")
        sessions = sessions.filter(pk__in=composed) if has_recording else sessions.exclude(pk__in=composed)
    return sessions


def _reader(request: HttpRequest) -> tuple[App, AppUser | None]:
    """
    Who reads: the app's server (an ``apikey``: every call of the app) or one of its users (an
    ``authtoken`` and no ``apikey``: the calls that user took part in). A request with neither is
    refused as one without its API key (AUTH_ERR_EMPTY_APIKEY), as before users could read.
    """
    if not request.headers.get("apikey") and "authtoken" in request.headers:
        return require_user(request)
    return require_api_key(request), None


def _calls_of(app: App, user: AppUser | None) -> QuerySet[CallSession]:
    """The app's calls that have started; for a user, only those it joined as itself (not as a guest)."""
    sessions = CallSession.objects.filter(app=app, started_at__isnull=False)
    if user is not None:
        joins = Participant.objects.filter(uid=user.uid, is_guest=False)
        sessions = sessions.filter(pk__in=joins.values("session_id"))
    return sessions


def list_calls(request: HttpRequest) -> JsonResponse:
    app, user = _reader(request)
    with_participants = bool(_flag(request, "withParticipants"))
    sessions = filtered_calls(request, _calls_of(app, user))
    sessions = sessions.prefetch_related("participants", "recordings").order_by("-started_at", "-pk")
    return paginate(
        request, sessions, lambda session: call_log(session, with_participants=with_participants, request=request)
    )


def get_call(request: HttpRequest, session_id: str) -> JsonResponse:
    app, user = _reader(request)
    session = app_session(app, session_id)
    if user is not None and not _calls_of(app, user).filter(pk=session.pk).exists():
        raise ApiError(errors.AUTH_ERR_NO_ACCESS, "You took no part in this call.", 403)
    return JsonResponse({"data": call_log(session, with_participants=True, request=request)})


calls_view = api_view({"GET": list_calls})
call_view = api_view({"GET": get_call})
