"""
The recordings worker (``manage.py run_recordings``): composes each stopped recording's track files
into one file, puts it in the recordings storage, and announces it (``recording_generated``).

It runs in its own process, so decoding and encoding never share a CPU budget with a call's event
loop. Like the webhook outbox, the jobs live in the database (``CompositionJob``): a worker claims a
job with a lease it renews as the composition progresses; a worker that dies lets its lease run out,
and the next worker composes the job again. Only the current lease's holder can finish a job, in
one transaction that saves the file's name and stores the webhook event, so a job finishes once.

A worker takes only jobs whose track files it can see: with SFU workers on several machines, a
recordings worker runs beside each (docs/deployment.md).
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files import File
from django.db import DatabaseError, close_old_connections, connection, transaction
from django.db.models import Q
from django.utils import timezone

from .. import recording_files, signals
from ..composer import Canvas, ComposeError, TrackInput, compose
from ..models import CompositionJob, CompositionStatus, Recording, recordings_storage
from .database import lock_for_claim

logger = logging.getLogger(__name__)

CANVAS_SETTING = re.compile(r"^(\d{2,4})x(\d{2,4})@(\d{1,2})$")
# How often a composing worker writes its progress (and renews its lease).
PROGRESS_INTERVAL_S = 1.0
# A failed attempt waits this long before the next, doubling each time.
RETRY_BASE_S = 30.0
RETENTION_SWEEP_INTERVAL_S = 60.0


class LeaseLost(Exception):
    """Another worker took the job (this one was presumed dead): stop composing it."""


def canvas_from_settings() -> Canvas:
    """CALLS_RECORDING_CANVAS (``WIDTHxHEIGHT@FPS``) as the composer's canvas."""
    match = CANVAS_SETTING.match(settings.CALLS_RECORDING_CANVAS.strip())
    if not match:
        raise ImproperlyConfigured("CALLS_RECORDING_CANVAS is WIDTHxHEIGHT@FPS, such as 1280x720@15.")
    width, height, fps = (int(group) for group in match.groups())
    if width % 2 or height % 2 or not 1 <= fps <= 60:
        raise ImproperlyConfigured("CALLS_RECORDING_CANVAS needs an even width and height and 1 to 60 fps.")
    return Canvas(width=width, height=height, fps=fps)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:100]


def files_here(recording: Recording) -> bool:
    """Whether this machine sees the recording's track files (its folder under CALLS_RECORDINGS_DIR)."""
    return os.path.isdir(os.path.join(recording_files.recordings_root(), recording.directory))


@dataclass(frozen=True, slots=True)
class Claim:
    job_id: int
    recording_id: int
    token: str
    attempt: int


def claim(now: datetime | None = None) -> Claim | None:
    """
    Take the oldest job that is due (queued, or composing under a lease that ran out) and whose files
    are here; a job whose attempts are used up is marked failed instead.
    """
    now = now or timezone.now()
    due = CompositionJob.objects.filter(
        Q(status=CompositionStatus.QUEUED, next_attempt_at__lte=now)
        | Q(status=CompositionStatus.COMPOSING, lease_until__lt=now)
    )
    with transaction.atomic():
        for job in lock_for_claim(due.select_related("recording").order_by("next_attempt_at", "pk"))[:20]:
            if job.attempts >= settings.CALLS_RECORDING_COMPOSE_ATTEMPTS:
                job.status, job.finished_at = CompositionStatus.FAILED, now
                job.last_error = job.last_error or "The worker composing it stopped (every attempt)."
                job.save(update_fields=["status", "finished_at", "last_error"])
                logger.error("recording %s: composition failed for good", job.recording.rid)
                continue
            if not files_here(job.recording):
                continue
            job.status, job.attempts, job.progress = CompositionStatus.COMPOSING, job.attempts + 1, 0.0
            job.lease_token, job.worker, job.started_at = secrets.token_hex(16), worker_name(), now
            job.lease_until = now + timedelta(seconds=settings.CALLS_RECORDING_LEASE_SECONDS)
            job.save(
                update_fields=["status", "attempts", "progress", "lease_token", "worker", "started_at", "lease_until"]
            )
            return Claim(job.pk, job.recording_id, job.lease_token, job.attempts)
    return None


def _held(claim: Claim) -> CompositionJob:
    """The claimed job, locked, if this worker still holds its lease; LeaseLost if not."""
    job: CompositionJob | None = lock_for_claim(
        CompositionJob.objects.filter(pk=claim.job_id, lease_token=claim.token)
    ).first()
    if job is None or job.status != CompositionStatus.COMPOSING:
        raise LeaseLost
    return job


def report_progress(claim: Claim, fraction: float) -> None:
    """Write the job's progress and renew its lease; LeaseLost when another worker took it."""
    renewed = CompositionJob.objects.filter(
        pk=claim.job_id, lease_token=claim.token, status=CompositionStatus.COMPOSING
    ).update(
        progress=round(min(max(fraction, 0.0), 1.0), 3),
        lease_until=timezone.now() + timedelta(seconds=settings.CALLS_RECORDING_LEASE_SECONDS),
    )
    if not renewed:
        raise LeaseLost


def track_inputs(recording: Recording) -> list[TrackInput]:
    return [
        TrackInput(
            participant_id=str(track.get("participantId", "")),
            source=str(track.get("source", "")),
            path=recording_files.track_path(track),
            start_offset_ms=int(track.get("startOffsetMs", 0)),
            duration_ms=int(track.get("durationMs", 0)),
        )
        for track in recording.tracks
    ]


def recording_duration_ms(recording: Recording) -> int | None:
    """The recording's length from start to stop, which the composed file matches (None if unknown)."""
    if recording.ended_at is None:
        return None
    return max(0, int((recording.ended_at - recording.started_at).total_seconds() * 1000))


def finish(claim: Claim, name: str, duration_ms: int, size_bytes: int) -> bool:
    """
    Record the composed file and announce it, in one transaction, if this worker still holds the
    lease; False (nothing changed) if it does not.
    """
    now = timezone.now()
    with transaction.atomic():
        try:
            job = _held(claim)
        except LeaseLost:
            return False
        recording = Recording.objects.select_related("session").get(pk=claim.recording_id)
        recording.composed_file.name = name
        recording.composed_duration_ms, recording.composed_size_bytes = duration_ms, size_bytes
        recording.save(update_fields=["composed_file", "composed_duration_ms", "composed_size_bytes"])
        job.status, job.progress, job.finished_at, job.last_error = CompositionStatus.DONE, 1.0, now, ""
        job.lease_until = None
        job.save(update_fields=["status", "progress", "finished_at", "last_error", "lease_until"])
        data = {
            "sessionId": recording.session.session_id,
            "recording": recording_files.recording_entry(
                recording, ttl_seconds=settings.CALLS_RECORDING_WEBHOOK_URL_TTL_SECONDS
            ),
        }
        signals.recording_generated.send(sender=Recording, session=recording.session, data=data)
    return True


def fail(claim: Claim, error: str) -> None:
    """A failed attempt: try again later (backing off), or for good once the attempts are used up."""
    now = timezone.now()
    job = CompositionJob.objects.filter(pk=claim.job_id, lease_token=claim.token).first()
    if job is None:
        return
    final = claim.attempt >= settings.CALLS_RECORDING_COMPOSE_ATTEMPTS
    CompositionJob.objects.filter(pk=claim.job_id, lease_token=claim.token).update(
        status=CompositionStatus.FAILED if final else CompositionStatus.QUEUED,
        next_attempt_at=now + timedelta(seconds=RETRY_BASE_S * 2 ** (claim.attempt - 1)),
        finished_at=now if final else None,
        lease_until=None,
        last_error=error[:300],
    )


def run_job(claim: Claim, canvas: Canvas) -> bool:
    """Compose a claimed job and finish it; True when it is done."""
    recording = Recording.objects.get(pk=claim.recording_id)
    scratch = tempfile.mkdtemp(prefix=f"compose-{recording.rid}-")
    last_report = 0.0

    def progress(fraction: float) -> None:
        nonlocal last_report
        if fraction < 1.0 and time.monotonic() - last_report < PROGRESS_INTERVAL_S:
            return
        last_report = time.monotonic()
        report_progress(claim, fraction)

    try:
        output = os.path.join(scratch, "composed.webm")
        composed = compose(track_inputs(recording), output, canvas, progress, recording_duration_ms(recording))
        if composed.skipped:
            logger.warning("recording %s: composed without %s", recording.rid, ", ".join(composed.skipped))
        name = recording_files.composed_name(recording, claim.token)
        storage = recordings_storage()
        with open(output, "rb") as handle:
            saved = storage.save(name, File(handle))
        if not finish(claim, saved, composed.duration_ms, composed.size_bytes):
            storage.delete(saved)
            logger.warning("recording %s: another worker took the job; dropped this attempt's file", recording.rid)
            return False
        recording_files.delete_other_composed(recording, keep=saved)
        logger.info(
            "recording %s: composed %s (%d ms, %d bytes, attempt %d)",
            recording.rid,
            saved,
            composed.duration_ms,
            composed.size_bytes,
            claim.attempt,
        )
        return True
    except LeaseLost:
        logger.warning("recording %s: another worker took the job", recording.rid)
        return False
    except ComposeError as exc:
        fail(claim, str(exc))
        logger.error("recording %s: cannot compose: %s", recording.rid, exc)
        return False
    except Exception as exc:
        fail(claim, f"{type(exc).__name__}: {exc}")
        logger.exception("recording %s: composition failed", recording.rid)
        return False
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def delete_expired(now: datetime | None = None) -> int:
    """CALLS_RECORDING_RETENTION_DAYS: delete the recordings (rows and files) that ended before it; how many."""
    days = settings.CALLS_RECORDING_RETENTION_DAYS
    if days <= 0:
        return 0
    cutoff = (now or timezone.now()) - timedelta(days=days)
    expired = list(
        Recording.objects.filter(ended_at__lt=cutoff).exclude(composition__status=CompositionStatus.COMPOSING)
    )
    for recording in expired:
        recording.delete()  # its files go with it (recording_files.delete_files, on commit)
    if expired:
        logger.info("deleted %d recording(s) past the %d-day retention", len(expired), days)
    return len(expired)


class Worker:
    """Composes jobs one at a time until ``stop`` is set (or, with ``once``, until none is due)."""

    def __init__(self, stop: threading.Event | None = None, poll_interval: float = 1.0) -> None:
        self.stop = stop or threading.Event()
        self.poll_interval = poll_interval
        self.canvas = canvas_from_settings()
        self._last_sweep = 0.0

    def run(self, once: bool = False, on_job: Callable[[bool], None] | None = None) -> None:
        while not self.stop.is_set():
            try:
                close_old_connections()
                if time.monotonic() - self._last_sweep >= RETENTION_SWEEP_INTERVAL_S:
                    self._last_sweep = time.monotonic()
                    delete_expired()
                claimed = claim()
                if claimed is not None:
                    done = run_job(claimed, self.canvas)
                    if on_job is not None:
                        on_job(done)
                    continue
            except DatabaseError:
                if once:
                    raise
                logger.exception("Recordings worker lost the database; retrying")
                connection.close()
            if once:
                return
            self.stop.wait(self.poll_interval)
