"""
The one vocabulary of codes and reasons: Python raises them, the wire carries them, the SDK names them.

Error codes are CometChat's strings where CometChat has one (calls-api's error table), ours
otherwise; ``static/calls/errors.js`` exports the same values (``tests/test_errors.py`` holds
the two to each other). A refusal anywhere in the app (a websocket message, a REST request, a
service) is a ``CallsError``: the signaling consumer sends it as an ``error`` message, the REST
API as a JSON error body with its HTTP status.
"""

from __future__ import annotations

from typing import Any

# Error codes: the same strings in Python, on the wire and in the JS SDK (errors.js ErrorCode).
ERROR_JSON_EXCEPTION = "ERROR_JSON_EXCEPTION"
ERROR_CALL_SESSION_ID = "ERROR_CALL_SESSION_ID"
ERR_CALL_SESSION_NOT_FOUND = "ERR_CALL_SESSION_NOT_FOUND"
ERR_CALL_TERMINATED = "ERR_CALL_TERMINATED"
ERR_CALL_USER_ALREADY_JOINED = "ERR_CALL_USER_ALREADY_JOINED"
ERR_CALL_NOT_A_PART = "ERR_CALL_NOT_A_PART"
ERROR_MEDIA_NEGOTIATION = "ERROR_MEDIA_NEGOTIATION"
ERROR_CALL_TOKEN = "ERROR_CALL_TOKEN"
ERROR_AUTH_TOKEN = "ERROR_AUTH_TOKEN"
ERROR_INVALID_UID = "ERROR_INVALID_UID"
ERROR_UID_WITH_SPACE = "ERROR_UID_WITH_SPACE"
ERROR_API_KEY_NOT_FOUND = "ERROR_API_KEY_NOT_FOUND"
ERROR_BLANK_AUTHTOKEN = "ERROR_BLANK_AUTHTOKEN"
ERROR_AUTHTOKEN_WITH_SPACE = "ERROR_AUTHTOKEN_WITH_SPACE"
ERR_EMPTY_CALL_SESSION_ID = "ERR_EMPTY_CALL_SESSION_ID"
ERR_UID_NOT_FOUND = "ERR_UID_NOT_FOUND"
ERR_UID_ALREADY_EXISTS = "ERR_UID_ALREADY_EXISTS"
ERR_APP_NOT_FOUND = "ERR_APP_NOT_FOUND"
ERR_GUESTS_NOT_ALLOWED = "ERR_GUESTS_NOT_ALLOWED"
# A join beyond the session's maxParticipants (details: maxParticipants).
ERR_CALL_FULL = "ERR_CALL_FULL"
ERR_TOO_MANY_REQUESTS = "ERR_TOO_MANY_REQUESTS"
ERR_BAD_REQUEST = "ERR_BAD_REQUEST"
# CALLS_SFU=workers and no SFU worker is alive to host the call (the SDK keeps trying while reconnecting).
ERR_MEDIA_SERVER_UNAVAILABLE = "ERR_MEDIA_SERVER_UNAVAILABLE"
ERR_NOT_FOUND = "ERR_NOT_FOUND"
# The media server could not record the call (its recordings directory cannot be written, ...).
ERR_RECORDING_FAILED = "ERR_RECORDING_FAILED"
AUTH_ERR_EMPTY_APIKEY = "AUTH_ERR_EMPTY_APIKEY"
AUTH_ERR_APIKEY_NOT_FOUND = "AUTH_ERR_APIKEY_NOT_FOUND"
AUTH_ERR_NO_ACCESS = "AUTH_ERR_NO_ACCESS"
# Every error code above, for schemas and for the SDK's copy to be checked against.
ERROR_CODES = tuple(
    sorted(value for name, value in dict(globals()).items() if name.startswith(("ERROR_", "ERR_", "AUTH_ERR_")))
)

# Websocket close codes the server sends (4000-4999 are ours to define; errors.js CloseCode).
WS_1000_NORMAL_CLOSURE = 1000
WS_4003_REMOVED = 4003
WS_4004_SESSION_NOT_FOUND = 4004
WS_4008_SILENT = 4008
WS_4010_SESSION_ENDED = 4010
WS_4011_INVALID_SESSION_ID = 4011
# The participant resumed on another socket: this one closes without leaving the call.
WS_4012_REPLACED = 4012
# The SFU worker hosting the call died: join again (on a live worker), as the SDK does by itself.
WS_4013_MEDIA_MOVED = 4013
# A newer join with the same call token took this participant's place (the SDK must not rejoin by itself).
WS_4014_REPLACED_BY_JOIN = 4014
# Too many connections from one address, or a socket that kept sending past its rate limits.
WS_4029_TOO_MANY_REQUESTS = 4029

# Why a participant left (participant_left's ``reason``, the call log's ``leaveReason``).
LEAVE_REASON_LEFT = "left"
LEAVE_REASON_DISCONNECTED = "disconnected"
LEAVE_REASON_REMOVED = "removed"
LEAVE_REASON_ENDED = "ended"
LEAVE_REASON_MEDIA_MOVED = "media_moved"
LEAVE_REASON_REPLACED = "replaced"
# The server stopped under it: recorded for participants a restarted server finds in its database.
LEAVE_REASON_SERVER_STOPPED = "server_stopped"
LEAVE_REASONS = frozenset(
    {
        LEAVE_REASON_LEFT,
        LEAVE_REASON_DISCONNECTED,
        LEAVE_REASON_REMOVED,
        LEAVE_REASON_ENDED,
        LEAVE_REASON_MEDIA_MOVED,
        LEAVE_REASON_REPLACED,
        LEAVE_REASON_SERVER_STOPPED,
    }
)

# Why a moderator-only, locked or held action was refused (AUTH_ERR_NO_ACCESS's details.reason).
REFUSAL_ROLE = "role"
REFUSAL_LOCKED = "locked"
REFUSAL_HELD = "held"
REFUSAL_REMOVED = "removed"

# What a moderator can do to a participant (moderate's and moderation's ``action``; errors.js ModerationAction).
MODERATION_MUTE = "mute"
MODERATION_PAUSE_VIDEO = "pause_video"
MODERATION_REMOVE = "remove"
MODERATION_ALLOW_AUDIO = "allow_audio"
MODERATION_ALLOW_VIDEO = "allow_video"
CLIENT_MODERATION_ACTIONS = (
    MODERATION_MUTE,
    MODERATION_PAUSE_VIDEO,
    MODERATION_REMOVE,
    MODERATION_ALLOW_AUDIO,
    MODERATION_ALLOW_VIDEO,
)


class CallsError(Exception):
    """A request refused with a documented code: a websocket ``error`` message or a REST error body."""

    def __init__(self, code: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details or {}
