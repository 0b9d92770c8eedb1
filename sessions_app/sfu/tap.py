"""Taps a receiver's encoded frames before aiortc would decode them."""

from __future__ import annotations

from typing import Any

from aiortc.jitterbuffer import JitterBuffer, JitterFrame
from aiortc.rtcrtpparameters import RTCRtpReceiveParameters
from aiortc.rtcrtpreceiver import RTCRtpReceiver
from aiortc.rtp import RtpPacket

from .published import PublishedTrack

AUDIO_JITTER_CAPACITY = 16


VIDEO_JITTER_CAPACITY = 512


class SourceTrackingJitterBuffer(JitterBuffer):
    """
    aiortc's video jitter buffer, also following the SSRC the publisher really sends.

    The SSRC in the SDP can go stale: a browser that stops and restarts a screen share,
    or replaces its track, may send a new one. Keyframe requests must name the live SSRC,
    and a new stream means every subscriber starts again from a keyframe.
    """

    def __init__(self, published: PublishedTrack) -> None:
        super().__init__(capacity=VIDEO_JITTER_CAPACITY, is_video=True)
        self._published = published

    def add(self, packet: RtpPacket) -> tuple[bool, JitterFrame | None]:
        if packet.ssrc != self._published.media_ssrc:
            self._published.on_new_stream(packet.ssrc)
        return super().add(packet)


class LevelMeteringJitterBuffer(JitterBuffer):
    """The audio jitter buffer, also reading each packet's audio-level header extension."""

    def __init__(self, published: PublishedTrack) -> None:
        super().__init__(capacity=AUDIO_JITTER_CAPACITY, prefetch=0)
        self._observe = published.observe_audio_level

    def add(self, packet: RtpPacket) -> tuple[bool, JitterFrame | None]:
        level = packet.extensions.audio_level
        if level is not None:
            self._observe(level[1])
        return super().add(packet)


class DecoderQueueTap:
    """
    Stands in for the receiver's private decoder queue (``queue.Queue``).

    aiortc puts ``(codec, encoded_frame)`` on it for every complete frame:
    we hand the frame to the published track instead. aiortc's decoder
    thread reads it with ``get()``; returning None at once ends that thread
    before it creates a decoder, so nothing is ever decoded.
    """

    __slots__ = ("_on_frame",)

    def __init__(self, published: PublishedTrack) -> None:
        self._on_frame = published.on_frame

    def put(self, item: Any) -> None:
        if item is not None:
            self._on_frame(item[1])

    def get(self) -> None:
        return None


def tap_receiver(receiver: RTCRtpReceiver, published: PublishedTrack) -> None:
    """
    Route ``receiver``'s encoded frames to ``published``; call before it starts.

    Also learns the publisher's SSRC when the receiver starts (for keyframe
    requests) and tells ``published`` when aiortc gives up on lost packets.
    Audio gets a jitter buffer that releases each packet as soon as the next
    one arrives (we forward, we do not play out) and meters its level.
    """
    receiver._RTCRtpReceiver__decoder_queue = DecoderQueueTap(published)  # type: ignore[attr-defined]
    if published.kind == "audio":
        receiver._RTCRtpReceiver__jitter_buffer = LevelMeteringJitterBuffer(published)  # type: ignore[attr-defined]
    else:
        receiver._RTCRtpReceiver__jitter_buffer = SourceTrackingJitterBuffer(published)  # type: ignore[attr-defined]

    send_pli = receiver._send_rtcp_pli
    start_receiving = receiver.receive

    async def send_pli_after_loss(media_ssrc: int) -> None:
        published.media_ssrc = media_ssrc
        published.on_upstream_loss()
        await send_pli(media_ssrc)

    async def receive(parameters: RTCRtpReceiveParameters) -> None:
        if parameters.encodings:
            published.media_ssrc = parameters.encodings[0].ssrc
        await start_receiving(parameters)

    receiver._send_rtcp_pli = send_pli_after_loss  # type: ignore[method-assign]
    receiver.receive = receive  # type: ignore[method-assign]
    published.bind_pli_sender(send_pli)
