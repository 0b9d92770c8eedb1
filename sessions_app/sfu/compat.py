"""
The private parts of aiortc 1.16.0 the SFU relies on, checked at start-up.

aiortc has no public hook for encoded frames. We replace a receiver's
decoder queue with a tap (``tap.py``), intercept its picture-loss requests,
and take over a sender's RTP loop, retransmissions and keyframe hook
(``sender.py``), writing packets to the connection's selected ICE pair. If an aiortc upgrade moves any of
these names, forwarding would silently stop: ``check_aiortc_internals()``
fails loudly instead.
"""

from __future__ import annotations

from typing import Any

import aiortc
from aioice import ice as aioice_ice
from aiortc import codecs as aiortc_codecs
from aiortc import rtcrtpreceiver
from aiortc.rtcdtlstransport import RTCDtlsTransport, RtpRouter
from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters
from aiortc.rtcrtpreceiver import RTCRtpReceiver
from aiortc.rtcrtpsender import RTCRtpSender
from aiortc.rtp import RtpPacket

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
)


class AiortcIncompatible(RuntimeError):
    """The installed aiortc does not have the internals the SFU taps."""


def check_aiortc_internals() -> None:
    """Raise AiortcIncompatible unless aiortc's internals are where the SFU expects them."""
    problems = []
    if aiortc.__version__ != SUPPORTED_AIORTC_VERSION:
        problems.append(f"aiortc {aiortc.__version__} is installed, the SFU supports {SUPPORTED_AIORTC_VERSION}")
    for owner, names in ((RTCRtpReceiver, RECEIVER_PRIVATE_NAMES), (RTCRtpSender, SENDER_PRIVATE_NAMES)):
        set_in_init = owner.__init__.__code__.co_names
        problems += [f"{owner.__name__} no longer sets {name}" for name in names if name not in set_in_init]
    for function, name, problem in (
        (RTCRtpReceiver._handle_rtp_packet, "_RTCRtpReceiver__decoder_queue", "no longer feeds the decoder queue"),
        (RTCRtpSender.send, "_run_rtp", "no longer starts _run_rtp"),
        (RTCRtpSender._handle_rtcp_packet, "_retransmit", "no longer answers NACKs with _retransmit"),
        (RTCDtlsTransport._send_rtp, "_tx_srtp", "no longer protects with _tx_srtp"),
        (aioice_ice.Connection.__init__, "_nominated", "no longer keeps its selected pairs in _nominated"),
        (aioice_ice.StunProtocol.send_data, "sendto", "no longer writes to its transport"),
    ):
        if name not in function.__code__.co_names:
            problems.append(f"{function.__qualname__} {problem}")
    for owner, name in (
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
        (rtcrtpreceiver, "decoder_worker"),
        (rtcrtpreceiver, "RemoteBitrateEstimator"),
        (aioice_ice, "get_host_addresses"),
    ):
        if not callable(getattr(owner, name, None)):
            problems.append(f"{getattr(owner, '__name__', owner)}.{name} is gone")
    if not isinstance(getattr(aiortc_codecs, "HEADER_EXTENSIONS", None), dict):
        problems.append("aiortc.codecs.HEADER_EXTENSIONS is gone")
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

    route_rtp.routes_by_mid = True  # type: ignore[attr-defined]
    RtpRouter.route_rtp = route_rtp  # type: ignore[method-assign]
