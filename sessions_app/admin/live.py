"""
The admin's live calls page: sessions in progress, their participants, and actions on the real call.

The page polls its own partial with htmx (every LIVE_REFRESH_SECONDS); every
action is a POST that acts through the channel layer on the participants'
connections (so it works whichever process holds them) and answers with the
refreshed partial.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from .. import errors, restrictions
from ..cluster.placement import live_workers
from ..errors import CallsError
from ..links import share_url
from ..models import CallSession, MediaWorker, Participant, Restriction, RestrictionKind, SessionStatus
from ..services.media import get_sfu
from ..services.moderation import end_call, moderate_as_operator
from ..tokens import call_tokens

LIVE_REFRESH_SECONDS = 2
PARTICIPANT_ACTIONS = {
    "mute": (errors.MODERATION_MUTE, "{name} was muted."),
    "pause_video": (errors.MODERATION_PAUSE_VIDEO, "{name}'s camera was turned off."),
    "remove": (errors.MODERATION_REMOVE, "{name} was removed from the call."),
    "allow_audio": (errors.MODERATION_ALLOW_AUDIO, "{name} may unmute again."),
    "allow_video": (errors.MODERATION_ALLOW_VIDEO, "{name} may turn their camera on again."),
}


def _require_change_permission(request: HttpRequest) -> None:
    if not request.user.has_perm("sessions_app.change_callsession"):
        raise PermissionDenied


def live_sessions() -> list[CallSession]:
    present = Participant.objects.filter(left_at__isnull=True).order_by("joined_at")
    return list(
        CallSession.objects.filter(status=SessionStatus.ONGOING)
        .select_related("app", "media_worker")
        .prefetch_related(Prefetch("participants", queryset=present, to_attr="present"))
        .order_by("-started_at")
    )


def media_workers() -> list[MediaWorker]:
    """The SFU workers of the last hour (CALLS_SFU=workers), each marked alive or not."""
    live = set(live_workers().values_list("pk", flat=True))
    workers = list(MediaWorker.objects.filter(last_seen__gte=timezone.now() - timedelta(hours=1)))
    for worker in workers:
        worker.is_alive = worker.pk in live  # type: ignore[attr-defined]
    return workers


def _context(request: HttpRequest) -> dict[str, Any]:
    sfu = get_sfu()
    sessions = live_sessions()
    for session in sessions:
        session.share_link = share_url(session.session_id, request)  # type: ignore[attr-defined]
        removed = restrictions.active(session).filter(kind=RestrictionKind.REMOVED)
        session.removed = list(removed)  # type: ignore[attr-defined]
        for participant in session.present:  # type: ignore[attr-defined]
            participant.media_stats = sfu.participant_stats(session.session_id, participant.participant_id)
    return {
        **admin.site.each_context(request),
        "sessions": sessions,
        "workers": media_workers(),
        "refresh_seconds": LIVE_REFRESH_SECONDS,
        "title": "Live calls",
    }


def _partial(request: HttpRequest) -> HttpResponse:
    return render(request, "admin/sessions_app/live_sessions.html", _context(request))


@require_GET
def live_page(request: HttpRequest) -> HttpResponse:
    _require_change_permission(request)
    template = "admin/sessions_app/live_sessions.html" if request.htmx else "admin/sessions_app/live.html"
    return render(request, template, _context(request))


@require_POST
def participant_action(request: HttpRequest, participant_id: str, action: str) -> HttpResponse:
    """Mute, turn off the camera of, or remove one participant of a live call."""
    _require_change_permission(request)
    participant = get_object_or_404(Participant.objects.select_related("session"), participant_id=participant_id)
    if action not in PARTICIPANT_ACTIONS:
        raise PermissionDenied
    if participant.session.status != SessionStatus.ONGOING:
        messages.warning(request, "That call has already ended.")
    elif not participant.is_present:
        messages.warning(request, f"{participant.display_name} has already left the call.")
    else:
        wire_action, done = PARTICIPANT_ACTIONS[action]
        try:
            moderate_as_operator(participant.session.session_id, participant.participant_id, wire_action)
        except CallsError as exc:
            messages.warning(request, exc.message)
        else:
            messages.success(request, done.format(name=participant.display_name))
    return _partial(request)


@require_POST
def session_action(request: HttpRequest, session_id: str, action: str) -> HttpResponse:
    """End a live call for everyone, or revoke its call tokens."""
    _require_change_permission(request)
    session = get_object_or_404(CallSession, session_id=session_id)
    if action == "end":
        if session.is_ended:
            messages.warning(request, "That call has already ended.")
        else:
            end_call(session)
            messages.success(request, f"The call {session} was ended for everyone.")
    elif action == "revoke_tokens":
        revoked = call_tokens.revoke_for_session(session)
        messages.success(request, f"{revoked} call token(s) of {session} revoked.")
    else:
        raise PermissionDenied
    return _partial(request)


@require_POST
def readmit(request: HttpRequest, restriction_id: int) -> HttpResponse:
    """Let a participant a moderator removed join the call again."""
    _require_change_permission(request)
    restriction = get_object_or_404(Restriction, pk=restriction_id)
    restrictions.readmit(restriction)
    messages.success(request, f"{restriction.display_name or restriction.uid} may join the call again.")
    return _partial(request)


def end_sessions(request: HttpRequest, sessions: Any) -> None:
    """Admin list action: end the selected calls for everyone."""
    for session in sessions:
        if session.is_ended:
            messages.warning(request, f"{session} had already ended.")
        else:
            end_call(session)
            messages.success(request, f"{session} was ended for everyone.")


def revoke_session_tokens(request: HttpRequest, sessions: Any) -> None:
    total = sum(call_tokens.revoke_for_session(session) for session in sessions)
    messages.success(request, f"{total} call token(s) revoked.")


__all__ = ["end_sessions", "live_page", "participant_action", "readmit", "revoke_session_tokens", "session_action"]
