"""
SessionSettings (calls-api §4): the options, their defaults, validation, and how layers merge.

Effective settings for one participant are built in layers: the defaults
below, then the app's defaults, then the session's, then what the participant
asks for (``joinSession`` settings or the share link's query string), except
the options the session locks. The server enforces the locked options that
have a server-side meaning (see ``ENFORCED``), not only the UI.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .. import errors
from ..errors import CallsError

if TYPE_CHECKING:
    from ..models import CallSession

LAYOUTS = ("TILE", "SIDEBAR", "SPOTLIGHT")
SESSION_TYPES = ("VIDEO", "VOICE")
CAMERA_FACINGS = ("FRONT", "REAR")
MAX_TEXT_CHARS = 200
MAX_IDLE_MS = 24 * 60 * 60 * 1000

# name -> default; the type of the default is the option's type (choices are checked below).
DEFAULTS: dict[str, Any] = {
    "title": "",
    "displayName": "",
    "sessionType": "VIDEO",
    "layout": "TILE",
    "startAudioMuted": False,
    "startVideoPaused": False,
    "initialCameraFacing": "FRONT",
    "autoStartRecording": False,
    "isPeerCall": False,
    "enableNotifications": True,
    "enableParticipantContextMenu": True,
    "enableNoiseReduction": False,
    "audioInputDeviceId": "",
    "audioOutputDeviceId": "",
    "videoInputDeviceId": "",
    "idleTimeoutPeriodBeforePrompt": 60_000,
    "idleTimeoutPeriodAfterPrompt": 120_000,
    "hideControlPanel": False,
    "hideHeaderPanel": False,
    "hideSessionTimer": False,
    "hideLeaveSessionButton": False,
    "hideToggleAudioButton": False,
    "hideToggleVideoButton": False,
    "hideSwitchCameraButton": False,
    "hideRaiseHandButton": False,
    "hideParticipantListButton": False,
    "hideChangeLayoutButton": False,
    "hideScreenSharingButton": False,
    "hideRecordingButton": True,
    "hideShareInviteButton": True,
    "hideChatButton": True,
    "hideNetworkIndicator": False,
    "hideRecordingStatusIndicator": False,
}
CHOICES = {"sessionType": SESSION_TYPES, "layout": LAYOUTS, "initialCameraFacing": CAMERA_FACINGS}

# Locked options the server enforces, and the client message each one forbids when locked to True.
ENFORCED_FORBIDS = {
    "hideScreenSharingButton": "screen_share",
    "hideChatButton": "chat",
    "hideRaiseHandButton": "hand",
    "hideRecordingButton": "recording",
}


def _invalid(name: str, problem: str) -> CallsError:
    return CallsError(errors.ERROR_JSON_EXCEPTION, f"Setting '{name}' {problem}.", {"field": name})


def clean_value(name: str, value: Any) -> Any:
    """Validate one option; return its normal form (``AUDIO`` is an alias of ``VOICE``)."""
    if name not in DEFAULTS:
        raise _invalid(name, "is not a SessionSettings option")
    default = DEFAULTS[name]
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise _invalid(name, "must be true or false")
        return value
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_IDLE_MS:
            raise _invalid(name, f"must be a whole number of milliseconds from 1 to {MAX_IDLE_MS}")
        return value
    if not isinstance(value, str) or len(value) > MAX_TEXT_CHARS:
        raise _invalid(name, f"must be a string of at most {MAX_TEXT_CHARS} characters")
    if name in CHOICES:
        value = value.upper()
        if name == "sessionType" and value == "AUDIO":
            value = "VOICE"
        if value not in CHOICES[name]:
            raise _invalid(name, f"must be one of {', '.join(CHOICES[name])}")
    return value


def clean_settings(settings: Any, field: str = "settings") -> dict[str, Any]:
    """Validate a settings object (unknown names are errors, as typos would silently do nothing)."""
    if settings is None:
        return {}
    if not isinstance(settings, Mapping):
        raise CallsError(errors.ERROR_JSON_EXCEPTION, f"'{field}' must be an object.", {"field": field})
    return {name: clean_value(name, value) for name, value in settings.items()}


def clean_locks(locks: Any) -> list[str]:
    if locks is None:
        return []
    if not isinstance(locks, list) or not all(isinstance(name, str) and name in DEFAULTS for name in locks):
        raise CallsError(
            errors.ERROR_JSON_EXCEPTION, "'lockedSettings' must list SessionSettings option names.",
            {"field": "lockedSettings"},
        )  # fmt: skip
    return sorted(set(locks))


def session_defaults(session: CallSession) -> dict[str, Any]:
    """
    What a session sets over the built-in defaults: its app's defaults, then its own title and
    type, then its own settings. The share page starts from them and the server merges joins over them.
    """
    layer: dict[str, Any] = dict(session.app.default_settings) if session.app else {}
    if session.title:
        layer["title"] = session.title
    layer["sessionType"] = session.session_type
    layer.update(session.settings)
    return layer


def effective_settings(
    app_defaults: Mapping[str, Any],
    session_defaults: Mapping[str, Any],
    locked: list[str],
    requested: Mapping[str, Any],
) -> dict[str, Any]:
    """
    Merge the layers; a locked option keeps the session's (or app's) value whatever is requested. A
    VOICE session stays one whatever a join asks (its media carry no video); a participant may join a
    VIDEO session as VOICE.
    """
    merged = {**DEFAULTS, **app_defaults, **session_defaults}
    merged.update({name: value for name, value in requested.items() if name not in locked})
    if session_defaults.get("sessionType") == "VOICE":
        merged["sessionType"] = "VOICE"
    return merged


def forbidden_messages(settings: Mapping[str, Any], locked: list[str]) -> set[str]:
    """Client message types the session's locked options forbid (e.g. screen_share)."""
    forbidden = {message for name, message in ENFORCED_FORBIDS.items() if name in locked and settings.get(name)}
    if "enableParticipantContextMenu" in locked and not settings.get("enableParticipantContextMenu"):
        forbidden.add("moderate")
    return forbidden
