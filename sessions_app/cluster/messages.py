"""
The channel-layer messages between Daphne processes and SFU workers: one place for their shape.

To a worker's channel: ``sfu.join``, ``sfu.answer``, ``sfu.screen_share``, ``sfu.forwarding``, ``sfu.views``,
``sfu.repeat_offer``, ``sfu.leave`` (each names its session and participant); and the session's
``sfu.start_recording``, ``sfu.stop_recording``, which carry a ``request_id`` and are answered. To a
Daphne process's channel: ``sfu.signal`` (an event of ``sfu.events`` for one participant, encoded by
``encode_event``) and ``sfu.reply`` (the answer to a request: its result, or the MediaError it
raised). Messages from one sender to one channel arrive in order, which is what keeps a join before
its answer.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ..sfu import (
    AlreadyRecording,
    DominantSpeaker,
    MediaError,
    MediaEvent,
    MediaUnavailable,
    NegotiationFailed,
    NotRecording,
    Offer,
    OfferedTrack,
    RecordedTrack,
    RecordingError,
    UnknownParticipant,
    UnknownSession,
)

JOIN = "sfu.join"
ANSWER = "sfu.answer"
SCREEN_SHARE = "sfu.screen_share"
FORWARDING = "sfu.forwarding"
REPEAT_OFFER = "sfu.repeat_offer"
VIEWS = "sfu.views"
LEAVE = "sfu.leave"
START_RECORDING = "sfu.start_recording"
STOP_RECORDING = "sfu.stop_recording"
SIGNAL = "sfu.signal"
REPLY = "sfu.reply"

TO_WORKER = frozenset(
    {JOIN, ANSWER, SCREEN_SHARE, FORWARDING, VIEWS, REPEAT_OFFER, LEAVE, START_RECORDING, STOP_RECORDING}
)
# The commands a worker answers (with a REPLY to ``reply_to`` naming the ``request_id``).
REQUESTS = frozenset({START_RECORDING, STOP_RECORDING})
# The errors a reply can carry, by name; any other comes back as a MediaError.
REPLY_ERRORS: dict[str, type[MediaError]] = {
    error.__name__: error
    for error in (
        MediaError,
        MediaUnavailable,
        UnknownParticipant,
        UnknownSession,
        RecordingError,
        AlreadyRecording,
        NotRecording,
    )
}


def to_worker(kind: str, session_id: str, participant_id: str, **fields: Any) -> dict[str, Any]:
    return {"type": kind, "session_id": session_id, "participant_id": participant_id, **fields}


def reply(request_id: str, **result: Any) -> dict[str, Any]:
    """A worker's answer to a request: what it returned (plain values)."""
    return {"type": REPLY, "request_id": request_id, **result}


def error_reply(request_id: str, error: MediaError) -> dict[str, Any]:
    """A worker's answer to a request that raised ``error``."""
    name = type(error).__name__ if type(error).__name__ in REPLY_ERRORS else MediaError.__name__
    return {"type": REPLY, "request_id": request_id, "error": name, "message": str(error)}


def reply_error(message: dict[str, Any]) -> MediaError | None:
    """The error a reply carries, to raise again here; None for a reply with a result."""
    name = message.get("error")
    if name is None:
        return None
    return REPLY_ERRORS.get(str(name), MediaError)(str(message.get("message", "")))


def encode_tracks(tracks: list[RecordedTrack]) -> list[dict[str, Any]]:
    return [dataclasses.asdict(track) for track in tracks]


def decode_tracks(data: list[dict[str, Any]]) -> list[RecordedTrack]:
    """The tracks ``encode_tracks`` encoded; ValueError for anything else."""
    try:
        return [RecordedTrack(**track) for track in data]
    except TypeError as exc:
        raise ValueError(f"malformed recorded tracks: {exc!r}") from exc


def signal(participant_id: str, event: MediaEvent) -> dict[str, Any]:
    """What the SFU says to one participant, on its way to the Daphne process serving it."""
    return {"type": SIGNAL, "participant_id": participant_id, "event": encode_event(event)}


def encode_event(event: MediaEvent) -> dict[str, Any]:
    """A media event as plain values the channel layer can carry (``decode_event`` makes it again)."""
    if isinstance(event, Offer):
        tracks = {
            mid: {"participant_id": track.participant_id, "kind": track.kind, "source": track.source}
            for mid, track in event.tracks.items()
        }
        return {"event": "offer", "sdp": event.sdp, "publish": dict(event.publish), "tracks": tracks}
    if isinstance(event, DominantSpeaker):
        return {"event": "dominant_speaker", "participant_id": event.participant_id}
    return {"event": "negotiation_failed", "message": event.message}


def decode_event(data: dict[str, Any]) -> MediaEvent:
    """The event ``encode_event`` encoded; ValueError for anything else."""
    try:
        kind = data["event"]
        if kind == "offer":
            tracks = {
                str(mid): OfferedTrack(str(track["participant_id"]), str(track["kind"]), str(track["source"]))
                for mid, track in data["tracks"].items()
            }
            publish = {str(source): str(mid) for source, mid in data["publish"].items()}
            return Offer(sdp=str(data["sdp"]), publish=publish, tracks=tracks)
        if kind == "dominant_speaker":
            return DominantSpeaker(str(data["participant_id"]))
        if kind == "negotiation_failed":
            return NegotiationFailed(str(data["message"]))
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"malformed media event: {exc!r}") from exc
    raise ValueError(f"unknown media event {kind!r}")
