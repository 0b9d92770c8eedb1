"""REST API v1: users, auth tokens, call tokens and sessions (see ``openapi.py`` for the contract)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest, JsonResponse
from django.utils import timezone

from .. import errors, hosting
from ..links import share_url
from ..models import DEFAULT_MAX_PARTICIPANTS, App, AppUser, AuthToken, CallSession, Role, SessionStatus, SessionType
from ..names import clean_display_name
from ..services.moderation import end_call
from ..services.session_settings import clean_locks, clean_settings
from ..tokens import call_tokens
from .openapi import openapi_schema
from .support import (
    ApiError,
    api_view,
    app_session,
    field,
    json_body,
    paginate,
    rate_limit,
    request_app,
    require_api_key,
    require_auth_token,
    require_user,
    validate_uid,
)

MAX_MODERATORS = 100
# Beyond this a call needs a webinar's design (one to many), not more of a meeting's.
MAX_PARTICIPANTS_LIMIT = 1000


def session_as_api(session: CallSession, request: HttpRequest) -> dict[str, Any]:
    return {
        "sessionId": session.session_id,
        "title": session.title,
        "type": session.session_type,
        "status": session.status,
        "allowGuests": session.allow_guests,
        "settings": session.settings,
        "lockedSettings": session.locked_settings,
        "maxParticipants": session.max_participants,
        "moderators": session.moderator_uids,
        "shareUrl": share_url(session.session_id, request),
        "createdAt": int(session.created_at.timestamp()),
        "startedAt": int(session.started_at.timestamp()) if session.started_at else None,
        "endedAt": int(session.ended_at.timestamp()) if session.ended_at else None,
    }


def app_user(app: App, uid: Any) -> AppUser:
    try:
        return AppUser.objects.get(app=app, uid=validate_uid(uid))
    except AppUser.DoesNotExist:
        raise ApiError(errors.ERR_UID_NOT_FOUND, "No user has this uid.", 404, {"uid": uid}) from None


def openapi(request: HttpRequest) -> JsonResponse:
    return JsonResponse(openapi_schema())


# Users and their auth tokens (server side: apikey).


def list_users(request: HttpRequest) -> JsonResponse:
    app = require_api_key(request)
    return paginate(request, AppUser.objects.filter(app=app), AppUser.as_api)


def create_user(request: HttpRequest) -> JsonResponse:
    app = require_api_key(request)
    data = json_body(request)
    uid = validate_uid(data.get("uid"))
    name = clean_display_name(field(data, "name", str, max_length=100))
    if not name:
        raise ApiError(errors.ERR_BAD_REQUEST, "'name' must not be blank.", details={"field": "name"})
    avatar = field(data, "avatar", str, required=False, default="", max_length=500)
    if avatar and not avatar.startswith(("https://", "http://")):
        raise ApiError(errors.ERR_BAD_REQUEST, "'avatar' must be an http(s) URL.", details={"field": "avatar"})
    try:
        with transaction.atomic():
            user = AppUser.objects.create(app=app, uid=uid, name=name, avatar=avatar)
    except IntegrityError:
        raise ApiError(errors.ERR_UID_ALREADY_EXISTS, "A user with this uid exists.", 409, {"uid": uid}) from None
    return JsonResponse({"data": user.as_api()}, status=201)


def get_user(request: HttpRequest, uid: str) -> JsonResponse:
    return JsonResponse({"data": app_user(require_api_key(request), uid).as_api()})


def list_auth_tokens(request: HttpRequest, uid: str) -> JsonResponse:
    user = app_user(require_api_key(request), uid)
    return paginate(request, user.auth_tokens.all(), AuthToken.as_api)


def create_auth_token(request: HttpRequest, uid: str) -> JsonResponse:
    app = require_api_key(request)
    rate_limit(request, "auth-token", "CALLS_TOKEN_RATE", "60/m")
    token, secret = AuthToken.issue(app_user(app, uid))
    return JsonResponse({"data": {**token.as_api(), "uid": uid, "authToken": secret}}, status=201)


def revoke_auth_token(request: HttpRequest, uid: str, token_id: int) -> JsonResponse:
    user = app_user(require_api_key(request), uid)
    token = AuthToken.objects.filter(pk=token_id, user=user).first()
    if token is None:
        raise ApiError(errors.ERR_NOT_FOUND, "This user has no auth token with this id.", 404)
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return JsonResponse({"data": token.as_api()})


# The SDK's own calls: development login, the logged-in user, call tokens.


def login(request: HttpRequest) -> JsonResponse:
    """Development login with the app's auth key: returns a fresh auth token for ``uid``."""
    rate_limit(request, "login", "CALLS_LOGIN_RATE", "20/m")
    if not settings.CALLS_DEV_LOGIN:
        raise ApiError(
            errors.AUTH_ERR_NO_ACCESS,
            "The development login is turned off; log in with an auth token from your server.",
            403,
        )
    app = request_app(request)
    data = json_body(request)
    uid = validate_uid(data.get("uid"))
    auth_key = data.get("authKey")
    if not isinstance(auth_key, str) or not auth_key.strip() or not app.check_auth_key(auth_key.strip()):
        raise ApiError(errors.ERROR_API_KEY_NOT_FOUND, "The auth key is not valid for this app.", 401)
    user = app_user(app, uid)
    _, secret = AuthToken.issue(user)
    return JsonResponse({"data": {**user.as_api(), "authToken": secret}})


def logout(request: HttpRequest) -> JsonResponse:
    """Revoke the auth token the request carries: the SDK's logout ends the login for good."""
    _, token = require_auth_token(request)
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    return JsonResponse({"data": token.as_api()})


def me(request: HttpRequest) -> JsonResponse:
    _, user = require_user(request)
    return JsonResponse({"data": user.as_api()})


def issue_call_token(session: CallSession, user: AppUser | None, name: str, role: str) -> JsonResponse:
    """Issue a call token for ``session`` unless it has ended; answer 201 with it."""
    if session.is_ended:
        raise ApiError(errors.ERR_CALL_TERMINATED, "This call has ended.", 409)
    token, record = call_tokens.issue(session, user, name, role)
    expires_at = int(record.expires_at.timestamp())
    return JsonResponse(
        {
            "data": {
                "token": token,
                "sessionId": session.session_id,
                "uid": record.uid,
                "role": record.role,
                "expiresAt": expires_at,
            }
        },
        status=201,
    )


def requested_role(data: dict[str, Any]) -> str | None:
    role = field(data, "role", str, required=False)
    if role is not None and role not in Role.values:
        raise ApiError(errors.ERR_BAD_REQUEST, "'role' is moderator or participant.", details={"field": "role"})
    return role


def create_call_token(request: HttpRequest) -> JsonResponse:
    """
    A call token for one session: for the logged-in user (authtoken), or for any user of the app
    when a server asks with its apikey and a uid. The app's server decides the role (``role``, by
    default moderator for the session's ``moderators``); a user asking for itself gets what the
    session says of it and cannot ask for more.
    """
    rate_limit(request, "call-token", "CALLS_TOKEN_RATE", "60/m")
    data = json_body(request)
    if request.headers.get("apikey"):
        app = require_api_key(request)
        user = app_user(app, data.get("uid"))
        trusted = True
    else:
        app, user = require_user(request)
        trusted = False
    session = app_session(app, data.get("sessionId"), with_api_key=trusted)
    if session.app_id is None and not session.allow_guests:
        raise ApiError(errors.AUTH_ERR_NO_ACCESS, "This session is not open to this app.", 403)
    named = Role.MODERATOR if user.uid in session.moderator_uids else Role.PARTICIPANT
    role = requested_role(data)
    if role is None:
        role = named
    elif not trusted and role == Role.MODERATOR and named != Role.MODERATOR:
        raise ApiError(
            errors.AUTH_ERR_NO_ACCESS, "Only the app's server can make a user a moderator.", 403, {"field": "role"}
        )
    return issue_call_token(session, user, user.name, role)


def create_guest_token(request: HttpRequest, session_id: str) -> JsonResponse:
    """A share-link visitor's call token, under the name they typed, for this session only."""
    rate_limit(request, "guest-token", "CALLS_TOKEN_RATE", "60/m")
    session = app_session(None, session_id)
    data = json_body(request)
    grant = field(data, "hostGrant", str, required=False, default="", max_length=300)
    is_host = bool(grant) and session.app_id is None and hosting.is_host_grant(grant, session.session_id)
    if grant and not is_host:
        raise ApiError(errors.AUTH_ERR_NO_ACCESS, "The host grant is not valid for this call.", 403)
    if not session.allow_guests and not is_host:
        raise ApiError(errors.ERR_GUESTS_NOT_ALLOWED, "This call asks you to log in.", 403)
    name = clean_display_name(field(data, "displayName", str, required=False, default="Guest")) or "Guest"
    # Guests are never moderators; the call's host (the share page's grant) always is.
    return issue_call_token(session, None, name, Role.MODERATOR if is_host else Role.PARTICIPANT)


# Sessions (server side: apikey).


def list_sessions(request: HttpRequest) -> JsonResponse:
    app = require_api_key(request)
    sessions = CallSession.objects.filter(app=app)
    status = request.GET.get("status")
    if status:
        if status not in SessionStatus.values:
            raise ApiError(errors.ERR_BAD_REQUEST, "Unknown status.", details={"allowed": SessionStatus.values})
        sessions = sessions.filter(status=status)
    return paginate(request, sessions, lambda s: session_as_api(s, request))


def create_session(request: HttpRequest) -> JsonResponse:
    app = require_api_key(request)
    data = json_body(request)
    session_type = field(data, "type", str, required=False, default=SessionType.VIDEO).upper()
    session_type = SessionType.VOICE if session_type == "AUDIO" else session_type
    if session_type not in SessionType.values:
        raise ApiError(errors.ERR_BAD_REQUEST, "'type' is VIDEO or VOICE.", details={"field": "type"})
    # A bad option is the service's CallsError: a 400 with its code (api_view).
    session_defaults = clean_settings(data.get("settings"))
    locked = clean_locks(data.get("lockedSettings"))
    moderators = field(data, "moderators", list, required=False, default=[])
    if len(moderators) > MAX_MODERATORS or not all(isinstance(uid, str) for uid in moderators):
        raise ApiError(
            errors.ERR_BAD_REQUEST,
            f"'moderators' lists at most {MAX_MODERATORS} uids.",
            details={"field": "moderators"},
        )
    max_participants = field(data, "maxParticipants", int, required=False, default=DEFAULT_MAX_PARTICIPANTS)
    if not 1 <= max_participants <= MAX_PARTICIPANTS_LIMIT:
        raise ApiError(
            errors.ERR_BAD_REQUEST,
            f"'maxParticipants' is 1 to {MAX_PARTICIPANTS_LIMIT}.",
            details={"field": "maxParticipants"},
        )
    session = CallSession.objects.create(
        app=app,
        moderator_uids=sorted({validate_uid(uid) for uid in moderators}),
        max_participants=max_participants,
        settings=session_defaults,
        locked_settings=locked,
        title=field(data, "title", str, required=False, default="", max_length=200).strip(),
        session_type=session_type,
        allow_guests=field(data, "allowGuests", bool, required=False, default=False),
    )
    return JsonResponse({"data": session_as_api(session, request)}, status=201)


def get_session(request: HttpRequest, session_id: str) -> JsonResponse:
    session = app_session(require_api_key(request), session_id)
    return JsonResponse({"data": session_as_api(session, request)})


def end_session(request: HttpRequest, session_id: str) -> JsonResponse:
    """End the call for everyone: tokens are revoked and connected participants are told and dropped."""
    session = app_session(require_api_key(request), session_id)
    if session.is_ended:
        raise ApiError(errors.ERR_CALL_TERMINATED, "This call has already ended.", 409)
    end_call(session)
    return JsonResponse({"data": session_as_api(session, request)})


def not_found(request: HttpRequest, path: str) -> JsonResponse:
    raise ApiError(errors.ERR_NOT_FOUND, "No API endpoint has this path.", 404)


openapi_view = api_view({"GET": openapi})
users_view = api_view({"GET": list_users, "POST": create_user})
user_view = api_view({"GET": get_user})
auth_tokens_view = api_view({"GET": list_auth_tokens, "POST": create_auth_token})
auth_token_view = api_view({"DELETE": revoke_auth_token})
login_view = api_view({"POST": login})
me_view = api_view({"GET": me})
logout_view = api_view({"POST": logout})
call_tokens_view = api_view({"POST": create_call_token})
guest_token_view = api_view({"POST": create_guest_token})
sessions_view = api_view({"GET": list_sessions, "POST": create_session})
session_view = api_view({"GET": get_session})
end_session_view = api_view({"POST": end_session})
# Any other path under /api/v1/ (a tokenId that is not a number, a uid with a slash): a JSON 404, not a page.
not_found_view = api_view({method: not_found for method in ("GET", "POST", "PUT", "PATCH", "DELETE")})
