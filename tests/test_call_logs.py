"""Call logs match what happened in a scripted call: joins, leaves, rejoins, durations, media minutes."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.test import Client
from django.utils import timezone

from sessions_app import errors
from sessions_app.models import App, AppUser, AuthToken, CallSession, Participant, SessionStatus, SessionType
from sessions_app.services import presence
from sessions_app.tokens import CallIdentity

pytestmark = pytest.mark.django_db(transaction=True)

START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def at(self, seconds: float) -> None:
        self.now = START + timedelta(seconds=seconds)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock(START)
    monkeypatch.setattr(timezone, "now", fake)
    return fake


def identity(uid: str, name: str, is_guest: bool = False) -> CallIdentity:
    return CallIdentity(
        jti=secrets.token_hex(8),
        session_id="",
        uid=uid,
        name=name,
        is_guest=is_guest,
        role="participant",
        avatar="",
        may_rename=False,
    )


def join(
    session: CallSession, uid: str, audio_muted: bool = False, video_paused: bool = False, is_guest: bool = False
) -> Participant:
    participant = async_to_sync(presence.admit)(
        session, identity(uid, uid.title(), is_guest), uid.title(), audio_muted, video_paused
    ).participant
    return participant


def leave(participant: Participant) -> None:
    async_to_sync(presence.mark_left)(participant.participant_id, errors.LEAVE_REASON_LEFT)


def media(participant: Participant, audio_muted: bool, video_paused: bool) -> None:
    async_to_sync(presence.update_media)(participant.participant_id, audio_muted, video_paused)


@pytest.fixture
def app_and_key() -> tuple[App, str]:
    app, api_key, _ = App.create_with_keys("Logs")
    return app, api_key


def get(client: Client, app_and_key: tuple[App, str], path: str) -> tuple[int, Any]:
    app, api_key = app_and_key
    response = client.get("/api/v1" + path, headers={"appid": app.app_id, "apikey": api_key})
    return response.status_code, response.json()


def scripted_call(app: App, clock: Clock) -> CallSession:
    """ann 0-30 s, bob 10-60 s (muted until 20 s, camera off 40-50 s), ann again 40-60 s."""
    session = CallSession.objects.create(app=app, title="Scripted")
    clock.at(0)
    ann = join(session, "ann")
    clock.at(10)
    bob = join(session, "bob", audio_muted=True)
    clock.at(20)
    media(bob, audio_muted=False, video_paused=False)
    clock.at(30)
    leave(ann)
    clock.at(40)
    ann_again = join(session, "ann")
    media(bob, audio_muted=False, video_paused=True)
    clock.at(50)
    media(bob, audio_muted=False, video_paused=False)
    clock.at(60)
    leave(ann_again)
    leave(bob)
    return session


def test_call_log_matches_the_scripted_call(client: Client, app_and_key: tuple[App, str], clock: Clock) -> None:
    """Every join is an entry (a rejoin too) with its own duration and audio/video minutes."""
    session = scripted_call(app_and_key[0], clock)
    status, body = get(client, app_and_key, f"/calls/{session.session_id}")
    assert status == 200
    log = body["data"]
    assert log["status"] == SessionStatus.ENDED and log["endReason"] == "empty"
    assert log["totalDurationSeconds"] == 60 and log["peakParticipants"] == 2
    assert (log["totalParticipants"], log["totalJoins"], log["initiator"]) == (2, 3, "ann")
    entries = [(p["uid"], p["totalDurationSeconds"], p["audioMinutes"], p["videoMinutes"]) for p in log["participants"]]
    assert entries == [
        ("ann", 30, 0.5, 0.5),
        ("bob", 50, round(40 / 60, 3), round(40 / 60, 3)),
        ("ann", 20, round(20 / 60, 3), round(20 / 60, 3)),
    ]
    assert all(p["leaveReason"] == "left" for p in log["participants"])


def test_emptied_call_reopens_on_the_next_join(client: Client, app_and_key: tuple[App, str], clock: Clock) -> None:
    """A call whose last participant left is ended; joining its link again reopens it."""
    session = scripted_call(app_and_key[0], clock)
    clock.at(100)
    join(session, "cho")
    session.refresh_from_db()
    assert session.status == SessionStatus.ONGOING and session.ended_at is None
    assert session.started_at == START


def test_voice_calls_count_no_video_minutes(client: Client, app_and_key: tuple[App, str], clock: Clock) -> None:
    session = CallSession.objects.create(app=app_and_key[0], session_type=SessionType.VOICE)
    clock.at(0)
    ann = join(session, "ann")
    clock.at(90)
    leave(ann)
    _, body = get(client, app_and_key, f"/calls/{session.session_id}")
    assert body["data"]["totalAudioMinutes"] == 1.5 and body["data"]["totalVideoMinutes"] == 0


def test_call_list_filters_and_pages(client: Client, app_and_key: tuple[App, str], clock: Clock) -> None:
    """GET /calls filters by type, status, uid, time range and hasRecording, 30 a page."""
    app = app_and_key[0]
    scripted_call(app, clock)
    for index in range(31):
        clock.at(1000 + index)
        join(CallSession.objects.create(app=app, session_type=SessionType.VOICE), f"u{index}")
    CallSession.objects.create(app=app)  # never started: not a call yet
    CallSession.objects.create(app=App.create_with_keys("Other")[0])  # another app's

    def count(query: str) -> int:
        status, body = get(client, app_and_key, "/calls" + query)
        assert status == 200, body
        return body["meta"]["pagination"]["total"]

    assert count("") == 32
    _, page = get(client, app_and_key, "/calls")
    assert len(page["data"]) == 30 and page["data"][0]["startedAt"] >= page["data"][-1]["startedAt"]
    assert count("?type=VIDEO") == 1 and count("?type=AUDIO") == 31
    assert count("?status=ended") == 1 and count("?status=ongoing") == 31
    assert count("?uid=bob") == 1 and count("?uid=nobody") == 0
    start = int(START.timestamp())
    assert count(f"?startedAfter={start + 1000}") == 31
    assert count(f"?startedBefore={start + 1}") == 1
    assert count("?hasRecording=true") == 0 and count("?hasRecording=false") == 32
    _, last = get(client, app_and_key, "/calls?perPage=100")
    assert len(last["data"]) == 32


@pytest.mark.parametrize(
    "query", ["?type=HOLO", "?status=maybe", "?startedAfter=yesterday", "?hasRecording=perhaps", "?perPage=101"]
)
def test_bad_filters_are_refused(client: Client, app_and_key: tuple[App, str], query: str) -> None:
    status, body = get(client, app_and_key, "/calls" + query)
    assert status == 400 and body["error"]["code"] == errors.ERR_BAD_REQUEST


def test_call_logs_need_the_api_key(client: Client) -> None:
    response = client.get("/api/v1/calls")
    assert response.status_code == 401 and response.json()["error"]["code"] == errors.AUTH_ERR_EMPTY_APIKEY


# A user's own call logs (its auth token, as the SDK's CallLogRequest sends it).


def auth_token(app: App, uid: str) -> str:
    """A fresh auth token for ``uid`` of ``app`` (the user is created if need be)."""
    user, _ = AppUser.objects.get_or_create(app=app, uid=uid, defaults={"name": uid.title()})
    return AuthToken.issue(user)[1]


def get_as(client: Client, app: App, token: str, path: str) -> tuple[int, Any]:
    response = client.get("/api/v1" + path, headers={"appid": app.app_id, "authtoken": token})
    return response.status_code, response.json()


def listed(client: Client, app: App, token: str, query: str = "") -> list[str]:
    status, body = get_as(client, app, token, "/calls" + query)
    assert status == 200, body
    return [log["sessionId"] for log in body["data"]]


def call_of(app: App, clock: Clock, at: float, *uids: str, **fields: Any) -> CallSession:
    """A call of ``app`` that ``uids`` join at ``at`` seconds and are still in."""
    session = CallSession.objects.create(app=app, **fields)
    clock.at(at)
    for uid in uids:
        join(session, uid)
    return session


def test_a_user_lists_only_the_calls_it_took_part_in(
    client: Client, app_and_key: tuple[App, str], clock: Clock
) -> None:
    """With an auth token GET /calls lists the calls with a join of that user, newest first; the API key, all."""
    app = app_and_key[0]
    scripted = scripted_call(app, clock)
    bobs = call_of(app, clock, 100, "bob")
    chos = call_of(app, clock, 200, "cho")
    assert listed(client, app, auth_token(app, "ann")) == [scripted.session_id]
    assert listed(client, app, auth_token(app, "bob")) == [bobs.session_id, scripted.session_id]
    assert listed(client, app, auth_token(app, "cho")) == [chos.session_id]
    assert listed(client, app, auth_token(app, "dan")) == []
    _, everything = get(client, app_and_key, "/calls")
    assert everything["meta"]["pagination"]["total"] == 3


def test_a_user_s_call_logs_keep_the_filters_and_pages(
    client: Client, app_and_key: tuple[App, str], clock: Clock
) -> None:
    """The user's list filters (type, status, uid, time, hasRecording) and pages (perPage, page) as the app's does."""
    app = app_and_key[0]
    first = call_of(app, clock, 0, "ann", "bob")
    second = call_of(app, clock, 100, "ann", session_type=SessionType.VOICE)
    third = call_of(app, clock, 200, "ann")
    call_of(app, clock, 300, "bob")
    token = auth_token(app, "ann")
    assert listed(client, app, token, "?type=VIDEO") == [third.session_id, first.session_id]
    assert listed(client, app, token, "?type=AUDIO") == [second.session_id]
    assert listed(client, app, token, "?uid=bob") == [first.session_id]
    assert listed(client, app, token, "?status=ended") == []
    assert listed(client, app, token, f"?startedBefore={int(START.timestamp()) + 150}") == [
        second.session_id,
        first.session_id,
    ]
    assert listed(client, app, token, "?hasRecording=true") == []
    status, page = get_as(client, app, token, "/calls?perPage=1&page=2")
    assert status == 200 and [log["sessionId"] for log in page["data"]] == [second.session_id]
    assert page["meta"]["pagination"] == {"total": 3, "count": 1, "perPage": 1, "currentPage": 2, "totalPages": 3}
    status, body = get_as(client, app, token, "/calls?perPage=101")
    assert (status, body["error"]["code"]) == (400, errors.ERR_BAD_REQUEST)


def test_call_lists_carry_participants_when_asked(client: Client, app_and_key: tuple[App, str], clock: Clock) -> None:
    """?withParticipants=true gives each listed call its joins, as GET /calls/<id> does; without it, none."""
    app = app_and_key[0]
    session = scripted_call(app, clock)
    token = auth_token(app, "bob")
    _, plain = get_as(client, app, token, "/calls")
    assert "participants" not in plain["data"][0]
    _, full = get_as(client, app, token, "/calls?withParticipants=true")
    _, detail = get_as(client, app, token, f"/calls/{session.session_id}")
    assert full["data"][0]["participants"] == detail["data"]["participants"]
    assert [p["uid"] for p in full["data"][0]["participants"]] == ["ann", "bob", "ann"]
    status, body = get_as(client, app, token, "/calls?withParticipants=maybe")
    assert (status, body["error"]["code"]) == (400, errors.ERR_BAD_REQUEST)


def test_a_user_reads_a_call_it_took_part_in_and_no_other(
    client: Client, app_and_key: tuple[App, str], clock: Clock
) -> None:
    """GET /calls/<id> with an auth token: the whole log of a call it joined; another call is AUTH_ERR_NO_ACCESS."""
    app = app_and_key[0]
    session = scripted_call(app, clock)
    status, body = get_as(client, app, auth_token(app, "bob"), f"/calls/{session.session_id}")
    assert status == 200 and body["data"]["initiator"] == "ann" and len(body["data"]["participants"]) == 3
    status, body = get_as(client, app, auth_token(app, "cho"), f"/calls/{session.session_id}")
    assert (status, body["error"]["code"]) == (403, errors.AUTH_ERR_NO_ACCESS)
    status, body = get_as(client, app, auth_token(app, "bob"), "/calls/nosuchcall")
    assert (status, body["error"]["code"]) == (404, errors.ERR_CALL_SESSION_NOT_FOUND)


def test_another_app_s_auth_token_is_refused(client: Client, app_and_key: tuple[App, str], clock: Clock) -> None:
    """A user of another app (even with the same uid) reads nothing of this app's calls."""
    app = app_and_key[0]
    session = scripted_call(app, clock)
    other = App.create_with_keys("Other")[0]
    foreign_token = auth_token(other, "ann")
    status, body = get_as(client, app, foreign_token, "/calls")
    assert (status, body["error"]["code"]) == (401, errors.ERROR_AUTH_TOKEN)
    status, body = get_as(client, app, foreign_token, f"/calls/{session.session_id}")
    assert (status, body["error"]["code"]) == (401, errors.ERROR_AUTH_TOKEN)
    assert listed(client, other, foreign_token) == []
    status, body = get_as(client, other, foreign_token, f"/calls/{session.session_id}")
    assert (status, body["error"]["code"]) == (403, errors.AUTH_ERR_NO_ACCESS)


def test_joins_not_as_the_user_do_not_make_its_call_logs(
    client: Client, app_and_key: tuple[App, str], clock: Clock
) -> None:
    """A guest's join under the same uid, and a call of no app (the home page's), are not the user's call logs."""
    app = app_and_key[0]
    guest_uid = "guest_0123456789ab"
    guested = CallSession.objects.create(app=app, allow_guests=True)
    join(guested, guest_uid, is_guest=True)
    home = CallSession.objects.create(allow_guests=True)
    join(home, "ann")
    assert listed(client, app, auth_token(app, guest_uid)) == []
    token = auth_token(app, "ann")
    assert listed(client, app, token) == []
    status, body = get_as(client, app, token, f"/calls/{home.session_id}")
    assert (status, body["error"]["code"]) == (403, errors.AUTH_ERR_NO_ACCESS)


@pytest.mark.parametrize(
    ("token", "status", "code"),
    [
        ("", 401, errors.ERROR_BLANK_AUTHTOKEN),
        ("two words", 400, errors.ERROR_AUTHTOKEN_WITH_SPACE),
        ("not-a-token", 401, errors.ERROR_AUTH_TOKEN),
    ],
)
def test_bad_auth_tokens_are_refused_with_their_codes(
    client: Client, app_and_key: tuple[App, str], token: str, status: int, code: str
) -> None:
    answered, body = get_as(client, app_and_key[0], token, "/calls")
    assert (answered, body["error"]["code"]) == (status, code)


def test_a_revoked_auth_token_reads_no_call_logs(client: Client, app_and_key: tuple[App, str], clock: Clock) -> None:
    app = app_and_key[0]
    scripted_call(app, clock)
    token = auth_token(app, "ann")
    AuthToken.objects.update(revoked_at=timezone.now())
    status, body = get_as(client, app, token, "/calls")
    assert (status, body["error"]["code"]) == (401, errors.ERROR_AUTH_TOKEN)


def test_the_api_key_wins_over_an_auth_token(client: Client, app_and_key: tuple[App, str], clock: Clock) -> None:
    """Sent both, the request is the app's server's: every call, and a wrong API key is refused as such."""
    app, api_key = app_and_key
    scripted_call(app, clock)
    call_of(app, clock, 100, "cho")
    token = auth_token(app, "cho")
    both = client.get("/api/v1/calls", headers={"appid": app.app_id, "apikey": api_key, "authtoken": token})
    assert both.json()["meta"]["pagination"]["total"] == 2
    wrong = client.get("/api/v1/calls", headers={"appid": app.app_id, "apikey": "wrong", "authtoken": token})
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (401, errors.AUTH_ERR_APIKEY_NOT_FOUND)
