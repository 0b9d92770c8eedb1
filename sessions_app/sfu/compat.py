"""
The private parts of aiortc 1.16.0 the SFU relies on, checked at start-up.

aiortc has no public hook for encoded frames. We replace a receiver's
decoder queue with a tap (``tap.py``), intercept its picture-loss requests,
and override a sender's keyframe hook. If an aiortc upgrade moves any of
these names, forwarding would silently stop: ``check_aiortc_internals()``
fails loudly instead.
"""

from __future__ import annotations

import aiortc
from aioice import ice as aioice_ice
from aiortc import rtcrtpreceiver
from aiortc.rtcrtpreceiver import RTCRtpReceiver
from aiortc.rtcrtpsender import RTCRtpSender

SUPPORTED_AIORTC_VERSION = "1.16.0"
RECEIVER_PRIVATE_NAMES = (
    "_RTCRtpReceiver__decoder_queue",
    "_RTCRtpReceiver__jitter_buffer",
    "_RTCRtpReceiver__rtx_ssrc",
)


class AiortcIncompatible(RuntimeError):
    """The installed aiortc does not have the internals the SFU taps."""


def check_aiortc_internals() -> None:
    """Raise AiortcIncompatible unless aiortc's internals are where the SFU expects them."""
    problems = []
    if aiortc.__version__ != SUPPORTED_AIORTC_VERSION:
        problems.append(f"aiortc {aiortc.__version__} is installed, the SFU supports {SUPPORTED_AIORTC_VERSION}")
    init_names = RTCRtpReceiver.__init__.__code__.co_names
    for name in RECEIVER_PRIVATE_NAMES:
        if name not in init_names:
            problems.append(f"RTCRtpReceiver no longer sets {name}")
    if "_RTCRtpReceiver__decoder_queue" not in RTCRtpReceiver._handle_rtp_packet.__code__.co_names:
        problems.append("RTCRtpReceiver._handle_rtp_packet no longer feeds the decoder queue")
    for owner, name in (
        (RTCRtpReceiver, "_send_rtcp_pli"),
        (RTCRtpReceiver, "receive"),
        (RTCRtpSender, "_send_keyframe"),
        (rtcrtpreceiver, "decoder_worker"),
        (aioice_ice, "get_host_addresses"),
    ):
        if not callable(getattr(owner, name, None)):
            problems.append(f"{getattr(owner, '__name__', owner)}.{name} is gone")
    if problems:
        raise AiortcIncompatible("The SFU cannot forward media: " + "; ".join(problems))
