"""Stand-ins for the parts of a subscription the SFU unit tests do not exercise."""

from __future__ import annotations

from aiortc.rtcrtpparameters import RTCRtpCodecParameters

from sessions_app.sfu.frames import EncodedFrame, ntp_now

VP8 = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90_000, payloadType=96)
VP8_RTX = RTCRtpCodecParameters(mimeType="video/rtx", clockRate=90_000, payloadType=97, parameters={"apt": 96})


class FrameCollector:
    """
    Takes a ``ForwardingTrack``'s frames where a ``PacketSender`` would send them.
    ``backed_up``: it refuses them, as a sender whose socket is backed up does.
    """

    def __init__(self) -> None:
        self.frames: list[EncodedFrame] = []
        self.timestamps: list[int] = []
        self.history_forgotten = 0
        self.backed_up = False

    def forget_history(self) -> None:
        self.history_forgotten += 1

    def send(self, frame: EncodedFrame, pts: int | None = None, rewriter: object = None) -> bool:
        if self.backed_up:
            return False
        self.frames.append(frame)
        self.timestamps.append(frame.pts if pts is None else pts)
        return True


def encoded_frame(keyframe: bool, pts: int = 0) -> EncodedFrame:
    """A one-packet VP8 frame (its payload descriptor opens the frame)."""
    return EncodedFrame([b"\x10" + (b"\x00" if keyframe else b"\x01")], pts, keyframe, ntp_now())


class FakeReceiver:
    """
    The parts of aiortc's ``RTCRtpReceiver`` the SFU's video receive path reads, recording the
    NACKs and PLIs it sends.
    """

    def __init__(self) -> None:
        self._enabled = True
        self._RTCRtpReceiver__codecs = {96: VP8, 97: VP8_RTX}
        self._RTCRtpReceiver__remote_streams: dict = {}
        self._RTCRtpReceiver__rtx_ssrc: dict[int, int] = {}
        self._RTCRtpReceiver__remote_bitrate_estimator = None
        self._RTCRtpReceiver__rtcp_ssrc = None
        self.nacks: list[tuple[int, list[int]]] = []
        self.rtcp: list[object] = []
        self.plis: list[int] = []

    async def _send_rtcp_nack(self, media_ssrc: int, lost: list[int]) -> None:
        self.nacks.append((media_ssrc, lost))

    async def _send_rtcp(self, packet: object) -> None:
        self.rtcp.append(packet)

    async def send_pli(self, media_ssrc: int) -> None:
        self.plis.append(media_ssrc)
