"""SessionSettings, in-call actions and their events (calls-api §4-6), across real pages and the real server."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from .call_page import (
    CONTAINER,
    ROOT,
    Call,
    Until,
    button,
    call,
    event_names,
    events,
    expect_state,
    join_with_token,
    load_sdk,
    record,
    sdk,
    tile,
    wait_for_event,
)
from .rest import AppServer

pytestmark = pytest.mark.browser

# Every getUserMedia call's constraints, recorded before the page's own scripts run.
RECORD_GET_USER_MEDIA = """
window.__gum = [];
const original = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
navigator.mediaDevices.getUserMedia = (constraints) => {
  window.__gum.push(JSON.parse(JSON.stringify(constraints)));
  return original(constraints);
};
"""

# Every getUserMedia call's constraints (window.__gum) and stream (window.__streams), and every
# RTCPeerConnection the page makes (window.__pcs), recorded before the page's own scripts run.
RECORD_MEDIA = """
window.__gum = [];
window.__streams = [];
window.__pcs = [];
{
  const getUserMedia = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = async (constraints) => {
    window.__gum.push(JSON.parse(JSON.stringify(constraints)));
    const stream = await getUserMedia(constraints);
    window.__streams.push(stream);
    return stream;
  };
  const NativePeerConnection = window.RTCPeerConnection;
  window.RTCPeerConnection = class extends NativePeerConnection {
    constructor(...args) {
      super(...args);
      window.__pcs.push(this);
    }
  };
}
"""
# The microphone track the page sends is live and its noise suppression is `expected`.
SENT_AUDIO_NOISE_SUPPRESSION = """
(expected) => {
  const pc = window.__pcs[window.__pcs.length - 1];
  const sender = pc && pc.getSenders().find((s) => s.track && s.track.kind === "audio");
  if (!sender || sender.track.readyState !== "live") return false;
  return sender.track.getSettings().noiseSuppression === expected;
}
"""
LIVE_TRACKS = """
(kind) => window.__streams.flatMap((s) => s.getTracks())
  .filter((track) => track.kind === kind && track.readyState === "live").length
"""
SENT_VIDEO_TRACKS = """
() => window.__pcs.flatMap((pc) => pc.getSenders()).filter((s) => s.track && s.track.kind === "video").length
"""
# An operator changes a session's type (as in the admin): SESSION_TYPE_CHANGE.format(session_id, type).
SESSION_TYPE_CHANGE = (
    "from sessions_app.models import CallSession; CallSession.objects.filter(session_id={!r}).update(session_type={!r})"
)


CONTROLS = ("toggle-audio", "toggle-video", "switch-camera", "share", "leave", "change-layout", "participant-list")


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"hideControlPanel": "yes"}, "hideControlPanel"),
        ({"enableNotifications": 1}, "enableNotifications"),
        ({"layout": "GRID"}, "layout"),
        ({"sessionType": "HOLOGRAM"}, "sessionType"),
        ({"initialCameraFacing": "SIDEWAYS"}, "initialCameraFacing"),
        ({"idleTimeoutPeriodBeforePrompt": -5}, "idleTimeoutPeriodBeforePrompt"),
        ({"idleTimeoutPeriodAfterPrompt": 1.5}, "idleTimeoutPeriodAfterPrompt"),
        ({"title": 42}, "title"),
        ({"audioOutputDeviceId": False}, "audioOutputDeviceId"),
        ({"hideRecordingButton": "false"}, "hideRecordingButton"),
    ],
)
def test_invalid_settings_name_the_field(
    open_page: Callable[..., Page], live_server_url: str, settings: dict[str, Any], field: str
) -> None:
    """A setting of the wrong type or value: joinSession resolves ERROR_JSON_EXCEPTION naming it; nothing renders."""
    page = load_sdk(open_page(live_server_url + "/"))
    result = sdk(
        page,
        "await calls.init({appId: 'calls', region: 'us'});"
        "return await calls.joinSession('some-session', arg, container);",
        settings,
    )
    assert result["data"] is None
    assert result["error"]["errorCode"] == "ERROR_JSON_EXCEPTION"
    assert result["error"]["details"] == {"field": field}
    assert field in result["error"]["errorDescription"]
    expect(page.locator(ROOT)).to_have_count(0)


def test_hide_flags_from_the_link_hide_their_controls(new_call: Callable[..., Call]) -> None:
    """Each hide flag of the share link (1/true) hides its control; without them every control is there."""
    session = new_call(title="Flags")
    plain = session.join("Plain").page
    for action in CONTROLS:
        expect(button(plain, action)).to_be_visible()
    expect(plain.locator(f"{CONTAINER} .cc-header__title")).to_have_text("Flags")
    expect(plain.locator(f"{CONTAINER} .cc-header__timer")).to_have_text(re.compile(r"^\d\d:\d\d$"))

    flags = {
        "hideToggleAudioButton": "1",
        "hideToggleVideoButton": "true",
        "hideSwitchCameraButton": "1",
        "hideShareInviteButton": "1",
        "hideLeaveSessionButton": "1",
        "hideChangeLayoutButton": "TRUE",
        "hideParticipantListButton": "1",
        "hideSessionTimer": "1",
        "enableParticipantContextMenu": "0",
    }
    page = session.join("Hidden", **flags).page
    for action in CONTROLS:
        expect(button(page, action)).to_have_count(0)
    expect(page.locator(f"{CONTAINER} .cc-header__timer")).to_be_hidden()
    expect(page.locator(f"{CONTAINER} .cc-header__title")).to_be_visible()
    expect(page.locator(f"{CONTAINER} [data-action='participant-menu']")).to_have_count(0)
    expect(plain.locator(f"{CONTAINER} [data-participant-id] [data-action='participant-menu']")).to_have_count(2)

    bare = session.join("Bare", hideHeaderPanel="1", hideControlPanel="1").page
    expect(bare.locator(f"{CONTAINER} .cc-header")).to_be_hidden()
    expect(bare.locator(f"{CONTAINER} .cc-controls")).to_be_hidden()


def test_layouts_switch_and_fire_on_call_layout_changed(new_call: Callable[..., Call]) -> None:
    """The layout button cycles TILE → SIDEBAR → SPOTLIGHT; setLayout too; each change fires onCallLayoutChanged."""
    (a, _), (b, b_id) = new_call().join_all("Ann", "Bob", until=Until.TILES)
    record(a, "onChangeLayoutButtonClicked", "onCallLayoutChanged")

    button(a, "change-layout").click()
    expect(a.locator(ROOT)).to_have_attribute("data-layout", "SIDEBAR")
    wait_for_event(a, "onCallLayoutChanged")
    # The button's event came first, while the layout was still TILE.
    assert [e[0] for e in events(a)] == ["onChangeLayoutButtonClicked", "onCallLayoutChanged"]
    assert events(a)[0][3] == "TILE" and events(a)[1][1] == "SIDEBAR"
    expect(a.locator(f"{CONTAINER} .cc-stage__main > [data-participant-id='{b_id}']")).to_have_count(1)
    expect(a.locator(f"{CONTAINER} .cc-stage__strip > [data-local='true']")).to_be_visible()

    assert call(a, "setLayout('SPOTLIGHT')")["error"] is None
    expect(a.locator(ROOT)).to_have_attribute("data-layout", "SPOTLIGHT")
    assert call(a, "setLayout('SPOTLIGHT')")["error"] is None  # No change, no event.
    assert call(a, "setLayout('TILE')")["error"] is None
    assert [e[1] for e in events(a) if e[0] == "onCallLayoutChanged"] == ["SIDEBAR", "SPOTLIGHT", "TILE"]
    expect(a.locator(f"{CONTAINER} .cc-stage__strip > *")).to_have_count(0)
    assert call(a, "setLayout('GRID')")["error"]["errorCode"] == "ERROR_JSON_EXCEPTION"
    expect(b.locator(ROOT)).to_have_attribute("data-layout", "TILE")


def test_pin_and_unpin_are_local(new_call: Callable[..., Call]) -> None:
    """pinParticipant features someone on this screen only (isPinned in the list); the tile menu pins too."""
    (a, a_id), (b, _), (_, c_id) = new_call().join_all("Ann", "Bob", "Cy", until=Until.TILES)
    record(a, "onParticipantListChanged")

    assert call(a, "pinParticipant(arg)", c_id)["error"] is None
    main = a.locator(f"{CONTAINER} .cc-stage__main > [data-participant-id]")
    expect(main).to_have_count(1)
    expect(main).to_have_attribute("data-participant-id", c_id)
    expect(a.locator(f"{CONTAINER} .cc-stage__strip > [data-participant-id]")).to_have_count(2)
    pinned = [p["pid"] for p in events(a)[-1][1] if p["isPinned"]]
    assert pinned == [c_id]
    expect(b.locator(f"{CONTAINER} .cc-stage__strip > *")).to_have_count(0)  # Nobody else's view changes.

    assert call(a, "unpinParticipant()")["error"] is None
    expect(a.locator(f"{CONTAINER} .cc-stage__main > [data-participant-id]")).to_have_count(3)
    assert not any(p["isPinned"] for p in events(a)[-1][1])
    assert call(a, "pinParticipant('nobody')")["error"]["errorCode"] == "ERR_NOT_FOUND"

    # The same through the tile's menu, by keyboard.
    menu_button = tile(a, a_id).locator("[data-action='participant-menu']")
    menu_button.focus()
    a.keyboard.press("Enter")
    menu = a.locator(f"{CONTAINER} .cc-menu")
    expect(menu).to_be_visible()
    expect(menu.locator("[role='menuitem']").first).to_be_focused()
    a.keyboard.press("Enter")
    expect(menu).to_be_hidden()
    featured = a.locator(f"{CONTAINER} .cc-stage__main > [data-participant-id]")
    expect(featured).to_have_attribute("data-participant-id", a_id)
    expect(tile(a, a_id)).to_have_attribute("data-pinned", "true")


@pytest.mark.parametrize(("width", "height"), [(390, 844), (1440, 900)])
def test_participant_list_shows_everyone(
    new_call: Callable[..., Call], screenshot_dir: Path, width: int, height: int
) -> None:
    """The people button opens a list of everyone (events before/after); it follows joins and mutes; it closes."""
    session = new_call(title="Weekly sync")
    a = session.join("Ada%20Lovelace", width=width, height=height).page
    b, b_id = session.join("Bo", startAudioMuted="1")
    record(a, "onParticipantListButtonClicked", "onParticipantListVisible", "onParticipantListHidden")
    panel = a.locator(f"{CONTAINER} .cc-panel")
    expect(panel).to_be_hidden()

    button(a, "participant-list").click()
    expect(panel).to_be_visible()
    expect(button(a, "participant-list")).to_have_attribute("aria-expanded", "true")
    wait_for_event(a, "onParticipantListVisible")
    assert event_names(a) == ["onParticipantListButtonClicked", "onParticipantListVisible"]
    rows = panel.locator(".cc-panel__row")
    expect(rows).to_have_count(2)
    expect(rows.nth(0).locator(".cc-panel__name")).to_have_text("Ada Lovelace (You)")
    expect(rows.nth(1).locator(".cc-panel__name")).to_have_text("Bo")
    expect(rows.nth(1).locator("[aria-label='Microphone off']")).to_have_count(1)

    # The rows come from the server; their menus are the tiles' menus: pin Bo from the list.
    rows.nth(1).locator("[data-action='participant-menu']").click()
    a.locator(f"{CONTAINER} .cc-menu [data-action='pin']").click()
    expect(rows.nth(1).locator("[aria-label='Pinned']")).to_have_count(1)
    on_stage = f"{CONTAINER} .cc-stage__main > [data-participant-id='{b_id}']"
    expect(a.locator(on_stage)).to_have_count(1)
    assert call(a, "unpinParticipant()")["error"] is None
    expect(rows.nth(1).locator("[aria-label='Pinned']")).to_have_count(0)

    cy_id = session.join("Cy", startVideoPaused="1").participant_id
    expect(rows).to_have_count(3)
    expect(panel.locator(".cc-panel__title")).to_have_text("People (3)")
    expect(panel.locator(f"[data-pid='{cy_id}'] [aria-label='Camera off']")).to_have_count(1)
    assert a.evaluate("document.documentElement.scrollWidth") <= width
    box = panel.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width + 0.5
    a.screenshot(path=str(screenshot_dir / f"call-participant-list-{width}px.png"))

    b.click(f"{CONTAINER} .cc-controls [data-action='leave']")
    expect(rows).to_have_count(2)
    assert call(a, "hideParticipantList()")["error"] is None
    expect(panel).to_be_hidden()
    wait_for_event(a, "onParticipantListHidden")
    assert call(a, "showParticipantList()")["error"] is None
    expect(panel).to_be_visible()
    a.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    assert event_names(a)[-1] == "onParticipantListHidden"


def test_mute_participant_and_pause_their_video(new_call: Callable[..., Call]) -> None:
    """
    muteParticipant from moderator A mutes B (B's own tile and button, A's view of B); the tile menu
    turns B's camera off.
    """
    session = new_call()
    a = session.join("Ann", host=True).page
    b, b_id = session.join("Bob")
    b_on_a = tile(a, b_id)
    expect(b_on_a).to_have_attribute("data-audio-muted", "false")
    record(b, "onModeratedByParticipant", "onAudioMuted", "onVideoPaused")

    assert call(a, "muteParticipant(arg)", b_id)["error"] is None
    b_local = b.locator(f"{CONTAINER} [data-participant-id][data-local='true']")
    expect(b_local).to_have_attribute("data-audio-muted", "true")
    expect(button(b, "toggle-audio")).to_have_attribute("data-off", "true")
    expect(b_on_a).to_have_attribute("data-audio-muted", "true")
    wait_for_event(b, "onAudioMuted")

    b_on_a.hover()
    b_on_a.locator("[data-action='participant-menu']").click()
    menu = a.locator(f"{CONTAINER} .cc-menu")
    expect(menu.locator("[data-action='mute-participant']")).to_have_count(0)  # Already muted.
    menu.locator("[data-action='pause-participant-video']").click()
    expect(b_local).to_have_attribute("data-video-paused", "true")
    expect(b_on_a).to_have_attribute("data-video-paused", "true")
    wait_for_event(b, "onVideoPaused")
    assert call(a, "muteParticipant('nobody')")["error"]["errorCode"] == "ERR_NOT_FOUND"


def test_peer_call_ends_for_both_when_one_leaves(new_call: Callable[..., Call]) -> None:
    """isPeerCall: when one side leaves, the other leaves too (onSessionLeft, reason peerLeft)."""
    (a, _), (b, _) = new_call().join_all("Ann", "Bob", until=Until.TILES, isPeerCall="1")
    record(a, "onParticipantLeft", "onSessionLeft")
    button(b, "leave").click()
    expect_state(a, "left")
    expect(a.locator(ROOT)).to_have_attribute("data-left-reason", "peerLeft")
    expect(a.locator(ROOT)).to_contain_text("The other person left the call")
    wait_for_event(a, "onSessionLeft")
    assert event_names(a) == ["onParticipantLeft", "onSessionLeft"]
    assert events(a)[-1][1]["reason"] == "peerLeft"


def test_idle_timeout_prompts_then_leaves(new_call: Callable[..., Call]) -> None:
    """Alone: "Still there?" after the first period; Stay restarts it; someone joining cancels it; then it leaves."""
    session = new_call()
    # The prompt comes quickly; the time after it leaves room for a second browser to join on a busy machine.
    periods = {"idleTimeoutPeriodBeforePrompt": "1500", "idleTimeoutPeriodAfterPrompt": "12000"}
    a = session.join("Ann", **periods).page
    record(a, "onSessionTimedOut", "onSessionLeft")
    prompt = a.locator(f"{CONTAINER} .cc-idle")
    expect(prompt).to_be_visible(timeout=5_000)
    expect(prompt).to_contain_text("Still there?")
    expect(prompt.locator("[data-action='stay']")).to_be_focused()
    prompt.locator("[data-action='stay']").click()
    expect(prompt).to_have_count(0)

    expect(prompt).to_be_visible(timeout=5_000)
    b = session.join("Bob").page
    expect(prompt).to_have_count(0)
    button(b, "leave").click()
    expect(a.locator(f"{CONTAINER} [data-participant-id]")).to_have_count(1)
    assert events(a) == []

    expect(prompt).to_be_visible(timeout=5_000)
    expect_state(a, "left")  # 12 s after the prompt
    expect(a.locator(ROOT)).to_have_attribute("data-left-reason", "timedOut")
    assert event_names(a) == ["onSessionTimedOut", "onSessionLeft"]
    assert events(a)[-1][1]["reason"] == "timedOut"


def test_share_invite_copies_the_link(new_call: Callable[..., Call]) -> None:
    """The share button fires onShareInviteButtonClicked, then copies the call's link and says so."""
    session = new_call()
    page = session.join("Ann").page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    record(page, "onShareInviteButtonClicked")
    button(page, "share").click()
    expect(page.locator(f"{CONTAINER} .cc-toast")).to_have_text("Link copied")
    assert event_names(page) == ["onShareInviteButtonClicked"]
    assert page.evaluate("navigator.clipboard.readText()") == session.share_url


def test_button_events_fire_before_the_default_action(new_call: Callable[..., Call]) -> None:
    """Each button's event comes before what the button does."""
    page = new_call().join("Ann").page
    record(
        page,
        "onToggleAudioButtonClicked",
        "onAudioMuted",
        "onToggleVideoButtonClicked",
        "onVideoPaused",
        "onLeaveSessionButtonClicked",
        "onSessionLeft",
    )
    button(page, "toggle-audio").click()
    wait_for_event(page, "onAudioMuted")
    button(page, "toggle-video").click()
    wait_for_event(page, "onVideoPaused")
    button(page, "leave").click()
    wait_for_event(page, "onSessionLeft")
    assert event_names(page) == [
        "onToggleAudioButtonClicked",
        "onAudioMuted",
        "onToggleVideoButtonClicked",
        "onVideoPaused",
        "onLeaveSessionButtonClicked",
        "onSessionLeft",
    ]
    assert events(page)[4][2] == "joined"  # Still in the call when the leave button's event fired.


def test_voice_sessions_never_ask_for_a_camera(new_call: Callable[..., Call]) -> None:
    """No getUserMedia call of a VOICE session (or a video call joined as voice) names video; REAR asks for it."""
    voice = new_call(session_type="VOICE").join("Ann", init_script=RECORD_GET_USER_MEDIA).page
    video_call = new_call()
    as_voice = video_call.join("Bob", sessionType="VOICE", init_script=RECORD_GET_USER_MEDIA).page
    for page in (voice, as_voice):
        expect(button(page, "switch-camera")).to_have_count(0)
        constraints = page.evaluate("window.__gum")
        assert constraints and all("video" not in c and c.get("audio") for c in constraints), constraints
        assert call(page, "switchCamera()")["error"]["errorCode"] == "ERROR_MEDIA_DEVICE"
    rear = video_call.join("Cy", initialCameraFacing="REAR", init_script=RECORD_GET_USER_MEDIA).page
    constraints = rear.evaluate("window.__gum")
    assert constraints[0]["video"]["facingMode"] == "environment", constraints


def test_noise_reduction_follows_the_setting(new_call: Callable[..., Call]) -> None:
    """
    The microphone's noise suppression is enableNoiseReduction's (off by default, as CometChat's); echo
    cancellation and automatic gain control stay on.
    """
    session = new_call()
    on = session.join("Ann", enableNoiseReduction="1", init_script=RECORD_MEDIA).page
    off = session.join("Bob", init_script=RECORD_MEDIA).page
    for page, expected in ((on, True), (off, False)):
        page.wait_for_function(SENT_AUDIO_NOISE_SUPPRESSION, arg=expected)
        asked = [constraints["audio"] for constraints in page.evaluate("window.__gum")]
        assert [(a["noiseSuppression"], a["echoCancellation"], a["autoGainControl"]) for a in asked] == [
            (expected, True, True)
        ]


def test_a_session_that_locks_noise_reduction_on_reopens_the_microphone_with_it(new_call: Callable[..., Call]) -> None:
    """
    The server's answer locks enableNoiseReduction on for a page that asked for it off: the live microphone
    does not follow in Chromium (its processing is fixed when it opens), so it is opened again with noise
    suppression, sent in place of the old one, which is closed; muted stays muted.
    """
    session = new_call(settings={"enableNoiseReduction": "true"}, locked=["enableNoiseReduction"])
    page = session.join("Ann", enableNoiseReduction="0", startAudioMuted="1", init_script=RECORD_MEDIA).page
    page.wait_for_function(SENT_AUDIO_NOISE_SUPPRESSION, arg=True)
    assert [constraints["audio"]["noiseSuppression"] for constraints in page.evaluate("window.__gum")] == [False, True]
    assert page.evaluate(LIVE_TRACKS, "audio") == 1
    assert page.evaluate("window.__streams[1].getAudioTracks()[0].enabled") is False
    expect(button(page, "toggle-audio")).to_have_attribute("data-off", "true")
    assert call(page, "unmuteAudio()")["error"] is None
    assert page.evaluate("window.__streams[1].getAudioTracks()[0].enabled") is True


def test_a_voice_sessions_call_token_makes_the_join_a_voice_call(
    open_page: Callable[..., Page], app_server: AppServer
) -> None:
    """
    joinSession(token, {}) on a VOICE session never asks for the camera: the token says VOICE before any
    device opens. The view is a voice call, video actions are refused, and the other person sees no video.
    """
    session_id = app_server.create_session(session_type="VOICE")["sessionId"]
    people = []
    for uid in ("ann", "bob"):
        app_server.create_user(uid, uid.title())
        page = load_sdk(open_page(f"{app_server.base_url}/", init_script=RECORD_MEDIA))
        joined = join_with_token(page, app_server.app_id, app_server.base_url, app_server.call_token(uid, session_id))
        people.append((page, joined["participantId"]))
    (ann, ann_id), (bob, _) = people

    asked = ann.evaluate("window.__gum")
    assert asked and all("video" not in constraints and constraints["audio"] for constraints in asked), asked
    expect(ann.locator(ROOT)).to_have_attribute("data-session-type", "VOICE")
    expect(button(ann, "toggle-video")).to_have_count(0)
    expect(ann.locator(f"{CONTAINER} video")).to_have_count(0)
    for action in ("resumeVideo()", "switchCamera()", "startScreenSharing()"):
        assert call(ann, action)["error"]["errorCode"] == "ERROR_MEDIA_DEVICE", action
    assert ann.evaluate(SENT_VIDEO_TRACKS) == 0
    expect(tile(bob, ann_id)).to_have_attribute("data-video-paused", "true")
    expect(bob.locator(f"{CONTAINER} video")).to_have_count(0)


def test_a_session_made_voice_after_the_token_was_issued_drops_the_camera(
    open_page: Callable[..., Page], app_server: AppServer, manage: Callable[..., str]
) -> None:
    """
    A token issued while the session was VIDEO, used after an operator made it VOICE: the page opens its
    camera, then the server's answer says VOICE, so the camera closes and the page becomes a voice call.
    Someone already in the call as a video call sees no video from it.
    """
    session_id = app_server.create_session()["sessionId"]
    for uid in ("ann", "bob"):
        app_server.create_user(uid, uid.title())
    bob = load_sdk(open_page(f"{app_server.base_url}/"))
    join_with_token(bob, app_server.app_id, app_server.base_url, app_server.call_token("bob", session_id))
    ann_token = app_server.call_token("ann", session_id)
    manage("shell", "-c", SESSION_TYPE_CHANGE.format(session_id, "VOICE"))
    ann = load_sdk(open_page(f"{app_server.base_url}/", init_script=RECORD_MEDIA))
    ann_id = join_with_token(ann, app_server.app_id, app_server.base_url, ann_token)["participantId"]

    assert any("video" in constraints for constraints in ann.evaluate("window.__gum"))  # The token said VIDEO.
    expect(ann.locator(ROOT)).to_have_attribute("data-session-type", "VOICE")
    ann.wait_for_function(f"() => ({LIVE_TRACKS})('video') === 0")  # The camera it opened is closed.
    expect(button(ann, "toggle-video")).to_have_count(0)
    expect(ann.locator(f"{CONTAINER} video")).to_have_count(0)
    assert call(ann, "resumeVideo()")["error"]["errorCode"] == "ERROR_MEDIA_DEVICE"
    assert ann.evaluate(SENT_VIDEO_TRACKS) == 0
    expect(tile(bob, ann_id)).to_have_attribute("data-video-paused", "true")
    expect(tile(bob, ann_id)).to_have_attribute("data-video-ready", "false")


def test_devices_can_be_listed_chosen_and_followed(new_call: Callable[..., Call]) -> None:
    """Device lists and current devices; choosing a device (events); a bad one is refused; devicechange is followed."""
    page = new_call().join("Ann").page
    record(page, "onAudioInputDeviceChanged", "onVideoInputDeviceChanged", "onAudioInputDevicesChanged")
    mics = sdk(page, "return calls.getAudioInputDevices();")
    cameras = sdk(page, "return calls.getVideoInputDevices();")
    assert mics and cameras, (mics, cameras)
    assert sdk(page, "return calls.getCurrentVideoInputDevice();")["deviceId"] in {c["deviceId"] for c in cameras}

    assert call(page, "setAudioInputDevice(arg)", mics[-1]["deviceId"])["error"] is None
    assert call(page, "setVideoInputDevice(arg)", cameras[-1]["deviceId"])["error"] is None
    assert call(page, "switchCamera()")["error"] is None
    assert event_names(page) == ["onAudioInputDeviceChanged", "onVideoInputDeviceChanged", "onVideoInputDeviceChanged"]
    assert events(page)[0][1]["deviceId"] == mics[-1]["deviceId"]
    local = page.locator(f"{CONTAINER} [data-local='true'][data-participant-id]")
    expect(local).to_have_attribute("data-video-ready", "true")
    assert (
        page.evaluate("document.querySelector('[data-local=\"true\"] video').srcObject.getVideoTracks()[0].readyState")
        == "live"
    )
    assert call(page, "setVideoInputDevice('no-such-camera')")["error"]["errorCode"] == "ERROR_MEDIA_DEVICE"
    assert call(page, "setAudioOutputDevice('no-such-speaker')")["error"]["errorCode"] == "ERROR_MEDIA_DEVICE"

    # A microphone is plugged in: the list changes and the event fires.
    page.evaluate(
        """() => {
          const original = navigator.mediaDevices.enumerateDevices.bind(navigator.mediaDevices);
          navigator.mediaDevices.enumerateDevices = async () => [...await original(),
            {deviceId: "usb-mic", kind: "audioinput", label: "USB microphone", groupId: "usb"}];
          navigator.mediaDevices.dispatchEvent(new Event("devicechange"));
        }"""
    )
    wait_for_event(page, "onAudioInputDevicesChanged")
    assert "USB microphone" in [d["label"] for d in events(page)[-1][1]]
    assert "usb-mic" in [d["deviceId"] for d in sdk(page, "return calls.getAudioInputDevices();")]


def test_notifications_can_be_turned_off(new_call: Callable[..., Call]) -> None:
    """enableNotifications: joins show a toast by default and none when it is off."""
    session = new_call()
    quiet = session.join("Quiet", enableNotifications="0").page
    loud = session.join("Loud").page
    assert session.join("Cy").participant_id
    expect(loud.locator(f"{CONTAINER} .cc-toast")).to_have_text("Cy joined")
    expect(quiet.locator(f"{CONTAINER} [data-participant-id]")).to_have_count(3)
    expect(quiet.locator(f"{CONTAINER} .cc-toast")).to_have_count(0)


def test_the_settings_dialog_shows_and_changes_the_devices_in_use(new_call: Callable[..., Call]) -> None:
    """
    CometChat's settings dialog (the settings button, showSettingsDialog): the microphone, camera and
    speaker in use, each chosen from its list; a choice is used at once; a device plugged in shows up in
    the open dialog; Escape closes it and gives the focus back.
    """
    page = new_call().join("Ann").page
    record(page, "onAudioInputDeviceChanged")
    dialog = page.locator(f"{CONTAINER} #cc-settings-dialog")
    microphones = page.locator("#cc-settings-audio-input")
    expect(dialog).to_be_hidden()

    button(page, "settings").click()
    expect(dialog).to_be_visible()
    expect(dialog).to_have_attribute("role", "dialog")
    expect(button(page, "settings")).to_have_attribute("aria-expanded", "true")
    expect(microphones).to_be_focused()
    mics = sdk(page, "return calls.getAudioInputDevices();")
    in_use = sdk(page, "return calls.getCurrentAudioInputDevice();")["deviceId"]
    expect(microphones.locator("option")).to_have_count(len(mics))
    assert microphones.input_value() == in_use
    cameras = page.locator("#cc-settings-video-input option")
    expect(cameras).to_have_count(len(sdk(page, "return calls.getVideoInputDevices();")))

    other = next(mic["deviceId"] for mic in mics if mic["deviceId"] != in_use)
    microphones.select_option(other)
    wait_for_event(page, "onAudioInputDeviceChanged")
    assert sdk(page, "return calls.getCurrentAudioInputDevice();")["deviceId"] == other
    expect(microphones).to_have_value(other)

    page.evaluate(
        """() => {
          const original = navigator.mediaDevices.enumerateDevices.bind(navigator.mediaDevices);
          navigator.mediaDevices.enumerateDevices = async () => [...await original(),
            {deviceId: "usb-mic", kind: "audioinput", label: "USB microphone", groupId: "usb"}];
          navigator.mediaDevices.dispatchEvent(new Event("devicechange"));
        }"""
    )
    expect(microphones.locator("option[value='usb-mic']")).to_have_text("USB microphone")

    microphones.press("Escape")
    expect(dialog).to_be_hidden()
    expect(button(page, "settings")).to_be_focused()
    expect(button(page, "settings")).to_have_attribute("aria-expanded", "false")

    assert call(page, "showSettingsDialog()")["error"] is None
    expect(dialog).to_be_visible()
    assert call(page, "hideSettingsDialog()")["error"] is None
    expect(dialog).to_be_hidden()
    call(page, "leaveSession()")
    assert call(page, "showSettingsDialog()")["error"]["errorCode"] == "ERR_CALL_NOT_A_PART"
