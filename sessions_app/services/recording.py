"""
Recording a call: a moderator starts and stops it, ``autoStartRecording`` starts it with the first
join, and it stops by itself when the call empties.

The SFU writes the files (``MediaService.start_recording``: one WebM file per track, without
decoding) into ``<CALLS_RECORDINGS_DIR>/<session_id>/<start time>/``; a ``Recording`` row is the
record of it, with its files once stopped, and a stopped recording is queued for the recordings
worker to compose into one file (``composition``, in a process of its own). The row's status is
what every process reads to know whether a call is being recorded (a late joiner's ``joined`` says
so). Everyone in the call hears of a start and a stop on the bus.
"""

from __future__ import annotations

import logging
import os
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from .. import errors
from ..errors import CallsError
from ..models import CallSession, CompositionJob, Recording, RecordingStatus
from ..recording_files import recordings_root
from ..sfu import AlreadyRecording, MediaError, MediaUnavailable, NotRecording, RecordedTrack, UnknownSession
from . import broadcast
from .database import off_the_loop
from .media import get_sfu

logger = logging.getLogger(__name__)

# A participant ID standing for the call itself (autoStartRecording), on the wire and in ``started_by``.
BY_THE_CALL = ""


def recording_directory(session_id: str, started_at: datetime) -> str:
    """Relative to CALLS_RECORDINGS_DIR: ``<session_id>/<UTC start time, to the millisecond>``."""
    return os.path.join(session_id, started_at.strftime("%Y%m%dT%H%M%S.%fZ")[:-4] + "Z")


def relative_path(path: str, root: str) -> str:
    return os.path.relpath(path, root) if os.path.isabs(path) else path


def track_row(track: RecordedTrack, root: str) -> dict[str, object]:
    """A recorded file as the ``Recording`` row keeps it (its path relative to the recordings directory)."""
    return {
        "participantId": track.participant_id,
        "source": track.source,
        "path": relative_path(track.path, root),
        "codec": track.codec,
        "startOffsetMs": track.start_offset_ms,
        "durationMs": track.duration_ms,
        "sizeBytes": track.size_bytes,
        "frames": track.frame_count,
        "framesDropped": track.frames_dropped,
    }


@off_the_loop
def is_recording(session_id: str) -> bool:
    """Whether the call is being recorded now (as far as the database knows)."""
    return bool(Recording.objects.filter(session__session_id=session_id, status=RecordingStatus.RECORDING).exists())


@off_the_loop
def _record_start(session_id: str, directory: str, started_at: datetime, by: str, by_uid: str) -> Recording:
    """
    Record a start the SFU accepted. A row still "recording" from before is one the server lost (the
    SFU had no recording of the session, or it would have refused): it is marked interrupted.
    """
    with transaction.atomic():
        session = CallSession.objects.get(session_id=session_id)
        Recording.objects.filter(session=session, status=RecordingStatus.RECORDING).update(
            status=RecordingStatus.INTERRUPTED, ended_at=started_at
        )
        recording: Recording = Recording.objects.create(
            session=session, started_by=by, started_by_uid=by_uid, directory=directory, started_at=started_at
        )
        return recording


@off_the_loop
def _record_stop(session_id: str, tracks: list[RecordedTrack]) -> int:
    """Save the files the SFU reported to the recordings they belong to (by folder); return how many rows ended."""
    root = recordings_root()
    now = timezone.now()
    with transaction.atomic():
        rows = list(
            Recording.objects.select_for_update()
            .filter(session__session_id=session_id, status=RecordingStatus.RECORDING)
            .order_by("started_at")
        )
        for row in rows:
            folder = row.directory.rstrip(os.sep) + os.sep
            row.tracks = [
                track_row(track, root) for track in tracks if relative_path(track.path, root).startswith(folder)
            ]
            row.status, row.ended_at = RecordingStatus.STOPPED, now
            row.save(update_fields=["tracks", "status", "ended_at"])
            if row.tracks:
                CompositionJob.objects.get_or_create(recording=row)
    return len(rows)


async def start(session_id: str, by: str, by_uid: str = "") -> None:
    """
    Start recording the call (a moderator's ``recording`` message, or ``autoStartRecording``) and tell
    everyone. CallsError: ERR_BAD_REQUEST when it is being recorded already, ERR_CALL_NOT_A_PART when
    the call has no media (nobody is in it), ERR_RECORDING_FAILED when the SFU cannot write the files
    (``RecordingError``), ERR_MEDIA_SERVER_UNAVAILABLE when an SFU worker does not answer.
    """
    started_at = timezone.now()
    directory = recording_directory(session_id, started_at)
    try:
        await get_sfu().start_recording(session_id, os.path.join(recordings_root(), directory))
    except MediaError as exc:
        raise _refusal(exc, session_id, "record") from None
    try:
        await _record_start(session_id, directory, started_at, by, by_uid)
    except BaseException:
        await _stop_media(session_id)
        raise
    logger.info("session %s: recording started by %s", session_id, by or "the call")
    await broadcast.recording_changed(session_id, True, by)


# The SFU's refusals of a recording command, as the error the participant gets.
REFUSALS: dict[type[MediaError], tuple[str, str]] = {
    AlreadyRecording: (errors.ERR_BAD_REQUEST, "This call is being recorded already."),
    NotRecording: (errors.ERR_BAD_REQUEST, "This call is not being recorded."),
    UnknownSession: (errors.ERR_CALL_NOT_A_PART, "The call has no media to record."),
    MediaUnavailable: (errors.ERR_MEDIA_SERVER_UNAVAILABLE, "The call's media server did not answer."),
}


def _refusal(exc: MediaError, session_id: str, doing: str) -> CallsError:
    """The CallsError for an SFU refusal; anything else is a failure to write (ERR_RECORDING_FAILED), logged."""
    for kind, (code, message) in REFUSALS.items():
        if isinstance(exc, kind):
            return CallsError(code, message)
    logger.error("session %s: cannot %s: %s", session_id, doing, exc)
    return CallsError(errors.ERR_RECORDING_FAILED, f"The server could not {doing} this call.")


async def stop(session_id: str, by: str) -> None:
    """Stop recording the call, save its files, and tell everyone. ERR_BAD_REQUEST when it is not being recorded."""
    try:
        tracks = await get_sfu().stop_recording(session_id)
    except MediaError as exc:
        raise _refusal(exc, session_id, "stop recording") from None
    await _record_stop(session_id, tracks)
    logger.info("session %s: recording stopped by %s (%d files)", session_id, by, len(tracks))
    await broadcast.recording_changed(session_id, False, by)


async def _stop_media(session_id: str) -> list[RecordedTrack]:
    try:
        return await get_sfu().stop_recording(session_id)
    except MediaError:
        return []


async def auto_start(session_id: str) -> None:
    """
    ``autoStartRecording``: the first join starts the recording (a no-op when it records already). A
    recording that cannot start is logged: the join it came with goes on.
    """
    try:
        await start(session_id, BY_THE_CALL)
    except CallsError as exc:
        if exc.code != errors.ERR_BAD_REQUEST:
            logger.warning("session %s: autoStartRecording failed: %s", session_id, exc.message)
    except Exception:
        logger.exception("session %s: autoStartRecording failed", session_id)


@off_the_loop
def _empty_and_recording(session_id: str) -> bool:
    """Whether the call is being recorded with nobody in it (one query: this runs after every leave)."""
    recording = Recording.objects.filter(session__session_id=session_id, status=RecordingStatus.RECORDING)
    return bool(recording.exclude(session__participants__left_at__isnull=True).exists())


async def finish_if_empty(session_id: str) -> None:
    """
    After a leave: a call that is empty now (its last participant left, or it was ended) stops
    recording, and its files (finished by the SFU when the room closed) are saved. Nobody is left to tell.
    """
    if not await _empty_and_recording(session_id):
        return
    tracks = await _stop_media(session_id)
    if await _record_stop(session_id, tracks):
        logger.info("session %s: recording stopped with the call (%d files)", session_id, len(tracks))
