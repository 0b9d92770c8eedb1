"""Pages: the home page (start or join a call) and the share-link join page."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from .. import errors, hosting, turn
from ..links import is_valid_session_id, session_id_from_input, share_url
from ..models import CallSession, Participant, SessionType
from ..request_rates import TooManyRequests, check_rate
from ..services.session_settings import session_defaults
from ..tokens import CallTokenError, call_tokens
from .participant_panel import panel_rows


@require_http_methods(["GET", "POST"])
def home(request: HttpRequest) -> HttpResponse:
    """Start a new call (POST) and show its share link, or join one by ID or link."""
    context: dict[str, object] = {}
    if request.method == "POST":
        try:
            check_rate(request, "create-call", "CALLS_CREATE_RATE", "10/m")
        except TooManyRequests as exc:
            context["create_error"] = "You started many calls in a short time; wait a minute and try again."
            context["create_error_code"] = exc.code
            return render(request, "sessions_app/home.html", context, status=429)
        session_type = request.POST.get("type", SessionType.VIDEO)
        if session_type not in SessionType.values:
            session_type = SessionType.VIDEO
        title = request.POST.get("title", "").strip()[:200]
        session = CallSession.objects.create(title=title, session_type=session_type)
        # Whoever creates a call hosts it: this browser's tokens for it make it a moderator.
        hosting.mark_host(request, session.session_id)
        context["created"] = session
        context["created_url"] = share_url(session.session_id, request)
        context["created_host_url"] = hosting.host_url(session.session_id, request)
    return render(request, "sessions_app/home.html", context)


@require_GET
def join(request: HttpRequest) -> HttpResponse:
    """Go to the call a pasted ID or share link names."""
    session_id = session_id_from_input(request.GET.get("session", ""))
    if session_id is None:
        return render(
            request,
            "sessions_app/home.html",
            {
                "join_error": "Enter a meeting ID or a share link.",
                "join_error_code": errors.ERROR_CALL_SESSION_ID,
                "join_value": request.GET.get("session", "")[:300],
            },
            status=400,
        )
    return redirect("session", session_id=session_id)


def _page_session(session_id: str) -> CallSession:
    if not is_valid_session_id(session_id):
        raise Http404("Unknown session")
    try:
        return CallSession.objects.select_related("app").get(session_id=session_id)
    except CallSession.DoesNotExist:
        raise Http404("Unknown session") from None


@require_GET
def host_link(request: HttpRequest, session_id: str, key: str) -> HttpResponse:
    """A call's host link: this browser hosts the call from now on; then on to the share page."""
    session = _page_session(session_id)
    if session.app_id is not None or not hosting.is_host_key(session_id, key):
        # An app's calls have moderators the app names; a wrong key is no link at all.
        raise Http404("Unknown host link")
    hosting.mark_host(request, session_id)
    return redirect("session", session_id=session_id)


@require_GET
def session_page(request: HttpRequest, session_id: str) -> HttpResponse:
    """The shareable join page: pre-join screen, then the call in #call_view_container."""
    session = _page_session(session_id)
    is_host = session.app_id is None and hosting.is_host(request, session_id)
    context = {
        "session": session,
        "share_url": share_url(session.session_id, request),
        "call_config": {
            "sessionId": session.session_id,
            "title": session.title,
            "sessionType": session.session_type,
            "ended": session.is_ended,
            "allowGuests": session.allow_guests,
            "appId": session.app.app_id if session.app else "",
            "region": session.app.region if session.app else "",
            "apiBase": reverse("api-openapi").removesuffix("/openapi.json"),
            # TURN credentials are per join, in `joined`: a page anyone with the link opens carries none.
            "iceServers": turn.public_ice_servers(),
            "shareUrl": share_url(session.session_id, request),
            # The session's own defaults: the pre-join screen starts from them, the link's query overrides.
            "settings": session_defaults(session),
            "lockedSettings": session.locked_settings,
            # The SDK sends the grant with its token request: the host joins as a moderator.
            "isHost": is_host,
            "hostGrant": hosting.host_grant(session_id) if is_host else "",
        },
    }
    return render(request, "sessions_app/session.html", context)


@require_GET
def participant_list(request: HttpRequest, session_id: str) -> HttpResponse:
    """
    The rows of the in-call participant list, rendered by the server (the SDK's panel asks
    for them with an ``X-Call-Token`` header, as htmx would): raised hands first, in the order
    they went up, then the viewer (``?self=<pid>``), then by join time. ``pinned``, ``voice``
    and ``menu`` say what the viewer's page shows. Only a holder of a valid call token for
    this session sees who is in it.
    """
    try:
        call_tokens.verify(request.headers.get("X-Call-Token", ""), session_id)
    except CallTokenError as exc:
        return render(
            request,
            "sessions_app/_participants.html",
            {"error": str(exc), "error_code": errors.ERROR_CALL_TOKEN},
            status=403,
        )
    present = Participant.objects.filter(session__session_id=session_id, left_at__isnull=True).order_by("joined_at")
    query = request.GET
    rows = panel_rows(present, self_pid=query.get("self", ""), pinned_pid=query.get("pinned", ""))
    context = {"rows": rows, "voice": query.get("voice") == "1", "menu": query.get("menu") == "1"}
    return render(request, "sessions_app/_participants.html", context)
