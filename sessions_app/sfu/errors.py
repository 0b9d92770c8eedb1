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
