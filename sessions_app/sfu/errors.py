"""The errors the media service raises to its callers (``interface.MediaService``)."""

from __future__ import annotations


class MediaError(Exception):
    """Base class of what the media service raises."""


class UnknownParticipant(MediaError):
    """A participant ID that is not (or no longer) in the room."""


class NegotiationError(MediaError):
    """An answer that does not fit the negotiation in progress."""


class MediaUnavailable(MediaError):
    """No media server can host the session now."""


class ParticipantExists(MediaError):
    """A participant ID that is already in the room."""


class UnknownSession(MediaError):
    """A session that has no media here: nobody is in it (yet, or any more)."""


class RecordingError(MediaError):
    """A recording command that cannot be carried out."""


class AlreadyRecording(RecordingError):
    """A session that is being recorded already."""


class NotRecording(RecordingError):
    """A session that is not being recorded (or whose recording was stopped and reported already)."""
