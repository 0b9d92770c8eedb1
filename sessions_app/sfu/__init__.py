"""
The forwarding SFU: Django-free asyncio + aiortc.

Each participant has one server-side peer connection. What a participant
publishes is tapped as encoded frames before aiortc's decoder and handed,
unchanged, to a forwarding track per subscriber: no decode, no re-encode.
The rest of the app uses media through ``MediaService`` (``interface.py``),
which ``SFU`` (``registry.py``) implements in this process: commands in, typed
events (``events.py``) out, so the SFU can run in a worker process instead. A
session can be recorded, still without decoding (``recording/``).
Nothing outside this package imports its modules: what it offers is here.
"""

from .config import MediaConfig
from .errors import (
    AlreadyRecording,
    MediaError,
    MediaUnavailable,
    NegotiationError,
    NotRecording,
    RecordingError,
    UnknownParticipant,
    UnknownSession,
)
from .events import DominantSpeaker, MediaEvent, NegotiationFailed, Offer, OfferedTrack, SendSignal
from .interface import MediaService, VideoView
from .peer import peer_connections
from .recording import RecordedTrack
from .registry import SFU

__all__ = [
    "SFU",
    "AlreadyRecording",
    "DominantSpeaker",
    "MediaConfig",
    "MediaError",
    "MediaEvent",
    "MediaService",
    "MediaUnavailable",
    "NegotiationError",
    "NegotiationFailed",
    "NotRecording",
    "Offer",
    "OfferedTrack",
    "RecordedTrack",
    "RecordingError",
    "SendSignal",
    "UnknownParticipant",
    "UnknownSession",
    "VideoView",
    "peer_connections",
]
