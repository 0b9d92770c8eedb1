"""One subscription's track: the frames of the publisher it is attached to, chosen and gated for a decoder."""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING

from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from .vp8 import Vp8Rewriter

if TYPE_CHECKING:
    from .frames import EncodedFrame
    from .published import PublishedTrack
    from .sender import PacketSender

logger = logging.getLogger(__name__)

ALL_TEMPORAL_LAYERS = 2
RTP_TIMESTAMP_MASK = 0xFFFFFFFF
VIDEO_CLOCK_RATE = 90_000
NTP_FRACTION = 1 << 32
# Where a new stream continues the subscriber's timeline when its frames' spacing is unknown: one 30 fps frame on.
DEFAULT_FRAME_TICKS = 3000


class ForwardingTrack(MediaStreamTrack):
    """
    What a subscription's sendonly transceiver carries: frames of its publisher, handed to the
    subscription's ``PacketSender`` as they arrive.

    Video picks one simulcast layer and a number of temporal layers (``set_target``, from the
    subscriber's bandwidth allocation and tile size): it moves to another layer on that layer's
    keyframe, drops frames of temporal layers above its target, and rewrites what a decoder would
    notice (RTP timestamps, VP8 picture IDs and TL0PICIDX) so the subscriber sees one continuous
    stream. A target layer of None forwards nothing (a hidden tile). Video waits for a keyframe
    whenever the subscriber (re)starts or falls behind.

    It lives as long as its transceiver and can be re-attached to another publisher when the
    transceiver is reused.
    """

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self.source: PublishedTrack | None = None
        self.frames_forwarded = 0
        self.layer_switches = 0
        self._is_video = kind == "video"
        self._sender: PacketSender | None = None
        self._awaiting_keyframe = self._is_video
        # Layer selection: what the allocation wants, and what is forwarded now.
        self.target_layer: int | None = 0
        self.target_tid = ALL_TEMPORAL_LAYERS
        self.current_layer: int | None = None
        self.current_tid = ALL_TEMPORAL_LAYERS
        self._generation = -1
        self._holding = False
        # The subscriber's continuous timeline.
        self._rewriter = Vp8Rewriter()
        self._timestamp_offset = 0
        self._last_timestamp: int | None = None
        self._last_ntp = 0

    @property
    def started(self) -> bool:
        return self._sender is not None

    def attach(self, source: PublishedTrack) -> None:
        self.detach()
        self.source = source
        source.subscribers.append(self)
        self.current_layer = None
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

    def set_target(self, layer: int | None, tid: int = ALL_TEMPORAL_LAYERS) -> None:
        """
        Forward ``layer`` (None: nothing) with temporal layers 0..``tid`` from now on.

        Fewer temporal layers take effect at once; more, at the next base-layer frame (the ones
        after it reference only frames forwarded). Another layer takes effect at its next keyframe,
        asked for now; meanwhile the current one goes on when moving up, and stops when moving down
        (the link is full: let its queue drain while the keyframe comes).
        """
        if layer != self.target_layer:
            self.target_layer = layer
            if layer is not None and layer != self.current_layer and self.source is not None and self._sender:
                self.source.request_keyframe(layer)
        self.target_tid = tid
        if layer is not None and self.current_layer is not None and layer < self.current_layer:
            # Moving down means the link is full: send nothing more of the bigger layer, nor resend any of
            # it, so the queue drains and the smaller layer's keyframe gets through at once.
            self._holding = True
            if self._sender is not None:
                self._sender.forget_history()
        elif tid < self.current_tid:
            self.current_tid = tid

    def await_keyframe(self) -> None:
        """Forward nothing until the next keyframe (video), and ask the publisher for one."""
        if self._is_video:
            self._awaiting_keyframe = True
            self.request_keyframe()

    def restart(self) -> None:
        """The sender was (re)enabled by a negotiation: start again from a keyframe."""
        self.await_keyframe()

    def on_new_stream(self, layer: int) -> None:
        """The publisher restarted ``layer`` on a new SSRC: if it is the one forwarded, wait for its keyframe."""
        if layer == self.current_layer:
            self.await_keyframe()

    def on_upstream_loss(self, layer: int) -> None:
        """A frame of ``layer`` was lost upstream for good: if it is the one forwarded, wait for a keyframe."""
        if layer == self.current_layer:
            self._awaiting_keyframe = True

    def request_keyframe(self) -> None:
        """
        Ask the publisher for a keyframe of the layer this subscription is moving to (or on): the
        subscriber's own PLI/FIR comes here too, and is answered by the keyframe already asked for
        if one was within the publisher's debounce.
        """
        if self._sender is None or self.source is None:
            return
        layer = self.target_layer if self.target_layer is not None else self.current_layer
        if layer is not None:
            self.source.request_keyframe(layer)

    def push(self, frame: EncodedFrame) -> None:
        """Send ``frame`` to the subscriber now if it is one this subscription forwards."""
        sender = self._sender
        if sender is None:
            return
        if not self._is_video:
            self._send(sender, frame, frame.pts, None)
            return
        target = self.target_layer
        if target is None:
            return
        layer = frame.layer
        switched = False
        current = self.current_layer
        if layer != current or frame.generation != self._generation:
            # A frame of a stream this subscriber is not on. The way onto one is a keyframe: of the target
            # layer, of the current layer's new stream, or (with nothing forwarded yet) of a lower layer.
            way_on = layer in (target, current) or (current is None and layer < target)
            if not frame.is_keyframe or not way_on:
                if layer == target or current is None:
                    self.source.request_keyframe(target)  # type: ignore[union-attr]
                return
            if current is not None and layer != current:
                self.layer_switches += 1
            self.current_layer = layer
            self._generation = frame.generation
            self.current_tid = self.target_tid
            self._awaiting_keyframe = False
            self._holding = False
            switched = True
        elif self._holding and layer != target:
            return
        elif self._awaiting_keyframe:
            if not frame.is_keyframe:
                self.source.request_keyframe(layer)  # type: ignore[union-attr]
                return
            self._awaiting_keyframe = False
        info = frame.info
        if info is not None:
            tid = info.tid
            if tid == 0 and self.current_tid < self.target_tid:
                self.current_tid = self.target_tid
            if tid > self.current_tid and not switched:
                self._rewriter.drop(info)
                return
            self._rewriter.forward(info, switched)
        if switched or self._last_timestamp is None:
            self._rebase_timestamps(frame)
        timestamp = (frame.pts + self._timestamp_offset) & RTP_TIMESTAMP_MASK
        self._last_timestamp = timestamp
        self._last_ntp = frame.ntp
        self._send(sender, frame, timestamp, self._rewriter if info is not None else None)

    def _rebase_timestamps(self, frame: EncodedFrame) -> None:
        """Continue the subscriber's timeline from its last frame by the wall-clock time since it."""
        if self._last_timestamp is None:
            self._timestamp_offset = -frame.pts
            return
        gap = (frame.ntp - self._last_ntp) * VIDEO_CLOCK_RATE // NTP_FRACTION if self._last_ntp else 0
        if gap <= 0:
            gap = DEFAULT_FRAME_TICKS
        self._timestamp_offset = self._last_timestamp + gap - frame.pts

    def _send(self, sender: PacketSender, frame: EncodedFrame, timestamp: int, rewriter: Vp8Rewriter | None) -> None:
        try:
            sent = sender.send(frame, timestamp, rewriter)
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
