"""
Daphne processes' liveness (``CALLS_SFU=workers``): each heartbeats, and the participants of a dead
one are found by the live ones, which close them for everyone (their browsers join again elsewhere).
"""

from __future__ import annotations

from dataclasses import dataclass

from channels.db import database_sync_to_async
from django.utils import timezone

from ..models import Participant, SignalingProcess
from .placement import alive_since


@dataclass(frozen=True)
class Orphan:
    """A participant whose signaling process died, and the worker that still holds its media."""

    session_id: str
    participant_id: str
    worker_channel: str


@database_sync_to_async
def heartbeat(process_id: str) -> None:
    if not SignalingProcess.objects.filter(process_id=process_id).update(last_seen=timezone.now()):
        SignalingProcess.objects.create(process_id=process_id)


@database_sync_to_async
def orphans() -> list[Orphan]:
    """Participants still open whose process is dead; a dead process with none left is forgotten."""
    dead = list(SignalingProcess.objects.filter(last_seen__lt=alive_since()).values_list("process_id", flat=True))
    if not dead:
        return []
    rows = list(
        Participant.objects.filter(left_at__isnull=True, served_by__in=dead).values_list(
            "session__session_id", "participant_id", "session__media_worker__channel_name"
        )
    )
    if not rows:
        SignalingProcess.objects.filter(process_id__in=dead).delete()
    return [Orphan(session_id, participant_id, channel or "") for session_id, participant_id, channel in rows]
