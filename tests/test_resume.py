"""A participant outlives its socket: resume after a drop, the grace period, and silent sockets."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from channels.testing import WebsocketCommunicator

from sessions_app import errors
from sessions_app.signaling.live import RESUME_GRACE_S, get_live_participants
from sessions_app.signaling.silence import SILENCE_TIMEOUT_S
from tests.test_consumer import join, keep_alive, new_session, open_socket, receive_type

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(60)]


@pytest.fixture(autouse=True)
async def loopback_media(settings: Any) -> AsyncIterator[None]:
    from tests.calls_state import reset_calls

    settings.CALLS_MEDIA_IPS = ["127.0.0.1"]
    yield
    await reset_calls()


async def no_message_of_type(socket: WebsocketCommunicator, message_type: str, seconds: float) -> None:
    """Assert that ``socket`` gets no ``message_type`` for ``seconds`` (other messages are skipped)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while loop.time() < deadline:
        # receive_nothing() waits without cancelling the application, as a timed-out receive would.
        if await socket.receive_nothing(timeout=0.2):
            continue
        message = await socket.receive_json_from()
        assert message["type"] != message_type, message


async def close_code(socket: WebsocketCommunicator, timeout: float = 5) -> int:
    """The code the server closes ``socket`` with (messages before the close are skipped)."""
    output = await socket.receive_output(timeout=timeout)
    while output["type"] != "websocket.close":
        output = await socket.receive_output(timeout=timeout)
    return int(output["code"])


async def ann_and_bob() -> tuple[Any, WebsocketCommunicator, WebsocketCommunicator, dict[str, Any]]:
    """A session with Ann and Bob joined; returns it, both sockets and Bob's ``joined``."""
    session = await new_session()
    ann = await open_socket(session.session_id)
    await join(ann, "Ann", session.session_id)
    bob = await open_socket(session.session_id)
    bob_joined = await join(bob, "Bob", session.session_id)
    return session, ann, bob, bob_joined


async def resume(session_id: str, joined: dict[str, Any]) -> tuple[WebsocketCommunicator, dict[str, Any]]:
    socket = await open_socket(session_id)
    await socket.send_json_to(
        {"type": "resume", "participantId": joined["participantId"], "resumeToken": joined["resumeToken"]}
    )
    message = await socket.receive_json_from(timeout=10)
    return socket, message


async def test_a_dropped_socket_resumes_as_the_same_participant() -> None:
    """
    Bob's socket drops and he resumes on a new one within the grace: Ann never sees him leave,
    he gets who is there now, and what he says afterwards is his again.
    """
    session, ann, bob, bob_joined = await ann_and_bob()
    assert bob_joined["resumeToken"]
    await receive_type(ann, "participant_joined")

    await bob.disconnect()
    async with keep_alive(ann):
        await asyncio.sleep(RESUME_GRACE_S / 2)
        bob_again, resumed = await resume(session.session_id, bob_joined)
        assert resumed["type"] == "resumed" and resumed["participantId"] == bob_joined["participantId"]
        assert [p["name"] for p in resumed["participants"]] == ["Ann"]
        # An offer the server sent while Bob was away (or one still waiting for its answer) comes again.
        await receive_type(bob_again, "offer")
        await bob_again.send_json_to({"type": "media", "audioMuted": True, "videoPaused": False})
        media = await receive_type(ann, "media")
        assert media["participantId"] == bob_joined["participantId"] and media["audioMuted"] is True
        await no_message_of_type(ann, "participant_left", RESUME_GRACE_S)
    await bob_again.send_json_to({"type": "leave"})
    left = await receive_type(ann, "participant_left")
    assert left["participantId"] == bob_joined["participantId"] and left["reason"] == errors.LEAVE_REASON_LEFT


async def test_a_participant_not_back_within_the_grace_is_gone_for_everyone() -> None:
    session, ann, bob, bob_joined = await ann_and_bob()
    await bob.disconnect()
    async with keep_alive(ann):
        left = await receive_type(ann, "participant_left", timeout=RESUME_GRACE_S + 2)
    assert left["reason"] == errors.LEAVE_REASON_DISCONNECTED
    late, refused = await resume(session.session_id, bob_joined)
    assert refused["type"] == "error" and refused["code"] == errors.ERR_CALL_NOT_A_PART
    assert refused["details"] == {"resume": False}
    await late.disconnect()


@pytest.mark.parametrize("tamper", ["token", "participant", "session"])
async def test_resume_needs_the_right_token_participant_and_session(tamper: str) -> None:
    """A resume with another token, participant or session is refused, and the real one is not disturbed."""
    session, other_session = await new_session(), await new_session()
    bob = await open_socket(session.session_id)
    bob_joined = await join(bob, "Bob", session.session_id)
    claim = dict(bob_joined)
    target = session.session_id
    if tamper == "token":
        real = bob_joined["resumeToken"]
        claim["resumeToken"] = ("y" if real[0] == "x" else "x") + real[1:]  # always a different token
    elif tamper == "participant":
        claim["participantId"] = "p" * 20
    else:
        target = other_session.session_id
    thief, refused = await resume(target, claim)
    assert refused["type"] == "error" and refused["code"] == errors.ERR_CALL_NOT_A_PART
    await thief.send_json_to({"type": "media", "audioMuted": True, "videoPaused": True})
    assert (await receive_type(thief, "error"))["code"] == errors.ERR_CALL_NOT_A_PART
    await bob.send_json_to({"type": "ping"})
    assert (await receive_type(bob, "pong"))["type"] == "pong"
    await thief.disconnect()
    await bob.send_json_to({"type": "leave"})


async def test_resuming_on_a_new_socket_retires_the_old_one_without_leaving() -> None:
    """The old socket never noticed the drop: it is closed (4012) and the participant stays."""
    session, ann, bob, bob_joined = await ann_and_bob()
    bob_again, resumed = await resume(session.session_id, bob_joined)
    assert resumed["type"] == "resumed"
    assert await close_code(bob) == errors.WS_4012_REPLACED
    await bob.disconnect()
    async with keep_alive(ann, bob_again):
        await no_message_of_type(ann, "participant_left", RESUME_GRACE_S + 1)
    assert bob_joined["participantId"] in get_live_participants()
    await bob_again.send_json_to({"type": "leave"})
    await receive_type(ann, "participant_left")


async def test_a_silent_socket_is_closed_and_its_participant_removed_within_ten_seconds() -> None:
    """A browser that vanishes without closing its socket (network cut) is gone for the others in < 10 s."""
    _session, ann, bob, bob_joined = await ann_and_bob()
    loop = asyncio.get_running_loop()
    went_silent = loop.time()
    async with keep_alive(ann):
        left = await receive_type(ann, "participant_left", timeout=12)
        gone_after = loop.time() - went_silent
    assert left["participantId"] == bob_joined["participantId"]
    assert left["reason"] == errors.LEAVE_REASON_DISCONNECTED
    assert SILENCE_TIMEOUT_S < gone_after < 10
    assert await close_code(bob, timeout=1) == errors.WS_4008_SILENT
    await ann.send_json_to({"type": "leave"})
