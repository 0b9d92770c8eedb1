"""
Who may do what: call tokens across apps, sessions and users; auth tokens; guests; moderation.

Each row names a way in that must stay shut and the exact documented code it gets.

Rejoining: a call token that is neither revoked nor expired may rejoin its session after
leaving, even once the room has emptied (as LiveKit tokens do); ending the session for
everyone revokes its tokens and the socket then refuses at connect with ERR_CALL_TERMINATED.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import jwt
import pytest
from channels.db import database_sync_to_async
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from sessions_app import errors
from sessions_app.models import App, AppUser, AuthToken, CallSession, CallToken, Participant, SessionStatus
from sessions_app.services.moderation import end_call
from sessions_app.tokens import CallTokenGenerator, call_tokens
from tests.calls_state import reset_calls
from tests.test_consumer import open_socket, receive_type

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(60)]


@pytest.fixture(autouse=True)
def loopback_media(settings: Any) -> None:
    settings.CALLS_MEDIA_IPS = ["127.0.0.1"]
    cache.clear()


@pytest.fixture
async def sfu_cleanup() -> Any:
    yield
    await reset_calls()


# Call tokens on the websocket: (where the socket connects, the token it joins with).

Setup = Callable[[], tuple[str, str]]


def _app_session(**fields: Any) -> tuple[CallSession, AppUser]:
    app, _, _ = App.create_with_keys(f"App {App.objects.count()}")
    user = AppUser.objects.create(app=app, uid=f"u{AppUser.objects.count()}", name="Ann")
    return CallSession.objects.create(app=app, **fields), user


def _flip(segment: str, index: int) -> str:
    """Change one character of a base64url segment (the decoded bytes change)."""
    flipped = "A" if segment[index] != "A" else "B"
    return segment[:index] + flipped + segment[index + 1 :]


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def token_for_another_session() -> tuple[str, str]:
    session, user = _app_session()
    other = CallSession.objects.create(app=session.app)
    return other.session_id, call_tokens.issue(session, user, "Ann")[0]


def token_for_another_apps_session() -> tuple[str, str]:
    session, user = _app_session()
    foreign, _ = _app_session()
    return foreign.session_id, call_tokens.issue(session, user, "Ann")[0]


def expired_token() -> tuple[str, str]:
    session, user = _app_session()
    issued_at = timezone.now() - timedelta(seconds=call_tokens.ttl_seconds + 1)
    return session.session_id, CallTokenGenerator(now=lambda: issued_at).issue(session, user, "Ann")[0]


def revoked_token() -> tuple[str, str]:
    session, user = _app_session()
    token, record = call_tokens.issue(session, user, "Ann")
    CallToken.objects.filter(pk=record.pk).update(revoked_at=timezone.now())
    return session.session_id, token


def tampered(part: int) -> Setup:
    def setup() -> tuple[str, str]:
        session, user = _app_session()
        pieces = call_tokens.issue(session, user, "Ann")[0].split(".")
        pieces[part] = _flip(pieces[part], len(pieces[part]) // 2)
        return session.session_id, ".".join(pieces)

    return setup


def alg_none_token() -> tuple[str, str]:
    session, user = _app_session()
    claims = jwt.decode(call_tokens.issue(session, user, "Ann")[0], options={"verify_signature": False})
    return session.session_id, f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."


def wrong_key_token() -> tuple[str, str]:
    session, user = _app_session()
    claims = jwt.decode(call_tokens.issue(session, user, "Ann")[0], options={"verify_signature": False})
    return session.session_id, jwt.encode(claims, "not-the-server-key-but-32-bytes!!", algorithm="HS256")


def our_key_unknown_jti() -> tuple[str, str]:
    """Even signed with the server's key, a token whose record does not exist is refused."""
    session, user = _app_session()
    claims = jwt.decode(call_tokens.issue(session, user, "Ann")[0], options={"verify_signature": False})
    return session.session_id, jwt.encode({**claims, "jti": "0" * 32}, call_tokens._key(), algorithm="HS256")


def our_key_rebound_to_another_session() -> tuple[str, str]:
    """Claims re-signed for another session still name a record of the first: refused."""
    session, user = _app_session()
    other = CallSession.objects.create(app=session.app)
    claims = jwt.decode(call_tokens.issue(session, user, "Ann")[0], options={"verify_signature": False})
    forged = jwt.encode({**claims, "sid": other.session_id}, call_tokens._key(), algorithm="HS256")
    return other.session_id, forged


def another_users_record() -> tuple[str, str]:
    """Claims re-signed for another uid: the identity is the record's, so refused."""
    session, user = _app_session()
    claims = jwt.decode(call_tokens.issue(session, user, "Ann")[0], options={"verify_signature": False})
    return session.session_id, jwt.encode({**claims, "sub": "mallory"}, call_tokens._key(), algorithm="HS256")


def guest_token_before_members_only() -> tuple[str, str]:
    session = CallSession.objects.create(allow_guests=True)
    token = call_tokens.issue(session, None, "Guest")[0]
    CallSession.objects.filter(pk=session.pk).update(allow_guests=False)
    return session.session_id, token


@pytest.mark.parametrize(
    ("setup", "code"),
    [
        (token_for_another_session, errors.ERROR_CALL_TOKEN),
        (token_for_another_apps_session, errors.ERROR_CALL_TOKEN),
        (expired_token, errors.ERROR_CALL_TOKEN),
        (revoked_token, errors.ERROR_CALL_TOKEN),
        (tampered(0), errors.ERROR_CALL_TOKEN),
        (tampered(1), errors.ERROR_CALL_TOKEN),
        (tampered(2), errors.ERROR_CALL_TOKEN),
        (alg_none_token, errors.ERROR_CALL_TOKEN),
        (wrong_key_token, errors.ERROR_CALL_TOKEN),
        (our_key_unknown_jti, errors.ERROR_CALL_TOKEN),
        (our_key_rebound_to_another_session, errors.ERROR_CALL_TOKEN),
        (another_users_record, errors.ERROR_CALL_TOKEN),
        (guest_token_before_members_only, errors.ERR_GUESTS_NOT_ALLOWED),
    ],
    ids=lambda value: getattr(value, "__name__", value) if callable(value) else None,
)
async def test_websocket_join_is_refused(setup: Setup, code: str) -> None:
    """The join gets exactly this code, nobody joins, and the socket stays open for a valid retry."""
    session_id, token = await database_sync_to_async(setup)()
    socket = await open_socket(session_id)
    await socket.send_json_to({"type": "join", "token": token})
    error = await socket.receive_json_from()
    assert (error["type"], error["code"]) == ("error", code)
    assert await database_sync_to_async(Participant.objects.count)() == 0
    await socket.send_json_to({"type": "ping"})
    assert (await socket.receive_json_from())["type"] == "pong"
    await socket.disconnect()


async def join_with(session_id: str, token: str) -> tuple[Any, dict[str, Any]]:
    socket = await open_socket(session_id)
    await socket.send_json_to({"type": "join", "token": token})
    return socket, await receive_type(socket, "joined")


async def leave(socket: Any) -> None:
    await socket.send_json_to({"type": "leave"})
    while (await socket.receive_output(timeout=10))["type"] != "websocket.close":
        pass
    await socket.disconnect()


async def test_a_token_rejoins_its_session_after_leaving(sfu_cleanup: None) -> None:
    """Leaving does not spend a token: it rejoins (a new participant), even once the room emptied."""
    session, user = await database_sync_to_async(_app_session)()
    token, _ = await database_sync_to_async(call_tokens.issue)(session, user, "Ann")
    socket, first = await join_with(session.session_id, token)
    await leave(socket)
    emptied = await database_sync_to_async(CallSession.objects.get)(pk=session.pk)
    assert emptied.status == SessionStatus.ENDED and not emptied.is_ended
    socket, second = await join_with(session.session_id, token)
    assert second["participantId"] != first["participantId"] and second["participant"]["uid"] == user.uid
    await leave(socket)


async def test_a_token_of_an_ended_session_is_refused_at_connect(sfu_cleanup: None) -> None:
    """Once ended for everyone, the session refuses the socket (ERR_CALL_TERMINATED, 4010) and its tokens."""
    session, user = await database_sync_to_async(_app_session)()
    token, _ = await database_sync_to_async(call_tokens.issue)(session, user, "Ann")
    socket, _ = await join_with(session.session_id, token)
    await leave(socket)
    await database_sync_to_async(end_call)(await database_sync_to_async(CallSession.objects.get)(pk=session.pk))
    socket = await open_socket(session.session_id)
    assert (await socket.receive_json_from())["code"] == errors.ERR_CALL_TERMINATED
    assert (await socket.receive_output())["code"] == errors.WS_4010_SESSION_ENDED
    record = await database_sync_to_async(CallToken.objects.get)(session=session)
    assert record.revoked_at is not None


async def test_a_guest_token_of_a_members_only_session_cannot_be_had() -> None:
    """The REST guest-token endpoint refuses a members-only session: 403 ERR_GUESTS_NOT_ALLOWED."""
    session, _ = await database_sync_to_async(_app_session)(allow_guests=False)
    response = await database_sync_to_async(Client().post)(
        f"/api/v1/sessions/{session.session_id}/guest_token", "{}", content_type="application/json"
    )
    assert (response.status_code, response.json()["error"]["code"]) == (403, errors.ERR_GUESTS_NOT_ALLOWED)


# Moderation by participants who may not moderate.


@pytest.mark.parametrize(("locked", "refused"), [(True, True), (False, False)], ids=["locked-off", "unlocked"])
async def test_moderation_follows_the_locked_context_menu(sfu_cleanup: None, locked: bool, refused: bool) -> None:
    """
    enableParticipantContextMenu locked to false forbids 'moderate' even to a moderator (AUTH_ERR_NO_ACCESS);
    the target keeps media.
    """
    fields: dict[str, Any] = {"settings": {"enableParticipantContextMenu": False}}
    if locked:
        fields["locked_settings"] = ["enableParticipantContextMenu"]
    session = await database_sync_to_async(CallSession.objects.create)(**fields)
    issue = database_sync_to_async(call_tokens.issue)
    tokens = [(await issue(session, None, "Ann", "moderator"))[0], (await issue(session, None, "Bob"))[0]]
    ann, _ = await join_with(session.session_id, tokens[0])
    bob, bob_joined = await join_with(session.session_id, tokens[1])
    await ann.send_json_to({"type": "moderate", "target": bob_joined["participantId"], "action": "mute"})
    if refused:
        assert (await receive_type(ann, "error"))["code"] == errors.AUTH_ERR_NO_ACCESS
        await ann.send_json_to({"type": "ping"})
        await receive_type(ann, "pong")
        row = await database_sync_to_async(Participant.objects.get)(participant_id=bob_joined["participantId"])
        assert row.audio_muted is False
    else:
        assert (await receive_type(bob, "moderation"))["action"] == "mute"
    await ann.disconnect()
    await bob.disconnect()


# The REST and admin paths.


def _rest_fixture() -> dict[str, Any]:
    app, api_key, _ = App.create_with_keys("Acme")
    other_app, other_key, _ = App.create_with_keys("Other")
    user = AppUser.objects.create(app=app, uid="ann", name="Ann")
    other_user = AppUser.objects.create(app=other_app, uid="ann", name="Other Ann")
    _, secret = AuthToken.issue(user)
    _, other_secret = AuthToken.issue(other_user)
    revoked, revoked_secret = AuthToken.issue(user)
    AuthToken.objects.filter(pk=revoked.pk).update(revoked_at=timezone.now())
    return {
        "app": app.app_id,
        "key": api_key,
        "other_app": other_app.app_id,
        "other_key": other_key,
        "secret": secret,
        "other_secret": other_secret,
        "revoked_secret": revoked_secret,
        "session": CallSession.objects.create(app=app).session_id,
        "foreign_session": CallSession.objects.create(app=other_app).session_id,
    }


REST_ROWS = [
    # (method, path, headers, status, code); {names} come from _rest_fixture.
    ("GET", "/me", {"appid": "{app}", "authtoken": "{other_secret}"}, 401, errors.ERROR_AUTH_TOKEN),
    ("GET", "/me", {"appid": "{app}", "authtoken": "{revoked_secret}"}, 401, errors.ERROR_AUTH_TOKEN),
    ("GET", "/me", {"appid": "{app}", "authtoken": ""}, 401, errors.ERROR_BLANK_AUTHTOKEN),
    ("GET", "/me", {"appid": "{app}", "authtoken": "ab cd"}, 400, errors.ERROR_AUTHTOKEN_WITH_SPACE),
    ("GET", "/me", {"appid": "{other_app}", "authtoken": "{secret}"}, 401, errors.ERROR_AUTH_TOKEN),
    ("POST", "/tokens", {"appid": "{app}", "authtoken": "{revoked_secret}"}, 401, errors.ERROR_AUTH_TOKEN),
    ("POST", "/tokens", {"appid": "{app}", "authtoken": " "}, 401, errors.ERROR_BLANK_AUTHTOKEN),
    ("POST", "/logout", {"appid": "{app}", "authtoken": "{other_secret}"}, 401, errors.ERROR_AUTH_TOKEN),
    ("GET", "/sessions/{session}", {"appid": "{app}", "apikey": "{other_key}"}, 401, "AUTH_ERR_APIKEY_NOT_FOUND"),
    ("GET", "/sessions/{foreign_session}", {"appid": "{app}", "apikey": "{key}"}, 403, errors.AUTH_ERR_NO_ACCESS),
    ("POST", "/sessions/{foreign_session}/end", {"appid": "{app}", "apikey": "{key}"}, 403, "AUTH_ERR_NO_ACCESS"),
    ("POST", "/sessions/{session}/end", {"appid": "{app}"}, 401, errors.AUTH_ERR_EMPTY_APIKEY),
    ("POST", "/sessions/{session}/end", {"appid": "{app}", "authtoken": "{secret}"}, 401, "AUTH_ERR_EMPTY_APIKEY"),
    ("GET", "/calls/{foreign_session}", {"appid": "{app}", "apikey": "{key}"}, 403, errors.AUTH_ERR_NO_ACCESS),
    # A user reads the call logs of its own app's calls it took part in, and no other.
    ("GET", "/calls", {"appid": "{app}", "authtoken": "{other_secret}"}, 401, errors.ERROR_AUTH_TOKEN),
    ("GET", "/calls", {"appid": "{app}", "authtoken": "{revoked_secret}"}, 401, errors.ERROR_AUTH_TOKEN),
    ("GET", "/calls/{session}", {"appid": "{app}", "authtoken": "{secret}"}, 403, errors.AUTH_ERR_NO_ACCESS),
    ("GET", "/calls/{foreign_session}", {"appid": "{app}", "authtoken": "{secret}"}, 403, "AUTH_ERR_NO_ACCESS"),
    ("GET", "/calls/{foreign_session}", {"appid": "{other_app}", "authtoken": "{secret}"}, 401, "ERROR_AUTH_TOKEN"),
]


@pytest.mark.parametrize(("method", "path", "headers", "status", "code"), REST_ROWS)
def test_rest_refusals(method: str, path: str, headers: dict[str, str], status: int, code: str) -> None:
    """Another app's or a revoked auth token, blank or spaced ones, a user's token where a key is needed."""
    values = _rest_fixture()
    session_id = values["session"]
    body = json.dumps({"sessionId": session_id}) if path == "/tokens" else ""
    response = Client().generic(
        method,
        "/api/v1" + path.format(**values),
        body,
        content_type="application/json",
        headers={name: value.format(**values) for name, value in headers.items()},
    )
    assert (response.status_code, response.json()["error"]["code"]) == (status, code)
    assert CallSession.objects.get(session_id=session_id).status != SessionStatus.ENDED


@pytest.mark.parametrize("action", ["end", "revoke"])
def test_admin_live_session_actions_need_staff(action: str) -> None:
    """A logged-in user who is not staff cannot end a call or revoke its tokens through the admin."""
    session = CallSession.objects.create()
    token, _ = call_tokens.issue(session, None, "Guest")
    client = Client()
    client.force_login(User.objects.create_user("mallory", password="x"))
    url = reverse("admin:sessions_app_live_session", args=[session.session_id, action])
    response = client.post(url)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    session.refresh_from_db()
    assert not session.is_ended
    assert call_tokens.verify(token, session.session_id).is_guest
