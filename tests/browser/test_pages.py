"""The pages around a call: home, share link, pre-join screen, errors."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from .call_page import CONTAINER, ROOT, expect_state

pytestmark = pytest.mark.browser


def test_starting_a_call_shows_its_link_which_opens_the_prejoin_screen(
    live_server_url: str, open_page: Callable[..., Page]
) -> None:
    """The start form creates a call, shows its share link, and the link opens the pre-join screen."""
    page = open_page(live_server_url + "/")
    page.fill("#call-title", "Retro <b>bold</b>")
    page.click("#start-call")
    link = page.locator("#share-link")
    expect(link).to_have_value(re.compile(rf"^{re.escape(live_server_url)}/s/[a-z0-9]{{20}}/$"))
    expect(page.get_by_text("Retro <b>bold</b>")).to_be_visible()
    page.click("#open-call")
    expect_state(page, "prejoin")
    expect(page.locator(f"{CONTAINER} #cc-join")).to_be_visible()
    expect(page.locator(f"{CONTAINER} video")).to_have_count(1)
    expect(page.locator("#cc-prejoin-toggle-video")).to_be_visible()
    expect(page.locator(".call-header__title")).to_have_text("Retro <b>bold</b>")


def test_copy_button_copies_the_share_link(live_server_url: str, open_page: Callable[..., Page]) -> None:
    """The Copy button next to a new call's link puts the link on the clipboard."""
    page = open_page(live_server_url + "/")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server_url)
    # The new page's module script binds the button: click only once it has run (at "load" at the latest).
    with page.expect_navigation():
        page.click("#start-call")
    link = page.locator("#share-link").input_value()
    page.click("[data-copy-target=share-link]")
    expect(page.locator("[data-copy-target=share-link]")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == link


def test_unknown_session_is_a_404(live_server_url: str, open_page: Callable[..., Page]) -> None:
    """A share link to a call that does not exist answers 404."""
    page = open_page(live_server_url + "/")
    response = page.goto(live_server_url + "/s/doesnotexist/")
    assert response is not None and response.status == 404


def test_joining_with_garbage_shows_error_call_session_id(live_server_url: str, open_page: Callable[..., Page]) -> None:
    """The join form refuses text that holds no meeting ID, with ERROR_CALL_SESSION_ID, and keeps the text."""
    page = open_page(live_server_url + "/")
    page.fill("#join-session", "not a meeting!")
    page.click("#join-call")
    error = page.locator("#join-error")
    expect(error).to_contain_text("ERROR_CALL_SESSION_ID")
    expect(error).to_have_attribute("data-error-code", "ERROR_CALL_SESSION_ID")
    expect(page.locator("#join-session")).to_have_value("not a meeting!")


def test_joining_with_a_pasted_link_opens_that_call(
    live_server_url: str, open_page: Callable[..., Page], create_session: Callable[..., str]
) -> None:
    """Pasting a share link into the join form goes to that call's pre-join screen."""
    share_url = create_session(title="Pasted")
    page = open_page(live_server_url + "/")
    page.fill("#join-session", share_url)
    page.click("#join-call")
    expect(page).to_have_url(share_url)
    expect_state(page, "prejoin")


def test_ended_call_says_so_instead_of_offering_to_join(
    open_page: Callable[..., Page], create_session: Callable[..., str], manage: Callable[..., str]
) -> None:
    """The share link of an ended call shows that it ended, and no Join button."""
    share_url = create_session()
    session_id = share_url.rstrip("/").rsplit("/", 1)[-1]
    manage(
        "shell",
        "-c",
        "from sessions_app.models import CallSession, SessionStatus; "
        f"CallSession.objects.filter(session_id={session_id!r})"
        ".update(status=SessionStatus.ENDED, end_reason='terminated')",
    )
    page = open_page(share_url)
    expect_state(page, "ended")
    expect(page.locator(ROOT)).to_contain_text("This call has ended")
    expect(page.locator("#cc-join")).to_have_count(0)


def test_sdk_reports_bad_join_arguments_with_their_codes(
    open_page: Callable[..., Page], create_session: Callable[..., str]
) -> None:
    """joinSession resolves {error} with the documented code for each kind of bad argument, never rejecting."""
    page = open_page(create_session())
    expect_state(page, "prejoin")
    codes = page.evaluate(
        """async () => {
          const calls = window.CometChatCalls;
          const container = document.getElementById("call_view_container");
          const code = async (...args) => (await calls.joinSession(...args)).error.errorCode;
          return {
            emptyId: await code("", {}, container),
            badId: await code("a/b", {}, container),
            noContainer: await code("abc123", {}, null),
            missingContainer: await code("abc123", {}, "no-such-element"),
            settingsNotObject: await code("abc123", "VIDEO", container),
            badSetting: await code("abc123", {startAudioMuted: "yes"}, container),
            badType: await code("abc123", {sessionType: "HOLOGRAM"}, container),
            notInCall: await calls.muteAudio().then(() => null, (error) => error.errorCode),
          };
        }"""
    )
    assert codes == {
        "emptyId": "ERROR_CALL_SESSION_ID",
        "badId": "ERROR_CALL_SESSION_ID",
        "noContainer": "ERROR_CALLING_VIEW_REF_NULL",
        "missingContainer": "ERROR_CALLING_VIEW_REF_NULL",
        "settingsNotObject": "ERROR_JSON_EXCEPTION",
        "badSetting": "ERROR_JSON_EXCEPTION",
        "badType": "ERROR_JSON_EXCEPTION",
        "notInCall": "ERR_CALL_NOT_A_PART",
    }


def test_event_listeners_unsubscribe(open_page: Callable[..., Page], create_session: Callable[..., str]) -> None:
    """addEventListener returns a function that removes exactly that listener."""
    page = open_page(create_session())
    expect_state(page, "prejoin")
    assert page.evaluate(
        """() => {
          const off = window.CometChatCalls.addEventListener("onSessionLeft", () => {});
          return typeof off === "function" && off() === undefined;
        }"""
    )
