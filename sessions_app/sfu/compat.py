"""
The private parts of aiortc 1.16.0 (and aioice 0.13) the SFU relies on: the one table of them.

aiortc has no public hook for encoded frames. We replace a receiver's
decoder queue with a tap (``tap.py``), intercept its picture-loss requests,
and take over a sender's RTP loop, retransmissions and keyframe hook
(``sender.py``), writing packets to the connection's selected ICE pair. Every
private name that takes is read or written here, and nowhere else: the rest of
the SFU calls the accessors and patch functions below. If an aiortc upgrade
moves any of these names, forwarding would silently stop:
``check_aiortc_internals()`` fails loudly instead, at start-up.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any

import aiortc
import pylibsrtp
from aioice import ice as aioice_ice
from aiortc import codecs as aiortc_codecs
from aiortc import rtcrtpreceiver
from aiortc.jitterbuffer import JitterBuffer
from aiortc.rtcdtlstransport import RTCDtlsTransport, RtpRouter
from aiortc.rtcdtlstransport import State as DtlsState
from aiortc.rtcicetransport import RTCIceTransport
from aiortc.rtcrtpparameters import RTCRtpCodecParameters, RTCRtpHeaderExtensionParameters
from aiortc.rtcrtpreceiver import NackGenerator, RTCRtpReceiver, StreamStatistics
from aiortc.rtcrtpsender import RTCRtpSender
from aiortc.rtp import AnyRtcpPacket, HeaderExtensionsMap, RtpPacket

from .eager import run_now

# aiortc's own helpers the SFU reuses from modules aiortc does not export: checked below like the rest.
__all__ = ["JitterBuffer", "NackGenerator", "StreamStatistics"]

SUPPORTED_AIORTC_VERSION = "1.16.0"
RECEIVER_PRIVATE_NAMES = (
    "_RTCRtpReceiver__decoder_queue",
    "_RTCRtpReceiver__jitter_buffer",
    "_RTCRtpReceiver__rtx_ssrc",
    "_RTCRtpReceiver__remote_bitrate_estimator",
    "_RTCRtpReceiver__decoder_error",
    "_RTCRtpReceiver__rtcp_started",
    "_RTCRtpReceiver__rtcp_exited",
    "_RTCRtpReceiver__rtcp_ssrc",
    "_RTCRtpReceiver__codecs",
    "_RTCRtpReceiver__remote_streams",
)
# What ``sender.PacketSender`` reads (negotiated parameters) and keeps up to date (the counters
# aiortc's RTCP sender reports carry) on the RTCRtpSender it takes over.
SENDER_PRIVATE_NAMES = (
    "_RTCRtpSender__mid",
    "_RTCRtpSender__rtx_payload_type",
    "_RTCRtpSender__rtp_header_extensions_map",
    "_RTCRtpSender__rtp_started",
    "_RTCRtpSender__rtp_exited",
    "_RTCRtpSender__ntp_timestamp",
    "_RTCRtpSender__rtp_timestamp",
    "_RTCRtpSender__packet_count",
    "_RTCRtpSender__octet_count",
    # Fixed at construction: read once by PacketSender.
    "_ssrc",
    "_rtx_ssrc",
    "_enabled",
)
# What ``selected_route`` reads to write a subscriber's packets itself.
DTLS_PRIVATE_NAMES = ("_state", "_tx_srtp")
# What ``receive_from_socket`` reads to take RTP from the socket itself.
DTLS_RECEIVE_PRIVATE_NAMES = (
    "_rx_srtp",
    "_rtp_router",
    "_rtp_header_extensions_map",
    "_RTCDtlsTransport__rx_bytes",
    "_RTCDtlsTransport__rx_packets",
)
ICE_TRANSPORT_PRIVATE_NAMES = ("_connection",)


class AiortcIncompatible(RuntimeError):
    """The installed aiortc does not have the internals the SFU taps."""


def check_aiortc_internals() -> None:
    """Raise AiortcIncompatible unless aiortc's internals are where the SFU expects them."""
    problems = []
    if aiortc.__version__ != SUPPORTED_AIORTC_VERSION:
        problems.append(f"aiortc {aiortc.__version__} is installed, the SFU supports {SUPPORTED_AIORTC_VERSION}")
    owners: tuple[tuple[type, Sequence[str]], ...] = (
        (RTCRtpReceiver, (*RECEIVER_PRIVATE_NAMES, "_enabled")),
        (RTCRtpSender, SENDER_PRIVATE_NAMES),
        (RTCDtlsTransport, (*DTLS_PRIVATE_NAMES, *DTLS_RECEIVE_PRIVATE_NAMES)),
        (aioice_ice.Connection, ("_protocols",)),
        (RTCIceTransport, ICE_TRANSPORT_PRIVATE_NAMES),
    )
    for owner, names in owners:
        set_in_init = owner.__dict__["__init__"].__code__.co_names
        problems += [f"{owner.__name__} no longer sets {name}" for name in names if name not in set_in_init]
    for function, name, problem in (
        (RTCRtpReceiver._handle_rtp_packet, "_RTCRtpReceiver__decoder_queue", "no longer feeds the decoder queue"),
        (RTCRtpSender.send, "_run_rtp", "no longer starts _run_rtp"),
        (RTCRtpSender._handle_rtcp_packet, "_retransmit", "no longer answers NACKs with _retransmit"),
        (RTCDtlsTransport._send_rtp, "_tx_srtp", "no longer protects with _tx_srtp"),
        (aioice_ice.Connection.__init__, "_nominated", "no longer keeps its selected pairs in _nominated"),
        (aioice_ice.StunProtocol.send_data, "sendto", "no longer writes to its transport"),
        (aioice_ice.StunProtocol.datagram_received, "data_received", "no longer hands data to its connection"),
        (aioice_ice.Connection.data_received, "_queue", "no longer queues data"),
        (RTCDtlsTransport._recv_next, "_handle_rtp_data", "no longer hands RTP on"),
        (RTCDtlsTransport._handle_rtp_data, "route_rtp", "no longer routes RTP"),
    ):
        if name not in function.__code__.co_names:
            problems.append(f"{function.__qualname__} {problem}")
    callables: tuple[tuple[object, str], ...] = (
        (RTCRtpReceiver, "_send_rtcp_pli"),
        (RTCRtpReceiver, "receive"),
        (RTCRtpReceiver, "_handle_rtp_packet"),
        (RTCRtpReceiver, "_send_rtcp"),
        (RTCRtpReceiver, "_send_rtcp_nack"),
        (RtpRouter, "route_rtp"),
        (RTCDtlsTransport, "_handle_rtcp_data"),
        (rtcrtpreceiver, "NackGenerator"),
        (rtcrtpreceiver, "StreamStatistics"),
        (RTCRtpSender, "_send_keyframe"),
        (RTCRtpSender, "_run_rtp"),
        (RTCRtpSender, "_retransmit"),
        (RTCRtpSender, "_handle_rtcp_packet"),
        (RTCRtpSender, "_send_keyframe"),
        (rtcrtpreceiver, "decoder_worker"),
        (rtcrtpreceiver, "RemoteBitrateEstimator"),
        (aioice_ice, "get_host_addresses"),
        (JitterBuffer, "add"),
        (NackGenerator, "add"),
        (StreamStatistics, "add"),
        (HeaderExtensionsMap, "set"),
    )
    for holder, name in callables:
        if not callable(getattr(holder, name, None)):
            problems.append(f"{getattr(holder, '__name__', holder)}.{name} is gone")
    if not isinstance(getattr(aiortc_codecs, "HEADER_EXTENSIONS", None), dict):
        problems.append("aiortc.codecs.HEADER_EXTENSIONS is gone")
    if not hasattr(DtlsState, "CONNECTED"):
        problems.append("aiortc.rtcdtlstransport.State.CONNECTED is gone")
    if problems:
        raise AiortcIncompatible("The SFU cannot forward media: " + "; ".join(problems))


# The RTP header extensions that name a simulcast layer (RFC 8852): a browser sending simulcast
# marks each layer's packets (and their retransmissions) with the rid it was offered, until the
# SSRCs are bound. aiortc neither offers nor parses them unless they are in its capability table.
RID_EXTENSIONS = (
    RTCRtpHeaderExtensionParameters(id=10, uri="urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"),
    RTCRtpHeaderExtensionParameters(id=11, uri="urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id"),
)


def install_simulcast_support() -> None:
    """
    Let aiortc receive simulcast: negotiate the rid header extensions for video, and route a packet
    of an SSRC no answer declared by its MID header extension (aiortc 1.16.0 keeps a mid table but
    routes only by SSRC and payload type, so a camera's and a screen's layers, both VP8, would be
    dropped as ambiguous). Idempotent.
    """
    video = aiortc_codecs.HEADER_EXTENSIONS["video"]
    known = {extension.uri for extension in video}
    video.extend(extension for extension in RID_EXTENSIONS if extension.uri not in known)
    if getattr(RtpRouter.route_rtp, "routes_by_mid", False):
        return
    route_by_ssrc = RtpRouter.route_rtp

    def route_rtp(self: RtpRouter, packet: RtpPacket) -> Any:
        receiver = self.ssrc_table.get(packet.ssrc)
        if receiver is None:
            mid = packet.extensions.mid
            receiver = self.mid_table.get(mid) if mid is not None else None
            if receiver is not None:
                self.ssrc_table[packet.ssrc] = receiver
                return receiver
        return route_by_ssrc(self, packet)

    route_rtp.routes_by_mid = True  # type: ignore[attr-defined]  # a marker on our own function
    RtpRouter.route_rtp = route_rtp  # type: ignore[method-assign]  # patching aiortc is the point


def _private(obj: object) -> Any:
    """An aiortc object whose name-mangled private state we touch: its annotations do not describe it."""
    return obj


# Receivers.


def _no_estimator() -> None:
    return None


@contextlib.contextmanager
def receivers_without_estimator() -> Iterator[None]:
    """
    Transceivers made meanwhile get no receive-side bandwidth estimator: 1,000 one-millisecond
    buckets (about 97 kB, tracemalloc) and a fifth of a join's CPU in a call of ten (py-spy,
    bench/signaling.py), built for every video receiver whether media ever comes or not. A
    subscription receives nothing and needs none; a publisher's video has its own REMB, made
    without one (``receive.VideoReceivePath``). aiortc's receiver skips it when it is None.
    """
    if not hasattr(rtcrtpreceiver, "RemoteBitrateEstimator"):
        raise RuntimeError("aiortc.rtcrtpreceiver.RemoteBitrateEstimator is gone: see sfu/compat.py")
    module = _private(rtcrtpreceiver)
    estimator = module.RemoteBitrateEstimator
    module.RemoteBitrateEstimator = _no_estimator
    try:
        yield
    finally:
        module.RemoteBitrateEstimator = estimator


class _UnusedDecoderQueue:
    """Stands in for the decoder queue of a receiver that never starts (a sendonly subscription's)."""

    __slots__ = ()

    def put(self, item: object) -> None:
        return None

    def get(self) -> None:
        return None


# Shared by every subscription's receiver: a sendonly transceiver's receiver is never started, so its
# decoder queue, decoder-error flag and RTCP task events are never used.
_UNUSED_DECODER_QUEUE = _UnusedDecoderQueue()
_NEVER_SET = threading.Event()
_NEVER_AWAITED = asyncio.Event()


def park_receiver(receiver: RTCRtpReceiver) -> None:
    """Give a receiver that will never start shared stand-ins for its decoder queue and task events."""
    state = _private(receiver)
    state._RTCRtpReceiver__decoder_queue = _UNUSED_DECODER_QUEUE
    state._RTCRtpReceiver__decoder_error = _NEVER_SET
    state._RTCRtpReceiver__rtcp_started = _NEVER_AWAITED
    state._RTCRtpReceiver__rtcp_exited = _NEVER_AWAITED


def replace_decoder_queue(receiver: RTCRtpReceiver, queue: object) -> None:
    """``queue`` (``put``/``get`` like ``queue.Queue``) gets the ``(codec, frame)`` items aiortc would decode."""
    _private(receiver)._RTCRtpReceiver__decoder_queue = queue


def replace_jitter_buffer(receiver: RTCRtpReceiver, buffer: JitterBuffer) -> None:
    _private(receiver)._RTCRtpReceiver__jitter_buffer = buffer


RtpHandler = Callable[[RtpPacket, int], Awaitable[None]]


def replace_rtp_handler(receiver: RTCRtpReceiver, handler: RtpHandler) -> None:
    """``handler(packet, arrival_time_ms)`` receives the receiver's RTP packets instead of aiortc."""
    _private(receiver)._handle_rtp_packet = handler


def rtx_ssrc_table(receiver: RTCRtpReceiver) -> dict[int, int]:
    """The receiver's own table, retransmission SSRC -> media SSRC: changes to it take effect."""
    table: dict[int, int] = _private(receiver)._RTCRtpReceiver__rtx_ssrc
    return table


def receiver_codecs(receiver: RTCRtpReceiver) -> dict[int, RTCRtpCodecParameters]:
    """The receiver's negotiated codecs by payload type (its own table, kept up to date by aiortc)."""
    codecs: dict[int, RTCRtpCodecParameters] = _private(receiver)._RTCRtpReceiver__codecs
    return codecs


def receiver_statistics(receiver: RTCRtpReceiver) -> dict[int, StreamStatistics]:
    """The receiver's per-SSRC statistics, which its receiver reports are made from."""
    streams: dict[int, StreamStatistics] = _private(receiver)._RTCRtpReceiver__remote_streams
    return streams


def receiver_rtcp_ssrc(receiver: RTCRtpReceiver) -> int | None:
    """The SSRC the receiver's RTCP goes out as (None until it has started)."""
    ssrc: int | None = _private(receiver)._RTCRtpReceiver__rtcp_ssrc
    return ssrc


def receiver_enabled(receiver: RTCRtpReceiver) -> bool:
    return receiver._enabled


def pli_sender(receiver: RTCRtpReceiver) -> Callable[[int], Awaitable[None]]:
    """The receiver's way to ask its remote for a keyframe of one SSRC."""
    return receiver._send_rtcp_pli


async def send_nack(receiver: RTCRtpReceiver, media_ssrc: int, lost: list[int]) -> None:
    await receiver._send_rtcp_nack(media_ssrc, lost)


async def send_receiver_rtcp(receiver: RTCRtpReceiver, packet: AnyRtcpPacket) -> None:
    await receiver._send_rtcp(packet)


# Senders.


def take_over_sender(
    sender: RTCRtpSender,
    run_rtp: Callable[[RTCRtpCodecParameters], Awaitable[None]],
    retransmit: Callable[[int], Awaitable[None]],
    send_keyframe: Callable[[], None],
) -> None:
    """Our RTP loop, retransmissions and keyframe requests in place of the sender's (call before it starts)."""
    state = _private(sender)
    state._run_rtp = run_rtp
    state._retransmit = retransmit
    state._send_keyframe = send_keyframe


def observe_sender_rtcp(sender: RTCRtpSender, observe: Callable[[AnyRtcpPacket], None]) -> None:
    """``observe`` sees every RTCP packet for the sender, before aiortc handles it."""
    handle_rtcp = sender._handle_rtcp_packet

    async def handle_rtcp_with_observer(packet: AnyRtcpPacket) -> None:
        observe(packet)
        await handle_rtcp(packet)

    _private(sender)._handle_rtcp_packet = handle_rtcp_with_observer


def sender_ssrcs(sender: RTCRtpSender) -> tuple[int, int]:
    """The sender's media and retransmission SSRCs (fixed when it is made)."""
    return sender._ssrc, sender._rtx_ssrc


def sender_enabled(sender: RTCRtpSender) -> bool:
    return sender._enabled


def negotiated_sending(sender: RTCRtpSender) -> tuple[str | None, int | None, HeaderExtensionsMap]:
    """What the sender negotiated: its mid, RTX payload type and header extension map (read once started)."""
    state = _private(sender)
    mid: str | None = state._RTCRtpSender__mid
    rtx_payload_type: int | None = state._RTCRtpSender__rtx_payload_type
    extensions_map: HeaderExtensionsMap = state._RTCRtpSender__rtp_header_extensions_map
    return mid, rtx_payload_type, extensions_map


def mark_rtp_started(sender: RTCRtpSender) -> None:
    _private(sender)._RTCRtpSender__rtp_started.set()


def mark_rtp_exited(sender: RTCRtpSender) -> None:
    _private(sender)._RTCRtpSender__rtp_exited.set()


def record_sent(sender: RTCRtpSender, ntp: int, timestamp: int, packets: int, octets: int) -> None:
    """What aiortc's RTCP loop reports in its sender reports (lip sync, the subscriber's stats)."""
    state = _private(sender)
    state._RTCRtpSender__ntp_timestamp = ntp
    state._RTCRtpSender__rtp_timestamp = timestamp
    state._RTCRtpSender__packet_count += packets
    state._RTCRtpSender__octet_count += octets


# Transports.

# Where a subscriber's packets go: the datagram transport, the browser's address, and SRTP protection.
Route = tuple[Any, tuple[str, int], Callable[[bytes], bytes]]


def selected_route(dtls: RTCDtlsTransport) -> Route | None:
    """
    Where a connection's packets go while it is up: the datagram transport of the selected ICE pair
    (a TURN relay's included), the remote address, and SRTP. None while it is not connected.
    """
    state = _private(dtls)
    if state._state is not DtlsState.CONNECTED:
        return None
    pair = state.transport._connection._nominated.get(1)
    if pair is None:
        return None
    return pair.protocol.transport, pair.remote_addr, state._tx_srtp.protect


def intercept_transport_rtcp(transport: RTCDtlsTransport, observe: Callable[[bytes], None]) -> None:
    """``observe`` sees every RTCP datagram of the transport (decrypted), before aiortc parses it."""
    handle_rtcp = transport._handle_rtcp_data

    async def handle_rtcp_with_observer(data: bytes) -> None:
        observe(data)
        await handle_rtcp(data)

    _private(transport)._handle_rtcp_data = handle_rtcp_with_observer


# Receiving from the socket.

# aiortc's arrival clock (milliseconds since the NTP epoch), read without datetime.
NTP_EPOCH_OFFSET_MS = 2_208_988_800_000
# RFC 7983: a datagram whose first byte is 128 to 191 is RTP or RTCP, never STUN or DTLS.
RTP_FIRST_BYTES = range(128, 192)


def receive_from_socket(dtls: RTCDtlsTransport) -> None:
    """
    The connection's RTP goes from the socket to its receiver in one call: SRTP unprotect, parse,
    route, handle, inside ``datagram_received``. aiortc's way queues every datagram, wakes its DTLS
    task a loop turn later and awaits through three coroutines; aioice first tries every datagram as
    STUN. DTLS, STUN and RTCP keep aiortc's and aioice's own path. Call once the connection's ICE
    candidates are gathered (before the first offer is answered); a no-op when called again.
    """
    state = _private(dtls)
    connection = _private(state.transport)._connection
    if getattr(connection, "_calls_receive_from_socket", False):
        return
    queue_datagram = connection.data_received
    router: RtpRouter = state._rtp_router
    extensions = state._rtp_header_extensions_map
    parse = RtpPacket.parse
    route = router.route_rtp
    wall_clock = time.time

    def data_received(data: bytes, component: int) -> None:
        srtp = state._rx_srtp
        if srtp is None or len(data) < 12 or data[0] not in RTP_FIRST_BYTES or 192 <= data[1] <= 208:
            queue_datagram(data, component)  # DTLS, RTCP, or SRTP not keyed yet: aiortc's path
            return
        arrival_ms = int(wall_clock() * 1000) + NTP_EPOCH_OFFSET_MS
        state._RTCDtlsTransport__rx_bytes += len(data)
        state._RTCDtlsTransport__rx_packets += 1
        try:
            packet = parse(srtp.unprotect(data), extensions)
        except (pylibsrtp.Error, ValueError):
            return  # what aiortc does too: a packet that fails authentication or parsing is dropped
        receiver = route(packet)
        if receiver is not None:
            run_now(receiver._handle_rtp_packet(packet, arrival_time_ms=arrival_ms))

    connection.data_received = data_received
    for protocol in connection._protocols:
        _skip_stun_for_rtp(protocol, data_received)
    connection._calls_receive_from_socket = True


def _skip_stun_for_rtp(protocol: Any, data_received: Callable[[bytes, int], None]) -> None:
    """The protocol hands RTP and RTCP straight on, without trying them as STUN first."""
    stun_first = protocol.datagram_received
    component = protocol.local_candidate.component

    def datagram_received(data: bytes, addr: tuple[Any, ...]) -> None:
        if data and data[0] in RTP_FIRST_BYTES:
            data_received(data, component)
        else:
            stun_first(data, addr)

    protocol.datagram_received = datagram_received


# ICE.

HostAddresses = Callable[[bool, bool], list[str]]
_default_host_addresses: HostAddresses = aioice_ice.get_host_addresses


def replace_host_addresses(host_addresses: HostAddresses | None) -> None:
    """
    Where aioice gathers host candidates: ``host_addresses(use_ipv4, use_ipv6)``, or its default
    (None). Process-wide: aioice reads it per gathering.
    """
    _private(aioice_ice).get_host_addresses = host_addresses or _default_host_addresses
