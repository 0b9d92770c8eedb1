"""Stand-ins for the parts of a subscription the SFU unit tests do not exercise."""

from __future__ import annotations

from sessions_app.sfu.frames import EncodedFrame, ntp_now


class FrameCollector:
    """
    Takes a ``ForwardingTrack``'s frames where a ``PacketSender`` would send them.
    ``backed_up``: it refuses them, as a sender whose socket is backed up does.
    """

    def __init__(self) -> None:
        self.frames: list[EncodedFrame] = []
        self.backed_up = False

    def send(self, frame: EncodedFrame) -> bool:
        if self.backed_up:
            return False
        self.frames.append(frame)
        return True


def encoded_frame(keyframe: bool, pts: int = 0) -> EncodedFrame:
    """A one-packet VP8 frame (its payload descriptor opens the frame)."""
    return EncodedFrame([b"\x10" + (b"\x00" if keyframe else b"\x01")], pts, keyframe, ntp_now())
