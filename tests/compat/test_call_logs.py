"""
CometChat's call logs in the SDK, used as its docs use them, after real calls: a participant logged in through
the SDK fetches its call logs with CallLogRequestBuilder (and v4's getCallDetails) and reads each CallLog through
its getters; nobody sees a call it took no part in; the filters and pages work, and what cannot work here is
refused with a named field.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.browser.rest import AppServer

from .conftest import Person
from .documented import (
    CALL_LOG_PARTICIPANT_GETTERS,
    CALL_USER_GETTERS,
    SESSION_SETTINGS,
    V4_GET_CALL_DETAILS,
    V5_FETCH_CALL_LOGS,
    V5_INIT_LOGIN_LISTEN,
    V5_JOIN,
)

pytestmark = pytest.mark.browser

EVENTS = ("onSessionJoined", "onSessionLeft", "onParticipantJoined")
SERVER_RECORDS_WITHIN_S = 15.0

# window.app.callLogs read through the getters: each CallLog's plain values, its initiator's, receiver's and
# participants' getters, whether it is a CallLog (undefined getters come back as null).
READ_CALL_LOGS = """
({ user, participant }) => {
  const read = (object, getters) => Object.fromEntries(getters.map((getter) => [getter, object[getter]()]));
  const plain = ["getSessionID", "getMid", "getInitiatedAt", "getStartedAt", "getEndedAt", "getTotalAudioMinutes",
    "getTotalVideoMinutes", "getTotalDuration", "getTotalDurationInMinutes", "getMode", "getCallCategory", "getType",
    "getStatus", "getReceiverType", "getTotalParticipants", "getHasRecording", "getRecordings", "getTranscriptions"];
  return window.app.callLogs.map((log) => ({
    ...read(log, plain),
    getInitiator: read(log.getInitiator(), user),
    getReceiver: { guid: log.getReceiver().getGuid(), name: log.getReceiver().getName() },
    getParticipants: log.getParticipants().map((join) => read(join, participant)),
    isCallLog: log instanceof window.CometChatCalls.CallLog,
  }));
}
"""

# The documented catch: what an awaited call rejected with, in its plain form (or "resolved").
ATTEMPT = """
const attempt = async (run) => {
  try {
    await run();
    return "resolved";
  } catch (error) {
    return { errorCode: error.errorCode, name: error.name, details: error.details };
  }
};
const ids = (callLogs) => callLogs.map((callLog) => callLog.getSessionID());
const Builder = window.CometChatCalls.CallLogRequestBuilder;
"""


def started(someone: Person, app: AppServer, uid: str) -> None:
    """``someone`` initialises the SDK and logs in as ``uid`` as the docs do, listening to EVENTS."""
    result = someone.run(
        V5_INIT_LOGIN_LISTEN,
        {
            "appId": app.app_id,
            "region": "us",
            "uid": uid,
            "authKey": app.auth_key,
            "authKeyInInit": False,
            "events": list(EVENTS),
        },
    )
    assert "failed" not in result, result


def of_session(session_id: str) -> str:
    """A JS predicate: an event argument about ``session_id``."""
    return f"(argument) => argument.sessionId === {json.dumps(session_id)}"


def join(someone: Person, session_id: str) -> None:
    result = someone.run(V5_JOIN, {"sessionId": session_id, "sessionSettings": SESSION_SETTINGS})
    assert result.get("joined"), result
    someone.wait_for_event("onSessionJoined", of_session(session_id))


def leave(someone: Person, session_id: str) -> None:
    someone.run("async () => { await window.CometChatCalls.leaveSession(); }")
    someone.wait_for_event("onSessionLeft", of_session(session_id))


def ended_call_log(app: AppServer, session_id: str) -> dict[str, Any]:
    """The server's call log of ``session_id`` (its API key's view) once the call has ended."""
    deadline = time.monotonic() + SERVER_RECORDS_WITHIN_S
    while True:
        log = app.call("GET", f"/calls/{session_id}")
        if log["status"] == "ended" or time.monotonic() > deadline:
            assert log["status"] == "ended", log
            return log
        time.sleep(0.1)


def call_held(someone: Person, app: AppServer, session_id: str, *others: Person) -> dict[str, Any]:
    """``someone`` (and ``others``, in order) join ``session_id`` and leave it, last in first out; its ended log."""
    for person_ in (someone, *others):
        join(person_, session_id)
    for person_ in reversed((someone, *others)):
        leave(person_, session_id)
    return ended_call_log(app, session_id)


def read_call_logs(someone: Person) -> list[dict[str, Any]]:
    logs: list[dict[str, Any]] = someone.run(
        f"async (getters) => ({READ_CALL_LOGS})(getters)",
        {"user": list(CALL_USER_GETTERS), "participant": list(CALL_LOG_PARTICIPANT_GETTERS)},
    )
    return logs


def refusal(code: str, name: str = "VALIDATION_ERROR", **details: str) -> dict[str, Any]:
    """What ATTEMPT gives for a rejection with ``code``, ``name`` and ``details``."""
    return {"errorCode": code, "name": name, "details": details}


def hours_minutes_seconds(seconds: float) -> str:
    whole = round(seconds)
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def test_a_participant_reads_its_call_through_the_documented_call_logs(
    person: Callable[[], Person], app_server: AppServer
) -> None:
    """
    Ann and Bob hold a call; Ann, logged in through the SDK, runs the docs' CallLogRequestBuilder (limit 10,
    video) and gets one CallLog whose getters say what the server recorded: the session, Ann as initiator, both
    joins, the durations and minutes, a meeting that ended. Bob gets the same call from v4's getCallDetails. Cho,
    who held a call of her own, sees only hers, and is refused Ann and Bob's.
    """
    for uid, name in (("ann", "Ann Lee"), ("bob", "Bob Stone"), ("cho", "Cho Park")):
        app_server.create_user(uid, name)
    session_id = app_server.create_session("Weekly sync")["sessionId"]
    chos_session_id = app_server.create_session("Cho's")["sessionId"]
    ann, bob, cho = person(), person(), person()
    for someone, uid in ((ann, "ann"), (bob, "bob"), (cho, "cho")):
        started(someone, app_server, uid)

    join(ann, session_id)
    join(bob, session_id)
    ann.wait_for_event("onParticipantJoined", "(participant) => participant.uid === 'bob'")
    leave(bob, session_id)
    leave(ann, session_id)
    recorded = ended_call_log(app_server, session_id)
    call_held(cho, app_server, chos_session_id)

    fetched = ann.run(V5_FETCH_CALL_LOGS, {"limit": 10, "callType": "video"})
    assert fetched == {"count": 1, "page": 1, "pages": 1}
    [log] = read_call_logs(ann)
    assert log["isCallLog"] is True
    assert log["getSessionID"] == session_id
    assert log["getInitiator"] == {"getUid": "ann", "getName": "Ann Lee", "getAvatar": ""}
    assert log["getReceiver"] == {"guid": session_id, "name": "Weekly sync"}
    assert (log["getStatus"], log["getType"], log["getMode"], log["getCallCategory"], log["getReceiverType"]) == (
        "ended",
        "video",
        "meet",
        "meet",
        "group",
    )
    assert log["getTotalParticipants"] == 2
    assert log["getStartedAt"] == log["getInitiatedAt"] == recorded["startedAt"]
    assert log["getEndedAt"] == recorded["endedAt"] >= log["getStartedAt"]
    assert log["getTotalDurationInMinutes"] == pytest.approx(recorded["totalDurationSeconds"] / 60)
    assert log["getTotalDuration"] == hours_minutes_seconds(recorded["totalDurationSeconds"])
    assert log["getTotalAudioMinutes"] == recorded["totalAudioMinutes"] > 0
    assert log["getTotalVideoMinutes"] == recorded["totalVideoMinutes"] > 0
    assert (log["getHasRecording"], log["getRecordings"], log["getTranscriptions"], log["getMid"]) == (
        False,
        [],
        [],
        "",
    )

    joins = log["getParticipants"]
    assert [(join_["getUid"], join_["getName"]) for join_ in joins] == [("ann", "Ann Lee"), ("bob", "Bob Stone")]
    for join_, entry in zip(joins, recorded["participants"], strict=True):
        assert (join_["getHasJoined"], join_["getState"], join_["getMid"]) == (True, "ended", "")
        assert join_["getAvatar"] == ""
        assert (join_["getJoinedAt"], join_["getLeftAt"]) == (entry["joinedAt"], entry["leftAt"])
        assert join_["getDeviceID"] == entry["participantId"]
        assert join_["getTotalDurationInMinutes"] == pytest.approx(entry["totalDurationSeconds"] / 60)
        assert join_["getTotalDurationInMinutes"] > 0
        assert (join_["getTotalAudioMinutes"], join_["getTotalVideoMinutes"]) == (
            entry["audioMinutes"],
            entry["videoMinutes"],
        )

    assert bob.run(V4_GET_CALL_DETAILS, {"sessionID": session_id}) == 1
    [details] = read_call_logs(bob)
    assert details == log

    assert cho.run(V5_FETCH_CALL_LOGS, {"limit": 10, "callType": "video"})["count"] == 1
    assert [seen["getSessionID"] for seen in read_call_logs(cho)] == [chos_session_id]
    refused = cho.run(
        f"""
        async (sessionId) => {{
          {ATTEMPT}
          return attempt(() => window.CometChatCalls.getCallDetails(sessionId));
        }}
        """,
        session_id,
    )
    assert refused == refusal("AUTH_ERR_NO_ACCESS", name="COMET_CHAT_API_ERROR")
    assert ann.page_errors == bob.page_errors == cho.page_errors == []


def test_call_log_filters_and_pages(person: Callable[[], Person], app_server: AppServer) -> None:
    """
    Three calls of Ann's (the first with Bob, the second a VOICE call): limit 1 pages through them newest first,
    fetchNext past the last gives [] and fetchPrevious goes back; type, status, uid, recording, category and
    another user's auth token filter; CometChat's ringing statuses and transcripts match nothing.
    """
    app_server.create_user("ann", "Ann Lee")
    app_server.create_user("bob", "Bob Stone")
    first = app_server.create_session("First")["sessionId"]
    second = app_server.call("POST", "/sessions", {"title": "Second", "type": "VOICE"})["sessionId"]
    third = app_server.create_session("Third")["sessionId"]
    ann, bob = person(), person()
    started(ann, app_server, "ann")
    started(bob, app_server, "bob")
    call_held(ann, app_server, first, bob)
    call_held(ann, app_server, second)
    call_held(ann, app_server, third)

    seen = ann.run(
        f"""
        async (bobsAuthToken) => {{
          {ATTEMPT}
          const request = new Builder().setLimit(1).build();
          const pages = [];
          for (let i = 0; i < 4; i++) pages.push(ids(await request.fetchNext()));
          const atTheEnd = [request.getCurrentPage(), request.getTotalPages()];
          pages.push(ids(await request.fetchPrevious()));
          const back = request.getCurrentPage();
          const fetch = async (build) => ids(await build(new Builder()).build().fetchNext());
          return {{
            pages, atTheEnd, back,
            audio: await fetch((b) => b.setCallType("audio")),
            video: await fetch((b) => b.setCallType("video")),
            ended: await fetch((b) => b.setCallStatus("ended")),
            ongoing: await fetch((b) => b.setCallStatus("ongoing")),
            missed: await fetch((b) => b.setCallStatus("missed")),
            withRecording: await fetch((b) => b.setHasRecording(true)),
            withoutRecording: await fetch((b) => b.setHasRecording(false)),
            withTranscripts: await fetch((b) => b.setHasTranscriptions(true)),
            meetings: await fetch((b) => b.setCallCategory("meet")),
            withBob: await fetch((b) => b.setUid("bob")),
            bobs: await fetch((b) => b.setAuthToken(bobsAuthToken)),
          }};
        }}
        """,
        app_server.auth_token("bob")["authToken"],
    )
    assert seen["pages"] == [[third], [second], [first], [], [second]]
    assert (seen["atTheEnd"], seen["back"]) == ([3, 3], 2)
    assert (seen["audio"], seen["video"]) == ([second], [third, first])
    assert (seen["ended"], seen["ongoing"], seen["missed"]) == ([third, second, first], [], [])
    assert (seen["withRecording"], seen["withoutRecording"]) == ([], [third, second, first])
    assert (seen["withTranscripts"], seen["meetings"]) == ([], [third, second, first])
    assert seen["withBob"] == seen["bobs"] == [first]


def test_what_cannot_be_asked_is_refused_with_its_field(
    person: Callable[[], Person], app_server: AppServer, manage: Callable[..., str]
) -> None:
    """
    fetchNext rejects with CometChat's error object: a setting a meeting cannot have (category "call", a
    direction, a group) or a bad value names its field; a second fetch while one is under way, nobody logged in,
    init not called, and another app's auth token are refused with their codes.
    """
    app_server.create_user("ann", "Ann Lee")
    ann, stranger = person(), person()
    started(ann, app_server, "ann")
    refused = ann.run(
        f"""
        async () => {{
          {ATTEMPT}
          const fetching = (build) => attempt(() => build(new Builder()).build().fetchNext());
          const request = new Builder().build();
          const under_way = request.fetchNext();
          const again = await attempt(() => request.fetchNext());
          await under_way;
          return {{
            again,
            call: await fetching((b) => b.setCallCategory("call")),
            direction: await fetching((b) => b.setCallDirection("incoming")),
            group: await fetching((b) => b.setGuid("team")),
            limit: await fetching((b) => b.setLimit(101)),
            type: await fetching((b) => b.setCallType("hologram")),
            status: await fetching((b) => b.setCallStatus("maybe")),
            uid: await fetching((b) => b.setUid("two words")),
            previous: await attempt(() => new Builder().setCallDirection("outgoing").build().fetchPrevious()),
            details: await attempt(() => window.CometChatCalls.getCallDetails("")),
          }};
        }}
        """
    )
    unsupported = "unsupported"
    assert refused == {
        "again": refusal("ERROR_REQUEST_IN_PROGRESS"),
        "call": refusal("ERROR_JSON_EXCEPTION", field="callCategory", reason=unsupported),
        "direction": refusal("ERROR_JSON_EXCEPTION", field="callDirection", reason=unsupported),
        "group": refusal("ERROR_JSON_EXCEPTION", field="guid", reason=unsupported),
        "limit": refusal("ERROR_JSON_EXCEPTION", field="limit"),
        "type": refusal("ERROR_JSON_EXCEPTION", field="callType"),
        "status": refusal("ERROR_JSON_EXCEPTION", field="callStatus"),
        "uid": refusal("ERROR_UID_WITH_SPACE", field="uid"),
        "previous": refusal("ERROR_JSON_EXCEPTION", field="callDirection", reason=unsupported),
        "details": refusal("ERROR_CALL_SESSION_ID"),
    }

    keys = json.loads(manage("create_app", "--name", "Another app").strip().splitlines()[-1])
    other_app = AppServer(app_server.base_url, keys["appId"], keys["apiKey"], keys["authKey"])
    other_app.create_user("ann", "Ann of another app")
    foreign_token = other_app.auth_token("ann")["authToken"]
    stranger_saw = stranger.run(
        f"""
        async ({{ appId, foreignToken }}) => {{
          {ATTEMPT}
          const CometChatCalls = window.CometChatCalls;
          const beforeInit = await attempt(() => new Builder().build().fetchNext());
          await CometChatCalls.init({{ appId, region: "us" }});
          return {{
            beforeInit,
            nobodyLoggedIn: await attempt(() => new Builder().build().fetchNext()),
            foreignToken: await attempt(() => new Builder().setAuthToken(foreignToken).build().fetchNext()),
          }};
        }}
        """,
        {"appId": app_server.app_id, "foreignToken": foreign_token},
    )
    assert stranger_saw == {
        "beforeInit": refusal("ERROR_COMETCHAT_CALLS_SDK_INIT"),
        "nobodyLoggedIn": refusal("ERROR_NO_USER_LOGGED_IN"),
        "foreignToken": refusal("ERROR_AUTH_TOKEN", name="COMET_CHAT_API_ERROR"),
    }
