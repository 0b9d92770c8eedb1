"""The signaling websocket, driven with Channels' WebsocketCommunicator."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator

from sessions_app import errors
from sessions_app.models import CallSession, Participant, SessionStatus
from sessions_app.signaling import protocol
from sessions_app.signaling.live import RESUME_GRACE_S
from sessions_app.signaling.routing import websocket_urlpatterns
from sessions_app.tokens import call_tokens
from tests.calls_state import reset_calls
from tests.media_client import MediaClient
from tests.test_sfu import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(60)]
PING_INTERVAL_S = 1.0
# Connecting loads the session from the database: more than the default second on a loaded machine.
CONNECT_TIMEOUT_S = 10

application = URLRouter(websocket_urlpatterns)


@pytest.fixture(autouse=True)
def loopback_media(settings: Any) -> None:
    settings.CALLS_MEDIA_IPS = ["127.0.0.1"]


@pytest.fixture
async def sfu_cleanup() -> Any:
    yield
    await reset_calls()


@database_sync_to_async
def new_session(**fields: Any) -> CallSession:
    return CallSession.objects.create(**fields)


async def open_socket(session_id: str) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(application, f"/ws/calls/{session_id}/")
    connected, _ = await communicator.connect(timeout=CONNECT_TIMEOUT_S)
    assert connected
    return communicator


@contextlib.asynccontextmanager
async def keep_alive(*sockets: WebsocketCommunicator) -> AsyncIterator[None]:
    """Ping like the SDK does, so only the sockets a test leaves silent go quiet."""

    async def ping() -> None:
        while True:
            for socket in sockets:
                await socket.send_json_to({"type": "ping"})
            await asyncio.sleep(PING_INTERVAL_S)

    task = asyncio.ensure_future(ping())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def receive_type(communicator: WebsocketCommunicator, message_type: str, timeout: float = 10) -> dict[str, Any]:
    """Next message of ``message_type``, skipping others (offers, presence)."""

    async def wait() -> dict[str, Any]:
        while True:
            message = await communicator.receive_json_from(timeout=timeout)
            if message["type"] == message_type:
                return message

    return await asyncio.wait_for(wait(), timeout)


@database_sync_to_async
def guest_token(session_id: str, name: str = "Guest", role: str = "participant") -> str:
    """A share-link visitor's token: a guest's, or (``role="moderator"``) the call's host's."""
    token, _ = call_tokens.issue(CallSession.objects.get(session_id=session_id), None, name, role)
    return token


async def join(
    communicator: WebsocketCommunicator, name: str, session_id: str, role: str = "participant"
) -> dict[str, Any]:
    token = await guest_token(session_id, role=role)
    await communicator.send_json_to({"type": "join", "token": token, "displayName": name})
    joined = await receive_type(communicator, "joined")
    _joined_ids[id(communicator)] = joined["participantId"]
    return joined


async def test_invalid_session_id_is_refused_with_error_call_session_id() -> None:
    """A session ID that cannot be one gets ERROR_CALL_SESSION_ID and close code 4011."""
    communicator = await open_socket("bad%20id!")
    message = await communicator.receive_json_from()
    assert message["code"] == errors.ERROR_CALL_SESSION_ID
    assert (await communicator.receive_output())["code"] == errors.WS_4011_INVALID_SESSION_ID


async def test_empty_session_id_is_refused_with_error_call_session_id() -> None:
    """An empty session ID gets ERROR_CALL_SESSION_ID."""
    communicator = await open_socket("")
    assert (await communicator.receive_json_from())["code"] == errors.ERROR_CALL_SESSION_ID


async def test_unknown_session_is_refused() -> None:
    """A well-formed but unknown session ID gets ERR_CALL_SESSION_NOT_FOUND and close code 4004."""
    communicator = await open_socket("doesnotexist123")
    assert (await communicator.receive_json_from())["code"] == errors.ERR_CALL_SESSION_NOT_FOUND
    assert (await communicator.receive_output())["code"] == errors.WS_4004_SESSION_NOT_FOUND


async def test_ended_session_is_refused() -> None:
    """An ended session gets ERR_CALL_TERMINATED."""
    session = await new_session(status=SessionStatus.ENDED, end_reason="terminated")
    communicator = await open_socket(session.session_id)
    assert (await communicator.receive_json_from())["code"] == errors.ERR_CALL_TERMINATED


@pytest.mark.parametrize(
    "frame",
    [
        "{not json",
        "[]",
        '{"type": "dance"}',
        '{"type": "join", "token": "t", "displayName": 5}',
        "x" * 70000,
        '{"type": 1}',
    ],
)
async def test_bad_messages_get_json_exception_and_socket_stays_usable(frame: str) -> None:
    """Malformed, unknown or oversized messages get ERROR_JSON_EXCEPTION; the connection keeps working."""
    session = await new_session()
    communicator = await open_socket(session.session_id)
    await communicator.send_to(text_data=frame)
    error = await communicator.receive_json_from()
    assert error["type"] == "error" and error["code"] == errors.ERROR_JSON_EXCEPTION
    await communicator.send_json_to({"type": "ping"})
    assert (await communicator.receive_json_from())["type"] == "pong"
    await communicator.disconnect()


async def test_binary_frames_are_refused() -> None:
    """Binary frames get ERROR_JSON_EXCEPTION."""
    session = await new_session()
    communicator = await open_socket(session.session_id)
    await communicator.send_to(bytes_data=b"\x00\x01")
    assert (await communicator.receive_json_from())["code"] == errors.ERROR_JSON_EXCEPTION
    await communicator.disconnect()


async def test_messages_before_join_are_refused(sfu_cleanup: None) -> None:
    """An answer or media update before joining gets ERR_CALL_NOT_A_PART."""
    session = await new_session()
    communicator = await open_socket(session.session_id)
    await communicator.send_json_to({"type": "media", "audioMuted": True, "videoPaused": False})
    assert (await communicator.receive_json_from())["code"] == errors.ERR_CALL_NOT_A_PART
    await communicator.disconnect()


async def test_second_join_on_one_socket_is_refused(sfu_cleanup: None) -> None:
    """Joining twice on one connection gets ERR_CALL_USER_ALREADY_JOINED."""
    session = await new_session()
    communicator = await open_socket(session.session_id)
    await join(communicator, "Ann", session.session_id)
    await communicator.send_json_to({"type": "join", "token": await guest_token(session.session_id)})
    assert (await receive_type(communicator, "error"))["code"] == errors.ERR_CALL_USER_ALREADY_JOINED
    await communicator.disconnect()


async def test_presence_join_media_and_leave(sfu_cleanup: None) -> None:
    """Participants see each other join, change media state and leave; the database records it."""
    session = await new_session(title="Standup")
    ann = await open_socket(session.session_id)
    ann_joined = await join(ann, "  Ann\u0007  Lee ", session.session_id)
    assert ann_joined["participants"] == []
    bob = await open_socket(session.session_id)
    bob_joined = await join(bob, "Bob", session.session_id)
    bob_me = bob_joined["participant"]
    assert bob_me["name"] == "Bob" and bob_me["role"] == "participant" and bob_me["isGuest"] is True
    assert [p["name"] for p in bob_joined["participants"]] == ["Ann Lee"]
    seen_by_ann = await receive_type(ann, "participant_joined")
    assert seen_by_ann["participant"]["pid"] == bob_joined["participantId"]
    assert seen_by_ann["participant"]["name"] == "Bob"

    await bob.send_json_to({"type": "media", "audioMuted": True, "videoPaused": False})
    media = await receive_type(ann, "media")
    assert media == protocol.media_message(bob_joined["participantId"], True, False)

    await bob.disconnect()  # Without "leave": Bob has RESUME_GRACE_S to come back before he is gone.
    async with keep_alive(ann):  # longer than a silent socket lasts
        left = await receive_type(ann, "participant_left", timeout=RESUME_GRACE_S + 2)
    assert left["participantId"] == bob_joined["participantId"]
    assert left["reason"] == errors.LEAVE_REASON_DISCONNECTED

    bob_row = await database_sync_to_async(Participant.objects.get)(participant_id=bob_joined["participantId"])
    assert bob_row.left_at is not None and bob_row.audio_muted is True
    refreshed = await database_sync_to_async(CallSession.objects.get)(pk=session.pk)
    assert refreshed.status == SessionStatus.ONGOING and refreshed.started_at is not None

    await ann.send_json_to({"type": "leave"})
    output = await ann.receive_output()
    while output["type"] == "websocket.send" and json.loads(output["text"])["type"] == "pong":
        output = await ann.receive_output()  # answers to the keep-alive pings still on their way
    assert output["type"] == "websocket.close"


async def test_people_joining_at_once_all_stay_in_the_call(sfu_cleanup: None) -> None:
    """
    The single-process server closes ghosts of a stopped server when someone joins; joins under way
    at the same moment (recorded, not yet served) are not ghosts, and the first reply is ``joined``.
    """
    session = await new_session()
    sockets = [await open_socket(session.session_id) for _ in range(4)]
    tokens = [await guest_token(session.session_id) for _ in sockets]
    for socket, token in zip(sockets, tokens, strict=True):
        await socket.send_json_to({"type": "join", "token": token, "displayName": "Someone"})
    firsts = [await socket.receive_json_from(timeout=10) for socket in sockets]
    assert [first["type"] for first in firsts] == ["joined"] * 4
    rows = await database_sync_to_async(lambda: list(Participant.objects.filter(session__pk=session.pk)))()
    assert len(rows) == 4 and all(row.left_at is None for row in rows), [(r.leave_reason, r.left_at) for r in rows]
    for socket in sockets:
        await socket.disconnect()


async def answer_offers(communicator: WebsocketCommunicator, client: MediaClient) -> None:
    """Answer every offer the server sends, like the browser SDK."""
    while True:
        message = await communicator.receive_json_from(timeout=30)
        if message["type"] == "offer":

            async def send_answer(sdp: str) -> None:
                await communicator.send_to(text_data=json.dumps({"type": "answer", "sdp": sdp}))

            await client.handle_offer(message, send_answer)


async def test_media_flows_between_two_participants_through_signaling(sfu_cleanup: None) -> None:
    """Two aiortc clients joined over the websocket receive each other's audio and video."""
    session = await new_session()
    clients, sockets, tasks, pids = [], [], [], []
    try:
        for name in ("ann", "bob"):
            socket = await open_socket(session.session_id)
            joined = await join(socket, name, session.session_id)
            client = MediaClient(name, {"audio": AudioStreamTrack(), "video": VideoStreamTrack()})
            clients.append(client)
            sockets.append(socket)
            pids.append(joined["participantId"])
            tasks.append(asyncio.ensure_future(answer_offers(socket, client)))
        await clients[0].wait_for_tracks({(pids[1], "audio"), (pids[1], "video")}, timeout=15)
        await clients[1].wait_for_tracks({(pids[0], "audio"), (pids[0], "video")}, timeout=15)
        frame = await asyncio.wait_for(clients[0].remote[(pids[1], "video")].recv(), 10)
        assert frame.width == 640
    finally:
        for task in tasks:
            task.cancel()
        for client in clients:
            await client.close()
        for socket in sockets:
            await socket.disconnect()


async def test_bad_answer_gets_a_negotiation_error(sfu_cleanup: None) -> None:
    """An answer that is not valid SDP is refused with a code; the socket stays usable."""
    session = await new_session()
    communicator = await open_socket(session.session_id)
    await join(communicator, "Ann", session.session_id)
    await receive_type(communicator, "offer")
    await communicator.send_json_to({"type": "answer", "sdp": "v=0\r\ngarbage"})
    assert (await receive_type(communicator, "error"))["code"] == errors.ERROR_MEDIA_NEGOTIATION
    await communicator.send_json_to({"type": "ping"})
    assert (await receive_type(communicator, "pong"))["type"] == "pong"
    await communicator.disconnect()


@pytest.mark.parametrize("token", [None, "", "   ", 42, "not-a-jwt", "x" * 5000])
async def test_join_without_a_valid_token_is_refused(token: Any) -> None:
    """A join with a missing, blank, malformed or oversized token gets ERROR_CALL_TOKEN; nobody joins."""
    session = await new_session()
    communicator = await open_socket(session.session_id)
    message: dict[str, Any] = {"type": "join", "displayName": "Eve"}
    if token is not None:
        message["token"] = token
    await communicator.send_json_to(message)
    assert (await communicator.receive_json_from())["code"] == errors.ERROR_CALL_TOKEN
    assert await database_sync_to_async(Participant.objects.count)() == 0
    await communicator.disconnect()


async def test_token_for_another_session_is_refused() -> None:
    """A token issued for session A never joins session B."""
    session_a = await new_session()
    session_b = await new_session()
    token = await guest_token(session_a.session_id)
    communicator = await open_socket(session_b.session_id)
    await communicator.send_json_to({"type": "join", "token": token})
    error = await communicator.receive_json_from()
    assert error["code"] == errors.ERROR_CALL_TOKEN and "another session" in error["message"]
    await communicator.disconnect()


async def test_joined_identity_comes_from_the_token(sfu_cleanup: None) -> None:
    """The participant's uid and role come from the token, never from the client."""
    session = await new_session()
    communicator = await open_socket(session.session_id)
    token = await guest_token(session.session_id, "Typed Name")
    await communicator.send_json_to({"type": "join", "token": token, "uid": "admin"})
    joined = await receive_type(communicator, "joined")
    row = await database_sync_to_async(Participant.objects.get)(participant_id=joined["participantId"])
    assert row.uid.startswith("guest_") and row.is_guest and row.display_name == "Typed Name"
    await communicator.disconnect()


async def test_moderator_mute_is_enforced_by_the_server(sfu_cleanup: None) -> None:
    """
    A moderator's mute stops the SFU forwarding the participant's audio, tells them and shows them
    muted; they cannot unmute themselves until the moderator allows it.
    """
    from sessions_app.services.media import get_sfu

    session = await new_session()
    ann, bob = await open_socket(session.session_id), await open_socket(session.session_id)
    await join(ann, "Ann", session.session_id, role="moderator")
    bob_joined = await join(bob, "Bob", session.session_id)
    bob_id = bob_joined["participantId"]
    sfu = get_sfu()
    await wait_until(lambda: session.session_id in sfu.rooms and bob_id in sfu.rooms[session.session_id].peers)
    published = sfu.rooms[session.session_id].peers[bob_id].published
    assert published["audio"].forwarding is True

    await ann.send_json_to({"type": "moderate", "target": bob_id, "action": "mute"})
    told = await receive_type(bob, "moderation")
    assert told["action"] == "mute" and told["by"] == ann_id_of(ann)
    assert (await receive_type(ann, "media")) == protocol.media_message(bob_id, True, False, True, False)
    assert published["audio"].forwarding is False and published["video"].forwarding is True

    await bob.send_json_to({"type": "media", "audioMuted": False, "videoPaused": False})
    refused = await receive_type(bob, "error")
    assert refused["code"] == errors.AUTH_ERR_NO_ACCESS
    assert refused["details"] == {"reason": "held", "kind": "audio"}
    assert published["audio"].forwarding is False

    await ann.send_json_to({"type": "moderate", "target": bob_id, "action": "allow_audio"})
    assert (await receive_type(bob, "moderation"))["action"] == "allow_audio"
    assert (await receive_type(ann, "media")) == protocol.media_message(bob_id, True, False, False, False)
    await bob.send_json_to({"type": "media", "audioMuted": False, "videoPaused": False})
    assert (await receive_type(ann, "media"))["audioMuted"] is False
    assert published["audio"].forwarding is True
    await ann.disconnect()
    await bob.disconnect()


_joined_ids: dict[int, str] = {}


def ann_id_of(communicator: WebsocketCommunicator) -> str:
    return _joined_ids[id(communicator)]


async def test_removed_participant_is_dropped_with_a_reason(sfu_cleanup: None) -> None:
    """Removing a participant tells them why, closes their socket with 4003, and the others see them leave."""
    from sessions_app.services.moderation import moderate

    session = await new_session()
    ann, bob = await open_socket(session.session_id), await open_socket(session.session_id)
    await join(ann, "Ann", session.session_id)
    bob_id = (await join(bob, "Bob", session.session_id))["participantId"]
    await moderate(session.session_id, bob_id, "remove", by="admin")
    assert (await receive_type(bob, "removed"))["reason"] == "removed"
    assert (await bob.receive_output(timeout=5))["code"] == errors.WS_4003_REMOVED
    left = await receive_type(ann, "participant_left")
    assert left == protocol.participant_left_message(bob_id, "removed")
    await ann.disconnect()


@pytest.mark.parametrize(
    "message",
    [{"type": "moderate", "target": "x", "action": "explode"}, {"type": "moderate", "action": "mute"}],
)
async def test_malformed_moderation_is_refused(message: dict[str, Any]) -> None:
    """An unknown moderation action, or one without a target, is ERROR_JSON_EXCEPTION."""
    session = await new_session()
    communicator = await open_socket(session.session_id)
    await communicator.send_json_to(message)
    assert (await communicator.receive_json_from())["code"] == errors.ERROR_JSON_EXCEPTION
    await communicator.disconnect()
