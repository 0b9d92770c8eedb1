"""Taps a receiver's encoded frames before aiortc would decode them (video: see ``receive.py``)."""

from __future__ import annotations

from typing import Any

from aiortc.rtcrtpparameters import RTCRtpReceiveParameters
from aiortc.rtcrtpreceiver import RTCRtpReceiver
from aiortc.rtp import RtpPacket

from .compat import (
    JitterBuffer,
    pli_sender,
    replace_decoder_queue,
    replace_jitter_buffer,
    replace_rtp_handler,
    rtx_ssrc_table,
)
from .frames import TappedFrame
from .published import PublishedTrack
from .receive import VideoReceivePath


class ImmediateAudioBuffer(JitterBuffer):
    """
    Audio without buffering: every Opus packet is a whole frame, forwarded the moment it arrives.

    aiortc's buffer holds each packet until the next one shows it is complete (20 ms more
    latency) and a lost packet holds everything behind it until 16 have piled up (a
    320 ms gap). The subscriber's browser has its own jitter buffer that conceals loss.
    Packets older than the newest forwarded one (late or duplicated) are dropped. It also
    reads each packet's audio-level header extension, for speaker detection, and passes it
    on to subscribers.
    """

    def __init__(self, published: PublishedTrack) -> None:
        super().__init__(capacity=2)
        self._observe = published.observe_audio_level
        self._newest: int | None = None

    # aiortc types a jitter buffer's frames as JitterFrame; this one makes TappedFrames.
    def add(self, packet: RtpPacket) -> tuple[bool, TappedFrame | None]:  # type: ignore[override]
        level = packet.extensions.audio_level
        if level is not None:
            self._observe(level[1])
        sequence = packet.sequence_number
        newest = self._newest
        if newest is not None and not 0 < (sequence - newest) & 0xFFFF < 0x8000:
            return False, None
        self._newest = sequence
        return False, TappedFrame((packet.payload,), packet.timestamp, audio_level=level)


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

    Video goes through our own receive path (``receive.VideoReceivePath``: simulcast layers,
    repair and frame assembly per layer). Audio is forwarded packet by packet, unbuffered (we
    forward, we do not play out), its level metered. Both follow the retransmission (RTX)
    SSRCs each new answer declares.
    """
    replace_decoder_queue(receiver, DecoderQueueTap(published))
    if published.kind == "video":
        replace_rtp_handler(receiver, VideoReceivePath(receiver, published).handle)
    else:
        replace_jitter_buffer(receiver, ImmediateAudioBuffer(published))

    start_receiving = receiver.receive
    rtx_ssrcs = rtx_ssrc_table(receiver)

    async def receive(parameters: RTCRtpReceiveParameters) -> None:
        # aiortc calls this after every negotiation but reads the parameters only the first time:
        # a restarted screen share's new retransmission SSRC would go unrecognised, and its losses unrepaired.
        for encoding in parameters.encodings:
            if encoding.rtx is not None:
                rtx_ssrcs[encoding.rtx.ssrc] = encoding.ssrc
        await start_receiving(parameters)

    receiver.receive = receive  # type: ignore[method-assign]
    published.bind_pli_sender(pli_sender(receiver))
