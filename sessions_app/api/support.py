"""
The REST API's plumbing: errors as ``{code, message, details}``, header auth, JSON bodies, pages.

Auth follows CometChat's headers: ``appid`` with ``apikey`` (servers) or
``authtoken`` (a logged-in user). Secrets are compared by their hashes and
never logged.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from django.core.paginator import EmptyPage, Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from .. import errors
from ..errors import CallsError
from ..links import is_valid_session_id
from ..models import App, AppUser, AuthToken, CallSession, hash_secret
from ..request_rates import TooManyRequests, check_rate

UID_RE = re.compile(r"^[A-Za-z0-9_-]{1,100}$")
DEFAULT_PAGE_SIZE = 30
MAX_PAGE_SIZE = 100
MAX_BODY_BYTES = 16 * 1024


class ApiError(CallsError):
    """A refusal with its documented code and the HTTP status it has here (a service's is a 400)."""

    def __init__(self, code: str, message: str, status: int = 400, details: dict[str, Any] | None = None) -> None:
        super().__init__(code, message, details)
        self.status = status


def error_response(refusal: CallsError) -> JsonResponse:
    """REST errors are ``{"error": {code, message, details}}`` with the refusal's status (400 by default)."""
    status = refusal.status if isinstance(refusal, ApiError) else 429 if isinstance(refusal, TooManyRequests) else 400
    body = {"error": {"code": refusal.code, "message": refusal.message, "details": refusal.details}}
    return JsonResponse(body, status=status)


View = Callable[..., HttpResponse]


def api_view(methods: dict[str, View]) -> View:
    """Dispatch by method; turn ApiError (and bad methods) into error bodies; no CSRF (header auth)."""

    @csrf_exempt
    def view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        handler = methods.get(request.method or "")
        try:
            if handler is None:
                raise ApiError(
                    errors.ERR_BAD_REQUEST,
                    f"{request.method} is not allowed here.",
                    405,
                    {"allowed": sorted(methods)},
                )
            if _has_nul([request.path, *request.GET.lists(), *kwargs.values()]):
                raise ApiError(errors.ERR_BAD_REQUEST, "NUL characters are not accepted.")
            return handler(request, *args, **kwargs)
        except CallsError as exc:
            return error_response(exc)

    return view


def _has_nul(value: Any) -> bool:
    """
    Whether a NUL character hides anywhere in ``value`` (strings in nested lists, tuples and dicts).
    PostgreSQL refuses NUL in text and JSON: it must be a 400 here, not a 500 there.
    """
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(key) or _has_nul(item) for key, item in value.items())
    if isinstance(value, list | tuple):
        return any(_has_nul(item) for item in value)
    return False


def json_body(request: HttpRequest) -> dict[str, Any]:
    if len(request.body) > MAX_BODY_BYTES:
        raise ApiError(errors.ERR_BAD_REQUEST, "The request body is too large.", 413)
    if not request.body:
        return {}
    try:
        data = json.loads(request.body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ApiError(errors.ERROR_JSON_EXCEPTION, "The request body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise ApiError(errors.ERROR_JSON_EXCEPTION, "The request body must be a JSON object.")
    if _has_nul(data):
        raise ApiError(errors.ERR_BAD_REQUEST, "NUL characters are not accepted.")
    return data


def field(
    data: dict[str, Any], name: str, kind: type, required: bool = True, default: Any = None, max_length: int = 200
) -> Any:
    """One validated body field; the error names it."""
    if name not in data or data[name] is None:
        if required:
            raise ApiError(errors.ERR_BAD_REQUEST, f"'{name}' is required.", details={"field": name})
        return default
    value = data[name]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ApiError(errors.ERR_BAD_REQUEST, f"'{name}' must be a {kind.__name__}.", details={"field": name})
    if isinstance(value, str) and len(value) > max_length:
        raise ApiError(
            errors.ERR_BAD_REQUEST, f"'{name}' must be at most {max_length} characters.", details={"field": name}
        )
    return value


def validate_uid(uid: Any) -> str:
    if isinstance(uid, str) and any(ch.isspace() for ch in uid.strip()):
        raise ApiError(errors.ERROR_UID_WITH_SPACE, "A uid cannot contain spaces.", details={"field": "uid"})
    if not isinstance(uid, str) or not UID_RE.match(uid.strip()):
        raise ApiError(
            errors.ERROR_INVALID_UID,
            "A uid is 1 to 100 letters, digits, underscores or hyphens.",
            details={"field": "uid"},
        )
    return uid.strip()


def request_app(request: HttpRequest) -> App:
    app_id = request.headers.get("appid", "").strip()
    if not app_id:
        raise ApiError(errors.ERR_APP_NOT_FOUND, "The appid header is missing.", 401)
    try:
        return App.objects.get(app_id=app_id)
    except App.DoesNotExist:
        raise ApiError(errors.ERR_APP_NOT_FOUND, "No app has this appid.", 401) from None


def require_api_key(request: HttpRequest) -> App:
    """The app whose REST API key the request carries (servers only)."""
    api_key = request.headers.get("apikey", "").strip()
    if not api_key:
        raise ApiError(errors.AUTH_ERR_EMPTY_APIKEY, "The apikey header is missing.", 401)
    app = request_app(request)
    if not app.check_api_key(api_key):
        raise ApiError(errors.AUTH_ERR_APIKEY_NOT_FOUND, "The apikey is not valid for this app.", 401)
    return app


def check_auth_token_format(token: Any) -> str:
    if not isinstance(token, str) or not token.strip():
        raise ApiError(errors.ERROR_BLANK_AUTHTOKEN, "The auth token is blank.", 401)
    if any(ch.isspace() for ch in token.strip()):
        raise ApiError(errors.ERROR_AUTHTOKEN_WITH_SPACE, "An auth token cannot contain spaces.", 400)
    return token.strip()


def require_auth_token(request: HttpRequest) -> tuple[App, AuthToken]:
    """The app and the (active) auth token the request carries."""
    app = request_app(request)
    secret = check_auth_token_format(request.headers.get("authtoken", ""))
    try:
        token = AuthToken.objects.select_related("user").get(
            token_hash=hash_secret(secret), revoked_at__isnull=True, user__app=app
        )
    except AuthToken.DoesNotExist:
        raise ApiError(errors.ERROR_AUTH_TOKEN, "The auth token is not valid.", 401) from None
    if token.expires_at is None or token.expires_at <= timezone.now():
        raise ApiError(errors.ERROR_AUTH_TOKEN, "The auth token has expired.", 401)
    return app, token


def require_user(request: HttpRequest) -> tuple[App, AppUser]:
    """The app and user whose auth token the request carries."""
    app, token = require_auth_token(request)
    return app, token.user


def rate_limit(request: HttpRequest, group: str, setting: str, default: str) -> None:
    """Refuse with 429 once this client exceeds the configured rate for ``group``."""
    check_rate(request, group, setting, default)


def paginate(request: HttpRequest, queryset: QuerySet[Any], serialize: Callable[[Any], dict[str, Any]]) -> JsonResponse:
    """CometChat-style pages: ``?page=`` and ``?perPage=`` (30 by default, 100 at most)."""
    try:
        per_page = int(request.GET.get("perPage", DEFAULT_PAGE_SIZE))
        page_number = int(request.GET.get("page", 1))
    except ValueError:
        raise ApiError(errors.ERR_BAD_REQUEST, "page and perPage must be whole numbers.") from None
    if not 1 <= per_page <= MAX_PAGE_SIZE or page_number < 1:
        raise ApiError(errors.ERR_BAD_REQUEST, f"perPage is 1 to {MAX_PAGE_SIZE}; page starts at 1.")
    paginator = Paginator(queryset, per_page)
    try:
        page = paginator.page(page_number)
        items = [serialize(item) for item in page.object_list]
    except EmptyPage:
        items = []
    return JsonResponse(
        {
            "data": items,
            "meta": {
                "pagination": {
                    "total": paginator.count,
                    "count": len(items),
                    "perPage": per_page,
                    "currentPage": page_number,
                    "totalPages": paginator.num_pages,
                }
            },
        }
    )


def app_session(app: App | None, session_id: Any, with_api_key: bool = True) -> CallSession:
    """
    The session ``session_id`` if ``app`` may use it. App-less sessions (the home page's) answer no
    app's API key; a signed-in user (``with_api_key=False``) may still join one that admits guests.
    """
    if not isinstance(session_id, str) or not session_id.strip():
        raise ApiError(errors.ERR_EMPTY_CALL_SESSION_ID, "sessionId is empty.", details={"field": "sessionId"})
    if not is_valid_session_id(session_id):
        raise ApiError(errors.ERR_CALL_SESSION_NOT_FOUND, "No call has this session ID.", 404)
    try:
        session = CallSession.objects.select_related("app").get(session_id=session_id)
    except CallSession.DoesNotExist:
        raise ApiError(errors.ERR_CALL_SESSION_NOT_FOUND, "No call has this session ID.", 404) from None
    if app is not None and session.app_id is not None and session.app_id != app.pk:
        raise ApiError(errors.AUTH_ERR_NO_ACCESS, "This session belongs to another app.", 403)
    if app is not None and session.app_id is None and with_api_key:
        # Calls made on the home page belong to no app: no app's server reads, logs, ends or mints for them.
        raise ApiError(errors.AUTH_ERR_NO_ACCESS, "This session belongs to no app.", 403)
    return session
