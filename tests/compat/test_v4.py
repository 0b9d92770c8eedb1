"""
CometChat's v4 calls API, which its v5 SDK keeps as deprecated: an app written from the v4 docs (the builders,
generateToken with the user's auth token, an OngoingCallListener, startSession/endSession) runs unchanged
against our server, two people in a real call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.call_page import CONTAINER, ROOT, expect_state
from tests.browser.rest import AppServer

from .conftest import Person
from .documented import V4_START

pytestmark = pytest.mark.browser

IS_BOB = "(user) => user.uid === 'bob'"


def start_session(someone: Person, app: AppServer, session_id: str, uid: str, *, audio_only: bool = False) -> None:
    """``someone`` runs the v4 app with ``uid``'s auth token (from the app's server) and is in the call."""
    someone.run(
        V4_START,
        {
            "appId": app.app_id,
            "region": "us",
            "host": app.base_url,
            "sessionId": session_id,
            "authToken": app.auth_token(uid)["authToken"],
            "audioOnly": audio_only,
        },
    )
    assert someone.wait_for_event("initialised") is None
    expect_state(someone.page, "joined")


def two_people(person: Callable[[], Person], app: AppServer, *, audio_only: bool = False) -> tuple[Person, Person]:
    app.create_user("ann", "Ann Lee")
    app.create_user("bob", "Bob Stone")
    session_id = app.create_session("Standup")["sessionId"]
    ann, bob = person(), person()
    start_session(ann, app, session_id, "ann", audio_only=audio_only)
    start_session(bob, app, session_id, "bob", audio_only=audio_only)
    return ann, bob


def assert_user(user: dict[str, Any], uid: str, name: str) -> None:
    """v4's user: {name, avatar?, uid, ...}."""
    assert (user["uid"], user["name"]) == (uid, name) and isinstance(user.get("avatar", ""), str), user


def test_v4_app_joins_hears_the_other_and_ends_its_session(person: Callable[[], Person], app_server: AppServer) -> None:
    """
    startSession with v4's CallSettings joins in SPOTLIGHT; the OngoingCallListener hears the other join
    (onUserJoined, onUserListUpdated), mute (onUserMuted) and leave (onUserLeft); the end-call button fires
    onCallEndButtonPressed, and endSession fires onCallEnded, with no error on the page.
    """
    ann, bob = two_people(person, app_server)
    for someone in (ann, bob):
        expect(someone.page.locator(ROOT)).to_have_attribute("data-layout", "SPOTLIGHT")
        expect(someone.page.locator(ROOT)).to_have_attribute("data-session-type", "VIDEO")

    assert_user(ann.wait_for_event("onUserJoined", IS_BOB), "bob", "Bob Stone")
    users = ann.wait_for_event("onUserListUpdated", "(users) => users.length === 2")
    assert sorted(user["uid"] for user in users) == ["ann", "bob"]

    bob.run("async () => { window.CometChatCalls.muteAudio(true); }")
    muted = ann.wait_for_event("onUserMuted", "(event) => event.muted.uid === 'bob'")
    assert_user(muted["muted"], "bob", "Bob Stone")
    assert muted["muted"]["isAudioMuted"] is True and muted["muted"]["isVideoMuted"] is False

    ann.run("async () => { window.CometChatCalls.setMode(window.CometChatCalls.MODE.DEFAULT); }")
    expect(ann.page.locator(ROOT)).to_have_attribute("data-layout", "SIDEBAR")

    # Bob presses the end-call button; his listener ends the session, as v4's docs have it.
    bob.page.click(f'{CONTAINER} [data-action="leave"]')
    assert bob.wait_for_event("onCallEndButtonPressed") is None
    assert bob.wait_for_event("onCallEnded") is None
    expect_state(bob.page, "left")
    assert_user(ann.wait_for_event("onUserLeft", IS_BOB), "bob", "Bob Stone")

    ann.run("async () => { window.CometChatCalls.endSession(); }")
    assert ann.wait_for_event("onCallEnded") is None
    expect_state(ann.page, "left")
    assert [event[0] for event in ann.page.evaluate("window.app.events")].count("onCallEnded") == 1
    assert ann.events("onError") == bob.events("onError") == []
    assert ann.page_errors == bob.page_errors == []


def test_v4_audio_only_call_is_a_voice_call(person: Callable[[], Person], app_server: AppServer) -> None:
    """setIsAudioOnlyCall(true) gives a voice call (the root's data-session-type is VOICE) that both are in."""
    ann, bob = two_people(person, app_server, audio_only=True)
    for someone in (ann, bob):
        expect(someone.page.locator(ROOT)).to_have_attribute("data-session-type", "VOICE")
    assert_user(ann.wait_for_event("onUserJoined", IS_BOB), "bob", "Bob Stone")
    assert ann.events("onError") == bob.events("onError") == []
