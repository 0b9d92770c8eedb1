"""
What the SFU says to one participant: typed events, rendered to the wire by whoever hosts it.

The SFU never builds signaling JSON. It hands each participant's ``SendSignal``
(given at join) one of these; the signaling layer renders them
(``signaling.protocol.media_event_message``), and the cluster carries them
between processes (``cluster.messages``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class OfferedTrack:
    """What a media section of an offer carries to the participant: someone else's source."""

    participant_id: str
    kind: str
    source: str


@dataclass(frozen=True, slots=True)
class Offer:
    """
    A new offer for the participant's peer connection, to be answered with ``handle_answer``.

    ``publish`` names the media section (mid) to send each of its own sources on;
    ``tracks`` says what each media section it receives carries, by mid.
    """

    sdp: str
    publish: Mapping[str, str]
    tracks: Mapping[str, OfferedTrack]


@dataclass(frozen=True, slots=True)
class DominantSpeaker:
    """Who speaks now in the participant's room (from audio levels)."""

    participant_id: str


@dataclass(frozen=True, slots=True)
class NegotiationFailed:
    """
    A command for the participant failed where it could not raise to its caller: in an SFU worker,
    whose callers do not wait for the outcome. The embedded SFU raises instead.
    """

    message: str


MediaEvent = Offer | DominantSpeaker | NegotiationFailed

# How the SFU reaches one participant; the awaitable completes once the event is handed on.
SendSignal = Callable[[MediaEvent], Awaitable[None]]
