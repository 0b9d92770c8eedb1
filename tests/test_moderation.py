"""Roles and moderation that sticks, over the signaling websocket (issue 14's findings 1, 2 and 4)."""

from __future__ import annotations

from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from sessions_app import errors, restrictions
from sessions_app.models import App, AppUser, CallSession, CallToken, Participant, Restriction, RestrictionKind
from sessions_app.services.media import get_sfu
from sessions_app.signaling import protocol
from sessions_app.tokens import call_tokens
from tests.test_consumer import application, guest_token, join, new_session, receive_type
from tests.test_sfu import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(60)]
CONNECT_TIMEOUT_S = 10


@pytest.fixture(autouse=True)
def loopback_media(settings: Any) -> None:
    settings.CALLS_MEDIA_IPS = ["127.0.0.1"]


_opened: list[WebsocketCommunicator] = []


async def close_sockets_and_media() -> None:
    """Close every socket a test opened, then the SFU's peer connections (no transport left to the GC)."""
    from tests.calls_state import reset_calls

    while _opened:
        await _opened.pop().disconnect()
    await reset_calls()


@pytest.fixture(autouse=True)
async def sfu_cleanup() -> Any:
    yield
    await close_sockets_and_media()


def from_address(ip: str) -> Any:
    """The websocket application as a client at ``ip`` reaches it (Daphne puts it in the scope)."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await application({**scope, "client": (ip, 50000)}, receive, send)

    return app


async def open_socket(session_id: str, ip: str = "192.0.2.10") -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(from_address(ip), f"/ws/calls/{session_id}/")
    _opened.append(communicator)
    connected, _ = await communicator.connect(timeout=CONNECT_TIMEOUT_S)
    assert connected
    return communicator


async def join_with(communicator: WebsocketCommunicator, token: str, name: str = "") -> dict[str, Any]:
    await communicator.send_json_to({"type": "join", "token": token, "displayName": name})
    while True:
        message = await communicator.receive_json_from(timeout=10)
        if message["type"] in {"joined", "error"}:
            return message


async def closed_with(communicator: WebsocketCommunicator) -> int:
    while True:
        output = await communicator.receive_output(timeout=10)
        if output["type"] == "websocket.close":
            return int(output["code"])


async def present_ids(session: CallSession) -> set[str]:
    rows = Participant.objects.filter(session=session, left_at__isnull=True)
    return set(await database_sync_to_async(lambda: list(rows.values_list("participant_id", flat=True)))())


# 1. Only moderators end the call or moderate.


async def test_a_guest_cannot_end_the_call_for_everyone() -> None:
    """A guest's end_for_all is refused with AUTH_ERR_NO_ACCESS (reason role): the call and its tokens live on."""
    session = await new_session()
    host, guest = await open_socket(session.session_id), await open_socket(session.session_id)
    await join(host, "Host", session.session_id, role="moderator")
    await join(guest, "Guest", session.session_id)
    await guest.send_json_to({"type": "end_for_all"})
    refused = await receive_type(guest, "error")
    assert (refused["code"], refused["details"]) == (errors.AUTH_ERR_NO_ACCESS, {"reason": "role"})
    refreshed = await database_sync_to_async(CallSession.objects.get)(pk=session.pk)
    assert not refreshed.is_ended
    revoked = CallToken.objects.filter(session=session, revoked_at__isnull=False)
    assert not await database_sync_to_async(revoked.exists)()
    await host.send_json_to({"type": "ping"})
    await receive_type(host, "pong")


async def test_a_guest_cannot_moderate_anyone() -> None:
    """A guest's mute and remove are refused (reason role): the target keeps its media and its place."""
    session = await new_session()
    ann, bob = await open_socket(session.session_id), await open_socket(session.session_id)
    await join(ann, "Ann", session.session_id)
    bob_id = (await join(bob, "Bob", session.session_id))["participantId"]
    for action in ("mute", "remove"):
        await ann.send_json_to({"type": "moderate", "target": bob_id, "action": action})
        refused = await receive_type(ann, "error")
        assert (refused["code"], refused["details"]["reason"]) == (errors.AUTH_ERR_NO_ACCESS, "role")
    row = await database_sync_to_async(Participant.objects.get)(participant_id=bob_id)
    assert row.is_present and not row.audio_muted and not row.audio_held


async def test_a_locked_context_menu_forbids_ending_the_call_even_to_a_moderator() -> None:
    """enableParticipantContextMenu locked to false: end_for_all is refused (reason locked); the call goes on."""
    session = await new_session(
        settings={"enableParticipantContextMenu": False}, locked_settings=["enableParticipantContextMenu"]
    )
    host = await open_socket(session.session_id)
    await join(host, "Host", session.session_id, role="moderator")
    await host.send_json_to({"type": "end_for_all"})
    refused = await receive_type(host, "error")
    assert (refused["code"], refused["details"]) == (errors.AUTH_ERR_NO_ACCESS, {"reason": "locked"})
    assert not (await database_sync_to_async(CallSession.objects.get)(pk=session.pk)).is_ended


async def test_the_participant_object_carries_cometchat_roles() -> None:
    """Moderators are `moderator`, everyone else `participant`; guests are marked with isGuest."""
    session = await new_session()
    host, guest = await open_socket(session.session_id), await open_socket(session.session_id)
    host_me = (await join(host, "Host", session.session_id, role="moderator"))["participant"]
    guest_joined = await join(guest, "Guest", session.session_id)
    assert (host_me["role"], host_me["isGuest"]) == ("moderator", False)
    assert (guest_joined["participant"]["role"], guest_joined["participant"]["isGuest"]) == ("participant", True)
    assert guest_joined["participants"][0]["role"] == "moderator"


# 2. Moderation sticks.


async def test_a_removed_participant_cannot_come_back_with_its_token() -> None:
    """Remove revokes the token: joining again with it is refused with ERROR_CALL_TOKEN."""
    session = await new_session()
    host, guest = await open_socket(session.session_id), await open_socket(session.session_id)
    await join(host, "Host", session.session_id, role="moderator")
    token = await guest_token(session.session_id, "Mallory")
    guest_id = (await join_with(guest, token))["participantId"]
    await host.send_json_to({"type": "moderate", "target": guest_id, "action": "remove"})
    assert (await receive_type(guest, "removed"))["reason"] == "removed"
    assert await closed_with(guest) == errors.WS_4003_REMOVED
    assert (await receive_type(host, "participant_left"))["reason"] == "removed"

    again = await open_socket(session.session_id)
    refused = await join_with(again, token)
    assert refused["code"] == errors.ERROR_CALL_TOKEN
    assert guest_id not in await present_ids(session)


async def test_a_removed_guest_cannot_come_back_with_a_new_guest_token_until_readmitted() -> None:
    """
    A guest's identity is its address too (its uid changes with every guest token): a new token from
    the same address is refused (AUTH_ERR_NO_ACCESS, reason removed) until an operator readmits it.
    """
    session = await new_session()
    host, guest = await open_socket(session.session_id), await open_socket(session.session_id, ip="192.0.2.66")
    await join(host, "Host", session.session_id, role="moderator")
    guest_id = (await join(guest, "Mallory", session.session_id))["participantId"]
    await host.send_json_to({"type": "moderate", "target": guest_id, "action": "remove"})
    assert await closed_with(guest) == errors.WS_4003_REMOVED

    again = await open_socket(session.session_id, ip="192.0.2.66")
    refused = await join_with(again, await guest_token(session.session_id, "Mallory again"))
    assert (refused["code"], refused["details"]) == (errors.AUTH_ERR_NO_ACCESS, {"reason": "removed"})
    elsewhere = await open_socket(session.session_id, ip="192.0.2.77")
    assert (await join_with(elsewhere, await guest_token(session.session_id, "Someone")))["type"] == "joined"

    removal = await database_sync_to_async(Restriction.objects.get)(session=session, kind=RestrictionKind.REMOVED)
    await database_sync_to_async(restrictions.readmit)(removal)
    back = await open_socket(session.session_id, ip="192.0.2.66")
    assert (await join_with(back, await guest_token(session.session_id, "Mallory")))["type"] == "joined"


async def test_a_removed_user_is_refused_with_any_new_token() -> None:
    """A signed-in user removed from a call is refused with every new call token for it (its uid is banned)."""
    session, user = await database_sync_to_async(_app_session_with_user)()
    host, ann = await open_socket(session.session_id), await open_socket(session.session_id)
    await join(host, "Host", session.session_id, role="moderator")
    issue = database_sync_to_async(call_tokens.issue)
    ann_id = (await join_with(ann, (await issue(session, user, "Ann"))[0]))["participantId"]
    await host.send_json_to({"type": "moderate", "target": ann_id, "action": "remove"})
    assert await closed_with(ann) == errors.WS_4003_REMOVED
    again = await open_socket(session.session_id, ip="198.51.100.1")
    refused = await join_with(again, (await issue(session, user, "Ann"))[0])
    assert refused["details"] == {"reason": "removed"}


def _app_session_with_user(allow_renaming: bool = False) -> tuple[CallSession, AppUser]:
    app, _, _ = App.create_with_keys("Acme")
    app.allow_renaming = allow_renaming
    app.save()
    user = AppUser.objects.create(app=app, uid="ann", name="Ann Lee")
    return CallSession.objects.create(app=app), user


async def test_a_moderator_mute_outlives_a_rejoin() -> None:
    """A held participant who leaves and joins again (new token) starts muted, held, and is not forwarded."""
    session = await new_session()
    host, guest = await open_socket(session.session_id), await open_socket(session.session_id, ip="192.0.2.5")
    await join(host, "Host", session.session_id, role="moderator")
    guest_id = (await join(guest, "Loud", session.session_id))["participantId"]
    await host.send_json_to({"type": "moderate", "target": guest_id, "action": "mute"})
    await receive_type(guest, "moderation")
    await guest.send_json_to({"type": "leave"})
    assert await closed_with(guest) == errors.WS_1000_NORMAL_CLOSURE

    again = await open_socket(session.session_id, ip="192.0.2.5")
    joined = await join_with(again, await guest_token(session.session_id, "Loud"), "Loud")
    me = joined["participant"]
    assert (me["audioMuted"], me["audioMutedByModerator"], me["videoPausedByModerator"]) == (True, True, False)
    sfu = get_sfu()
    peers = lambda: sfu.rooms[session.session_id].peers  # noqa: E731
    await wait_until(lambda: session.session_id in sfu.rooms and joined["participantId"] in peers())
    assert peers()[joined["participantId"]].published["audio"].forwarding is False
    await again.send_json_to({"type": "media", "audioMuted": False, "videoPaused": False})
    assert (await receive_type(again, "error"))["details"] == {"reason": "held", "kind": "audio"}


async def test_a_held_participant_asks_to_speak_by_raising_its_hand() -> None:
    """The hold refuses the unmute but not the hand: the moderator sees the request and may allow it."""
    session = await new_session()
    host, guest = await open_socket(session.session_id), await open_socket(session.session_id)
    await join(host, "Host", session.session_id, role="moderator")
    guest_id = (await join(guest, "Quiet", session.session_id))["participantId"]
    await host.send_json_to({"type": "moderate", "target": guest_id, "action": "pause_video"})
    assert (await receive_type(guest, "moderation"))["action"] == "pause_video"
    await guest.send_json_to({"type": "media", "audioMuted": False, "videoPaused": False})
    assert (await receive_type(guest, "error"))["details"] == {"reason": "held", "kind": "video"}
    await guest.send_json_to({"type": "hand", "raised": True})
    assert (await receive_type(host, "hand"))["participantId"] == guest_id
    row = await database_sync_to_async(Participant.objects.get)(participant_id=guest_id)
    assert (row.video_paused, row.video_held, row.audio_muted) == (True, True, False)


# 3. One participant per token; a limit per call.


async def test_a_second_join_with_one_token_replaces_the_first() -> None:
    """
    The first leaves with reason `replaced` (told, closed with 4014), the others see it leave, and
    the call holds one participant for the token.
    """
    session = await new_session()
    watcher, first, second = [await open_socket(session.session_id) for _ in range(3)]
    await join(watcher, "Watcher", session.session_id)
    token = await guest_token(session.session_id, "Twin")
    first_id = (await join_with(first, token))["participantId"]
    second_joined = await join_with(second, token)
    assert second_joined["type"] == "joined" and first_id not in {p["pid"] for p in second_joined["participants"]}
    assert (await receive_type(first, "removed"))["reason"] == errors.LEAVE_REASON_REPLACED
    assert await closed_with(first) == errors.WS_4014_REPLACED_BY_JOIN
    left = await receive_type(watcher, "participant_left")
    assert left == protocol.participant_left_message(first_id, "replaced")
    assert first_id not in await present_ids(session)
    assert second_joined["participantId"] in await present_ids(session)
    row = await database_sync_to_async(Participant.objects.get)(participant_id=first_id)
    assert row.leave_reason == "replaced"
    room = get_sfu().rooms[session.session_id]
    await wait_until(lambda: first_id not in room.peers and second_joined["participantId"] in room.peers)


async def test_a_join_beyond_the_calls_limit_is_refused() -> None:
    """With maxParticipants present, the next join gets ERR_CALL_FULL and changes nothing."""
    session = await new_session(max_participants=2)
    for name in ("One", "Two"):
        await join(await open_socket(session.session_id), name, session.session_id)
    third = await open_socket(session.session_id)
    refused = await join_with(third, await guest_token(session.session_id, "Three"))
    assert (refused["code"], refused["details"]) == (errors.ERR_CALL_FULL, {"maxParticipants": 2})
    assert len(await present_ids(session)) == 2


# 4. Names follow identity.


async def test_a_signed_in_user_appears_under_the_tokens_name() -> None:
    """A user's join under another name shows the user's name; guests keep the name they chose, marked."""
    session, user = await database_sync_to_async(_app_session_with_user)()
    session.allow_guests = True
    await database_sync_to_async(session.save)()
    issue = database_sync_to_async(call_tokens.issue)
    ann = await open_socket(session.session_id)
    me = (await join_with(ann, (await issue(session, user, user.name))[0], "Bob (CEO)"))["participant"]
    assert (me["name"], me["isGuest"]) == ("Ann Lee", False)
    guest = await open_socket(session.session_id)
    guest_me = (await join_with(guest, (await issue(session, None, "Alice"))[0], "Alice"))["participant"]
    assert (guest_me["name"], guest_me["isGuest"]) == ("Alice", True)
    await guest.send_json_to({"type": "chat", "text": "hi, it's Alice"})
    chat = await receive_type(ann, "chat")
    assert (chat["name"], chat["isGuest"]) == ("Alice", True)


async def test_an_app_that_allows_renaming_lets_users_choose_their_name() -> None:
    session, user = await database_sync_to_async(_app_session_with_user)(allow_renaming=True)
    ann = await open_socket(session.session_id)
    token = (await database_sync_to_async(call_tokens.issue)(session, user, user.name))[0]
    assert (await join_with(ann, token, "Annie"))["participant"]["name"] == "Annie"


async def test_a_participant_removed_while_its_socket_is_away_cannot_resume() -> None:
    """Removed during its resume grace, a participant's `resume` is refused: it is out of the call."""
    session = await new_session()
    host, guest = await open_socket(session.session_id), await open_socket(session.session_id)
    await join(host, "Host", session.session_id, role="moderator")
    joined = await join(guest, "Away", session.session_id)
    await guest.disconnect()
    await host.send_json_to({"type": "moderate", "target": joined["participantId"], "action": "remove"})
    assert (await receive_type(host, "participant_left"))["reason"] == "removed"
    back = await open_socket(session.session_id)
    await back.send_json_to(
        {"type": "resume", "participantId": joined["participantId"], "resumeToken": joined["resumeToken"]}
    )
    refused = await receive_type(back, "error")
    assert (refused["code"], refused["details"]) == (errors.ERR_CALL_NOT_A_PART, {"resume": False})
