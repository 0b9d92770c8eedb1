"""One subscription's track: the frames of the publisher it is attached to, gated for a decoder."""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING

from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

if TYPE_CHECKING:
    from .frames import EncodedFrame
    from .published import PublishedTrack
    from .sender import PacketSender

logger = logging.getLogger(__name__)


class ForwardingTrack(MediaStreamTrack):
    """
    What a subscription's sendonly transceiver carries: each frame of its publisher, handed to
    the subscription's ``PacketSender`` as it arrives.

    It lives as long as its transceiver and can be re-attached to another publisher when the
    transceiver is reused. Video waits for a keyframe whenever the subscriber (re)starts or
    falls behind: a decoder that starts mid-stream shows nothing useful.
    """

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self.source: PublishedTrack | None = None
        self.frames_forwarded = 0
        self._is_video = kind == "video"
        self._sender: PacketSender | None = None
        self._awaiting_keyframe = self._is_video

    @property
    def started(self) -> bool:
        return self._sender is not None

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

    def start(self, sender: PacketSender) -> None:
        """
        The connection is up and ``sender`` writes this subscription's packets: forward from the
        next keyframe (aiortc starts a sender only then, so nothing earlier could have been sent).
        """
        self._sender = sender
        self.await_keyframe()

    def await_keyframe(self) -> None:
        """Forward nothing until the next keyframe (video), and ask the publisher for one."""
        if self._is_video:
            self._awaiting_keyframe = True
            if self._sender is not None and self.source is not None:
                self.source.request_keyframe()

    def restart(self) -> None:
        """The sender was (re)enabled by a negotiation: start again from a keyframe."""
        self.await_keyframe()

    def request_keyframe(self) -> None:
        """The subscriber asked for a keyframe (RTCP PLI/FIR): relay it to the publisher."""
        if self.source is not None:
            self.source.request_keyframe()

    def push(self, frame: EncodedFrame) -> None:
        """Send ``frame`` to the subscriber now, unless it must wait for a keyframe."""
        sender = self._sender
        if sender is None:
            return
        if self._awaiting_keyframe:
            if not frame.is_keyframe:
                self.source.request_keyframe()  # type: ignore[union-attr]
                return
            self._awaiting_keyframe = False
        try:
            sent = sender.send(frame)
        except Exception:
            # This runs in the publisher's receiving task: one subscriber's failure must not end it.
            logger.exception("forwarding a frame to a subscriber failed")
            sent = False
        if sent:
            self.frames_forwarded += 1
        elif self._is_video:
            # The subscriber's socket is backed up: stale media is worse than none.
            self.await_keyframe()

    async def recv(self) -> EncodedFrame:  # type: ignore[override]
        """
        Never called while forwarding (``PacketSender`` replaces the loop that pulls frames); a
        caller gets what a stopped track gives.
        """
        raise MediaStreamError

    def stop(self) -> None:
        self.detach()
        self._sender = None
        super().stop()
