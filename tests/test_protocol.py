"""The wire format: parsing and validation of client messages."""

from __future__ import annotations

import json

import pytest

from sessions_app import errors
from sessions_app.errors import CallsError
from sessions_app.signaling import protocol
from sessions_app.signaling.protocol import Answer, Join, Leave, MediaState, Ping, parse_client_message


def test_join_is_parsed_with_defaults() -> None:
    """A join needs only a call token; the name defaults to the token's and media to on."""
    assert parse_client_message('{"type": "join", "token": " t "}') == Join("t", "", False, False)


def test_display_name_is_cleaned() -> None:
    """Control characters go and whitespace collapses in display names."""
    message = parse_client_message(json.dumps({"type": "join", "token": "t", "displayName": " A\u0000n\tn  B "}))
    assert isinstance(message, Join) and message.display_name == "Ann B"


@pytest.mark.parametrize("name", ["", "   ", "\u0007"])
def test_blank_display_name_falls_back_to_the_tokens_name(name: str) -> None:
    """A display name with nothing printable is dropped, so the token's name is used."""
    message = parse_client_message(json.dumps({"type": "join", "token": "t", "displayName": name}))
    assert isinstance(message, Join) and message.display_name == ""


@pytest.mark.parametrize("token", [None, "", " ", 5, "x" * 3000])
def test_join_without_a_usable_token_is_refused(token: object) -> None:
    """A join whose token is missing, blank, not a string or oversized gets ERROR_CALL_TOKEN."""
    with pytest.raises(CallsError) as info:
        parse_client_message(json.dumps({"type": "join", "token": token}))
    assert info.value.code == errors.ERROR_CALL_TOKEN


def test_each_message_type_parses() -> None:
    """Every client message type has a parser producing its typed value."""
    assert parse_client_message('{"type": "answer", "sdp": "v=0\\r\\n"}') == Answer("v=0\r\n")
    assert parse_client_message('{"type": "media", "audioMuted": true}') == MediaState(True, False)
    assert parse_client_message('{"type": "leave"}') == Leave()
    assert parse_client_message('{"type": "ping"}') == Ping()


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ('{"type": "media", "audioMuted": "yes"}', "audioMuted"),
        ('{"type": "answer", "sdp": 3}', "sdp"),
        ('{"type": "answer", "sdp": "hello"}', "sdp"),
        ('{"type": "answer"}', "sdp"),
        ('{"type": "unknown"}', "type"),
        ('{"kind": "join"}', "type"),
    ],
)
def test_invalid_fields_are_named(text: str, field: str) -> None:
    """Wrongly typed or missing fields are refused with ERROR_JSON_EXCEPTION naming the field."""
    with pytest.raises(CallsError) as info:
        parse_client_message(text)
    assert info.value.code == errors.ERROR_JSON_EXCEPTION
    assert info.value.details["field"] == field


@pytest.mark.parametrize("text", [None, "", "null", "[1]", "{", "1" * 10, "[" * 5000 + "]" * 5000])
def test_non_objects_are_refused(text: str | None) -> None:
    """Anything that is not a JSON object is refused with ERROR_JSON_EXCEPTION, never a crash."""
    with pytest.raises(CallsError) as info:
        parse_client_message(text)
    assert info.value.code == errors.ERROR_JSON_EXCEPTION


def test_oversized_messages_are_refused() -> None:
    """Messages over MAX_MESSAGE_BYTES are refused before parsing."""
    with pytest.raises(CallsError) as info:
        parse_client_message('{"type": "ping", "pad": "' + "x" * protocol.MAX_MESSAGE_BYTES + '"}')
    assert info.value.details["maxBytes"] == protocol.MAX_MESSAGE_BYTES


def test_video_views_are_parsed_and_bad_ones_refused_with_a_code() -> None:
    views = [
        {"participantId": "p1", "source": "video", "width": 640.4, "height": 360},
        {"participantId": "p2", "source": "screen", "width": 0, "height": 0},
    ]
    message = parse_client_message(json.dumps({"type": "video_views", "views": views}))
    assert message == protocol.VideoViews(
        views=(protocol.VideoView("p1", "video", 640, 360), protocol.VideoView("p2", "screen", 0, 0))
    )
    too_many = [views[0]] * (protocol.MAX_VIDEO_VIEWS + 1)
    for bad in (
        {"views": "all"},
        {"views": too_many},
        {"views": [{**views[0], "source": "audio"}]},
        {"views": [{**views[0], "width": -1}]},
        {"views": [{**views[0], "height": protocol.MAX_VIEW_PIXELS + 1}]},
        {"views": [{**views[0], "width": True}]},
        {"views": [{"source": "video", "width": 1, "height": 1}]},
    ):
        with pytest.raises(CallsError) as info:
            parse_client_message(json.dumps({"type": "video_views", **bad}))
        assert info.value.code == errors.ERROR_JSON_EXCEPTION
