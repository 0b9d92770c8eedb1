"""
Server-side recording, without decoding: every frame the SFU receives, also written to a file.

While a session records, each source a participant publishes (microphone, camera, screen) goes,
as it arrives, into a WebM file of its own: Opus and VP8 exactly as the publisher encoded them
(``webm``). The media path only picks the frames and queues them (``taps``); a thread per
recording muxes and writes (``writer``). ``session.Recording`` ties them to a room's tracks.
"""

from .session import Recording
from .webm import RecordedTrack

__all__ = ["RecordedTrack", "Recording"]
