"""
The signaling wire format: every message type, both ways (codes and reasons are ``errors.py``'s).

This module is the one place that says what a valid message is. The
consumer parses raw text with ``parse_client_message()`` and builds every
outgoing message with the ``*_message()`` helpers below; the JS SDK
(``static/calls/signaling.js``) mirrors these names.

Client → server messages
    ``join``    ``{token, displayName?, audioMuted, videoPaused, settings?}``: enter the call with a
                call token (``tokens.py``); ``displayName`` overrides the token's name;
                ``settings`` are the SessionSettings asked for (``session_settings.py``).
    ``answer``  ``{sdp}``: the answer to the server's latest ``offer``.
    ``media``   ``{audioMuted, videoPaused}``: the sender's own media state.
    ``resume``  ``{participantId, resumeToken}``: on a new socket after the last one dropped, carry
                on as the same participant (same peer connection); refused with
                ERR_CALL_NOT_A_PART once the server has let the participant go (then join again).
    ``leave``   ``{}``: leave the call; the server then closes the socket.
    ``ping``    ``{}``: heartbeat, every HEARTBEAT_INTERVAL_S; answered with ``pong``. A socket
                silent for SILENCE_TIMEOUT_S is closed (4008) as dead.
    ``moderate`` ``{target, action}`` (moderators only): mute a participant (``mute``) or turn
                their camera off (``pause_video``), a hold they cannot lift themselves; lift it
                (``allow_audio``, ``allow_video``); or remove them (``remove``), which revokes their
                token and refuses their identity's joins until an operator readmits it.
    ``hand``    ``{raised}``: raise or lower one's hand (a held participant's way to ask to speak).
    ``chat``    ``{text}``: an in-call chat message to everyone (at most MAX_CHAT_CHARS).
    ``screen_share`` ``{enabled}``: start or stop publishing a screen; the next offer's
                ``publish.screen`` names the transceiver to send it on.
    ``end_for_all`` ``{}`` (moderators only): end the call for everyone.
    ``recording`` ``{action}`` (moderators only; a session that locks ``hideRecordingButton: true``
                refuses it): start (``start``) or stop (``stop``) recording the call.
    ``video_views`` ``{views: [{participantId, source, width, height}]}``: how big this browser
                shows each video it receives (device pixels; 0 x 0: hidden or off screen, send
                nothing). The SFU forwards each one the smallest simulcast layer that fills it
                (LiveKit's adaptive stream); videos never named may get any layer. At most
                MAX_VIDEO_VIEWS entries.
    Every type has a rate limit per socket (``limits.py``): beyond it, ``ERR_TOO_MANY_REQUESTS``
    and nothing else happens; a socket that keeps flooding is closed (4029).

Server → client messages
    ``joined``              ``{participantId, participant, sessionId, participants, iceServers,
                            iceTransportPolicy, settings, lockedSettings, resumeToken}``
                            (``settings``: the effective ones; ``participant`` is the joiner as
                            the others see it; ``iceTransportPolicy``: ``all`` or ``relay``, for
                            the browser's RTCPeerConnection; ``resumeToken`` is what ``resume`` needs;
                            ``recording``: whether the call is being recorded)
    ``resumed``             ``{participantId, participant, participants, recording}``: who is in the call now;
                            what the server said while the socket was down (an offer) follows
    ``offer``               ``{sdp, publish: {audio, video}, tracks: {mid: {participantId, kind}}}``
    ``participant_joined``  ``{participant}``
    ``participant_left``    ``{participantId, reason}``
    ``media``               ``{participantId, audioMuted, videoPaused, audioMutedByModerator,
                            videoPausedByModerator}`` (the last two: a moderator's hold)
    ``error``               ``{code, message, details}``
    ``session_ended``       ``{reason}``: the call was ended for everyone; the socket closes.
    ``moderation``          ``{action, by}``: a moderator muted you or paused your video (the
                            server has stopped forwarding it; you cannot turn it back on until
                            a moderator allows it), or allowed it again (``allow_audio``,
                            ``allow_video``: you may unmute yourself).
    ``removed``             ``{reason}``: ``removed`` by a moderator (the socket closes with 4003)
                            or ``replaced`` by a newer join with the same call token (4014).
    ``hand``                ``{participantId, raised, raisedHandTimestamp}`` (ms; 0 when lowered)
    ``chat``                ``{id, participantId, name, isGuest, text, sentAt}`` (to everyone, sender included)
    ``screen_share``        ``{participantId, enabled}``
    ``dominant_speaker``    ``{participantId}``: who speaks now (from RTP audio levels)
    ``recording``           ``{recording, by}``: the call's recording started (``true``) or stopped,
                            to everyone; ``by`` is the moderator's participant ID, ``""`` when the
                            call started it itself (``autoStartRecording``)
    Offers name each received track's ``source``: ``audio``, ``video`` or ``screen``.
    ``pong``                ``{}``
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .. import errors
from ..errors import CallsError
from ..names import MAX_DISPLAY_NAME_CHARS, clean_display_name
from ..sfu import DominantSpeaker, MediaEvent, Offer

MAX_MESSAGE_BYTES = 64 * 1024
MAX_SDP_BYTES = 48 * 1024
# A video_views message names at most this many videos, each at most this many pixels a side.
MAX_VIDEO_VIEWS = 200
MAX_VIEW_PIXELS = 16_384
VIDEO_SOURCES = ("video", "screen")
# RTCIceTransportPolicy values a browser is told to use: every candidate, or only TURN relays.
ICE_TRANSPORT_ALL = "all"
ICE_TRANSPORT_RELAY = "relay"


@dataclass(frozen=True, slots=True)
class Join:
    token: str
    display_name: str
    audio_muted: bool
    video_paused: bool
    settings: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Answer:
    sdp: str


@dataclass(frozen=True, slots=True)
class MediaState:
    audio_muted: bool
    video_paused: bool


@dataclass(frozen=True, slots=True)
class Moderate:
    target: str
    action: str


@dataclass(frozen=True, slots=True)
class Hand:
    raised: bool


@dataclass(frozen=True, slots=True)
class Chat:
    text: str


@dataclass(frozen=True, slots=True)
class ScreenShare:
    enabled: bool


@dataclass(frozen=True, slots=True)
class VideoView:
    participant_id: str
    source: str
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class VideoViews:
    views: tuple[VideoView, ...]


@dataclass(frozen=True, slots=True)
class EndForAll:
    pass


RECORDING_ACTIONS = ("start", "stop")


@dataclass(frozen=True, slots=True)
class RecordingControl:
    start: bool


@dataclass(frozen=True, slots=True)
class Resume:
    participant_id: str
    resume_token: str


@dataclass(frozen=True, slots=True)
class Leave:
    pass


@dataclass(frozen=True, slots=True)
class Ping:
    pass


ClientMessage = (
    Join
    | Resume
    | Answer
    | MediaState
    | Moderate
    | Hand
    | Chat
    | ScreenShare
    | VideoViews
    | EndForAll
    | RecordingControl
    | Leave
    | Ping
)


def _invalid(field: str, problem: str) -> CallsError:
    return CallsError(errors.ERROR_JSON_EXCEPTION, f"'{field}' {problem}.", {"field": field})


def _bool(data: dict[str, Any], field: str, default: bool) -> bool:
    value = data.get(field, default)
    if not isinstance(value, bool):
        raise _invalid(field, "must be true or false")
    return value


def _string(data: dict[str, Any], field: str, max_length: int, required: bool = True) -> str:
    value = data.get(field)
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise _invalid(field, "must be a string")
    if not _is_utf8(value):
        raise _invalid(field, "must be valid Unicode text")
    if len(value) > max_length:
        raise _invalid(field, f"must be at most {max_length} characters")
    return value


def _is_utf8(value: str) -> bool:
    """False for text with lone surrogates: JSON escapes allow them, UTF-8 (the DB, Redis, PyJWT) does not."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


MAX_TOKEN_CHARS = 2048
MAX_CHAT_CHARS = 2000
MAX_ID_CHARS = 64


def _parse_join(data: dict[str, Any]) -> Join:
    token = data.get("token")
    # A call token is a JWT: ASCII only.
    if not isinstance(token, str) or not token.strip() or len(token) > MAX_TOKEN_CHARS or not token.isascii():
        raise CallsError(errors.ERROR_CALL_TOKEN, "A call token is required to join.", {"field": "token"})
    name = clean_display_name(_string(data, "displayName", MAX_DISPLAY_NAME_CHARS * 2, required=False))
    return Join(
        token=token.strip(),
        display_name=name,
        audio_muted=_bool(data, "audioMuted", False),
        video_paused=_bool(data, "videoPaused", False),
        settings=_object(data, "settings"),
    )


def _object(data: dict[str, Any], name: str) -> dict[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, dict):
        raise _invalid(name, "must be an object")
    return value


def _parse_answer(data: dict[str, Any]) -> Answer:
    sdp = _string(data, "sdp", MAX_SDP_BYTES)
    if not sdp.startswith("v=0"):
        raise _invalid("sdp", "is not a session description")
    return Answer(sdp=sdp)


def _parse_media(data: dict[str, Any]) -> MediaState:
    return MediaState(
        audio_muted=_bool(data, "audioMuted", False),
        video_paused=_bool(data, "videoPaused", False),
    )


def _parse_moderate(data: dict[str, Any]) -> Moderate:
    target = _string(data, "target", 64)
    action = data.get("action")
    if action not in errors.CLIENT_MODERATION_ACTIONS:
        raise _invalid("action", f"must be one of {', '.join(errors.CLIENT_MODERATION_ACTIONS)}")
    return Moderate(target=target, action=action)


def _parse_recording(data: dict[str, Any]) -> RecordingControl:
    action = data.get("action")
    if action not in RECORDING_ACTIONS:
        raise _invalid("action", f"must be one of {', '.join(RECORDING_ACTIONS)}")
    return RecordingControl(start=action == "start")


def _parse_resume(data: dict[str, Any]) -> Resume:
    return Resume(
        participant_id=_string(data, "participantId", MAX_ID_CHARS),
        resume_token=_string(data, "resumeToken", MAX_ID_CHARS),
    )


def _parse_chat(data: dict[str, Any]) -> Chat:
    text = _string(data, "text", MAX_CHAT_CHARS).strip()
    if not text:
        raise _invalid("text", "must not be blank")
    return Chat(text=text)


def _parse_video_views(data: dict[str, Any]) -> VideoViews:
    views = data.get("views")
    if not isinstance(views, list) or len(views) > MAX_VIDEO_VIEWS:
        raise _invalid("views", f"must be a list of at most {MAX_VIDEO_VIEWS} views")
    parsed = []
    for view in views:
        if not isinstance(view, dict):
            raise _invalid("views", "must hold objects")
        source = view.get("source")
        if source not in VIDEO_SOURCES:
            raise _invalid("source", f"must be one of {', '.join(VIDEO_SOURCES)}")
        size = []
        for name in ("width", "height"):
            value = view.get(name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= MAX_VIEW_PIXELS:
                raise _invalid(name, f"must be a number from 0 to {MAX_VIEW_PIXELS}")
            size.append(int(value))
        parsed.append(VideoView(_string(view, "participantId", MAX_ID_CHARS), source, size[0], size[1]))
    return VideoViews(views=tuple(parsed))


_PARSERS: dict[str, Callable[[dict[str, Any]], ClientMessage]] = {
    "join": _parse_join,
    "resume": _parse_resume,
    "answer": _parse_answer,
    "media": _parse_media,
    "moderate": _parse_moderate,
    "hand": lambda data: Hand(raised=_bool(data, "raised", True)),
    "chat": _parse_chat,
    "screen_share": lambda data: ScreenShare(enabled=_bool(data, "enabled", True)),
    "video_views": _parse_video_views,
    "end_for_all": lambda data: EndForAll(),
    "recording": _parse_recording,
    "leave": lambda data: Leave(),
    "ping": lambda data: Ping(),
}


def parse_client_message(text: str | None) -> ClientMessage:
    """
    Parse one websocket text frame into a typed message.

    Raise CallsError(errors.ERROR_JSON_EXCEPTION) for anything that is not a
    JSON object with a known ``type`` and valid fields.
    """
    if text is None:
        raise CallsError(errors.ERROR_JSON_EXCEPTION, "Binary frames are not accepted.")
    if len(text) > MAX_MESSAGE_BYTES:
        raise CallsError(errors.ERROR_JSON_EXCEPTION, "Message is too large.", {"maxBytes": MAX_MESSAGE_BYTES})
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise CallsError(errors.ERROR_JSON_EXCEPTION, "Message is not valid JSON.") from None
    if not isinstance(data, dict):
        raise CallsError(errors.ERROR_JSON_EXCEPTION, "Message must be a JSON object.")
    message_type = data.get("type")
    parser = _PARSERS.get(message_type) if isinstance(message_type, str) else None
    if parser is None:
        raise CallsError(
            errors.ERROR_JSON_EXCEPTION,
            "Unknown message type.",
            {"field": "type", "allowed": sorted(_PARSERS)},
        )
    return parser(data)


# Server → client message builders.


def error_message(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"type": "error", "code": code, "message": message, "details": details or {}}


def joined_message(
    participant: dict[str, Any],
    session_id: str,
    participants: list[dict[str, Any]],
    ice_servers: list[dict[str, Any]],
    settings: dict[str, Any],
    locked_settings: list[str],
    resume_token: str,
    ice_transport_policy: str = ICE_TRANSPORT_ALL,
    recording: bool = False,
) -> dict[str, Any]:
    return {
        "type": "joined",
        "participantId": participant["pid"],
        "participant": participant,
        "sessionId": session_id,
        "participants": participants,
        "iceServers": ice_servers,
        "iceTransportPolicy": ice_transport_policy,
        "settings": settings,
        "lockedSettings": locked_settings,
        "resumeToken": resume_token,
        "recording": recording,
    }


def resumed_message(
    participant: dict[str, Any], participants: list[dict[str, Any]], recording: bool = False
) -> dict[str, Any]:
    return {
        "type": "resumed",
        "participantId": participant["pid"],
        "participant": participant,
        "participants": participants,
        "recording": recording,
    }


def participant_joined_message(participant: dict[str, Any]) -> dict[str, Any]:
    return {"type": "participant_joined", "participant": participant}


def participant_left_message(participant_id: str, reason: str) -> dict[str, Any]:
    return {"type": "participant_left", "participantId": participant_id, "reason": reason}


def media_message(
    participant_id: str, audio_muted: bool, video_paused: bool, audio_held: bool = False, video_held: bool = False
) -> dict[str, Any]:
    return {
        "type": "media",
        "participantId": participant_id,
        "audioMuted": audio_muted,
        "videoPaused": video_paused,
        "audioMutedByModerator": audio_held,
        "videoPausedByModerator": video_held,
    }


def offer_message(offer: Offer) -> dict[str, Any]:
    tracks = {
        mid: {"participantId": track.participant_id, "kind": track.kind, "source": track.source}
        for mid, track in offer.tracks.items()
    }
    return {"type": "offer", "sdp": offer.sdp, "publish": dict(offer.publish), "tracks": tracks}


def dominant_speaker_message(participant_id: str) -> dict[str, Any]:
    return {"type": "dominant_speaker", "participantId": participant_id}


def media_event_message(event: MediaEvent) -> dict[str, Any]:
    """What the media service says to a participant (``sfu.events``), as the participant's browser gets it."""
    if isinstance(event, Offer):
        return offer_message(event)
    if isinstance(event, DominantSpeaker):
        return dominant_speaker_message(event.participant_id)
    return error_message(errors.ERROR_MEDIA_NEGOTIATION, event.message)


def session_ended_message(reason: str) -> dict[str, Any]:
    return {"type": "session_ended", "reason": reason}


def moderation_message(action: str, by: str) -> dict[str, Any]:
    return {"type": "moderation", "action": action, "by": by}


def removed_message(reason: str) -> dict[str, Any]:
    return {"type": "removed", "reason": reason}


def hand_message(participant_id: str, raised_at_ms: int) -> dict[str, Any]:
    return {
        "type": "hand",
        "participantId": participant_id,
        "raised": raised_at_ms > 0,
        "raisedHandTimestamp": raised_at_ms,
    }


def chat_message(
    message_id: str, participant_id: str, name: str, is_guest: bool, text: str, sent_at_ms: int
) -> dict[str, Any]:
    return {
        "type": "chat",
        "id": message_id,
        "participantId": participant_id,
        "name": name,
        "isGuest": is_guest,
        "text": text,
        "sentAt": sent_at_ms,
    }


def screen_share_message(participant_id: str, enabled: bool) -> dict[str, Any]:
    return {"type": "screen_share", "participantId": participant_id, "enabled": enabled}


def recording_message(recording: bool, by: str) -> dict[str, Any]:
    return {"type": "recording", "recording": recording, "by": by}


def pong_message() -> dict[str, Any]:
    return {"type": "pong"}
