"""
One publisher's video path through the SFU, in process: its receiver, and N subscriptions whose
packets go out through real SRTP sessions and UDP sockets (to a loopback port nobody reads).

Only the aiortc objects around the SFU's own classes are stand-ins: the publisher's
``RTCRtpReceiver`` (codecs, statistics, a real REMB estimator, RTCP counted) and each
subscription's ``RTCRtpSender`` with its DTLS transport and selected ICE pair, which is what
``PacketSender`` reads (see sfu/compat.py for the private names). ``VideoReceivePath``,
``PublishedTrack``, ``ForwardingTrack``, ``Vp8Rewriter`` and ``PacketSender`` are the product's.
"""

from __future__ import annotations

import asyncio
import socket
from types import SimpleNamespace
from typing import Any

from aiortc.rtcdtlstransport import State as DtlsState
from aiortc.rtcrtpparameters import RTCRtpCodecParameters, RTCRtpParameters
from aiortc.rtp import HeaderExtensionsMap, RtpPacket
from aiortc.utils import random32

from sessions_app.sfu.forwarding import ForwardingTrack
from sessions_app.sfu.published import PublishedTrack
from sessions_app.sfu.receive import VideoReceivePath
from sessions_app.sfu.sender import PacketSender

from .channel import LOOPBACK
from .simulcast_media import FPS, HEADER_EXTENSIONS, VP8_PAYLOAD_TYPE, extensions_map, srtp_session

VP8 = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90_000, payloadType=VP8_PAYLOAD_TYPE)
VP8_RTX = RTCRtpCodecParameters(
    mimeType="video/rtx", clockRate=90_000, payloadType=97, parameters={"apt": VP8_PAYLOAD_TYPE}
)
ALL_TEMPORAL = 2
SUBSCRIBER_MID = "1"


class PublisherReceiver:
    """The parts of the publisher's ``RTCRtpReceiver`` that ``VideoReceivePath`` reads; RTCP is counted, not sent."""

    def __init__(self) -> None:
        self._enabled = True
        self._RTCRtpReceiver__codecs = {VP8.payloadType: VP8, VP8_RTX.payloadType: VP8_RTX}
        self._RTCRtpReceiver__remote_streams: dict[int, Any] = {}
        self._RTCRtpReceiver__rtx_ssrc: dict[int, int] = {}
        self._RTCRtpReceiver__remote_bitrate_estimator = None
        self._RTCRtpReceiver__rtcp_ssrc = random32()
        self.rtcp_packets = 0
        self.nacks = 0
        self.plis = 0

    async def _send_rtcp(self, packet: Any) -> None:
        self.rtcp_packets += 1

    async def _send_rtcp_nack(self, media_ssrc: int, lost: list[int]) -> None:
        self.nacks += 1

    async def _send_rtcp_pli(self, media_ssrc: int) -> None:
        self.plis += 1


class SubscriberSender:
    """
    The parts of a subscription's ``RTCRtpSender`` that ``PacketSender`` reads and updates: its
    SSRCs, negotiated MID and extensions, a connected DTLS transport with an SRTP session, and the
    selected ICE pair's datagram transport and remote address.
    """

    def __init__(self, transport: asyncio.DatagramTransport, address: tuple[str, int], mapping: Any) -> None:
        self._enabled = True
        self._ssrc = random32()
        self._rtx_ssrc = random32()
        pair = SimpleNamespace(protocol=SimpleNamespace(transport=transport), remote_addr=address)
        self.transport = SimpleNamespace(
            _state=DtlsState.CONNECTED,
            _tx_srtp=srtp_session(outbound=True),
            transport=SimpleNamespace(_connection=SimpleNamespace(_nominated={1: pair})),
        )
        self._RTCRtpSender__mid = SUBSCRIBER_MID
        self._RTCRtpSender__rtx_payload_type = VP8_RTX.payloadType
        self._RTCRtpSender__rtp_header_extensions_map = mapping
        self._RTCRtpSender__rtp_started = asyncio.Event()
        self._RTCRtpSender__rtp_exited = asyncio.Event()
        self._RTCRtpSender__ntp_timestamp = 0
        self._RTCRtpSender__rtp_timestamp = 0
        self._RTCRtpSender__packet_count = 0
        self._RTCRtpSender__octet_count = 0

    async def _handle_rtcp_packet(self, packet: Any) -> None:
        return None


def temporal_target(index: int, layers: int) -> int:
    """Every fourth subscriber of a layered stream takes two temporal layers of three (15 fps)."""
    return 1 if layers > 1 and index % 4 == 3 else ALL_TEMPORAL


class Fanout:
    """One publisher's video to ``subscribers`` subscriptions, fed SRTP datagrams frame by frame."""

    def __init__(self, layers: int, switching: bool) -> None:
        self.layers = layers
        self.switching = switching
        self.published = PublishedTrack("video", "publisher")
        self.receiver = PublisherReceiver()
        self.path = VideoReceivePath(self.receiver, self.published)  # type: ignore[arg-type]
        self.published.bind_pli_sender(self.receiver._send_rtcp_pli)
        self.mapping: HeaderExtensionsMap = extensions_map()
        self.srtp = srtp_session(outbound=False)
        self.tracks: list[ForwardingTrack] = []
        self.senders: list[PacketSender] = []
        self._transports: list[asyncio.DatagramTransport] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

    @classmethod
    async def open(cls, layers: int, subscribers: int, switching: bool) -> Fanout:
        fanout = cls(layers, switching)
        sink = fanout._sink
        sink.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # nobody reads: the kernel drops what overflows
        sink.bind((LOOPBACK, 0))
        address = sink.getsockname()
        loop = asyncio.get_running_loop()
        subscription_map = HeaderExtensionsMap()  # what a subscription negotiates and PacketSender writes
        subscription_map.configure(RTCRtpParameters(headerExtensions=HEADER_EXTENSIONS[:2]))  # MID, abs-send-time
        for _ in range(subscribers):
            transport, _ = await loop.create_datagram_endpoint(asyncio.DatagramProtocol, local_addr=(LOOPBACK, 0))
            fanout._transports.append(transport)
            track = ForwardingTrack("video")
            track.attach(fanout.published)
            sender = PacketSender(SubscriberSender(transport, address, subscription_map), track)  # type: ignore[arg-type]
            fanout.tracks.append(track)
            fanout.senders.append(sender)
            fanout._tasks.append(loop.create_task(sender._run_rtp(VP8)))
        await asyncio.sleep(0)  # the senders' loops start their tracks, as aiortc does once connected
        for index, track in enumerate(fanout.tracks):
            track.set_target(index % layers, temporal_target(index, layers))
        return fanout

    async def feed(self, frames: list[list[bytes]], first_index: int, gop: int) -> None:
        """Every packet of ``frames`` (frame ``first_index`` on) as the server receives it, in order."""
        unprotect = self.srtp.unprotect
        parse = RtpPacket.parse
        handle = self.path.handle
        mapping = self.mapping
        for offset, packets in enumerate(frames):
            index = first_index + offset
            if self.switching and index and (index + 1) % gop == 0:
                self._switch((index + 1) // gop)
            arrival_ms = index * 1000 // FPS
            for data in packets:
                await handle(parse(unprotect(data), mapping), arrival_ms)

    def _switch(self, round_number: int) -> None:
        """Just before a keyframe, a third of the subscribers move up a layer (those on the top one to the bottom)."""
        for index, track in enumerate(self.tracks):
            if index % 3 == round_number % 3 and track.target_layer is not None:
                track.set_target((track.target_layer + 1) % self.layers, temporal_target(index, self.layers))

    def counters(self) -> dict[str, int]:
        return {
            "frames": sum(track.frames_forwarded for track in self.tracks),
            "packets": sum(sender.packets_sent for sender in self.senders),
            "switches": sum(track.layer_switches for track in self.tracks),
        }

    def renumbering(self) -> int:
        """Subscriptions whose picture IDs are renumbered now (after a switch or a held-back frame: every packet)."""
        return sum(1 for track in self.tracks if track._rewriter._picture_id_offset)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for transport in self._transports:
            transport.close()
        self.published.close()
        self._sink.close()
