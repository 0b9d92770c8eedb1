"""
Bad input on the signaling websocket, generated with Hypothesis.

Every frame below goes to two connections of one live call: a stranger that
has not joined and a participant that has. Whatever arrives, the server must
answer with a normal reply or an error carrying a documented code, keep the
socket open and still answer a ping. A well-behaved participant with a real
aiortc peer sits in the same call throughout and must not notice a thing.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sessions_app import errors
from sessions_app.models import Participant
from sessions_app.services.media import get_sfu
from sessions_app.services.session_settings import DEFAULTS
from sessions_app.signaling import protocol
from sessions_app.signaling.limits import MessageBudget
from tests.calls_state import reset_calls
from tests.media_client import MediaClient
from tests.test_consumer import guest_token, new_session, open_socket, receive_type
from tests.test_sfu import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]

DOCUMENTED_CODES = frozenset(errors.ERROR_CODES)
# What a connection may legitimately receive while it sends garbage: replies and the call's own traffic.
NORMAL_TYPES = frozenset(
    {
        "pong",
        "offer",
        "chat",
        "hand",
        "media",
        "screen_share",
        "participant_joined",
        "participant_left",
        "dominant_speaker",
    }
)
REPLY_TIMEOUT_S = 10.0
# The SDK's ping interval (static/calls/signaling.js): a participant that never pings is closed as
# silent after SILENCE_TIMEOUT_S, and a fuzz run lasts longer than that on a loaded machine.
SDK_PING_INTERVAL_S = 2.0

FUZZ = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)


def test_every_error_code_is_in_the_readme_table() -> None:
    """The error codes protocol.py defines are the ones the README documents: one vocabulary."""
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    table = readme.split("## Error codes", 1)[1]
    assert set(re.findall(r"`([A-Z_]+)`", table)) >= DOCUMENTED_CODES


# A live call: Ann (well behaved, real media), a stranger socket and a joined fuzzer socket.


@dataclass
class WellBehaved:
    """A participant whose every message is recorded and every offer answered by a real aiortc peer."""

    socket: WebsocketCommunicator
    client: MediaClient
    participant_id: str = ""
    received: list[dict[str, Any]] = field(default_factory=list)
    closed: dict[str, Any] | None = None
    task: asyncio.Task[None] | None = None
    pinger: asyncio.Task[None] | None = None

    async def read(self) -> None:
        while True:
            output = await self.socket.receive_output(timeout=3600)
            if output["type"] == "websocket.close":
                self.closed = output
                return
            message = json.loads(output["text"])
            self.received.append(message)
            if message["type"] == "offer":

                async def send_answer(sdp: str) -> None:
                    await self.socket.send_json_to({"type": "answer", "sdp": sdp})

                await self.client.handle_offer(message, send_answer)

    async def keep_alive(self) -> None:
        """Ping like the SDK, without waiting for the pongs (``read`` records them)."""
        while True:
            await self.socket.send_json_to({"type": "ping"})
            await asyncio.sleep(SDK_PING_INTERVAL_S)

    async def ping(self) -> None:
        seen = len(self.received)
        await self.socket.send_json_to({"type": "ping"})
        await wait_until(lambda: any(m["type"] == "pong" for m in self.received[seen:]), timeout=REPLY_TIMEOUT_S)


@dataclass
class Call:
    session_id: str
    ann: WellBehaved
    stranger: WebsocketCommunicator
    fuzzer: WebsocketCommunicator
    fuzzer_id: str
    real_answer: str

    async def assert_undisturbed(self) -> None:
        """Ann is still in the call, saw no error, still talks, and a late joiner still gets in."""
        await self.ann.ping()
        assert self.ann.closed is None
        assert not [m for m in self.ann.received if m["type"] in {"error", "removed", "session_ended"}]
        left = {m["participantId"] for m in self.ann.received if m["type"] == "participant_left"}
        assert self.ann.participant_id not in left and self.fuzzer_id not in left
        row = await database_sync_to_async(Participant.objects.get)(participant_id=self.ann.participant_id)
        assert row.left_at is None
        await wait_until(lambda: self.ann.client.pc.connectionState == "connected", timeout=REPLY_TIMEOUT_S)

        late = await open_socket(self.session_id)
        await late.send_json_to({"type": "join", "token": await guest_token(self.session_id), "displayName": "Late"})
        joined = await receive_type(late, "joined")
        assert {p["pid"] for p in joined["participants"]} >= {self.ann.participant_id, self.fuzzer_id}
        await wait_until(
            lambda: any(
                m["type"] == "participant_joined" and m["participant"]["pid"] == joined["participantId"]
                for m in self.ann.received
            )
        )
        await late.send_json_to({"type": "leave"})
        while (await late.receive_output(timeout=REPLY_TIMEOUT_S))["type"] != "websocket.close":
            pass
        await late.disconnect()


async def answer_for(offer_sdp: str) -> str:
    """A real SDP answer to one of the server's offers, from a throwaway aiortc peer."""
    pc = RTCPeerConnection()
    try:
        await pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        return pc.localDescription.sdp
    finally:
        await pc.close()


@pytest.fixture(autouse=True)
def loopback_media(settings: Any) -> None:
    settings.CALLS_MEDIA_IPS = ["127.0.0.1"]


@pytest.fixture(autouse=True)
def unlimited_budgets(monkeypatch: pytest.MonkeyPatch) -> None:
    """
    A fuzz run sends hundreds of messages a second on one socket: past its budgets, every one would be
    refused before it was parsed further, and the socket closed (tests/test_limits.py proves that).
    Here each message must reach the parser and handlers.
    """
    monkeypatch.setattr(MessageBudget, "take", lambda self, kind: 0.0)


@pytest.fixture
async def call(caplog: pytest.LogCaptureFixture) -> AsyncIterator[Call]:
    session = await new_session(title="Fuzz")
    ann_socket = await open_socket(session.session_id)
    ann = WellBehaved(ann_socket, MediaClient("ann", {"audio": AudioStreamTrack()}))
    await ann_socket.send_json_to({"type": "join", "token": await guest_token(session.session_id, "Ann")})
    ann.participant_id = (await receive_type(ann_socket, "joined"))["participantId"]
    ann.task = asyncio.ensure_future(ann.read())
    ann.pinger = asyncio.ensure_future(ann.keep_alive())

    stranger = await open_socket(session.session_id)
    fuzzer = await open_socket(session.session_id)
    await fuzzer.send_json_to({"type": "join", "token": await guest_token(session.session_id, "Fuzz")})
    fuzzer_id = (await receive_type(fuzzer, "joined"))["participantId"]
    offer = await receive_type(fuzzer, "offer")
    call = Call(session.session_id, ann, stranger, fuzzer, fuzzer_id, await answer_for(offer["sdp"]))
    try:
        yield call
        await call.assert_undisturbed()
        failures = [r for r in caplog.records if r.levelno >= logging.ERROR and r.name.startswith("sessions_app")]
        assert not failures, "the server hit its catch-all: " + "; ".join(r.getMessage() for r in failures)
    finally:
        ann.pinger.cancel()
        ann.task.cancel()
        await ann.client.close()
        for socket in (ann_socket, stranger, fuzzer):
            await socket.disconnect()
        await reset_calls()


async def next_output(socket: WebsocketCommunicator) -> dict[str, Any]:
    try:
        return await socket.receive_output(timeout=REPLY_TIMEOUT_S)
    except TimeoutError:
        pytest.fail("the socket hung: no reply within the timeout")


async def assert_refused_or_answered(socket: WebsocketCommunicator, frame: str | bytes) -> list[dict[str, Any]]:
    """
    Send ``frame`` then a ping; everything before the pong must be a normal message or an
    error with a documented code, and the socket must stay open. Return what came back.
    """
    # send_input, not send_to: empty frames are frames too.
    await socket.send_input({"type": "websocket.receive", "bytes" if isinstance(frame, bytes) else "text": frame})
    await socket.send_json_to({"type": "ping"})
    replies = []
    while True:
        output = await next_output(socket)
        assert output["type"] == "websocket.send", f"the socket closed: {output}"
        message = json.loads(output["text"])
        if message["type"] == "error":
            assert message["code"] in DOCUMENTED_CODES, message
            assert set(message) == {"type", "code", "message", "details"}
            assert isinstance(message["details"], dict)
        else:
            assert message["type"] in NORMAL_TYPES, message
        if message["type"] == "pong":
            return replies
        replies.append(message)


async def send_everywhere(call: Call, frame: str | bytes) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    return (
        await assert_refused_or_answered(call.stranger, frame),
        await assert_refused_or_answered(call.fuzzer, frame),
    )


# Strategies.

NASTY_STRINGS = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "\ud800",  # a lone surrogate: valid as a JSON escape, not encodable as UTF-8
        "\udfff\ud800",
        "\u202e\u200b",
        "<script>alert(1)</script>",
        "' OR 1=1 --",
        "%s%n",
        "null",
    ]
) | st.sampled_from([5000, 40000]).map(lambda n: "é" * n)  # built lazily: Hypothesis prints strategies
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=30)
    | NASTY_STRINGS
    | st.integers(min_value=10**30, max_value=10**40)
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=20,
)
# Python cannot build (or dump) much deeper lists; deeper nesting is sent as raw text below.
nested_garbage = st.integers(min_value=1, max_value=400).map(lambda depth: json.loads("[" * depth + "]" * depth))
deeply_nested_frames = st.tuples(
    st.sampled_from(["", '{"type": "chat", "text": ', '{"type": "join", "settings": ']),
    st.integers(min_value=500, max_value=30_000),
).map(lambda cut: cut[0] + "[" * cut[1] + "]" * cut[1] + "}" * bool(cut[0]))
MISSING = object()


SDP_EDITS = [
    lambda sdp: sdp.replace("a=fingerprint:sha-256", "a=fingerprint:sha-256 00:"),
    lambda sdp: sdp.replace("a=ice-ufrag:", "a=ice-ufrag:\x00"),
    lambda sdp: re.sub(r"m=(audio|video) \d+", r"m=\1 0", sdp),
    lambda sdp: sdp + "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:99\r\n",
    lambda sdp: sdp.replace("a=group:BUNDLE", "a=group:BUNDLE 42"),
    lambda sdp: sdp.replace("a=setup:", "a=setup:nonsense"),
    lambda sdp: "v=0\r\n" + "a=x\r\n" * 12000,
]


def sdp_variants(real_answer: str) -> st.SearchStrategy[str]:
    edits = SDP_EDITS
    lines = real_answer.splitlines()
    bogus_m_lines = st.sampled_from(
        [
            "m=video 9 UDP/TLS/RTP/SAVPF 96",
            "m=audio -1 RTP/AVP 0",
            "m=application 0 foo/bar x",
            "m=bogus",
            "m=",
            "m=video 99999999999999999999 UDP/TLS/RTP/SAVPF 96 97 98",
        ]
    )
    return st.one_of(
        st.text(max_size=300).map(lambda text: "v=0\r\n" + text),
        st.integers(min_value=0, max_value=len(real_answer)).map(lambda n: real_answer[:n]),
        st.tuples(st.integers(min_value=1, max_value=len(lines)), bogus_m_lines).map(
            lambda cut: "\r\n".join([*lines[: cut[0]], cut[1], *lines[cut[0] :]]) + "\r\n"
        ),
        st.lists(st.sampled_from(lines), min_size=1, max_size=2 * len(lines)).map(
            lambda shuffled: "v=0\r\n" + "\r\n".join(shuffled) + "\r\n"
        ),
        st.sampled_from(range(len(edits))).map(lambda i: edits[i](real_answer)),
    )


def message_templates(real_answer: str) -> dict[str, dict[str, st.SearchStrategy[Any]]]:
    """For every client message type, each field and a strategy for plausible values."""
    settings_objects = st.dictionaries(st.sampled_from(sorted(DEFAULTS)) | st.text(max_size=10), json_values)
    return {
        "join": {
            "token": st.text(max_size=40) | NASTY_STRINGS | st.just("eyJhbGciOiJub25lIn0.e30."),
            "displayName": st.text(max_size=300) | NASTY_STRINGS,
            "audioMuted": st.booleans(),
            "videoPaused": st.booleans(),
            "settings": settings_objects,
        },
        "answer": {"sdp": sdp_variants(real_answer)},
        "media": {"audioMuted": st.booleans(), "videoPaused": st.booleans()},
        "moderate": {
            "target": st.text(max_size=80) | NASTY_STRINGS,
            "action": st.sampled_from([*errors.CLIENT_MODERATION_ACTIONS, errors.MODERATION_REMOVE, "MUTE"]),
        },
        "hand": {"raised": st.booleans()},
        "chat": {"text": st.text(max_size=2100) | NASTY_STRINGS},
        "screen_share": {"enabled": st.booleans()},
        "ping": {},
    }


def field_value(plausible: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A field's value: plausible, missing, null, wrongly typed, oversized or nested garbage."""
    return st.one_of(
        plausible,
        plausible,
        st.just(MISSING),
        st.none(),
        json_values,
        nested_garbage,
        st.integers(min_value=protocol.MAX_SDP_BYTES, max_value=protocol.MAX_MESSAGE_BYTES + 10).map(lambda n: "y" * n),
        st.lists(st.integers(), min_size=1000, max_size=1000),
    )


@st.composite
def structural_variants(draw: st.DrawFn, real_answer: str) -> str:
    templates = message_templates(real_answer)
    message_type = draw(st.sampled_from(sorted(templates)))
    message: dict[str, Any] = {"type": message_type}
    for name, plausible in templates[message_type].items():
        value = draw(field_value(plausible))
        if value is not MISSING:
            message[name] = value
    message.update(draw(st.dictionaries(st.text(max_size=10).filter(lambda k: k != "type"), json_values, max_size=3)))
    text = json.dumps(message)
    # Sometimes the type itself goes wrong: another case, wrong JSON type, or missing.
    mangle = draw(st.sampled_from(["keep"] * 6 + ["upper", "number", "list", "drop"]))
    if mangle == "keep":
        return text
    message["type"] = {"upper": message_type.upper(), "number": 7, "list": [message_type]}.get(mangle)
    if mangle == "drop":
        del message["type"]
    return json.dumps(message)


random_frames = st.one_of(
    st.text(max_size=500),
    json_values.map(json.dumps),
    st.dictionaries(st.text(max_size=10), json_values).map(json.dumps),
    st.integers(min_value=protocol.MAX_MESSAGE_BYTES - 10, max_value=protocol.MAX_MESSAGE_BYTES + 5000).map(
        lambda n: json.dumps({"type": "ping", "pad": "z" * n})
    ),
    st.integers(min_value=protocol.MAX_MESSAGE_BYTES + 1, max_value=200_000).map(lambda n: "q" * n),
    nested_garbage.map(json.dumps),
    deeply_nested_frames,
    st.binary(max_size=500),
)


# Tests.


@FUZZ
@given(frame=random_frames)
async def test_random_frames_are_refused_with_documented_codes(call: Call, frame: str | bytes) -> None:
    """Random text, JSON of any shape, oversized and binary frames get documented errors; nothing breaks."""
    await send_everywhere(call, frame)


@FUZZ
@given(data=st.data())
async def test_every_message_type_with_broken_fields(call: Call, data: st.DataObject) -> None:
    """Each field missing, null, wrongly typed, oversized or nested garbage: refused or handled, never a crash."""
    await send_everywhere(call, data.draw(structural_variants(call.real_answer)))


@FUZZ
@given(data=st.data())
async def test_garbage_sdp_answers_before_and_after_join(call: Call, data: st.DataObject) -> None:
    """Garbage SDP is ERR_CALL_NOT_A_PART before join, and ERROR_MEDIA_NEGOTIATION (or a field error) after."""
    # A fresh offer each time, so every answer reaches aiortc rather than "no offer is waiting".
    peer = get_sfu().rooms[call.session_id].peers[call.fuzzer_id]
    if not peer._awaiting_answer:
        await peer.negotiate()
        await receive_type(call.fuzzer, "offer")
    frame = json.dumps({"type": "answer", "sdp": data.draw(sdp_variants(call.real_answer))})
    before, after = await send_everywhere(call, frame)
    assert [m["code"] for m in before if m["type"] == "error"] in (
        [errors.ERR_CALL_NOT_A_PART],
        [errors.ERROR_JSON_EXCEPTION],
    )
    codes = [m["code"] for m in after if m["type"] == "error"]
    assert codes in ([], [errors.ERROR_MEDIA_NEGOTIATION], [errors.ERROR_JSON_EXCEPTION]), codes


@pytest.mark.parametrize("message_type", ["leave", "end_for_all"])
async def test_field_less_messages_before_join_change_nothing(call: Call, message_type: str) -> None:
    """leave and end_for_all from a socket that has not joined are ERR_CALL_NOT_A_PART, whatever they carry."""
    frame = json.dumps({"type": message_type, "token": "x", "target": call.ann.participant_id, "pad": [None] * 50})
    replies = await assert_refused_or_answered(call.stranger, frame)
    assert [m["code"] for m in replies] == [errors.ERR_CALL_NOT_A_PART]


async def test_lone_surrogates_in_strings_are_refused_as_fields(call: Call) -> None:
    """Text that cannot be UTF-8 (a lone surrogate escape) is a field error, not a server failure."""
    for socket, message in (
        (call.stranger, {"type": "join", "token": "\ud800"}),
        (call.fuzzer, {"type": "chat", "text": "hi \ud800"}),
        (call.fuzzer, {"type": "moderate", "target": "\udfff", "action": "mute"}),
    ):
        replies = await assert_refused_or_answered(socket, json.dumps(message))
        assert [m["type"] for m in replies] == ["error"]
        assert replies[0]["code"] in {errors.ERROR_JSON_EXCEPTION, errors.ERROR_CALL_TOKEN}


async def test_an_answer_bundling_an_unknown_mid_is_refused(call: Call) -> None:
    """
    An answer whose BUNDLE group starts with a mid that was never offered is ERROR_MEDIA_NEGOTIATION.

    aiortc applied it and left the other sections without a transport: the connection broke for good,
    and with it every later join to the call (the SFU subscribes each peer to the newcomer).
    """
    bogus = call.real_answer.replace("a=group:BUNDLE", "a=group:BUNDLE 42")
    replies = await assert_refused_or_answered(call.fuzzer, json.dumps({"type": "answer", "sdp": bogus}))
    assert [m["code"] for m in replies if m["type"] == "error"] == [errors.ERROR_MEDIA_NEGOTIATION]
