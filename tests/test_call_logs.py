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
from sessions_app.models import App, CallSession, Participant, SessionStatus, SessionType
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


def identity(uid: str, name: str) -> CallIdentity:
    return CallIdentity(
        jti=secrets.token_hex(8),
        session_id="",
        uid=uid,
        name=name,
        is_guest=False,
        role="participant",
        avatar="",
        may_rename=False,
    )


def join(session: CallSession, uid: str, audio_muted: bool = False, video_paused: bool = False) -> Participant:
    participant = async_to_sync(presence.admit)(
        session, identity(uid, uid.title()), uid.title(), audio_muted, video_paused
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
