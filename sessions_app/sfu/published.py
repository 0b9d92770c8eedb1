"""A publisher's track: fans each encoded frame out to its subscribers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from .frames import EncodedFrame, ntp_now
from .receive import VideoLayer

if TYPE_CHECKING:
    from .forwarding import ForwardingTrack
    from .frames import TappedFrame
    from .recording.taps import TrackTap

# At most one keyframe request to a publisher per layer in this long: a keyframe costs several
# times a delta frame, and every subscriber of the layer (and, with VP8 simulcast, every layer) gets it.
KEYFRAME_DEBOUNCE_S = 0.5
# What a participant can publish, and the media kind of each.
SOURCE_KINDS = {"audio": "audio", "video": "video", "screen": "video"}
SILENCE_DBOV = 127
LEVEL_SMOOTHING = 0.25
# A layer that sent no frame for this long is off (the publisher's browser dropped it for lack of uplink).
LAYER_IDLE_S = 0.5
RATE_SAMPLE_S = 0.5


class PublishedTrack:
    """
    One kind of media a participant sends, as the SFU sees it.

    ``on_frame`` is called by the receive path for every complete encoded frame; it builds one
    ``EncodedFrame`` and pushes it to every subscriber, who decides whether it is one it
    forwards (its layer, its temporal layers). Video has one ``VideoLayer`` per simulcast layer
    the publisher sends (one in all without simulcast). Keyframe requests are debounced into one
    RTCP PLI per layer per KEYFRAME_DEBOUNCE_S. While the session records, ``recorder`` (a
    recording's tap) takes every frame forwarded too.
    """

    def __init__(self, kind: str, participant_id: str, source: str | None = None) -> None:
        self.kind = kind
        self.participant_id = participant_id
        self.source = source or kind
        # Loudness from the audio-level header extension (RFC 6464): 0 silent .. 127 loudest, smoothed.
        self.loudness = 0.0
        self.subscribers: list[ForwardingTrack] = []
        self.recorder: TrackTap | None = None
        self.layers: list[VideoLayer] = []
        self.frames_received = 0
        self.keyframe_requests = 0
        self.forwarding = True
        self._is_video = kind == "video"
        self._send_pli: Callable[[int], Awaitable[None]] | None = None
        self._last_keyframe_request: dict[int, float] = {}
        self._pending_pli: dict[int, asyncio.Task[None]] = {}
        self._rates_sampled_at = time.monotonic()

    @property
    def is_screen(self) -> bool:
        return self.source == "screen"

    def layer(self, index: int) -> VideoLayer:
        """The layer ``index`` (0 lowest), made when its first packet arrives."""
        layers = self.layers
        while len(layers) <= index:
            layers.append(VideoLayer(len(layers)))
        return layers[index]

    def active_layers(self, now: float | None = None) -> list[VideoLayer]:
        """The layers the publisher sends now, lowest first (a lone layer counts even while idle: a still screen)."""
        layers = [layer for layer in self.layers if layer.ssrc is not None]
        if len(layers) <= 1:
            return layers
        now = time.monotonic() if now is None else now
        return [layer for layer in layers if now - layer.last_frame_at < LAYER_IDLE_S]

    def sample_rates(self, now: float) -> None:
        """Bring the layers' bit rates up to date (at most every RATE_SAMPLE_S; called by allocations)."""
        elapsed = now - self._rates_sampled_at
        if elapsed < RATE_SAMPLE_S:
            return
        self._rates_sampled_at = now
        for layer in self.layers:
            layer.sample_rates(elapsed)

    def bind_pli_sender(self, send_pli: Callable[[int], Awaitable[None]]) -> None:
        """Give the track the publisher receiver's way of sending a PLI."""
        self._send_pli = send_pli

    def set_forwarding(self, enabled: bool) -> None:
        """
        Forward this track or hold it back (muted, camera off, or stopped by a moderator).

        The server enforces it: a client that keeps sending is not heard. Video
        resumes at a keyframe.
        """
        if enabled and not self.forwarding:
            for subscriber in self.subscribers:
                subscriber.await_keyframe()
            if self.recorder is not None:
                self.recorder.resume()
        self.forwarding = enabled

    def on_frame(self, tapped: TappedFrame) -> None:
        if not self.forwarding:
            return
        ntp = ntp_now()
        if self._is_video:
            self.layer(tapped.layer).count(tapped.info, tapped.size, time.monotonic())
        frame = EncodedFrame(
            tapped.payloads,
            tapped.timestamp,
            tapped.is_keyframe,
            ntp,
            tapped.audio_level,
            tapped.layer,
            tapped.generation,
            tapped.info,
        )
        self.frames_received += 1
        for subscriber in self.subscribers:
            subscriber.push(frame)
        recorder = self.recorder
        if recorder is not None:
            recorder.on_frame(tapped)

    def observe_audio_level(self, dbov: int) -> None:
        """One packet's level (-dBov, 0 loudest): speaker detection reads ``loudness``, no decoding needed."""
        self.loudness += LEVEL_SMOOTHING * ((SILENCE_DBOV - dbov) - self.loudness)

    def on_new_stream(self, layer: VideoLayer) -> None:
        """A layer moved to a new SSRC (a restarted track): its subscribers start again from a keyframe."""
        for subscriber in self.subscribers:
            subscriber.on_new_stream(layer.index)
        self._last_keyframe_request.pop(layer.index, None)
        self.request_keyframe(layer.index)

    def on_upstream_loss(self, layer: VideoLayer) -> None:
        """
        A frame of ``layer`` was lost before it reached us and will not be repaired.

        Subscribers' sequence numbers run on without a gap (each sender numbers its own
        packets), so their decoders would reference a frame they never got: those on this layer
        wait for the keyframe asked for here.
        """
        for subscriber in self.subscribers:
            subscriber.on_upstream_loss(layer.index)
        if self.recorder is not None:
            self.recorder.on_upstream_loss(layer.index)
        self.request_keyframe(layer.index)

    def request_keyframe(self, layer_index: int = 0) -> None:
        """Ask the publisher for a keyframe of one layer, at most once per KEYFRAME_DEBOUNCE_S per layer."""
        if not self._is_video or self._send_pli is None or layer_index >= len(self.layers):
            return
        ssrc = self.layers[layer_index].ssrc
        if ssrc is None:
            return
        now = time.monotonic()
        if now - self._last_keyframe_request.get(layer_index, -KEYFRAME_DEBOUNCE_S) < KEYFRAME_DEBOUNCE_S:
            return
        pending = self._pending_pli.get(layer_index)
        if pending is not None and not pending.done():
            return
        self._last_keyframe_request[layer_index] = now
        self.keyframe_requests += 1
        self._pending_pli[layer_index] = asyncio.ensure_future(self._send_pli(ssrc))

    def close(self) -> None:
        for subscriber in list(self.subscribers):
            subscriber.detach()
        for pending in self._pending_pli.values():
            pending.cancel()
        self._send_pli = None
