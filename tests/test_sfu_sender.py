"""The packet forwarder: what a subscriber's sender puts on the wire, retransmissions, a backed-up socket."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from aiortc.rtcdtlstransport import State as DtlsState
from aiortc.rtcrtpparameters import (
    RTCRtcpParameters,
    RTCRtpCodecParameters,
    RTCRtpHeaderExtensionParameters,
    RTCRtpSendParameters,
)
from aiortc.rtcrtpsender import RTCRtpSender
from aiortc.rtp import RTCP_RTPFB_NACK, HeaderExtensionsMap, RtcpRtpfbPacket, RtpPacket

from sessions_app.sfu.forwarding import ForwardingTrack
from sessions_app.sfu.frames import TappedFrame
from sessions_app.sfu.published import PublishedTrack
from sessions_app.sfu.sender import MAX_BUFFERED_BYTES, PacketSender

BROWSER = ("127.0.0.1", 50_000)
VP8 = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=96)
RTX = RTCRtpCodecParameters(mimeType="video/rtx", clockRate=90000, payloadType=97, parameters={"apt": 96})
EXTENSIONS = [
    RTCRtpHeaderExtensionParameters(id=1, uri="urn:ietf:params:rtp-hdrext:sdes:mid"),
    RTCRtpHeaderExtensionParameters(id=2, uri="http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"),
]


class DatagramTransport:
    """The selected ICE pair's socket: records what is sent, and can report a backlog."""

    def __init__(self) -> None:
        self.sent: list[tuple[bytes, tuple[str, int]]] = []
        self.backlog = 0

    def get_write_buffer_size(self) -> int:
        return self.backlog

    def sendto(self, data: bytes, address: tuple[str, int]) -> None:
        self.sent.append((data, address))


def connected_dtls(socket: DatagramTransport) -> Any:
    """A DTLS transport that is up, with SRTP as the identity (the bytes stay readable)."""
    pair = SimpleNamespace(protocol=SimpleNamespace(transport=socket), remote_addr=BROWSER)

    async def send_rtp(data: bytes) -> None:
        socket.sent.append((data, BROWSER))

    return SimpleNamespace(
        state="connected",
        _state=DtlsState.CONNECTED,
        _tx_srtp=SimpleNamespace(protect=lambda data: data),
        transport=SimpleNamespace(_connection=SimpleNamespace(_nominated={1: pair})),
        _register_rtp_sender=lambda sender, parameters: None,
        _unregister_rtp_sender=lambda sender: None,
        _send_rtp=send_rtp,
        _stats_id="transport",
        _get_stats=lambda: {},
    )


def parsed(socket: DatagramTransport) -> list[RtpPacket]:
    extensions = HeaderExtensionsMap()
    extensions.configure(RTCRtpSendParameters(headerExtensions=EXTENSIONS))
    return [RtpPacket.parse(data, extensions) for data, _ in socket.sent if data[1] & 0x7F in (96, 97)]


async def started_subscription() -> tuple[RTCRtpSender, ForwardingTrack, PublishedTrack, DatagramTransport]:
    """A subscription's sender as aiortc starts it once the connection is up, forwarding a publisher."""
    socket = DatagramTransport()
    published = PublishedTrack("video", "pub")
    track = ForwardingTrack("video")
    track.attach(published)
    sender = RTCRtpSender(track, connected_dtls(socket))
    PacketSender(sender, track)
    await sender.send(
        RTCRtpSendParameters(
            codecs=[VP8, RTX], headerExtensions=EXTENSIONS, muxId="1", rtcp=RTCRtcpParameters(cname="sfu")
        )
    )
    for _ in range(100):
        if track.started:
            break
        await asyncio.sleep(0.01)
    assert track.started, "aiortc's send() starts the forwarder's loop"
    return sender, track, published, socket


def vp8_frame(timestamp: int, keyframe: bool, packets: int = 3) -> TappedFrame:
    payloads = [bytes([0x90 if i == 0 else 0x80, 0x80, timestamp & 0xFF, i]) + b"x" * 100 for i in range(packets)]
    return TappedFrame(payloads, timestamp, is_keyframe=keyframe)


async def test_payloads_go_out_as_they_came_under_the_subscribers_header() -> None:
    sender, track, published, socket = await started_subscription()
    try:
        key, delta = vp8_frame(0, keyframe=True), vp8_frame(3000, keyframe=False, packets=2)
        published.on_frame(key)
        published.on_frame(delta)
        packets = parsed(socket)
        assert [p.payload for p in packets] == [*key.payloads, *delta.payloads]
        assert all(p.payload_type == 96 and p.ssrc == sender._ssrc for p in packets)
        assert all(address == BROWSER for _, address in socket.sent)
        sequence = packets[0].sequence_number
        assert [p.sequence_number for p in packets] == [(sequence + i) & 0xFFFF for i in range(5)]
        assert [p.marker for p in packets] == [0, 0, 1, 0, 1], "the marker bit ends each frame"
        assert {p.timestamp for p in packets[:3]} == {packets[0].timestamp}
        assert (packets[3].timestamp - packets[0].timestamp) & 0xFFFFFFFF == 3000
        assert all(p.extensions.mid == "1" and p.extensions.abs_send_time is not None for p in packets)
        stats = await sender.getStats()
        outbound = next(s for s in stats.values() if s.type == "outbound-rtp")
        assert outbound.packetsSent == 5, "RTCP sender reports count what was forwarded"
        assert outbound.bytesSent == sum(len(p) for p in [*key.payloads, *delta.payloads])
    finally:
        await sender.stop()
    assert not track.started and track.readyState == "ended"


async def test_a_reported_loss_is_resent_as_rtx() -> None:
    sender, _, published, socket = await started_subscription()
    try:
        frame = vp8_frame(0, keyframe=True)
        published.on_frame(frame)
        lost = parsed(socket)[1]
        socket.sent.clear()
        nack = RtcpRtpfbPacket(fmt=RTCP_RTPFB_NACK, ssrc=1, media_ssrc=sender._ssrc)
        nack.lost = [lost.sequence_number, (lost.sequence_number + 500) & 0xFFFF]  # the second was never sent
        await sender._handle_rtcp_packet(nack)
        [rtx] = parsed(socket)
        assert rtx.payload_type == 97 and rtx.ssrc == sender._rtx_ssrc
        assert rtx.payload == lost.sequence_number.to_bytes(2, "big") + frame.payloads[1]
        assert rtx.timestamp == lost.timestamp
    finally:
        await sender.stop()


async def test_a_backed_up_subscriber_skips_to_the_next_keyframe() -> None:
    sender, track, published, socket = await started_subscription()
    try:
        published.on_frame(vp8_frame(0, keyframe=True))
        socket.backlog = MAX_BUFFERED_BYTES + 1
        published.on_frame(vp8_frame(3000, keyframe=False))
        socket.backlog = 0
        published.on_frame(vp8_frame(6000, keyframe=False))
        assert len(parsed(socket)) == 3, "nothing after the refused frame until a keyframe"
        published.on_frame(vp8_frame(9000, keyframe=True))
        packets = parsed(socket)
        assert len(packets) == 6 and (packets[3].timestamp - packets[0].timestamp) & 0xFFFFFFFF == 9000
        assert track.frames_forwarded == 2
    finally:
        await sender.stop()


async def test_a_disabled_sender_sends_nothing() -> None:
    """An inactive transceiver (its publisher left; kept for reuse) puts nothing on the wire."""
    sender, _, published, socket = await started_subscription()
    try:
        sender._enabled = False
        published.on_frame(vp8_frame(0, keyframe=True))
        assert socket.sent == []
    finally:
        await sender.stop()


async def test_with_transport_feedback_every_packet_carries_a_transport_wide_sequence_number() -> None:
    """Media and padding probes alike, numbered across the connection, with what was sent when recorded."""
    from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters

    from sessions_app.sfu.twcc import TRANSPORT_CC_ID, TRANSPORT_CC_URI, SentPackets

    sender, _, published, socket = await started_subscription()
    sent = SentPackets()
    sent.next_sequence = 65534
    packet_sender = sender._run_rtp.__self__  # the PacketSender that took the sender over
    packet_sender.use_transport_cc(sent)
    try:
        published.on_frame(vp8_frame(0, keyframe=True, packets=2))
        assert packet_sender.send_padding(2) == 2 * 255
        extensions = HeaderExtensionsMap()
        extensions.configure(
            RTCRtpSendParameters(
                headerExtensions=[
                    *EXTENSIONS,
                    RTCRtpHeaderExtensionParameters(id=TRANSPORT_CC_ID, uri=TRANSPORT_CC_URI),
                ]
            )
        )
        packets = [RtpPacket.parse(data, extensions) for data, _ in socket.sent if data[1] & 0x7F in (96, 97)]
        assert [p.extensions.transport_sequence_number for p in packets] == [65534, 65535, 0, 1]
        assert [p.extensions.mid for p in packets] == ["1"] * 4
        assert [p.payload_type for p in packets] == [96, 96, 97, 97], "padding goes on the RTX stream"
        assert sent.next_sequence == 2 and sent.sizes[65534] == len(socket.sent[0][0])
    finally:
        await sender.stop()
