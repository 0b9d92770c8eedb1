"""
Sends a publisher's RTP payloads to one subscriber: a new header, SRTP, one ``sendto`` a packet.

This is what makes the SFU a forwarder at the packet level, as LiveKit and mediasoup are.
aiortc's own sender takes a frame, packetizes it again (a new VP8 payload descriptor per
packet), builds an ``RtpPacket`` object per packet, reads the clock through ``datetime`` per
packet and goes through five awaits to reach the socket, in a task per subscriber woken once
a frame. py-spy put about 190 microseconds of server CPU on each forwarded packet that way.
Here the publisher's payloads go out as they came in (descriptor, picture ID and all): the
publisher's receiving task writes each subscriber's packets directly, synchronously.
"""

from __future__ import annotations

import asyncio
import struct
import time
from typing import TYPE_CHECKING, Any

from aiortc.rtcrtpsender import RTCRtpSender, random_sequence_number
from aiortc.rtp import (
    RTCP_PSFB_APP,
    RTP_HISTORY_SIZE,
    HeaderExtensions,
    RtcpPsfbPacket,
    RtcpRrPacket,
    RtcpSrPacket,
    RtpPacket,
    unpack_remb_fci,
    wrap_rtx,
)
from aiortc.utils import random32

from .compat import (
    Route,
    mark_rtp_exited,
    mark_rtp_started,
    negotiated_sending,
    observe_sender_rtcp,
    record_sent,
    selected_route,
    sender_enabled,
    sender_ssrcs,
    take_over_sender,
)
from .frames import ntp_now
from .twcc import TRANSPORT_CC_ID, SentPackets

if TYPE_CHECKING:
    from aiortc.rtcrtpparameters import RTCRtpCodecParameters

    from .bandwidth import DownlinkFeedback
    from .forwarding import ForwardingTrack
    from .frames import EncodedFrame
    from .vp8 import Vp8Rewriter

# Version 2, no padding, no CSRC; the X bit is set when there are header extensions.
RTP_HEADER = struct.Struct("!BBHII")
EXTENSION_HEADER = struct.Struct("!HH")
RTP_VERSION_BITS = 0x80
EXTENSION_BIT = 0x10
MARKER_BIT = 0x80
# A subscriber whose socket has this much queued in user space (the kernel's send buffer is
# full) has fallen behind: its frames are dropped until the next keyframe.
MAX_BUFFERED_BYTES = 512 * 1024
PADDING_BIT = 0x20
MAX_PADDING_BYTES = 255
ONE_BYTE_PROFILE = 0xBEDE
# The transport-wide sequence number element: ID, length 2 (written as 1), then padding to 32 bits.
TRANSPORT_CC_ELEMENT = TRANSPORT_CC_ID << 4 | 0x1


def numbered(head: bytes, body: bytes, sent_packets: SentPackets | None, now: float) -> bytes:
    """
    A packet from its ``head`` (RTP header and extension block) and ``body``: with transport-wide
    feedback, the head's block ends with room for this packet's transport-wide sequence number,
    written here, and the packet is recorded as sent ``now``.
    """
    if sent_packets is None:
        return head + body
    wide = sent_packets.next_sequence
    packet = head + bytes((TRANSPORT_CC_ELEMENT, wide >> 8, wide & 0xFF, 0)) + body
    sent_packets.stamp(now, len(packet))
    return packet


class PacketSender:
    """
    Takes over one subscription's ``RTCRtpSender``: aiortc keeps negotiating it, sending its
    RTCP (sender reports read the counters kept here) and handling the subscriber's feedback;
    RTP goes out through ``send()``.

    aiortc starts the sender's RTP loop once the connection is up; our loop only tells the
    track it may forward (``ForwardingTrack.start``) and waits to be cancelled. Retransmission
    requests (NACK) are answered from the last ``RTP_HISTORY_SIZE`` packets, as RTX when the
    subscriber negotiated it. The subscriber's bandwidth feedback (REMB, receiver reports' loss)
    goes to ``feedback``; ``send_padding`` probes its link on the RTX stream.
    """

    __slots__ = (
        "_extensions_map",
        "_feedback",
        "_history",
        "_last_timestamp",
        "_mid",
        "_payload_type",
        "_rtx_payload_type",
        "_rtx_sequence",
        "_rtx_ssrc",
        "_sender",
        "_sent_packets",
        "_sequence",
        "_ssrc",
        "_timestamp_origin",
        "_track",
        "nacks",
        "octets_sent",
        "packets_sent",
    )

    def __init__(self, sender: RTCRtpSender, track: ForwardingTrack, feedback: DownlinkFeedback | None = None) -> None:
        self._sender = sender
        self._track = track
        self._feedback = feedback
        self._sent_packets: SentPackets | None = None
        self._last_timestamp = 0
        self._history: list[bytes | None] = [None] * RTP_HISTORY_SIZE
        self._sequence = random_sequence_number()
        self._rtx_sequence = random_sequence_number()
        self._timestamp_origin = random32()
        self._payload_type = 0
        self._rtx_payload_type: int | None = None
        self._mid: str | None = None
        self._extensions_map: Any = None
        self.packets_sent = 0
        self.octets_sent = 0
        self.nacks = 0
        self._ssrc, self._rtx_ssrc = sender_ssrcs(sender)
        take_over_sender(sender, self._run_rtp, self._retransmit, track.request_keyframe)
        if feedback is not None:
            observe_sender_rtcp(sender, self._observe_rtcp)

    def _observe_rtcp(self, packet: Any) -> None:
        """Hand the subscriber's bandwidth estimate (REMB) and this stream's loss (receiver reports) on."""
        feedback = self._feedback
        if feedback is None:
            return
        if isinstance(packet, RtcpPsfbPacket) and packet.fmt == RTCP_PSFB_APP:
            try:
                bitrate, _ = unpack_remb_fci(packet.fci)
            except ValueError:
                return
            feedback.on_remb(bitrate)
        elif isinstance(packet, (RtcpRrPacket, RtcpSrPacket)):
            ssrc = self._ssrc
            for report in packet.reports:
                if report.ssrc == ssrc:
                    feedback.on_loss(report.fraction_lost / 256)

    async def _run_rtp(self, codec: RTCRtpCodecParameters) -> None:
        """Stands in for ``RTCRtpSender._run_rtp``: called once, when the connection is up."""
        sender = self._sender
        assert codec.payloadType is not None, "a negotiated codec has its payload type"
        self._payload_type = codec.payloadType
        self._mid, self._rtx_payload_type, self._extensions_map = negotiated_sending(sender)
        mark_rtp_started(sender)
        self._track.start(self)
        try:
            await asyncio.get_running_loop().create_future()
        except asyncio.CancelledError:
            pass
        finally:
            self._track.stop()
            mark_rtp_exited(sender)

    def use_transport_cc(self, sent_packets: SentPackets) -> None:
        """The subscriber reports arrivals (transport-wide feedback): number every packet in ``sent_packets``."""
        self._sent_packets = sent_packets

    def send(self, frame: EncodedFrame, pts: int, rewriter: Vp8Rewriter | None = None) -> bool:
        """
        Send one frame's packets now, stamped ``pts`` (on the subscriber's timeline), each payload
        through ``rewriter`` (VP8 picture IDs) if given. False when the subscriber has fallen behind
        (its socket is backed up) and the frame was not sent: the track then waits for a keyframe.
        """
        sender = self._sender
        if not sender_enabled(sender):
            return True
        route = self._route()
        if route is None:
            return True
        transport, address, protect = route
        if transport.get_write_buffer_size() > MAX_BUFFERED_BYTES:
            return False
        ntp = frame.ntp
        sent_packets = self._sent_packets
        extensions, now = self._extension_block(ntp, frame.audio_level)
        first_byte = RTP_VERSION_BITS | EXTENSION_BIT if extensions else RTP_VERSION_BITS
        payload_type = self._payload_type
        timestamp = self._last_timestamp = (self._timestamp_origin + pts) & 0xFFFFFFFF
        ssrc = self._ssrc
        history = self._history
        sequence = self._sequence
        payloads = frame.payloads
        last = len(payloads) - 1
        octets = 0
        for index, payload in enumerate(payloads):
            if rewriter is not None:
                payload = rewriter.rewrite(payload)
            second_byte = payload_type | MARKER_BIT if index == last else payload_type
            head = RTP_HEADER.pack(first_byte, second_byte, sequence, timestamp, ssrc) + extensions
            packet = numbered(head, payload, sent_packets, now)
            history[sequence % RTP_HISTORY_SIZE] = packet
            transport.sendto(protect(packet), address)
            sequence = (sequence + 1) & 0xFFFF
            octets += len(payload)
        self._sequence = sequence
        self.packets_sent += last + 1
        self.octets_sent += octets
        # What aiortc's RTCP loop reports in its sender reports (lip sync, the subscriber's stats).
        record_sent(sender, ntp, timestamp, last + 1, octets)
        return True

    def forget_history(self) -> None:
        """Resend nothing sent so far (what it carried is being replaced: retransmissions would only fill the link)."""
        history = self._history
        for index in range(len(history)):
            history[index] = None

    def send_padding(self, count: int) -> int:
        """
        Send ``count`` padding-only packets of MAX_PADDING_BYTES on the RTX stream: a probe of the
        subscriber's link (its browser counts them towards its bandwidth estimate and drops them).
        Returns the bytes sent (0 without RTX or a connection).
        """
        sender = self._sender
        rtx_payload_type = self._rtx_payload_type
        route = self._route()
        if rtx_payload_type is None or route is None or not sender_enabled(sender):
            return 0
        transport, address, protect = route
        if transport.get_write_buffer_size() > MAX_BUFFERED_BYTES:
            return 0
        sent_packets = self._sent_packets
        extensions, now = self._extension_block(ntp_now(), None)
        first_byte = RTP_VERSION_BITS | PADDING_BIT | (EXTENSION_BIT if extensions else 0)
        padding = bytes(MAX_PADDING_BYTES - 1) + bytes((MAX_PADDING_BYTES,))
        ssrc = self._rtx_ssrc
        timestamp = self._last_timestamp
        sequence = self._rtx_sequence
        for _ in range(count):
            head = RTP_HEADER.pack(first_byte, rtx_payload_type, sequence, timestamp, ssrc) + extensions
            packet = numbered(head, padding, sent_packets, now)
            transport.sendto(protect(packet), address)
            sequence = (sequence + 1) & 0xFFFF
        self._rtx_sequence = sequence
        return count * MAX_PADDING_BYTES

    def _route(self) -> Route | None:
        """Where this subscriber's packets go, while its connection is up (``compat.selected_route``)."""
        dtls = self._sender.transport
        return None if dtls is None else selected_route(dtls)

    def _extension_block(self, ntp: int, audio_level: tuple[bool, int] | None) -> tuple[bytes, float]:
        """
        The header extension block of one frame's packets (MID, abs-send-time, audio level), with its
        header, and when they go. With transport-wide feedback the block ends with 4 bytes of room
        that ``numbered`` fills with each packet's transport-wide sequence number.
        """
        extensions = HeaderExtensions()
        extensions.mid = self._mid
        extensions.abs_send_time = (ntp >> 14) & 0x00FFFFFF
        extensions.audio_level = audio_level
        profile, value = self._extensions_map.set(extensions)
        if self._sent_packets is not None:
            return EXTENSION_HEADER.pack(ONE_BYTE_PROFILE, (len(value) >> 2) + 1) + value, time.monotonic()
        if not value:
            return b"", 0.0
        return EXTENSION_HEADER.pack(profile, len(value) >> 2) + value, 0.0

    async def _retransmit(self, sequence_number: int) -> None:
        """Stands in for ``RTCRtpSender._retransmit``: resend a packet the subscriber reported lost."""
        self.nacks += 1
        data = self._history[sequence_number % RTP_HISTORY_SIZE]
        if data is None or int.from_bytes(data[2:4], "big") != sequence_number:
            return
        route = self._route()
        if route is None:
            return
        transport, address, protect = route
        if self._rtx_payload_type is not None:
            packet = wrap_rtx(
                RtpPacket.parse(data, self._extensions_map),
                payload_type=self._rtx_payload_type,
                sequence_number=self._rtx_sequence,
                ssrc=self._rtx_ssrc,
            )
            self._rtx_sequence = (self._rtx_sequence + 1) & 0xFFFF
            data = packet.serialize(self._extensions_map)
        transport.sendto(protect(data), address)
