"""A session's recording: which tracks are recorded into which files, from start to stop."""

from __future__ import annotations

import os
import re
import time
from collections import Counter
from typing import TYPE_CHECKING

from ..errors import RecordingError
from .taps import TrackTap, VideoTap
from .webm import RecordedTrack, TrackFile
from .writer import RECORDING_QUEUE_FRAMES, RecordingWriter

if TYPE_CHECKING:
    from ..published import PublishedTrack

# What a participant ID may keep of itself in a file name.
UNSAFE_IN_NAMES = re.compile(r"[^A-Za-z0-9_.-]")
MAX_NAME_PART = 64


def file_stem(participant_id: str, source: str, number: int) -> str:
    """``<participant>-<source>-<n>``: the n-th file of that source in the recording, safe as a file name."""
    safe = UNSAFE_IN_NAMES.sub("_", participant_id)[:MAX_NAME_PART].lstrip(".") or "participant"
    return f"{safe}-{source}-{number}"


class Recording:
    """
    Records every track of a room while it runs: each into its own WebM file in ``directory``.

    The room adds a track when it starts being published (a join, a screen share) and removes it
    when it stops (a leave, the share's end): each stretch is one file. All files share one
    timeline, from ``epoch`` (when the recording started). Muting leaves a gap in its file.
    Writing happens on a thread of the recording's own (``writer.RecordingWriter``).
    """

    def __init__(self, session_id: str, directory: str, queue_limit: int = RECORDING_QUEUE_FRAMES) -> None:
        try:
            os.makedirs(directory, exist_ok=True)
        except OSError as exc:
            raise RecordingError(f"Cannot record into {directory}: {exc.strerror or exc}.") from exc
        if not os.access(directory, os.W_OK | os.X_OK):
            raise RecordingError(f"Cannot record into {directory}: it is not writable.")
        self.session_id = session_id
        self.directory = directory
        self.epoch = time.monotonic()
        self.started_at = time.time()
        self._writer = RecordingWriter(f"recording-{session_id}", queue_limit)
        self._taps: dict[PublishedTrack, TrackTap] = {}
        self._files_made: Counter[tuple[str, str]] = Counter()
        self._dropped_before = 0

    def start(self) -> None:
        self._writer.start()

    @property
    def frames_written(self) -> int:
        return self._writer.frames_written

    @property
    def frames_dropped(self) -> int:
        """Frames refused because the writer was behind, over the whole recording."""
        return self._dropped_before + sum(tap.frames_dropped for tap in self._taps.values())

    def add(self, published: PublishedTrack) -> None:
        """Record ``published`` from now on, into a new file (a no-op if it is recorded already)."""
        if published in self._taps:
            return
        key = (published.participant_id, published.source)
        self._files_made[key] += 1
        file = TrackFile(
            self.directory,
            file_stem(published.participant_id, published.source, self._files_made[key]),
            published.participant_id,
            published.source,
            published.kind,
            self.epoch,
        )
        tap = (VideoTap if published.kind == "video" else TrackTap)(published, file, self._writer)
        self._taps[published] = tap
        published.recorder = tap
        tap.begin()

    def remove(self, published: PublishedTrack) -> None:
        """Stop recording ``published``: its file is finished (after what is queued for it)."""
        tap = self._taps.pop(published, None)
        if tap is None:
            return
        if published.recorder is tap:
            published.recorder = None
        self._dropped_before += tap.frames_dropped
        # Read by the writer thread only after it takes the close below, queued after this.
        tap.file.frames_refused = tap.frames_dropped
        self._writer.close_file(tap.file)

    def remove_participant(self, participant_id: str) -> None:
        for published in [p for p in self._taps if p.participant_id == participant_id]:
            self.remove(published)

    async def stop(self) -> list[RecordedTrack]:
        """Stop recording everything; once the files are finished, what was recorded."""
        for published in list(self._taps):
            self.remove(published)
        return list(await self._writer.stop())
