"""Calls end to end: real pages in Chromium, the real server and its SFU, fake cameras and microphones."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from .call_page import (
    CONTAINER,
    JOIN_TIMEOUT_MS,
    REMOTE_AUDIO_PEAKS,
    REMOTE_TILES,
    ROOT,
    Call,
    Until,
    call,
    expect_state,
    join_url,
    local_participant_id,
    tile,
    wait_for_remote_media,
)

pytestmark = pytest.mark.browser

LEAVE_SEEN_WITHIN_MS = 5_000
# The fake microphone beeps; silence is 0 and comfort noise stays far below this.
AUDIBLE_PEAK = 0.01
BLOCKED_SOUND_WARNING = "blocked sound until the page is clicked"
# Load the SDK into any page of the site, initialise it for the app and join with a call token.
JOIN_WITH_TOKEN = """
async ([appId, token]) => {
  const { default: calls } = await import("/static/calls/calls.js");
  const container = document.createElement("div");
  container.id = "call_view_container";
  document.querySelector("main").replaceChildren(container);
  const ready = await calls.init({ appId, region: "us" });
  if (!ready.success) return JSON.parse(JSON.stringify(ready));
  return JSON.parse(JSON.stringify(await calls.joinSession(token, {}, container)));
}
"""


def test_three_people_see_and_hear_each_other_and_a_leaver_disappears(new_call: Callable[..., Call]) -> None:
    """Three pages on one link each play the other two's video and audio; a leaver's tile goes from the others."""
    people = new_call(title="Three").join_all("A", "B", "C", at_once=True, until=Until.MEDIA)
    pages, ids = [person.page for person in people], [person.participant_id for person in people]
    assert len(set(ids)) == 3

    for page, own_id in people:
        remote_ids = {t.get_attribute("data-participant-id") for t in page.locator(REMOTE_TILES).all()}
        assert remote_ids == set(ids) - {own_id}

    peaks = pages[0].evaluate(REMOTE_AUDIO_PEAKS, REMOTE_TILES)
    assert all(peak > AUDIBLE_PEAK for peak in peaks.values()), peaks

    leaver = pages[2]
    leaver.click(f'{CONTAINER} [data-action="leave"]')
    expect_state(leaver, "left")
    expect(leaver.locator(ROOT)).to_contain_text("You left the call")
    expect(leaver.locator(f'{CONTAINER} [data-action="rejoin"]')).to_be_visible()
    for page in pages[:2]:
        expect(tile(page, ids[2])).to_have_count(0, timeout=LEAVE_SEEN_WITHIN_MS)
        expect(page.locator(REMOTE_TILES)).to_have_count(1)


def test_mute_and_camera_off_are_seen_by_the_others(new_call: Callable[..., Call]) -> None:
    """Muting and turning the camera off on page A shows on A's tile on page B, and back again."""
    (a, a_id), (b, _) = new_call().join_all("Ann", "Bob", at_once=True)
    wait_for_remote_media(b, count=1)
    a_on_b = tile(b, a_id)
    expect(a_on_b).to_have_attribute("data-audio-muted", "false")

    a.click(f'{CONTAINER} [data-action="toggle-audio"]')
    expect(a_on_b).to_have_attribute("data-audio-muted", "true")
    expect(a_on_b.locator(".cc-tile__muted")).to_be_visible()
    expect(a.locator(f'{CONTAINER} [data-action="toggle-audio"]')).to_have_attribute("aria-label", "Turn on microphone")
    assert call(a, "unmuteAudio()")["error"] is None
    expect(a_on_b).to_have_attribute("data-audio-muted", "false")

    a.click(f'{CONTAINER} [data-action="toggle-video"]')
    expect(a_on_b).to_have_attribute("data-video-paused", "true")
    expect(a_on_b.locator(".cc-avatar")).to_have_text("A")
    expect(a_on_b.locator(".cc-avatar")).to_be_visible()
    a_local_tile = a.locator(f'{CONTAINER} [data-local="true"]')
    expect(a_local_tile).to_have_attribute("data-video-paused", "true")
    assert a.evaluate("document.querySelector('[data-local=\"true\"] video').srcObject") is None

    a.click(f'{CONTAINER} [data-action="toggle-video"]')
    expect(a_on_b).to_have_attribute("data-video-paused", "false")
    before = b.evaluate(f"document.querySelector('{REMOTE_TILES} video').currentTime")
    b.wait_for_function(
        f"(before) => document.querySelector('{REMOTE_TILES} video').currentTime > before + 1", arg=before
    )


def test_prejoin_screen_joins_with_the_name_typed(
    open_page: Callable[..., Page], new_call: Callable[..., Call]
) -> None:
    """On the pre-join screen a person types a name and clicks Join; the call shows them under that name."""
    session = new_call(title="Pre-join")
    other = session.join("Host").page
    page = open_page(session.share_url)
    expect_state(page, "prejoin")
    page.fill("#cc-display-name", "  Grace   Hopper ")
    page.click("#cc-prejoin-toggle-audio")
    page.click("#cc-join")
    expect_state(page, "joined")
    expect(page.locator(f'{CONTAINER} [data-local="true"] .cc-tile__name')).to_have_text("Grace Hopper (You)")
    expect(page.locator(f'{CONTAINER} [data-local="true"]')).to_have_attribute("data-audio-muted", "true")
    grace_on_host = tile(other, local_participant_id(page))
    expect(grace_on_host.locator(".cc-tile__name")).to_have_text("Grace Hopper")
    expect(grace_on_host).to_have_attribute("data-audio-muted", "true")
    assert page.evaluate("localStorage.getItem('calls.displayName')") == "Grace Hopper"


def test_prejoin_needs_a_name(open_page: Callable[..., Page], create_session: Callable[..., str]) -> None:
    """Join without a name stays on the pre-join screen and says why."""
    page = open_page(create_session())
    expect_state(page, "prejoin")
    page.fill("#cc-display-name", "   ")
    page.click("#cc-join")
    expect(page.locator(".cc-prejoin__problem")).to_have_text("Enter your name to join.")
    expect_state(page, "prejoin")


def test_leaving_then_rejoining_is_a_new_participant(new_call: Callable[..., Call]) -> None:
    """After leaving, Rejoin joins the same call again as a new participant, alone-hint and all."""
    page, first_id = new_call().join("Solo")
    expect(page.locator(f"{CONTAINER} .cc-alone")).to_be_visible()
    page.click(f'{CONTAINER} [data-action="leave"]')
    expect_state(page, "left")
    page.click(f'{CONTAINER} [data-action="rejoin"]')
    expect_state(page, "joined")
    assert local_participant_id(page) != first_id


def test_voice_call_never_opens_the_camera(new_call: Callable[..., Call]) -> None:
    """In a VOICE call nobody is asked for a camera: tiles show avatars, audio still flows."""
    (a, a_id), (b, _) = new_call(session_type="VOICE").join_all("Ann", "Bob", at_once=True)
    for page in (a, b):
        expect(page.locator(f'{CONTAINER} [data-action="toggle-video"]')).to_have_count(0)
        expect(page.locator(f"{CONTAINER} video")).to_have_count(0)
    b.wait_for_function(
        f"""() => {{
          const audio = document.querySelector('{REMOTE_TILES} audio');
          return audio && audio.srcObject && !audio.paused && audio.srcObject.getAudioTracks()[0].readyState === "live";
        }}"""
    )
    expect(tile(b, a_id)).to_have_attribute("data-video-paused", "true")


def test_blocked_autoplay_offers_a_button_that_starts_the_sound(
    open_page: Callable[..., Page], create_session: Callable[..., str], browser_without_permissions: Browser
) -> None:
    """A skipPrejoin visitor whose browser blocks sound gets "Click to enable audio"; clicking it plays the audio."""
    share_url = create_session()
    open_page(join_url(share_url, "Talker"))
    console: list[str] = []
    page = open_page(join_url(share_url, "Listener"), on=browser_without_permissions, console=console)
    # Playwright's evaluations count as user gestures (which lift the block), so the page is left
    # alone until the SDK reports the block in the console.
    if not any(BLOCKED_SOUND_WARNING in line for line in console):
        page.wait_for_event("console", lambda message: BLOCKED_SOUND_WARNING in message.text, timeout=JOIN_TIMEOUT_MS)
    expect_state(page, "joined")
    unlock = page.locator(f'{CONTAINER} [data-action="enable-audio"]')
    expect(unlock).to_be_visible()
    expect(unlock).to_have_text("Click to enable audio")
    unlock.click()
    expect(unlock).to_be_hidden()
    page.wait_for_function(f"() => !document.querySelector('{REMOTE_TILES} audio').paused")


def assert_apart(boxes: list[dict[str, float]]) -> None:
    for i, first in enumerate(boxes):
        for second in boxes[i + 1 :]:
            apart = (
                first["x"] + first["width"] <= second["x"] + 0.5
                or second["x"] + second["width"] <= first["x"] + 0.5
                or first["y"] + first["height"] <= second["y"] + 0.5
                or second["y"] + second["height"] <= first["y"] + 0.5
            )
            assert apart, (first, second)


@pytest.mark.parametrize(("width", "height"), [(390, 844), (1440, 900)])
def test_call_fits_phones_and_desktops(
    new_call: Callable[..., Call], screenshot_dir: Path, width: int, height: int
) -> None:
    """A three-person call fits the screen: every tile and the control bar are inside it, tiles do not overlap."""
    session = new_call(title="Design review")
    page = session.join("Ada%20Lovelace", width=width, height=height).page
    bo_id = session.join("Bo").participant_id
    cy_id = session.join("Cy", startAudioMuted="1", startVideoPaused="true").participant_id
    expect(page.locator(f"{CONTAINER} [data-participant-id]")).to_have_count(3)
    expect(tile(page, bo_id)).to_have_attribute("data-video-ready", "true")
    cy_tile = tile(page, cy_id)
    expect(cy_tile).to_have_attribute("data-video-paused", "true")
    expect(cy_tile).to_have_attribute("data-audio-muted", "true")
    expect(cy_tile.locator(".cc-avatar")).to_have_text("C")
    expect(page.locator(f"{CONTAINER} .cc-toast")).to_have_count(0)

    controls = page.locator(f"{CONTAINER} .cc-controls").bounding_box()
    assert controls is not None and controls["y"] + controls["height"] <= height + 0.5
    boxes = [t.bounding_box() for t in page.locator(f"{CONTAINER} [data-participant-id]").all()]
    for box in boxes:
        assert box is not None
        assert box["x"] >= 0 and box["x"] + box["width"] <= width + 0.5
        assert box["y"] >= 0 and box["y"] + box["height"] <= controls["y"] + 0.5
        assert box["width"] >= 100 and box["height"] >= 100
    assert_apart([box for box in boxes if box])
    page.screenshot(path=str(screenshot_dir / f"call-3-people-{width}px.png"))


@pytest.mark.parametrize(("width", "height"), [(390, 844), (1440, 900)])
def test_prejoin_fits_phones_and_desktops(
    open_page: Callable[..., Page], create_session: Callable[..., str], screenshot_dir: Path, width: int, height: int
) -> None:
    """The pre-join screen needs no sideways scrolling, and its preview and Join button are on screen."""
    page = open_page(create_session(title="Design review") + "?displayName=Ada%20Lovelace", width, height)
    expect_state(page, "prejoin")
    expect(page.locator(".cc-prejoin__preview")).to_have_attribute("data-video-ready", "true")
    expect(page.locator("#cc-audio-input option")).not_to_have_count(0)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    for selector in (".cc-prejoin__preview", "#cc-join", "#cc-display-name"):
        box = page.locator(selector).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width + 0.5
    page.locator("#cc-join").scroll_into_view_if_needed()
    expect(page.locator("#cc-join")).to_be_in_viewport()
    page.screenshot(path=str(screenshot_dir / f"prejoin-{width}px.png"))


def test_members_join_with_tokens_generated_beforehand(
    open_page: Callable[..., Page], manage: Callable[..., str], live_server_url: str
) -> None:
    """joinSession accepts a call token from the REST API; the others see the name it was issued under."""
    app = json.loads(manage("create_app", "--name", "Token test").strip().splitlines()[-1])
    page_a = open_page(live_server_url + "/")
    api = page_a.request
    headers = {"appid": app["appId"], "apikey": app["apiKey"]}

    def post(path: str, body: dict[str, str]) -> dict[str, str]:
        response = api.post(f"{live_server_url}/api/v1/{path}", headers=headers, data=body)
        assert response.ok, response.text()
        return response.json()["data"]

    session_id = post("sessions", {"title": "Members only"})["sessionId"]
    tokens = {}
    for uid, name in (("ada", "Ada Lovelace"), ("bob", "Bob")):
        post("users", {"uid": uid, "name": name})
        tokens[uid] = post("tokens", {"uid": uid, "sessionId": session_id})["token"]

    page_b = open_page(live_server_url + "/")
    results = [
        page.evaluate(JOIN_WITH_TOKEN, [app["appId"], token])
        for page, token in ((page_a, tokens["ada"]), (page_b, tokens["bob"]))
    ]
    assert [result["error"] for result in results] == [None, None]
    assert {result["data"]["sessionId"] for result in results} == {session_id}
    expect_state(page_b, "joined")
    ada_on_b = tile(page_b, results[0]["data"]["participantId"])
    expect(ada_on_b.locator(".cc-tile__name")).to_have_text("Ada Lovelace")
    wait_for_remote_media(page_b, count=1)
