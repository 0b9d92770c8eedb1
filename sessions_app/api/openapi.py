"""The OpenAPI 3.1 description of REST API v1, served at /api/v1/openapi.json and tested against."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from .. import errors

ERROR_CODES = list(errors.ERROR_CODES)


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _data(schema: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": ["data"], "properties": {"data": schema}}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*statuses: int) -> dict[str, Any]:
    return {str(status): {"$ref": "#/components/responses/Error"} for status in statuses}


def _page(item: str) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["data", "meta"],
        "properties": {"data": {"type": "array", "items": _ref(item)}, "meta": _ref("PageMeta")},
    }


APP_ID = {"name": "appid", "in": "header", "required": True, "schema": {"type": "string"}}
API_KEY = {"name": "apikey", "in": "header", "required": True, "schema": {"type": "string"}}
AUTH_TOKEN = {"name": "authtoken", "in": "header", "required": True, "schema": {"type": "string"}}
# The call logs take either credential: the app's server reads every call, a user the calls it took part in.
CALL_LOG_READERS = [
    {
        "name": "apikey",
        "in": "header",
        "required": False,
        "schema": {"type": "string"},
        "description": "The app's server: every call of the app. Wins when both are sent.",
    },
    {
        "name": "authtoken",
        "in": "header",
        "required": False,
        "schema": {"type": "string"},
        "description": "A user (without apikey): only the calls it took part in.",
    },
]
UID = {"name": "uid", "in": "path", "required": True, "schema": {"type": "string"}}
SESSION_ID = {"name": "sessionId", "in": "path", "required": True, "schema": {"type": "string"}}
PAGING = [
    {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}},
    {"name": "perPage", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100}},
]


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message", "details"],
                "properties": {
                    "code": {"type": "string", "enum": ERROR_CODES},
                    "message": {"type": "string"},
                    "details": {"type": "object"},
                },
            }
        },
    },
    "User": {
        "type": "object",
        "required": ["uid", "name", "avatar", "status"],
        "properties": {
            "uid": {"type": "string"},
            "name": {"type": "string"},
            "avatar": {"type": "string"},
            "status": {"type": "string"},
        },
    },
    "AuthToken": {
        "type": "object",
        "required": ["id", "prefix", "createdAt", "expiresAt", "revokedAt"],
        "properties": {
            "id": {"type": "integer"},
            "prefix": {"type": "string"},
            "createdAt": {"type": "integer"},
            "expiresAt": {"type": ["integer", "null"], "description": "After this it no longer logs in."},
            "revokedAt": {"type": ["integer", "null"]},
            "authToken": {"type": "string", "description": "Only when created: shown once."},
            "uid": {"type": "string"},
        },
    },
    "CallToken": {
        "type": "object",
        "required": ["token", "sessionId", "uid", "role", "expiresAt"],
        "properties": {
            "token": {"type": "string"},
            "sessionId": {"type": "string"},
            "uid": {"type": "string"},
            "role": {"type": "string", "enum": ["moderator", "participant"]},
            "expiresAt": {"type": "integer"},
        },
    },
    "Session": {
        "type": "object",
        "required": [
            "sessionId",
            "title",
            "type",
            "status",
            "allowGuests",
            "settings",
            "lockedSettings",
            "maxParticipants",
            "moderators",
            "shareUrl",
            "createdAt",
            "startedAt",
            "endedAt",
        ],
        "properties": {
            "sessionId": {"type": "string"},
            "title": {"type": "string"},
            "type": {"type": "string", "enum": ["VIDEO", "VOICE"]},
            "status": {"type": "string", "enum": ["initiated", "ongoing", "ended"]},
            "allowGuests": {"type": "boolean"},
            "settings": {"type": "object", "description": "SessionSettings defaults (calls-api §4)"},
            "lockedSettings": {"type": "array", "items": {"type": "string"}},
            "maxParticipants": {"type": "integer", "description": "Joins beyond this many are refused."},
            "moderators": {
                "type": "array",
                "items": {"type": "string"},
                "description": "uids whose call tokens for this session are moderators'",
            },
            "shareUrl": {"type": "string"},
            "createdAt": {"type": "integer"},
            "startedAt": {"type": ["integer", "null"]},
            "endedAt": {"type": ["integer", "null"]},
        },
    },
    "CallParticipant": {
        "type": "object",
        "required": [
            "participantId",
            "uid",
            "name",
            "avatar",
            "isGuest",
            "joinedAt",
            "leftAt",
            "leaveReason",
            "totalDurationSeconds",
            "audioMinutes",
            "videoMinutes",
        ],
        "properties": {
            "sessionId": {"type": "string"},
            "participantId": {"type": "string"},
            "uid": {"type": "string"},
            "name": {"type": "string"},
            "avatar": {"type": "string", "description": "The user's picture when it joined, or empty."},
            "isGuest": {"type": "boolean"},
            "role": {"type": "string", "enum": ["moderator", "participant"]},
            "joinedAt": {"type": "integer"},
            "leftAt": {"type": ["integer", "null"]},
            "leaveReason": {"type": "string"},
            "totalDurationSeconds": {"type": "number"},
            "audioMinutes": {"type": "number"},
            "videoMinutes": {"type": "number"},
        },
    },
    "CallLog": {
        "type": "object",
        "required": [
            "sessionId",
            "title",
            "type",
            "status",
            "endReason",
            "initiator",
            "startedAt",
            "endedAt",
            "totalDurationSeconds",
            "totalParticipants",
            "totalJoins",
            "peakParticipants",
            "totalAudioMinutes",
            "totalVideoMinutes",
            "hasRecording",
            "recordings",
        ],
        "properties": {
            "sessionId": {"type": "string"},
            "title": {"type": "string"},
            "type": {"type": "string", "enum": ["VIDEO", "VOICE"]},
            "status": {"type": "string", "enum": ["initiated", "ongoing", "ended"]},
            "endReason": {"type": "string"},
            "initiator": {"type": ["string", "null"]},
            "startedAt": {"type": ["integer", "null"]},
            "endedAt": {"type": ["integer", "null"]},
            "totalDurationSeconds": {"type": "number"},
            "totalParticipants": {"type": "integer"},
            "totalJoins": {"type": "integer"},
            "peakParticipants": {"type": "integer"},
            "totalAudioMinutes": {"type": "number"},
            "totalVideoMinutes": {"type": "number"},
            "hasRecording": {"type": "boolean"},
            "recordings": {"type": "array", "items": _ref("Recording")},
            "participants": {"type": "array", "items": _ref("CallParticipant")},
        },
    },
    "Recording": {
        "type": "object",
        "description": "A composed recording of the call (one file: grid, mixed audio, the speaker or screen share "
        "featured). Also the data.recording of the recording_generated webhook.",
        "required": ["rid", "recordingURL", "startTime", "endTime", "duration", "sizeBytes"],
        "properties": {
            "rid": {"type": "string", "description": "The recording's ID."},
            "recordingURL": {
                "type": "string",
                "format": "uri",
                "description": "Downloads the WebM file (VP8, Opus). Signed and expiring "
                "(CALLS_RECORDING_URL_TTL_SECONDS); read the call log again for a fresh one.",
            },
            "startTime": {"type": "integer", "description": "When recording started (Unix seconds)."},
            "endTime": {"type": "integer", "description": "When it stopped (Unix seconds)."},
            "duration": {"type": "number", "description": "The file's length in seconds."},
            "sizeBytes": {"type": "integer"},
        },
    },
    "PageMeta": {
        "type": "object",
        "required": ["pagination"],
        "properties": {
            "pagination": {
                "type": "object",
                "required": ["total", "count", "perPage", "currentPage", "totalPages"],
                "properties": {
                    k: {"type": "integer"} for k in ("total", "count", "perPage", "currentPage", "totalPages")
                },
            }
        },
    },
}


def openapi_schema() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "calls REST API",
            "version": "1.0.0",
            "description": "Users, auth tokens, call tokens and sessions. Errors are {error: {code, message, "
            "details}} with CometChat's codes.",
        },
        "servers": [{"url": reverse("api-openapi").removesuffix("/openapi.json")}],
        "paths": {
            "/users": {
                "get": {
                    "summary": "List users",
                    "parameters": [APP_ID, API_KEY, *PAGING],
                    "responses": {"200": _json(_page("User"), "A page of users"), **_errors(400, 401)},
                },
                "post": {
                    "summary": "Create a user",
                    "parameters": [APP_ID, API_KEY],
                    "requestBody": _body(
                        {
                            "type": "object",
                            "required": ["uid", "name"],
                            "properties": {
                                "uid": {"type": "string"},
                                "name": {"type": "string"},
                                "avatar": {"type": "string"},
                            },
                        }
                    ),
                    "responses": {"201": _json(_data(_ref("User")), "Created"), **_errors(400, 401, 409, 413)},
                },
            },
            "/users/{uid}": {
                "get": {
                    "summary": "Get a user",
                    "parameters": [UID, APP_ID, API_KEY],
                    "responses": {"200": _json(_data(_ref("User")), "The user"), **_errors(400, 401, 404)},
                },
            },
            "/users/{uid}/auth_tokens": {
                "get": {
                    "summary": "List a user's auth tokens (prefixes only)",
                    "parameters": [UID, APP_ID, API_KEY, *PAGING],
                    "responses": {"200": _json(_page("AuthToken"), "A page"), **_errors(400, 401, 404)},
                },
                "post": {
                    "summary": "Create an auth token (shown once)",
                    "parameters": [UID, APP_ID, API_KEY],
                    "responses": {"201": _json(_data(_ref("AuthToken")), "Created"), **_errors(400, 401, 404, 429)},
                },
            },
            "/users/{uid}/auth_tokens/{tokenId}": {
                "delete": {
                    "summary": "Revoke an auth token",
                    "parameters": [
                        UID,
                        {"name": "tokenId", "in": "path", "required": True, "schema": {"type": "integer"}},
                        APP_ID,
                        API_KEY,
                    ],
                    "responses": {"200": _json(_data(_ref("AuthToken")), "Revoked"), **_errors(400, 401, 404)},
                },
            },
            "/login": {
                "post": {
                    "summary": "Development login with the app's auth key",
                    "parameters": [APP_ID],
                    "requestBody": _body(
                        {
                            "type": "object",
                            "required": ["uid", "authKey"],
                            "properties": {"uid": {"type": "string"}, "authKey": {"type": "string"}},
                        }
                    ),
                    "responses": {
                        "200": _json(
                            _data(
                                {
                                    "allOf": [
                                        _ref("User"),
                                        {
                                            "type": "object",
                                            "required": ["authToken"],
                                            "properties": {"authToken": {"type": "string"}},
                                        },
                                    ]
                                }
                            ),
                            "Logged in",
                        ),
                        **_errors(400, 401, 403, 404, 413, 429),
                    },
                },
            },
            "/me": {
                "get": {
                    "summary": "The user an auth token belongs to",
                    "parameters": [APP_ID, AUTH_TOKEN],
                    "responses": {"200": _json(_data(_ref("User")), "The user"), **_errors(400, 401)},
                },
            },
            "/logout": {
                "post": {
                    "summary": "Revoke the auth token the request carries (the SDK's logout)",
                    "parameters": [APP_ID, AUTH_TOKEN],
                    "responses": {"200": _json(_data(_ref("AuthToken")), "Revoked"), **_errors(400, 401)},
                },
            },
            "/tokens": {
                "post": {
                    "summary": "Generate a call token for one session (authtoken, or apikey with uid)",
                    "parameters": [APP_ID],
                    "requestBody": _body(
                        {
                            "type": "object",
                            "required": ["sessionId"],
                            "properties": {
                                "sessionId": {"type": "string"},
                                "uid": {"type": "string"},
                                "role": {
                                    "type": "string",
                                    "enum": ["moderator", "participant"],
                                    "description": "apikey only (an authtoken may not ask for moderator); "
                                    "default: moderator for the session's moderators, else participant",
                                },
                            },
                        }
                    ),
                    "responses": {
                        "201": _json(_data(_ref("CallToken")), "Issued"),
                        **_errors(400, 401, 403, 404, 409, 413, 429),
                    },
                },
            },
            "/sessions": {
                "get": {
                    "summary": "List the app's sessions",
                    "parameters": [
                        APP_ID,
                        API_KEY,
                        *PAGING,
                        {"name": "status", "in": "query", "schema": {"type": "string"}},
                    ],
                    "responses": {"200": _json(_page("Session"), "A page"), **_errors(400, 401)},
                },
                "post": {
                    "summary": "Create a session",
                    "parameters": [APP_ID, API_KEY],
                    "requestBody": _body(
                        {
                            "type": "object",
                            "properties": {
                                "title": {"type": "string"},
                                "type": {"type": "string", "enum": ["VIDEO", "VOICE", "AUDIO"]},
                                "allowGuests": {"type": "boolean"},
                                "settings": {"type": "object"},
                                "lockedSettings": {"type": "array", "items": {"type": "string"}},
                                "maxParticipants": {"type": "integer", "minimum": 1, "maximum": 1000},
                                "moderators": {"type": "array", "items": {"type": "string"}, "maxItems": 100},
                            },
                        }
                    ),
                    "responses": {"201": _json(_data(_ref("Session")), "Created"), **_errors(400, 401, 413)},
                },
            },
            "/sessions/{sessionId}": {
                "get": {
                    "summary": "Get a session",
                    "parameters": [SESSION_ID, APP_ID, API_KEY],
                    "responses": {"200": _json(_data(_ref("Session")), "The session"), **_errors(400, 401, 403, 404)},
                },
            },
            "/sessions/{sessionId}/end": {
                "post": {
                    "summary": "End the call for everyone",
                    "parameters": [SESSION_ID, APP_ID, API_KEY],
                    "responses": {"200": _json(_data(_ref("Session")), "Ended"), **_errors(400, 401, 403, 404, 409)},
                },
            },
            "/calls": {
                "get": {
                    "summary": "Call logs: sessions that started, newest first (a user's: those it took part in)",
                    "parameters": [
                        APP_ID,
                        *CALL_LOG_READERS,
                        *PAGING,
                        {
                            "name": "type",
                            "in": "query",
                            "schema": {"type": "string", "enum": ["VIDEO", "VOICE", "AUDIO"]},
                        },
                        {"name": "status", "in": "query", "schema": {"type": "string"}},
                        {"name": "uid", "in": "query", "schema": {"type": "string"}},
                        {"name": "startedAfter", "in": "query", "schema": {"type": "integer"}},
                        {"name": "startedBefore", "in": "query", "schema": {"type": "integer"}},
                        {"name": "hasRecording", "in": "query", "schema": {"type": "boolean"}},
                        {
                            "name": "withParticipants",
                            "in": "query",
                            "schema": {"type": "boolean"},
                            "description": "Each call log with its participants (every join), as one call's has.",
                        },
                    ],
                    "responses": {"200": _json(_page("CallLog"), "A page of call logs"), **_errors(400, 401)},
                },
            },
            "/calls/{sessionId}": {
                "get": {
                    "summary": "One call's log with every join (a user's token: a call it took part in)",
                    "parameters": [SESSION_ID, APP_ID, *CALL_LOG_READERS],
                    "responses": {"200": _json(_data(_ref("CallLog")), "The call log"), **_errors(400, 401, 403, 404)},
                },
            },
            "/recordings/{rid}/file": {
                "get": {
                    "summary": "A composed recording's file (the recordingURL: its query is its credential)",
                    "security": [],
                    "parameters": [
                        {"name": "rid", "in": "path", "required": True, "schema": {"type": "string"}},
                        {"name": "expires", "in": "query", "required": True, "schema": {"type": "integer"}},
                        {"name": "signature", "in": "query", "required": True, "schema": {"type": "string"}},
                        {"name": "Range", "in": "header", "schema": {"type": "string"}},
                    ],
                    "responses": {
                        "200": {"description": "The WebM file", "content": {"video/webm": {}}},
                        "206": {"description": "The bytes asked for", "content": {"video/webm": {}}},
                        "302": {"description": "The bucket's own short-lived URL (non-local storage)"},
                        "416": {"description": "The range is past the file's end"},
                        **_errors(400, 403, 404),
                    },
                },
            },
            "/sessions/{sessionId}/guest_token": {
                "post": {
                    "summary": "A guest's call token for a session that allows guests (or, with the host "
                    "grant of the call's share page, its host's: a moderator's)",
                    "parameters": [SESSION_ID],
                    "requestBody": {
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {"displayName": {"type": "string"}, "hostGrant": {"type": "string"}},
                                }
                            }
                        }
                    },
                    "responses": {
                        "201": _json(_data(_ref("CallToken")), "Issued"),
                        **_errors(400, 403, 404, 409, 413, 429),
                    },
                },
            },
        },
        "components": {
            "schemas": SCHEMAS,
            "responses": {"Error": _json(_ref("Error"), "An error with a documented code")},
        },
    }
