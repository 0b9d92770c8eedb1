"""The track a subscriber's sender pulls: encoded frames of one publisher."""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from typing import TYPE_CHECKING

from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from .frames import EncodedFrame

if TYPE_CHECKING:
    from .published import PublishedTrack

MAX_QUEUED_VIDEO_FRAMES = 30
MAX_QUEUED_AUDIO_FRAMES = 25


class ForwardingTrack(MediaStreamTrack):
    """
    A track whose ``recv()`` returns encoded frames, so aiortc packs them without encoding.

    It lives as long as its transceiver and can be re-attached to another
    publisher when the transceiver is reused. Video waits for a keyframe
    whenever the subscriber (re)starts or falls behind: a decoder that starts
    mid-stream shows nothing useful.
    """

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self.source: PublishedTrack | None = None
        self.frames_forwarded = 0
        self._is_video = kind == "video"
        self._max_queued = MAX_QUEUED_VIDEO_FRAMES if self._is_video else MAX_QUEUED_AUDIO_FRAMES
        self._queue: deque[EncodedFrame] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._started = False
        self._awaiting_keyframe = self._is_video

    def attach(self, source: PublishedTrack) -> None:
        self.detach()
        self.source = source
        source.subscribers.append(self)
        self.await_keyframe()

    def detach(self) -> None:
        if self.source is not None:
            with contextlib.suppress(ValueError):
                self.source.subscribers.remove(self)
            self.source = None
        self._queue.clear()

    def await_keyframe(self) -> None:
        """Drop what is queued and forward nothing until the next keyframe (video)."""
        if self._is_video:
            self._queue.clear()
            self._awaiting_keyframe = True
            if self._started and self.source is not None:
                self.source.request_keyframe()

    def restart(self) -> None:
        """The sender was (re)enabled by a negotiation: start again from a keyframe."""
        self._queue.clear()
        self.await_keyframe()

    def request_keyframe(self) -> None:
        """The subscriber asked for a keyframe (RTCP PLI/FIR): relay it to the publisher."""
        if self.source is not None:
            self.source.request_keyframe()

    def push(self, frame: EncodedFrame) -> None:
        if not self._started:
            return
        if self._awaiting_keyframe:
            if not frame.is_keyframe:
                self.source.request_keyframe()  # type: ignore[union-attr]
                return
            self._awaiting_keyframe = False
        queue = self._queue
        if len(queue) >= self._max_queued:
            # The sender fell behind: stale media is worse than none.
            queue.clear()
            if self._is_video and not frame.is_keyframe:
                self.await_keyframe()
                return
        queue.append(frame)
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    async def recv(self) -> EncodedFrame:  # type: ignore[override]
        if self.readyState != "live":
            raise MediaStreamError
        if not self._started:
            # aiortc starts a sender once its connection is up: what came before is stale.
            self._started = True
            self._queue.clear()
            self.await_keyframe()
        queue = self._queue
        while not queue:
            self._waiter = asyncio.get_running_loop().create_future()
            await self._waiter
            if self.readyState != "live":
                raise MediaStreamError
        self.frames_forwarded += 1
        return queue.popleft()

    def stop(self) -> None:
        self.detach()
        super().stop()
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
