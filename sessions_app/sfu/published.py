"""A publisher's track: fans each encoded frame out to its subscribers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from .frames import EncodedFrame, ntp_now

if TYPE_CHECKING:
    from .forwarding import ForwardingTrack
    from .frames import TappedFrame

KEYFRAME_DEBOUNCE_S = 0.3
# What a participant can publish, and the media kind of each.
SOURCE_KINDS = {"audio": "audio", "video": "video", "screen": "video"}
SILENCE_DBOV = 127
LEVEL_SMOOTHING = 0.25
# Where a publisher's new video stream continues its old one's timeline: one 30 fps frame later.
STREAM_GAP_TICKS = 3000


class PublishedTrack:
    """
    One kind of media a participant sends, as the SFU sees it.

    ``on_frame`` is called by the receiver tap for every complete encoded
    frame; it builds one ``EncodedFrame`` and pushes it to every subscriber.
    Keyframe requests from subscribers are debounced into one RTCP PLI to the
    publisher.
    """

    def __init__(self, kind: str, participant_id: str, source: str | None = None) -> None:
        self.kind = kind
        self.participant_id = participant_id
        self.source = source or kind
        # Loudness from the audio-level header extension (RFC 6464): 0 silent .. 127 loudest, smoothed.
        self.loudness = 0.0
        self.subscribers: list[ForwardingTrack] = []
        self.media_ssrc: int | None = None
        self.frames_received = 0
        self.forwarding = True
        self._is_video = kind == "video"
        self._send_pli: Callable[[int], Awaitable[None]] | None = None
        self._last_keyframe_request = -KEYFRAME_DEBOUNCE_S
        self._pending_pli: asyncio.Task[None] | None = None
        # Subscribers see one continuous timeline across the publisher's streams (a new SSRC restarts
        # its RTP clock): frames are shifted by the offset set when a new stream starts.
        self._pts_offset = 0
        self._last_pts = 0
        self._rebase_pts = False

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
        self.forwarding = enabled

    def on_frame(self, tapped: TappedFrame) -> None:
        if not self.forwarding:
            return
        if self._rebase_pts:
            self._rebase_pts = False
            self._pts_offset = self._last_pts + STREAM_GAP_TICKS - tapped.timestamp
        pts = self._last_pts = tapped.timestamp + self._pts_offset
        frame = EncodedFrame(tapped.payloads, pts, tapped.is_keyframe, ntp_now(), tapped.audio_level)
        self.frames_received += 1
        for subscriber in self.subscribers:
            subscriber.push(frame)

    def observe_audio_level(self, dbov: int) -> None:
        """One packet's level (-dBov, 0 loudest): speaker detection reads ``loudness``, no decoding needed."""
        self.loudness += LEVEL_SMOOTHING * ((SILENCE_DBOV - dbov) - self.loudness)

    def on_new_stream(self, ssrc: int) -> None:
        """The publisher sends a new SSRC (first packet, or a restarted track): start from a keyframe."""
        known = self.media_ssrc is not None
        self.media_ssrc = ssrc
        if known:
            self._rebase_pts = self.frames_received > 0
            for subscriber in self.subscribers:
                subscriber.await_keyframe()
            self._last_keyframe_request = -KEYFRAME_DEBOUNCE_S
            self.request_keyframe()

    def on_upstream_loss(self) -> None:
        """
        Frames were lost before they reached us and will not be repaired.

        Subscribers' sequence numbers run on without a gap (each sender numbers its own
        packets), so their decoders would reference a frame they never got: they all wait
        for the keyframe the receiver is about to ask for.
        """
        for subscriber in self.subscribers:
            subscriber.await_keyframe()
        self._last_keyframe_request = time.monotonic()

    def request_keyframe(self) -> None:
        """Ask the publisher for a keyframe, at most once per KEYFRAME_DEBOUNCE_S."""
        if not self._is_video or self._send_pli is None or self.media_ssrc is None:
            return
        now = time.monotonic()
        if now - self._last_keyframe_request < KEYFRAME_DEBOUNCE_S:
            return
        if self._pending_pli is not None and not self._pending_pli.done():
            return
        self._last_keyframe_request = now
        self._pending_pli = asyncio.ensure_future(self._send_pli(self.media_ssrc))

    def close(self) -> None:
        for subscriber in list(self.subscribers):
            subscriber.detach()
        if self._pending_pli is not None:
            self._pending_pli.cancel()
        self._send_pli = None
