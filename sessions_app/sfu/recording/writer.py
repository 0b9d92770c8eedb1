"""
A recording's writer thread: muxing and disk I/O off the event loop.

The media path only appends a tuple to a bounded deque (no lock, no wake-up: the thread looks
every WRITER_POLL_S); the thread takes them off in order and writes them (``webm.TrackFile``).
A frame that would overfill the deque is refused, and its tap counts it: when the disk or the
CPU cannot keep up, a recording loses frames rather than growing without bound.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from collections.abc import Sequence

from .webm import RecordedTrack, TrackFile

logger = logging.getLogger(__name__)

# How often the thread looks for frames: they reach the muxer at most this late.
WRITER_POLL_S = 0.05
# Frames waiting for the writer, at most: about 5 s of a 4-person call's audio and video.
RECORDING_QUEUE_FRAMES = 2000
KEYFRAME = 1
NEW_STREAM = 2

# (file, payloads, RTP timestamp, arrival, flags); payloads None: close the file.
Item = tuple[TrackFile, Sequence[bytes] | None, int, float, int]


class RecordingWriter:
    """
    Writes one recording's files on a thread of its own.

    ``put_frame`` and ``close_file`` are called on the event loop; everything else of a
    ``TrackFile`` happens on the thread. ``stop`` closes what is still open and returns every
    file the recording made, in the order they were closed.
    """

    def __init__(self, name: str, queue_limit: int = RECORDING_QUEUE_FRAMES) -> None:
        self._items: deque[Item] = deque()
        self._limit = queue_limit
        self._wake = threading.Event()
        self._stopping = False
        self._open_files: list[TrackFile] = []
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.recorded: list[RecordedTrack] = []
        self.frames_written = 0

    def start(self) -> None:
        self._thread.start()

    def put_frame(self, file: TrackFile, payloads: Sequence[bytes], timestamp: int, arrival: float, flags: int) -> bool:
        """Queue a frame for ``file``; False (nothing queued) when the writer is too far behind."""
        items = self._items
        if len(items) >= self._limit:
            return False
        items.append((file, payloads, timestamp, arrival, flags))
        return True

    def close_file(self, file: TrackFile) -> None:
        """Finish ``file`` after the frames queued for it (never refused)."""
        self._items.append((file, None, 0, 0.0, 0))

    async def stop(self) -> list[RecordedTrack]:
        """Write what is queued, close every file, end the thread; the files recorded."""
        self._stopping = True
        self._wake.set()
        if self._thread.ident is not None:
            await asyncio.to_thread(self._thread.join)
        return self.recorded

    def _run(self) -> None:
        items = self._items
        while True:
            stopping = self._stopping
            while items:
                file, payloads, timestamp, arrival, flags = items.popleft()
                try:
                    if payloads is None:
                        self._close(file)
                    elif file.write(payloads, timestamp, arrival, bool(flags & KEYFRAME), bool(flags & NEW_STREAM)):
                        self.frames_written += 1
                        if file.frame_count == 1:
                            self._open_files.append(file)
                except Exception:
                    logger.exception("recording %s: a frame could not be written", file.path)
            if stopping:
                break
            self._wake.wait(WRITER_POLL_S)
        for file in list(self._open_files):
            self._close(file)

    def _close(self, file: TrackFile) -> None:
        if file in self._open_files:
            self._open_files.remove(file)
        recorded = file.close()
        if recorded is not None:
            self.recorded.append(recorded)
            logger.info(
                "recorded %s %s: %s (%d frames, %d ms, %d dropped)",
                recorded.participant_id,
                recorded.source,
                recorded.path,
                recorded.frame_count,
                recorded.duration_ms,
                recorded.frames_dropped,
            )
