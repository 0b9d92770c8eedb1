"""
Which SFU worker hosts a session, as every process sees it: recorded on the session in the database.

A session keeps its worker while that worker is alive; when it has none, or its
worker is dead, the least loaded live worker takes it (LiveKit places a room on a
node the same way). Workers say how loaded they are in their heartbeat; a placement
counts itself on the chosen worker at once, so sessions starting together spread out.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from channels.db import database_sync_to_async
from django.conf import settings
from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from ..models import CallSession, MediaWorker
from ..sfu import MediaUnavailable

HEARTBEAT_INTERVAL_S = 1.0


class NoMediaWorker(MediaUnavailable):
    """No live SFU worker can host the session."""


@dataclass(frozen=True)
class Host:
    """A session's worker, as a Daphne process addresses it."""

    worker_pk: int
    channel_name: str


def alive_since() -> datetime:
    return timezone.now() - timedelta(seconds=settings.CALLS_HEARTBEAT_TIMEOUT_S)


def live_workers() -> QuerySet[MediaWorker]:
    return MediaWorker.objects.filter(stopped_at__isnull=True, last_seen__gte=alive_since())


@database_sync_to_async
def host_session(session_id: str) -> Host:
    """The live worker hosting ``session_id``, placing it on the least loaded one if it has none."""
    with transaction.atomic():
        session = CallSession.objects.select_for_update().get(session_id=session_id)
        worker = live_workers().filter(pk=session.media_worker_id).first() if session.media_worker_id else None
        if worker is None:
            worker = live_workers().order_by("participants", "rooms", "started_at").first()
            if worker is None:
                raise NoMediaWorker(session_id)
            session.media_worker = worker
            session.save(update_fields=["media_worker"])
            MediaWorker.objects.filter(pk=worker.pk).update(rooms=F("rooms") + 1)
    return Host(worker.pk, worker.channel_name)


@database_sync_to_async
def hosting_worker(session_id: str) -> Host | None:
    """The live worker hosting ``session_id`` now, without placing it; None if it has none."""
    worker_pk = CallSession.objects.filter(session_id=session_id).values_list("media_worker", flat=True).first()
    worker = live_workers().filter(pk=worker_pk).first() if worker_pk else None
    return Host(worker.pk, worker.channel_name) if worker is not None else None


@database_sync_to_async
def moved_sessions(hosts: dict[str, int]) -> list[str]:
    """Of ``hosts`` (session ID → the worker this process uses), the sessions whose worker is gone."""
    alive = set(live_workers().filter(pk__in=set(hosts.values())).values_list("pk", flat=True))
    current = dict(CallSession.objects.filter(session_id__in=hosts).values_list("session_id", "media_worker_id"))
    return [sid for sid, pk in hosts.items() if pk not in alive or current.get(sid) != pk]


def new_worker_id() -> str:
    return f"{socket.gethostname()[:40]}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


@database_sync_to_async
def register_worker(worker_id: str, channel_name: str) -> None:
    MediaWorker.objects.create(
        worker_id=worker_id, channel_name=channel_name, host=f"{socket.gethostname()} pid {os.getpid()}"
    )


@database_sync_to_async
def heartbeat(worker_id: str, rooms: int, participants: int) -> None:
    MediaWorker.objects.filter(worker_id=worker_id).update(
        last_seen=timezone.now(), rooms=rooms, participants=participants
    )


@database_sync_to_async
def worker_stopped(worker_id: str) -> None:
    """A worker shutting down says so: its sessions move now, not after the heartbeat timeout."""
    MediaWorker.objects.filter(worker_id=worker_id).update(stopped_at=timezone.now(), rooms=0, participants=0)
