"""Raised hands, chat, screen sharing, endSessionForAll, dominant speaker, server-locked settings and the
connection-quality bars, across real pages and the real server."""

from __future__ import annotations

import re
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
    Until,
    button,
    call,
    event_names,
    events,
    expect_state,
    last_event_arg,
    local_participant_id,
    record,
    sdk,
    tile,
    wait_for_event,
)

pytestmark = pytest.mark.browser

# getDisplayMedia replaced by an animated canvas's captureStream: deterministic in headless Chromium
# (no picker, no desktop to capture). window.__screenTracks keeps every track handed out.
FAKE_DISPLAY_MEDIA = """
window.__screenTracks = [];
navigator.mediaDevices.getDisplayMedia = async () => {
  const canvas = document.createElement("canvas");
  canvas.width = 640;
  canvas.height = 360;
  const context = canvas.getContext("2d");
  let frame = 0;
  const draw = () => {
    frame += 1;
    context.fillStyle = `hsl(${(frame * 7) % 360} 70% 50%)`;
    context.fillRect(0, 0, canvas.width, canvas.height);
    context.fillStyle = "#fff";
    context.font = "48px sans-serif";
    context.fillText(`Slide ${frame}`, 40, 180);
  };
  draw();
  const timer = setInterval(draw, 50);
  const stream = canvas.captureStream(20);
  const track = stream.getVideoTracks()[0];
  track.addEventListener("ended", () => clearInterval(timer));
  window.__screenTracks.push(track);
  return stream;
};
"""

# A steady tone for the microphone. Chromium's fake microphone only beeps briefly once a second, too
# short for the server's speaker hysteresis (speaking on two checks in a row) to hand the floor over.
STEADY_MICROPHONE = """
const originalGetUserMedia = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
navigator.mediaDevices.getUserMedia = async (constraints) => {
  const stream = await originalGetUserMedia(constraints);
  if (!constraints || !constraints.audio) return stream;
  const context = new AudioContext();
  const oscillator = context.createOscillator();
  const gain = context.createGain();
  gain.gain.value = 0.5;
  const destination = context.createMediaStreamDestination();
  oscillator.connect(gain).connect(destination);
  oscillator.start();
  for (const track of stream.getAudioTracks()) {
    stream.removeTrack(track);
    track.stop();
  }
  stream.addTrack(destination.stream.getAudioTracks()[0]);
  return stream;
};
"""

SCREEN_VIDEO_PLAYING = """
(selector) => {
  const video = document.querySelector(selector + " video");
  if (!video || video.paused || video.videoWidth === 0) return false;
  // Per element: a tile that is replaced starts counting again.
  window.__screenStarts = window.__screenStarts || new WeakMap();
  if (!window.__screenStarts.has(video)) window.__screenStarts.set(video, video.currentTime);
  return video.currentTime > window.__screenStarts.get(video) + 1;
}
"""


def panel_rows(page: Page) -> list[dict[str, Any]]:
    return page.evaluate(
        """() => [...document.querySelectorAll("#cc-participant-panel .cc-panel__row")].map(
            (row) => ({pid: row.dataset.pid, hand: row.dataset.handRaised}))"""
    )


def test_raised_hands_are_seen_by_everyone_in_raise_order(new_call: Callable[..., Call]) -> None:
    """raiseHand and the button: every page sees the badge, the list puts raised hands first in raise order."""
    session = new_call()
    (a, a_id), (b, b_id), (c, c_id) = session.join_all("Ann", "Bob", "Cy", until=Until.TILES)
    record(a, "onParticipantHandRaised", "onParticipantHandLowered")
    record(c, "onRaiseHandButtonClicked", "onParticipantHandRaised")

    # Cy first, with the button; its event comes before the hand goes up.
    button(c, "raise-hand").click()
    expect(tile(a, c_id)).to_have_attribute("data-hand-raised", "true")
    expect(button(c, "raise-hand")).to_have_attribute("aria-pressed", "true")
    wait_for_event(c, "onParticipantHandRaised")
    assert event_names(c)[:2] == ["onRaiseHandButtonClicked", "onParticipantHandRaised"]
    assert call(b, "raiseHand()")["error"] is None
    expect(tile(a, b_id)).to_have_attribute("data-hand-raised", "true")
    expect(tile(c, b_id)).to_have_attribute("data-hand-raised", "true")
    expect(tile(b, b_id)).to_have_attribute("data-hand-raised", "true")  # The sender hears it back too.

    raised = [e[1] for e in events(a) if e[0] == "onParticipantHandRaised"]
    assert [p["pid"] for p in raised] == [c_id, b_id]
    assert 0 < raised[0]["raisedHandTimestamp"] <= raised[1]["raisedHandTimestamp"]

    button(a, "participant-list").click()
    a.wait_for_function(
        "(ids) => [...document.querySelectorAll('#cc-participant-panel .cc-panel__row')]"
        ".map((r) => r.dataset.pid).join() === ids",
        arg=",".join([c_id, b_id, a_id]),
    )
    assert [row["hand"] for row in panel_rows(a)] == ["true", "true", "false"]

    # A late joiner gets the raised hands with joined.participants.
    d = session.join("Dee").page
    expect(tile(d, c_id)).to_have_attribute("data-hand-raised", "true")
    expect(tile(d, a_id)).to_have_attribute("data-hand-raised", "false")

    assert call(c, "lowerHand()")["error"] is None
    expect(tile(a, c_id)).to_have_attribute("data-hand-raised", "false")
    wait_for_event(a, "onParticipantHandLowered")
    lowered = last_event_arg(a, "onParticipantHandLowered")
    assert lowered["pid"] == c_id and lowered["raisedHandTimestamp"] == 0
    a.wait_for_function(
        "(id) => document.querySelector('#cc-participant-panel .cc-panel__row').dataset.pid === id", arg=b_id
    )

    hidden = session.join("Hidden", hideRaiseHandButton="1").page
    expect(button(hidden, "raise-hand")).to_have_count(0)


def test_chat_is_hidden_by_default_and_goes_both_ways(new_call: Callable[..., Call]) -> None:
    """hideChatButton defaults to true; with false, messages reach everyone as text, with an unread badge."""
    session = new_call()
    plain = session.join("Plain").page
    expect(button(plain, "raise-hand")).to_be_visible()
    expect(button(plain, "chat")).to_have_count(0)
    expect(plain.locator("#cc-chat-panel")).to_have_count(0)

    a, a_id = session.join("Ann", hideChatButton="0")
    b = session.join("Bob", hideChatButton="false").page
    expect(a.locator(f"{CONTAINER} [data-participant-id]:not([data-type='screen-share'])")).to_have_count(3)
    record(a, "onChatButtonClicked", "onChatMessageReceived")
    record(b, "onChatMessageReceived")

    button(a, "chat").click()
    expect(a.locator("#cc-chat-panel")).to_be_visible()
    assert event_names(a) == ["onChatButtonClicked"]
    a.locator("#cc-chat-panel textarea").fill("<b>Hello</b> & welcome")
    a.locator("#cc-chat-panel textarea").press("Enter")
    expect(a.locator("#cc-chat-panel .cc-chat__text")).to_have_text(["<b>Hello</b> & welcome"])

    # Bob's panel is closed: the badge counts it; opening the panel clears it.
    unread = b.locator(f"{CONTAINER} [data-action='chat'] .cc-controls__unread")
    expect(unread).to_have_text("1")
    expect(unread).to_be_visible()
    wait_for_event(b, "onChatMessageReceived")
    message = next(e[1] for e in events(b) if e[0] == "onChatMessageReceived")
    assert message["participantId"] == a_id and message["name"] == "Ann" and message["sentAt"] > 0
    button(b, "chat").click()
    expect(unread).to_be_hidden()
    expect(b.locator("#cc-chat-panel .cc-chat__text")).to_have_text(["<b>Hello</b> & welcome"])
    expect(b.locator("#cc-chat-panel b")).to_have_count(0)  # Text, never markup.
    expect(b.locator("#cc-chat-panel .cc-chat__name")).to_have_text(["Ann"])

    b.locator("#cc-chat-panel textarea").fill("Hi Ann")
    b.locator("#cc-chat-panel [data-action='send-chat']").click()
    expect(a.locator("#cc-chat-panel .cc-chat__text")).to_have_text(["<b>Hello</b> & welcome", "Hi Ann"])
    expect(a.locator("#cc-chat-panel .cc-chat__name")).to_have_text(["You", "Bob"])

    assert call(a, "setChatButtonUnreadCount(5)")["error"] is None
    expect(a.locator(f"{CONTAINER} [data-action='chat'] .cc-controls__unread")).to_have_text("5")

    # A flood: the server refuses with ERR_TOO_MANY_REQUESTS and the page says so.
    record(b, "onError")
    # In one go inside the page: 25 round trips from the test could spread past the 10 s window on a loaded machine.
    sdk(b, "for (let i = 0; i < arg; i++) await calls.sendChatMessage(`flood ${i}`);", 25)
    wait_for_event(b, "onError")
    assert last_event_arg(b, "onError")["errorCode"] == "ERR_TOO_MANY_REQUESTS"
    expect(b.locator(f"{CONTAINER} .cc-toast", has_text="Too many chat messages")).to_have_count(1)


def test_screen_share_tile_appears_plays_and_goes(new_call: Callable[..., Call]) -> None:
    """A screen share is a separate "screen-share" tile on the other page, on stage in SPOTLIGHT; it goes on stop."""
    session = new_call()
    a, a_id = session.join("Ann", init_script=FAKE_DISPLAY_MEDIA)
    b, b_id = session.join("Bob", layout="SPOTLIGHT")
    expect(tile(b, a_id)).to_have_count(1)
    record(a, "onScreenShareButtonClicked", "onScreenShareStarted", "onScreenShareStopped")
    record(b, "onParticipantStartedScreenShare", "onParticipantStoppedScreenShare")

    button(a, "screen-share").click()
    screen = f"{CONTAINER} [data-participant-id='{a_id}:screen']"
    expect(b.locator(screen)).to_have_attribute("data-type", "screen-share", timeout=20_000)
    b.wait_for_function(SCREEN_VIDEO_PLAYING, arg=screen, timeout=30_000)
    expect(b.locator(f"{CONTAINER} .cc-stage__main > [data-type='screen-share']")).to_have_count(1)
    expect(button(a, "screen-share")).to_have_attribute("aria-pressed", "true")
    expect(a.locator(f"{CONTAINER} [data-participant-id='{a_id}:screen'][data-local='screen']")).to_have_count(1)
    wait_for_event(b, "onParticipantStartedScreenShare")
    assert last_event_arg(b, "onParticipantStartedScreenShare")["pid"] == a_id
    assert last_event_arg(b, "onParticipantStartedScreenShare")["isPresenting"] is True
    assert event_names(a)[:2] == ["onScreenShareButtonClicked", "onScreenShareStarted"]
    # The camera tile is still there and still a person.
    expect(tile(b, a_id)).to_have_attribute("data-type", "human")

    # The browser's own "Stop sharing" ends the track: that stops the share.
    a.evaluate("window.__screenTracks[0].dispatchEvent(new Event('ended'))")
    expect(b.locator(screen)).to_have_count(0, timeout=20_000)
    wait_for_event(a, "onScreenShareStopped")
    wait_for_event(b, "onParticipantStoppedScreenShare")
    assert a.evaluate("window.__screenTracks[0].readyState") == "ended"
    expect(b.locator(f"{CONTAINER} .cc-stage__main > [data-participant-id='{a_id}']")).to_have_count(1)

    # Again, with the API both ways (the server reuses the transceiver).
    assert call(a, "startScreenSharing()")["error"] is None
    expect(b.locator(screen)).to_have_count(1, timeout=20_000)
    b.wait_for_function(SCREEN_VIDEO_PLAYING, arg=screen, timeout=30_000)
    # Someone pinned keeps the stage over a screen share.
    assert call(b, "pinParticipant(arg)", b_id)["error"] is None
    expect(b.locator(f"{CONTAINER} .cc-stage__main > [data-participant-id='{b_id}']")).to_have_count(1)
    assert call(b, "unpinParticipant()")["error"] is None
    expect(b.locator(f"{CONTAINER} .cc-stage__main > [data-type='screen-share']")).to_have_count(1)
    assert call(a, "stopScreenSharing()")["error"] is None
    expect(b.locator(screen)).to_have_count(0, timeout=20_000)
    assert a.evaluate("window.__screenTracks[1].readyState") == "ended"

    # A share that is live when someone joins reaches them too; leaving takes it away.
    assert call(a, "startScreenSharing()")["error"] is None
    c = session.join("Cy").page
    expect(c.locator(screen)).to_have_count(1, timeout=20_000)
    c.wait_for_function(SCREEN_VIDEO_PLAYING, arg=screen, timeout=30_000)
    assert call(a, "leaveSession()")["error"] is None
    expect(c.locator(screen)).to_have_count(0)
    expect(b.locator(screen)).to_have_count(0)


def test_a_pinned_screen_share_is_featured_until_it_stops(new_call: Callable[..., Call]) -> None:
    """
    pinParticipant(pid, "screen-share") features that participant's screen-share tile on this screen (the
    person stays unpinned); when the share stops, nobody is pinned. Pinning the screen of someone who is not
    presenting is ERR_NOT_FOUND; a type other than "human" or "screen-share", ERROR_JSON_EXCEPTION.
    """
    session = new_call()
    a, a_id = session.join("Ann", init_script=FAKE_DISPLAY_MEDIA)
    b = session.join("Bob").page
    expect(tile(b, a_id)).to_have_count(1)
    refused = call(b, "pinParticipant(arg, 'screen-share')", a_id)["error"]
    assert refused["errorCode"] == "ERR_NOT_FOUND", refused
    refused = call(b, "pinParticipant(arg, 'robot')", a_id)["error"]
    assert refused["errorCode"] == "ERROR_JSON_EXCEPTION" and refused["details"]["field"] == "type", refused

    record(b, "onParticipantStartedScreenShare")
    assert call(a, "startScreenSharing()")["error"] is None
    wait_for_event(b, "onParticipantStartedScreenShare")
    screen = tile(b, f"{a_id}:screen")
    expect(screen).to_have_count(1, timeout=20_000)
    stage = b.locator(f"{CONTAINER} .cc-stage")
    expect(stage).to_have_attribute("data-featured", "false")  # TILE: nothing featured until a pin.
    assert call(b, "pinParticipant(arg, 'screen-share')", a_id)["error"] is None
    expect(b.locator(f"{CONTAINER} .cc-stage__main > [data-participant-id='{a_id}:screen']")).to_have_count(1)
    expect(b.locator(f"{CONTAINER} .cc-stage__main > [data-participant-id]")).to_have_count(1)
    expect(screen).to_have_attribute("data-pinned", "true")
    expect(tile(b, a_id)).to_have_attribute("data-pinned", "false")

    assert call(a, "stopScreenSharing()")["error"] is None
    expect(screen).to_have_count(0, timeout=20_000)
    expect(stage).to_have_attribute("data-featured", "false")
    # Nobody is pinned any more: a new share is not featured either.
    assert call(a, "startScreenSharing()")["error"] is None
    expect(screen).to_have_count(1, timeout=20_000)
    expect(stage).to_have_attribute("data-featured", "false")
    expect(screen).to_have_attribute("data-pinned", "false")


def test_end_session_for_all_ends_it_for_the_other_page(new_call: Callable[..., Call]) -> None:
    """The end-for-all control (a moderator's, offered with the participant menu) ends the call for everyone."""
    session = new_call()
    a = session.join("Ann", host=True).page
    b, b_id = session.join("Bob")
    expect(tile(a, b_id)).to_have_count(1)
    expect(button(b, "end-for-all")).to_have_count(0)  # A guest.
    no_menu = session.join("Cy", enableParticipantContextMenu="0").page
    expect(button(no_menu, "end-for-all")).to_have_count(0)
    record(b, "onSessionLeft")

    button(a, "end-for-all").click()
    expect_state(b, "ended")
    expect_state(a, "ended")
    expect_state(no_menu, "ended")
    wait_for_event(b, "onSessionLeft")
    assert last_event_arg(b, "onSessionLeft")["reason"] == "ended"


def test_dominant_speaker_follows_who_is_heard(new_call: Callable[..., Call]) -> None:
    """Two microphones play a tone: mute one and the other becomes dominant (ring, event, SPOTLIGHT stage)."""
    session = new_call()
    (a, a_id), (b, b_id) = session.join_all("Ann", "Bob", init_script=STEADY_MICROPHONE)
    c = session.join("Cy", layout="SPOTLIGHT", startAudioMuted="1").page
    expect(c.locator(f"{CONTAINER} [data-participant-id]")).to_have_count(3)
    record(c, "onDominantSpeakerChanged")

    assert call(a, "muteAudio()")["error"] is None
    expect(tile(c, b_id)).to_have_attribute("data-speaking", "true", timeout=20_000)
    expect(tile(a, b_id)).to_have_attribute("data-speaking", "true", timeout=20_000)
    expect(c.locator(f"{CONTAINER} .cc-stage__main > [data-participant-id='{b_id}']")).to_have_count(1)
    assert last_event_arg(c, "onDominantSpeakerChanged")["pid"] == b_id

    assert call(a, "unmuteAudio()")["error"] is None
    assert call(b, "muteAudio()")["error"] is None
    expect(tile(c, a_id)).to_have_attribute("data-speaking", "true", timeout=20_000)
    expect(tile(c, b_id)).to_have_attribute("data-speaking", "false")
    expect(c.locator(f"{CONTAINER} .cc-stage__main > [data-participant-id='{a_id}']")).to_have_count(1)
    assert last_event_arg(c, "onDominantSpeakerChanged")["pid"] == a_id

    # Pinned beats the speaker.
    assert call(c, "pinParticipant(arg)", b_id)["error"] is None
    expect(c.locator(f"{CONTAINER} .cc-stage__main > [data-participant-id='{b_id}']")).to_have_count(1)


def test_locked_settings_from_the_server_win(new_call: Callable[..., Call]) -> None:
    """
    A session's locked layout and hide flags win over the link (a moderator's too); a forbidden action
    is refused and said.
    """
    locked = {"layout": "SPOTLIGHT", "hideRaiseHandButton": "true", "enableParticipantContextMenu": "false"}
    session = new_call(settings=locked, locked=list(locked))
    a = session.join(
        "Ann", host=True,
        layout="TILE", hideRaiseHandButton="0", enableParticipantContextMenu="1", init_script=KEEP_SOCKETS,
    ).page  # fmt: skip
    b, b_id = session.join("Bob")
    expect(a.locator(ROOT)).to_have_attribute("data-layout", "SPOTLIGHT")
    expect(button(a, "raise-hand")).to_have_count(0)
    expect(button(a, "end-for-all")).to_have_count(0)
    expect(a.locator(f"{CONTAINER} [data-action='participant-menu']")).to_have_count(0)
    expect(button(a, "toggle-audio")).to_be_visible()  # What is not locked follows the page.
    result = call(a, "raiseHand()")
    assert result["error"]["errorCode"] == "AUTH_ERR_NO_ACCESS"

    # Moderation is locked off, for moderators too: the SDK refuses without sending...
    expect(tile(a, b_id)).to_have_count(1)  # Ann knows Bob before acting on him.
    refused = call(a, "muteParticipant(arg)", b_id)["error"]
    assert refused["errorCode"] == "AUTH_ERR_NO_ACCESS" and refused["details"]["reason"] == "locked"
    # ...and the server refuses it too: its error reaches onError and the screen.
    record(a, "onError")
    a.evaluate(SEND_RAW, {"type": "moderate", "target": b_id, "action": "mute"})
    wait_for_event(a, "onError")
    assert last_event_arg(a, "onError")["errorCode"] == "AUTH_ERR_NO_ACCESS"
    expect(a.locator(f"{CONTAINER} .cc-toast", has_text="does not allow")).to_have_count(1)
    expect(tile(b, b_id)).to_have_attribute("data-audio-muted", "false")


def test_session_defaults_apply_unless_the_joiner_sets_them(new_call: Callable[..., Call]) -> None:
    """A session's unlocked defaults reach every join, from its page or the SDK; what a joiner sets wins."""
    defaults = {"layout": "SPOTLIGHT", "hideChatButton": "false", "startAudioMuted": "true"}
    session = new_call(title="Weekly sync", settings=defaults)
    a, a_id = session.join("Ann")
    expect(a.locator(ROOT)).to_have_attribute("data-layout", "SPOTLIGHT")
    expect(button(a, "chat")).to_be_visible()
    expect(tile(a, a_id)).to_have_attribute("data-audio-muted", "true")

    b, b_id = session.join("Bob", layout="TILE", startAudioMuted="0")
    expect(b.locator(ROOT)).to_have_attribute("data-layout", "TILE")
    expect(button(b, "chat")).to_be_visible()
    expect(tile(b, b_id)).to_have_attribute("data-audio-muted", "false")
    expect(tile(a, b_id)).to_have_attribute("data-audio-muted", "false")

    # The SDK alone (no page defaults): joinSession(sessionId, {}) gets them from the server's answer.
    assert call(b, "leaveSession()")["error"] is None
    expect_state(b, "left")
    rejoined = sdk(b, "return await calls.joinSession(arg, {displayName: 'Bob'}, container);", session.session_id)
    assert rejoined["error"] is None
    expect(b.locator(ROOT)).to_have_attribute("data-layout", "SPOTLIGHT")
    expect(b.locator(f"{CONTAINER} .cc-header__title")).to_have_text("Weekly sync")
    expect(tile(b, local_participant_id(b))).to_have_attribute("data-audio-muted", "true")


def test_network_quality_indicator_on_every_tile(new_call: Callable[..., Call]) -> None:
    """Three bars with an aria-label on each tile, from getStats(); hideNetworkIndicator hides them."""
    session = new_call()
    a = session.join("Ann").page
    b, b_id = session.join("Bob", hideNetworkIndicator="1")
    indicators = a.locator(f"{CONTAINER} [data-participant-id] .cc-tile__network")
    expect(indicators).to_have_count(2)
    for i in range(2):
        expect(indicators.nth(i)).to_have_attribute("aria-label", re.compile(r"^Connection: (good|fair|poor)$"))
        expect(indicators.nth(i).locator(".cc-tile__bar")).to_have_count(3)
    # The remote tile's rating comes from that participant's inbound-rtp: a sample has been taken.
    expect(tile(a, b_id).locator(".cc-tile__network")).to_have_attribute("data-sampled", "true", timeout=10_000)
    expect(b.locator(f"{CONTAINER} .cc-tile__network")).to_have_count(0)


@pytest.mark.parametrize(("width", "height"), [(390, 844), (1440, 900)])
def test_features_fit_phones_and_desktops(
    new_call: Callable[..., Call], screenshot_dir: Path, width: int, height: int
) -> None:
    """A raised hand, a screen share and the chat panel at phone and desktop widths (screenshots saved)."""
    session = new_call(title="Design review")
    a = session.join("Ann", width=width, height=height, hideChatButton="0").page
    b, b_id = session.join("Bob", hideChatButton="0", init_script=FAKE_DISPLAY_MEDIA)
    assert call(b, "raiseHand()")["error"] is None
    assert call(b, "startScreenSharing()")["error"] is None
    screen = f"{CONTAINER} [data-participant-id='{b_id}:screen']"
    a.wait_for_function(SCREEN_VIDEO_PLAYING, arg=screen, timeout=30_000)
    expect(tile(a, b_id)).to_have_attribute("data-hand-raised", "true")
    assert call(b, "sendChatMessage(arg)", "Here are the slides for today's review.")["error"] is None
    expect(a.locator(f"{CONTAINER} [data-action='chat'] .cc-controls__unread")).to_have_text("1")
    a.screenshot(path=str(screenshot_dir / f"call-features-{width}px.png"))

    button(a, "chat").click()
    expect(a.locator("#cc-chat-panel .cc-chat__text")).to_have_text(["Here are the slides for today's review."])
    assert a.evaluate("document.documentElement.scrollWidth") <= width
    for locator in (a.locator("#cc-chat-panel"), a.locator(f"{CONTAINER} .cc-controls")):
        box = locator.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width + 0.5
    a.screenshot(path=str(screenshot_dir / f"call-chat-{width}px.png"))
