"""Recording controls (issue 18) across real pages and the real server: a moderator records the call with
the record button, everyone sees that it is recorded and hears of it, a guest cannot record, and the
server's files hold the call's VP8 and Opus, as long as it was recorded. Someone joining meanwhile sees
the indicator at once."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import av
import pytest
from playwright.sync_api import expect

from .call_page import (
    CONTAINER,
    Call,
    Person,
    button,
    call,
    events,
    join_with_token,
    load_sdk,
    local_participant_id,
    record,
    wait_for_event,
    wait_for_remote_media,
)

pytestmark = pytest.mark.browser

RECORDING_EVENTS = (
    "onRecordingToggleButtonClicked",
    "onRecordingStarted",
    "onRecordingStopped",
    "onParticipantStartedRecording",
    "onParticipantStoppedRecording",
    "onError",
)
INDICATOR = f"{CONTAINER} .cc-recording-indicator"
# How long the call is recorded: this much more of the host's video plays on the guest's page.
RECORDED_S = 5.0
# A v4 app's listener (kept by CometChat v5): who started and stopped the recording, into window.__v4.
V4_RECORDING_LISTENER = """() => {
  window.__v4 = [];
  const CometChatCalls = window.CometChatCalls;
  CometChatCalls.addCallEventListener("v4-app", new CometChatCalls.OngoingCallListener({
    onRecordingStarted: (event) => window.__v4.push(["started", event.user && event.user.name]),
    onRecordingStopped: (event) => window.__v4.push(["stopped", event.user && event.user.name]),
  }));
}"""
# A file's media may start a little after the recording (a video file starts at a keyframe).
START_TOLERANCE_MS = 500
# A recording as the server saw it: [its length in ms, {file name: [startOffsetMs, durationMs]}].
TRACKS_OF = (
    "import json; from sessions_app.models import Recording; print(json.dumps([["
    "int((r.ended_at - r.started_at).total_seconds() * 1000), "
    "{{t['path'].rsplit('/', 1)[-1]: [t['startOffsetMs'], t['durationMs']] for t in r.tracks}}] "
    "for r in Recording.objects.filter(session__session_id={!r})]))"
)
# The remote video's playback position on a page (the one remote tile of a two-person call).
REMOTE_VIDEO_TIME = (
    f"() => document.querySelector('{CONTAINER} [data-participant-id]:not([data-local]) video').currentTime"
)


def media_duration_s(path: Path) -> tuple[str, float]:
    """The codec of a recorded file's one stream and how long its media lasts (first to last packet's end)."""
    with av.open(str(path)) as container:
        [stream] = container.streams
        packets = [packet for packet in container.demux(stream) if packet.size]
        assert packets, f"{path.name} holds no media"
        first = min(packet.pts for packet in packets if packet.pts is not None)
        last = max(packets, key=lambda packet: packet.pts or 0)
        end = (last.pts or 0) + (last.duration or 0)
        return stream.codec_context.name, float((end - first) * stream.time_base)


def names_of(recorded: list[list[Any]]) -> list[str]:
    return [event[0] for event in recorded]


def test_a_host_records_the_call_everyone_sees_it_and_the_files_hold_vp8_and_opus(
    new_call: Any, manage: Any, recordings_dir: Path
) -> None:
    session: Call = new_call(title="Recorded", settings={"hideRecordingButton": "false"})
    host = session.join("Host", host=True)
    guest = session.join("Guest")
    wait_for_remote_media(host.page, 1)
    wait_for_remote_media(guest.page, 1)
    for person in (host, guest):
        record(person.page, *RECORDING_EVENTS)
        expect(person.page.locator(INDICATOR)).to_be_hidden()
    guest.page.evaluate(V4_RECORDING_LISTENER)

    # Only the moderator has the record button.
    record_button = button(host.page, "toggle-recording")
    expect(record_button).to_have_attribute("aria-pressed", "false")
    expect(button(guest.page, "toggle-recording")).to_have_count(0)

    record_button.click()
    wait_for_event(host.page, "onRecordingStarted")
    started = time.monotonic()
    wait_for_event(guest.page, "onParticipantStartedRecording")
    for person in (host, guest):
        expect(person.page.locator(INDICATOR)).to_be_visible()
        expect(person.page.locator(INDICATOR)).to_have_text("This call is being recorded")
        expect(person.page.locator(INDICATOR)).to_have_attribute("role", "status")
    expect(record_button).to_have_attribute("aria-pressed", "true")
    assert names_of(events(host.page)) == ["onRecordingToggleButtonClicked", "onRecordingStarted"]
    [[_, by, *_]] = [event for event in events(guest.page) if event[0] == "onParticipantStartedRecording"]
    assert by["pid"] == host.participant_id and by["name"] == "Host"

    # Someone who joins now sees the indicator at once.
    late = session.join("Late")
    expect(late.page.locator(INDICATOR)).to_be_visible()
    record(late.page, *RECORDING_EVENTS)

    # A guest's startRecording() is refused by the SDK, and nothing reaches the server.
    refused = call(guest.page, "startRecording()")["error"]
    assert (refused["errorCode"], refused["details"]) == ("AUTH_ERR_NO_ACCESS", {"reason": "role"})

    played = guest.page.evaluate(REMOTE_VIDEO_TIME)
    guest.page.wait_for_function(f"(t) => ({REMOTE_VIDEO_TIME})() >= t + {RECORDED_S}", arg=played, timeout=30_000)

    assert call(host.page, "stopRecording()")["error"] is None
    wait_for_event(host.page, "onRecordingStopped")
    recorded_s = time.monotonic() - started
    wait_for_event(guest.page, "onParticipantStoppedRecording")
    wait_for_event(late.page, "onParticipantStoppedRecording")
    for person in (host, guest, late):
        expect(person.page.locator(INDICATOR)).to_be_hidden()
    expect(record_button).to_have_attribute("aria-pressed", "false")
    assert "onError" not in names_of(events(guest.page)) + names_of(events(host.page))
    assert guest.page.evaluate("window.__v4") == [["started", "Host"], ["stopped", "Host"]]

    [folder] = list((recordings_dir / session.session_id).iterdir())
    # The host's and the guest's files (each named after its participant); the late joiner's are shorter.
    files = sorted(path for person in (host, guest) for path in folder.glob(f"{person.participant_id}-*.webm"))
    [[recorded_ms, placed]] = last_json_line(manage("shell", "-c", TRACKS_OF.format(session.session_id)))
    found: dict[str, list[float]] = {}
    for path in files:
        codec, duration_s = media_duration_s(path)
        found.setdefault(codec, []).append(duration_s)
        # Each file starts with the recording (a camera's at its first keyframe) and lasts until its stop.
        start_offset_ms, duration_ms = placed[path.name]
        print(f"{path.name}: starts at {start_offset_ms} ms, media {duration_s:.3f} s, recording {recorded_ms} ms")
        assert start_offset_ms <= START_TOLERANCE_MS, (path.name, start_offset_ms)
        assert abs(start_offset_ms / 1000 + duration_s - recorded_ms / 1000) <= 0.5, (path.name, duration_s)
        assert abs(duration_s * 1000 - duration_ms) <= 100, (path.name, duration_s, duration_ms)
    assert sorted(found) == ["opus", "vp8"], f"{[path.name for path in files]}"
    assert len(found["vp8"]) == len(found["opus"]) == 2  # each person's camera and microphone
    total_bytes = sum(path.stat().st_size for path in files)
    print(f"recorded {recorded_s:.1f} s: {total_bytes} bytes in {len(files)} files, "
          f"{total_bytes / recorded_s * 60 / 2 / 1e6:.2f} MB per participant-minute")  # fmt: skip


# The call's recordings as the server recorded them: [status, [(participant, source, codec), ...]] each.
RECORDINGS_OF = (
    "import json; from sessions_app.models import Recording; print(json.dumps([[r.status, "
    "[(t['participantId'], t['source'], t['codec']) for t in r.tracks]] "
    "for r in Recording.objects.filter(session__session_id={!r})]))"
)


def recordings_of(manage: Any, session_id: str) -> list[Any]:
    """The shell's last line (Django's shell may say what it imported first)."""
    return json.loads(manage("shell", "-c", RECORDINGS_OF.format(session_id)).strip().splitlines()[-1])


def test_auto_start_records_from_the_first_join_and_stops_when_everyone_has_left(
    new_call: Any, manage: Any, recordings_dir: Path
) -> None:
    """
    autoStartRecording: the first join starts the recording (no moderator needed); a page with
    hideRecordingStatusIndicator shows no indicator; the last one out stops it and its files are saved.
    """
    session: Call = new_call(title="Auto", settings={"autoStartRecording": "true"})
    ann = session.join("Ann")
    expect(ann.page.locator(INDICATOR)).to_be_visible()
    bob = session.join("Bob", hideRecordingStatusIndicator="true")
    expect(bob.page.locator(f"{CONTAINER} .cc-root")).to_have_attribute("data-recording", "true")
    expect(bob.page.locator(INDICATOR)).to_be_hidden()
    wait_for_remote_media(ann.page, 1)
    wait_for_remote_media(bob.page, 1)

    for person in (ann, bob):
        assert call(person.page, "leaveSession()")["error"] is None
    recordings = recordings_of(manage, session.session_id)
    deadline = time.monotonic() + 20
    while recordings[0][0] != "stopped" and time.monotonic() < deadline:  # the last leave is on its way
        recordings = recordings_of(manage, session.session_id)
    [[status, tracks]] = recordings
    assert status == "stopped"
    assert {(pid, source, codec) for pid, source, codec in tracks} == {
        (person.participant_id, source, codec)
        for person in (ann, bob)
        for source, codec in (("audio", "opus"), ("video", "vp8"))
    }


# The composed file: the recordings worker (as `make run` starts it) makes one file of the call, which
# the call log and the webhook carry, and which plays in Chromium through its signed URL.
COMPOSE_ONCE = ("run_recordings", "--once", "-v0")
# A recording's composed file as the server saw it: [rid, composed duration ms, recording duration ms].
COMPOSED_OF = (
    "import json; from sessions_app.models import Recording; print(json.dumps([[r.rid, r.composed_duration_ms, "
    "int((r.ended_at - r.started_at).total_seconds() * 1000)] "
    "for r in Recording.objects.filter(session__session_id={!r})]))"
)
WEBHOOK_ENDPOINT = (
    "from webhooks.models import WebhookEndpoint; from sessions_app.models import App; "
    "WebhookEndpoint.objects.create(app=App.objects.get(app_id={!r}), name='hooks', url='http://127.0.0.1:9/h')"
)
WEBHOOK_EVENTS = (
    "import json; from webhooks.models import WebhookEvent; print(json.dumps([e.payload for e in "
    "WebhookEvent.objects.filter(session_id={!r}, trigger='recording_generated')]))"
)
# Plays a URL in a <video>: resolves {duration, frames, width, height} once 10 frames were presented.
PLAY_VIDEO = """async (url) => {
  const video = document.createElement("video");
  video.muted = true;
  video.src = url;
  document.body.append(video);
  await new Promise((resolve, reject) => {
    video.addEventListener("loadedmetadata", resolve, {once: true});
    video.addEventListener("error", () => reject(new Error(`cannot play: ${video.error && video.error.message}`)));
  });
  await video.play();
  await new Promise((resolve) => {
    const tick = () => (video.getVideoPlaybackQuality().totalVideoFrames >= 10 ? resolve() : setTimeout(tick, 50));
    tick();
  });
  return {duration: video.duration, frames: video.getVideoPlaybackQuality().totalVideoFrames,
          width: video.videoWidth, height: video.videoHeight};
}"""


def last_json_line(output: str) -> Any:
    return json.loads(output.strip().splitlines()[-1])


def test_a_recorded_call_with_a_mute_and_a_screen_share_is_composed_into_a_file_that_plays(
    manage: Any, app_server: Any, recordings_dir: Path, open_page: Any
) -> None:
    """
    An app's call: its moderator records while the guest mutes and the host shares a screen. The files
    hold each source; the recordings worker composes them into one file as long as the recording,
    which the call log and the webhook carry, and which plays in Chromium through its signed URL.
    """
    from tests.browser.test_call_features import FAKE_DISPLAY_MEDIA

    manage("shell", "-c", WEBHOOK_ENDPOINT.format(app_server.app_id))
    for uid in ("host", "guest"):
        app_server.create_user(uid, uid.title())
    session_id = app_server.call("POST", "/sessions", {"title": "Composed", "moderators": ["host"]})["sessionId"]
    people = {}
    for uid, init_script in (("host", FAKE_DISPLAY_MEDIA), ("guest", None)):
        page = load_sdk(open_page(f"{app_server.base_url}/", init_script=init_script))
        token = app_server.call_token(uid, session_id)
        data = join_with_token(page, app_server.app_id, app_server.base_url, token, {"hideRecordingButton": False})
        people[uid] = Person(page, local_participant_id(page))
        assert data is not None
    host, guest = people["host"], people["guest"]
    wait_for_remote_media(host.page, 1)
    wait_for_remote_media(guest.page, 1)
    record(host.page, "onRecordingStarted", "onRecordingStopped")

    assert call(host.page, "startRecording()")["error"] is None
    wait_for_event(host.page, "onRecordingStarted")
    # The guest mutes, the host shares a screen for a while, then stops sharing.
    assert call(guest.page, "muteAudio()")["error"] is None
    assert call(host.page, "startScreenSharing()")["error"] is None
    screen = f"{CONTAINER} [data-participant-id='{host.participant_id}:screen'] video"
    guest.page.wait_for_function(
        f'() => {{ const v = document.querySelector("{screen}"); return v && v.currentTime > 2; }}', timeout=30_000
    )
    assert call(host.page, "stopScreenSharing()")["error"] is None
    played = guest.page.evaluate(REMOTE_VIDEO_TIME)
    guest.page.wait_for_function(f"(t) => ({REMOTE_VIDEO_TIME})() >= t + 1", arg=played, timeout=30_000)
    assert call(host.page, "stopRecording()")["error"] is None
    wait_for_event(host.page, "onRecordingStopped")

    [folder] = list((recordings_dir / session_id).iterdir())
    sources = {path.name.split("-")[1] for path in folder.glob(f"{host.participant_id}-*.webm")}
    assert sources == {"audio", "video", "screen"}
    assert media_duration_s(next(folder.glob(f"{host.participant_id}-screen-*.webm")))[0] == "vp8"
    assert {path.name.split("-")[1] for path in folder.glob(f"{guest.participant_id}-*.webm")} == {"audio", "video"}

    manage(*COMPOSE_ONCE)
    [[rid, composed_ms, recorded_ms]] = last_json_line(manage("shell", "-c", COMPOSED_OF.format(session_id)))
    assert composed_ms is not None and abs(composed_ms - recorded_ms) <= 500

    # The call log carries it, and its URL plays in Chromium for as long as it was recorded.
    log = app_server.call("GET", f"/calls/{session_id}")
    assert log["hasRecording"] is True
    [entry] = log["recordings"]
    assert entry["rid"] == rid and abs(entry["duration"] * 1000 - recorded_ms) <= 500
    viewer = open_page(app_server.base_url + "/")
    played = viewer.evaluate(PLAY_VIDEO, entry["recordingURL"])
    assert abs(played["duration"] * 1000 - recorded_ms) <= 500, played
    assert played["frames"] >= 10 and played["width"] > 0, played

    # The webhook carries it too; a tampered or expired URL is refused.
    [payload] = last_json_line(manage("shell", "-c", WEBHOOK_EVENTS.format(session_id)))
    assert payload["data"]["recording"]["rid"] == rid
    status_of = "async (url) => (await fetch(url)).status"
    assert viewer.evaluate(status_of, payload["data"]["recording"]["recordingURL"]) == 200
    tampered = entry["recordingURL"].replace("signature=", "signature=0")
    assert viewer.evaluate(status_of, tampered) == 403
    expired = re.sub(r"expires=\d+", "expires=1000000000", entry["recordingURL"])
    assert viewer.evaluate(status_of, expired) == 403
