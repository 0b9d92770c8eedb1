"""
A recording's files: where they are, the signed and expiring URL that downloads the composed one
(CometChat's ``recordingURL``), how the call logs and webhooks describe it, and deleting them.

The per-track files the SFU wrote are on the local disk, under CALLS_RECORDINGS_DIR (paths relative
to it). The composed file is in the recordings storage (``STORAGES["recordings"]``): that directory
by default, a bucket when django-storages is configured. A recordingURL points at this server, which
checks the signature and expiry before it serves the file (or redirects to the bucket's own
short-lived URL): the storage's location is never handed out.
"""

from __future__ import annotations

import hmac
import logging
import os
import time
from enum import Enum
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac

from .links import public_url
from .models import CompositionJob, CompositionStatus, Recording, recordings_storage

logger = logging.getLogger(__name__)

URL_SALT = "calls.recording-url"
COMPOSED_PREFIX = "composed-"
COMPOSED_SUFFIX = ".webm"


class UrlCheck(Enum):
    VALID = "valid"
    EXPIRED = "expired"
    INVALID = "invalid"


def recordings_root() -> str:
    return os.path.abspath(str(settings.CALLS_RECORDINGS_DIR))


def track_path(track: dict[str, Any]) -> str:
    """A recorded track's file on this machine (``Recording.tracks`` keeps it relative to the recordings root)."""
    return os.path.join(recordings_root(), str(track.get("path", "")))


def _signature(rid: str, expires: int) -> str:
    return salted_hmac(URL_SALT, f"{rid}:{expires}", algorithm="sha256").hexdigest()


def recording_url(recording: Recording, request: HttpRequest | None = None, ttl_seconds: int | None = None) -> str:
    """The composed file's download URL: absolute, signed, and good for ``ttl_seconds`` (the setting's by default)."""
    ttl = settings.CALLS_RECORDING_URL_TTL_SECONDS if ttl_seconds is None else ttl_seconds
    expires = int(time.time()) + ttl
    query = urlencode({"expires": expires, "signature": _signature(recording.rid, expires)})
    return public_url(f"{reverse('api-recording-file', args=[recording.rid])}?{query}", request)


def check_url(rid: str, expires: str | None, signature: str | None, now: float | None = None) -> UrlCheck:
    """Whether a recordingURL's query is this server's signature of ``rid`` and has not expired."""
    if not expires or not signature or not expires.isascii() or not expires.isdigit() or len(expires) > 12:
        return UrlCheck.INVALID
    if not hmac.compare_digest(_signature(rid, int(expires)).encode(), signature.encode("utf-8", "replace")):
        return UrlCheck.INVALID
    if int(expires) < (time.time() if now is None else now):
        return UrlCheck.EXPIRED
    return UrlCheck.VALID


def composed_name(recording: Recording, lease_token: str) -> str:
    """The composed file's name in storage, in the recording's folder; each attempt writes its own."""
    return f"{recording.directory}/{COMPOSED_PREFIX}{lease_token[:12]}{COMPOSED_SUFFIX}".replace(os.sep, "/")


def delete_other_composed(recording: Recording, keep: str) -> None:
    """Remove composed files of earlier attempts (a worker killed after saving, before finishing)."""
    storage = recordings_storage()
    folder = recording.directory.replace(os.sep, "/")
    try:
        _, names = storage.listdir(folder)
    except (FileNotFoundError, NotImplementedError, OSError):
        return
    for name in names:
        full = f"{folder}/{name}"
        if name.startswith(COMPOSED_PREFIX) and name.endswith(COMPOSED_SUFFIX) and full != keep:
            storage.delete(full)


def recording_entry(
    recording: Recording, request: HttpRequest | None = None, ttl_seconds: int | None = None
) -> dict[str, Any]:
    """A composed recording as call logs and the ``recording_generated`` webhook present it (CometChat's fields)."""
    ended = recording.ended_at or recording.started_at
    return {
        "rid": recording.rid,
        "recordingURL": recording_url(recording, request, ttl_seconds),
        "startTime": int(recording.started_at.timestamp()),
        "endTime": int(ended.timestamp()),
        "duration": round((recording.composed_duration_ms or 0) / 1000, 3),
        "sizeBytes": recording.composed_size_bytes or 0,
    }


def delete_files(recording: Recording) -> None:
    """
    Delete everything recorded of ``recording``: its composed file from storage, its track files and
    their folder from disk. Files already gone are no error; other failures are logged, not raised
    (the row is going regardless, and the retention sweep must go on).
    """
    if recording.composed_file.name:
        try:
            recordings_storage().delete(recording.composed_file.name)
        except Exception:
            logger.exception("recording %s: cannot delete %s", recording.rid, recording.composed_file.name)
    root = recordings_root()
    for track in recording.tracks:
        try:
            os.remove(track_path(track))
        except FileNotFoundError:
            pass
        except OSError:
            logger.exception("recording %s: cannot delete %s", recording.rid, track.get("path"))
    if recording.directory:
        folder = os.path.join(root, recording.directory)
        # The recording's folder, then its session's, when nothing else is left in them.
        for directory in (folder, os.path.dirname(folder)):
            if os.path.commonpath([root, directory]) == root and directory != root:
                try:
                    os.rmdir(directory)
                except OSError:
                    break


def delete_files_with_row(sender: type[Recording], instance: Recording, **kwargs: Any) -> None:
    """``post_delete`` of a Recording (the admin, retention, a session's deletion): its files go once it is gone."""
    transaction.on_commit(lambda: delete_files(instance))


def compose_again(recording: Recording) -> bool:
    """
    Queue a recording for composition again, with a fresh count of attempts (an operator's retry
    after a failure, or after the canvas changed); False when it has no tracks or is being composed.
    """
    if not recording.tracks:
        return False
    job, _ = CompositionJob.objects.get_or_create(recording=recording)
    return bool(
        CompositionJob.objects.filter(pk=job.pk)
        .exclude(status=CompositionStatus.COMPOSING)
        .update(
            status=CompositionStatus.QUEUED, attempts=0, progress=0.0, next_attempt_at=timezone.now(), last_error=""
        )
    )
