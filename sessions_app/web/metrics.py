"""
``/metrics``: what this process holds, in Prometheus' text format, for operators and the soak test.

Off unless ``CALLS_METRICS_TOKEN`` is set (the endpoint is then a 404 like any
unknown path); a scraper sends the token as ``Authorization: Bearer <token>``.
Everything is read when scraped, by counting what the SFU and the signaling
layer already hold: nothing is added to the media path.
"""

from __future__ import annotations

import asyncio
import hmac
import threading

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from ..services import media
from ..sfu import peer_connections
from ..signaling.live import get_live_participants

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def authorized(request: HttpRequest, token: str) -> bool:
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


def gauges() -> list[tuple[str, str, float]]:
    """(name, help, value) of every gauge; must run on the event loop that serves the calls."""
    sfu = media.current_sfu()
    # Each participant in a room holds one peer connection.
    hosted = sfu.stats() if sfu is not None else {"rooms": 0, "participants": 0}
    created = peer_connections()
    live = get_live_participants()
    return [
        ("calls_rooms", "Rooms (sessions with media) the SFU of this process hosts.", hosted["rooms"]),
        ("calls_participants", "Participants in those rooms.", hosted["participants"]),
        ("calls_peer_connections_held", "Peer connections the SFU's rooms hold.", hosted["participants"]),
        (
            "calls_peer_connections_open",
            "Peer connections the SFU made that are not closed yet (more than held means a leak).",
            sum(1 for pc in created if pc.connectionState != "closed"),
        ),
        (
            "calls_peer_connections_alive",
            "Peer connections the SFU made that are not garbage-collected yet, closed ones included.",
            len(created),
        ),
        ("calls_live_participants", "Participants signaling knows, those waiting to resume included.", len(live)),
        ("calls_live_participants_away", "Participants whose socket dropped, within their grace.", live.away()),
        ("calls_asyncio_tasks", "Tasks of the event loop that serves calls.", len(asyncio.all_tasks())),
        ("calls_threads", "Threads of this process.", threading.active_count()),
    ]


def exposition(values: list[tuple[str, str, float]]) -> str:
    lines = []
    for name, help_text, value in values:
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge", f"{name} {value}"]
    return "\n".join(lines) + "\n"


@require_GET
async def metrics_view(request: HttpRequest) -> HttpResponse:
    token = getattr(settings, "CALLS_METRICS_TOKEN", "")
    if not token or not authorized(request, token):
        raise Http404
    return HttpResponse(exposition(gauges()), content_type=CONTENT_TYPE)
