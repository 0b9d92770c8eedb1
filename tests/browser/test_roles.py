"""Roles and moderation that sticks (issue 14), across real pages and the real server: a moderator (the
browser that created the call on the home page) and a guest see different controls, a moderator's mute
is a hold the guest cannot lift (it asks to speak), and a removal keeps the guest out."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from .call_page import (
    CONTAINER,
    KEEP_SOCKETS,
    ROOT,
    SEND_RAW,
    Call,
    button,
    call,
    expect_state,
    join_url,
    last_event_arg,
    load_sdk,
    local_participant_id,
    record,
    sdk,
    tile,
    wait_for_event,
)
from .rest import AppServer

pytestmark = pytest.mark.browser

LAST_ERROR = "() => (window.__events || []).filter((e) => e[0] === 'onError').map((e) => e[1]).pop() || null"


def start_call_on_home_page(open_page: Callable[..., Page], live_server_url: str) -> tuple[Page, str]:
    """Create a call with the home page's form; return that (host's) page and the call's share link."""
    page = open_page(f"{live_server_url}/")
    page.fill("#call-title", "Roles")
    page.click("#start-call")
    share_url = page.input_value("#share-link")
    host_url = page.input_value("#host-link")
    assert share_url.startswith(f"{live_server_url}/s/") and host_url != share_url
    return page, share_url


def menu_actions(page: Page, participant_id: str) -> list[str]:
    """The actions of the participant menu on ``participant_id``'s tile (the menu is closed again)."""
    menu_button = tile(page, participant_id).locator("[data-action='participant-menu']")
    menu_button.click()
    menu = page.locator(f"{CONTAINER} .cc-menu")
    expect(menu).to_be_visible()
    actions = menu.locator("[role='menuitem']").evaluate_all("(items) => items.map((item) => item.dataset.action)")
    page.keyboard.press("Escape")
    expect(menu).to_be_hidden()
    return actions


def last_error(page: Page) -> Any:
    return page.evaluate(LAST_ERROR)


def test_moderator_and_guest_see_different_controls_and_the_hold_sticks(
    open_page: Callable[..., Page], live_server_url: str, screenshot_dir: Path
) -> None:
    """
    The call's creator moderates and a guest does not: only the moderator has end-for-all and the menu's
    moderation items, and each sees the other's marker. The moderator's mute holds: the guest's microphone
    button asks to speak (raises the hand) instead of unmuting, the server refuses the guest's own unmute,
    and once the moderator allows it the guest unmutes and everyone hears it.
    """
    host, share_url = start_call_on_home_page(open_page, live_server_url)
    host.goto(join_url(share_url, "Mo"))
    expect_state(host, "joined")
    guest, guest_id = Call(open_page, share_url).join("Gus", init_script=KEEP_SOCKETS)
    host_id = local_participant_id(host)
    expect(tile(host, guest_id)).to_have_count(1)
    expect(tile(guest, host_id)).to_have_count(1)

    # Controls: the moderator's, and none of them for the guest (absent, not disabled).
    expect(button(host, "end-for-all")).to_have_count(1)
    expect(button(guest, "end-for-all")).to_have_count(0)
    assert menu_actions(host, guest_id) == ["pin", "mute-participant", "pause-participant-video", "remove-participant"]
    assert menu_actions(guest, host_id) == ["pin"]
    assert menu_actions(guest, guest_id) == ["pin"]

    # Markers: the guest is marked "Guest" for the moderator, the moderator "Moderator" for the guest.
    expect(tile(host, guest_id)).to_have_attribute("data-guest", "true")
    expect(tile(host, guest_id).locator(".cc-tile__role")).to_have_text("Guest")
    expect(tile(guest, host_id)).to_have_attribute("data-role", "moderator")
    expect(tile(guest, host_id).locator(".cc-tile__role")).to_have_text("Moderator")

    # A guest's moderation is refused by the SDK without a word to the server...
    assert call(guest, "muteParticipant(arg)", host_id)["error"]["errorCode"] == "AUTH_ERR_NO_ACCESS"
    assert call(guest, "endSessionForAll()")["error"]["errorCode"] == "AUTH_ERR_NO_ACCESS"
    # ...and by the server when a modified client sends it anyway.
    record(guest, "onError", "onModeratedByParticipant")
    guest.evaluate(SEND_RAW, {"type": "end_for_all"})
    wait_for_event(guest, "onError")
    assert last_error(guest)["errorCode"] == "AUTH_ERR_NO_ACCESS"

    # The moderator mutes the guest from the tile menu: a hold.
    tile(host, guest_id).locator("[data-action='participant-menu']").click()
    host.locator(f"{CONTAINER} .cc-menu [data-action='mute-participant']").click()
    guest_local = tile(guest, guest_id)
    expect(guest_local).to_have_attribute("data-audio-muted", "true")
    expect(guest_local).to_have_attribute("data-audio-held", "true")
    mic = button(guest, "toggle-audio")
    expect(mic).to_have_attribute("data-held", "true")
    expect(mic).to_have_attribute("aria-label", "Muted by a moderator")
    expect(tile(host, guest_id)).to_have_attribute("data-audio-muted", "true")
    expect(tile(host, guest_id)).to_have_attribute("data-audio-held", "true")
    wait_for_event(guest, "onModeratedByParticipant")

    # The guest's unmute does not unmute: the SDK refuses it, and so does the server.
    assert call(guest, "unmuteAudio()")["error"]["errorCode"] == "AUTH_ERR_NO_ACCESS"
    guest.evaluate(SEND_RAW, {"type": "media", "audioMuted": False, "videoPaused": False})
    guest.wait_for_function(f"() => {{ const e = ({LAST_ERROR})(); return e && e.details.reason === 'held'; }}")
    assert last_error(guest)["details"]["kind"] == "audio"
    # The button asks to speak instead: it raises the hand (which reaches the moderator after the refusal).
    mic.click()
    expect(guest.locator(f"{CONTAINER} .cc-toast", has_text="Your hand is raised to ask to speak")).to_have_count(1)
    expect(button(guest, "raise-hand")).to_have_attribute("aria-pressed", "true")
    expect(tile(host, guest_id)).to_have_attribute("data-hand-raised", "true")
    expect(tile(host, guest_id)).to_have_attribute("data-audio-muted", "true")
    expect(guest_local).to_have_attribute("data-audio-muted", "true")
    expect(mic).to_have_attribute("data-off", "true")
    assert menu_actions(host, guest_id)[0] == "allow-participant-audio"  # Asking to speak comes first.

    # The moderator allows: the guest is told and may unmute itself (it stays muted until it does).
    allow = tile(host, guest_id).locator("[data-action='allow-participant-audio']")
    expect(allow).to_be_visible()
    host.screenshot(path=str(screenshot_dir / "roles-moderator-sees-a-request-to-speak.png"))
    guest.screenshot(path=str(screenshot_dir / "roles-guest-muted-by-a-moderator.png"))
    allow.click()
    expect(guest.locator(f"{CONTAINER} .cc-toast", has_text="A moderator allowed you to speak")).to_have_count(1)
    expect(mic).to_have_attribute("data-held", "false")
    expect(mic).to_have_attribute("data-off", "true")
    expect(tile(host, guest_id)).to_have_attribute("data-audio-held", "false")
    expect(tile(host, guest_id)).to_have_attribute("data-audio-muted", "true")
    mic.click()
    expect(mic).to_have_attribute("data-off", "false")
    expect(tile(host, guest_id)).to_have_attribute("data-audio-muted", "false")
    expect_state(host, "joined")  # The guest's end-for-all ended nothing.


def test_sdk_participants_carry_cometchats_role_names(new_call: Callable[..., Call]) -> None:
    """
    The SDK's participant objects say CometChat's roles, "moderator" or "none" (the server's "participant");
    the DOM keeps data-role="moderator|participant", as the server-rendered list rows do.
    """
    session = new_call()
    host, host_id = session.join("Mo", host=True)
    record(host, "onParticipantJoined")
    guest, guest_id = session.join("Gus")
    wait_for_event(host, "onParticipantJoined")
    assert last_event_arg(host, "onParticipantJoined")["role"] == "none"
    record(guest, "onParticipantListChanged")
    assert call(host, "muteAudio()")["error"] is None
    wait_for_event(guest, "onParticipantListChanged")
    roles = {p["pid"]: p["role"] for p in last_event_arg(guest, "onParticipantListChanged")}
    assert roles == {host_id: "moderator", guest_id: "none"}
    expect(tile(host, guest_id)).to_have_attribute("data-role", "participant")
    expect(guest.locator(ROOT)).to_have_attribute("data-role", "participant")
    expect(host.locator(ROOT)).to_have_attribute("data-role", "moderator")


def test_removed_guest_cannot_come_back(open_page: Callable[..., Page], new_call: Callable[..., Call]) -> None:
    """The host link makes a moderator; its Remove puts the guest out for good ("You were removed")."""
    session = new_call()
    guest, guest_id = session.join("Gus")
    host = open_page(session.host_url)  # The host link lands on the pre-join screen, which says who hosts.
    expect(host.locator(f"{CONTAINER} .cc-prejoin__host")).to_contain_text("You host this call")
    host.goto(join_url(session.share_url, "Mo"))
    expect_state(host, "joined")
    expect(tile(host, guest_id)).to_have_count(1)

    # The participant list marks the guest too; its menu carries the moderation items.
    button(host, "participant-list").click()
    row = host.locator(f"{CONTAINER} .cc-panel__row[data-pid='{guest_id}']")
    expect(row.locator(".cc-role-badge")).to_have_text("Guest")
    row.locator("[data-action='participant-menu']").click()
    host.locator(f"{CONTAINER} .cc-menu [data-action='remove-participant']").click()

    expect_state(guest, "left")
    expect(guest.locator(ROOT)).to_have_attribute("data-left-reason", "removed")
    expect(guest.locator(ROOT)).to_contain_text("You were removed from this call")
    expect(guest.locator(f"{CONTAINER} [data-action='rejoin']")).to_have_count(0)
    expect(tile(host, guest_id)).to_have_count(0)

    guest.reload()  # A new guest token from the same browser: refused.
    expect_state(guest, "error")
    expect(guest.locator(ROOT)).to_contain_text("You were removed from this call")
    expect(guest.locator(f"{CONTAINER} .cc-screen__code")).to_have_text("AUTH_ERR_NO_ACCESS")
    expect_state(host, "joined")


def sdk_page_with_token(open_page: Callable[..., Page], app: AppServer, token: str) -> Page:
    """A page of the site that imports the SDK, initialises it for ``app`` and joins with ``token``."""
    page = load_sdk(open_page(f"{app.base_url}/", init_script=KEEP_SOCKETS))
    body = """
      const ready = await calls.init({appId: arg.appId, region: "us", host: arg.host});
      if (!ready.success) return ready.error;
      return (await calls.joinSession(arg.token, {}, container)).error;
    """
    error = sdk(page, body, {"appId": app.app_id, "host": app.base_url, "token": token})
    if error is None:
        expect_state(page, "joined")
    return page


def test_a_second_join_with_one_token_replaces_the_first(open_page: Callable[..., Page], app_server: AppServer) -> None:
    """One live participant per call token: the first page leaves ("replaced") and does not come back by itself."""
    app_server.create_user("ann", "Ann Lee")
    session_id = app_server.create_session()["sessionId"]
    token = app_server.call_token("ann", session_id)
    first = sdk_page_with_token(open_page, app_server, token)
    record(first, "onSessionLeft")

    second = sdk_page_with_token(open_page, app_server, token)
    expect_state(first, "left")
    expect(first.locator(ROOT)).to_have_attribute("data-left-reason", "replaced")
    expect(first.locator(ROOT)).to_contain_text("You joined this call from another tab or device")
    wait_for_event(first, "onSessionLeft")
    assert last_event_arg(first, "onSessionLeft")["reason"] == "replaced"
    # No reconnect, no rejoin: the one socket it had is closed and no other was opened.
    assert first.evaluate("window.__sockets.map((socket) => socket.readyState)") == [3]
    expect(second.locator(f"{CONTAINER} [data-participant-id]")).to_have_count(1)
    expect_state(second, "joined")


def test_a_full_call_refuses_the_next_join(open_page: Callable[..., Page], app_server: AppServer) -> None:
    """A join beyond the session's maxParticipants fails with ERR_CALL_FULL and says how many it holds."""
    for uid in ("ann", "bob"):
        app_server.create_user(uid, uid.title())
    session_id = app_server.call("POST", "/sessions", {"maxParticipants": 1})["sessionId"]
    sdk_page_with_token(open_page, app_server, app_server.call_token("ann", session_id))
    late = sdk_page_with_token(open_page, app_server, app_server.call_token("bob", session_id))
    expect_state(late, "error")
    expect(late.locator(f"{CONTAINER} .cc-screen__code")).to_have_text("ERR_CALL_FULL")
    expect(late.locator(ROOT)).to_contain_text("This call is full (1 person)")
    expect(late.locator(f"{CONTAINER} [data-action='rejoin']")).to_have_text("Try again")
