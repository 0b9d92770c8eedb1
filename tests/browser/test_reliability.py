"""
Staying in the call through faults, in real browsers: a dropped signaling socket is resumed as the
same participant; a peer whose media stops reaching us is reported lost, and restored when it comes
again; a server that crashes and restarts gets everyone back into the call by itself.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from .call_page import (
    CONTAINER,
    KEEP_PEER_CONNECTIONS,
    KEEP_SOCKETS,
    REMOTE_TILES,
    ROOT,
    Call,
    Until,
    call,
    event_names,
    events,
    expect_state,
    local_participant_id,
    record,
    tile,
    wait_for_event,
    wait_for_remote_media,
)
from .conftest import PROJECT_ROOT, DaphneServer, free_port

pytestmark = pytest.mark.browser

RESUME_WITHIN_S = 5
# onRemoteConnectionLost: 10 s without media (REMOTE_CONNECTION_LOST_AFTER_MS), noticed by the next
# 2 s getStats() sample; a little more for a loaded machine. Restored: by the next sample.
REMOTE_LOST_AFTER_S = 10
REMOTE_LOST_WITHIN_S = 14
REMOTE_RESTORED_WITHIN_S = 5
RESTART_RECOVERY_WITHIN_S = 15

# Every value the call view's data-connection takes, in order (a resume can be over in milliseconds).
WATCH_CONNECTION_STATES = """
() => {
  window.__connectionStates = [];
  const root = document.querySelector("#call_view_container .cc-root");
  new MutationObserver(() => {
    const banner = root.querySelector(".cc-reconnecting");
    window.__connectionStates.push([root.dataset.connection, banner && !banner.hidden]);
  }).observe(root, { attributes: true, attributeFilter: ["data-connection"] });
}
"""


def connection_states(page: Page) -> list[list[object]]:
    return page.evaluate("window.__connectionStates")


def event_times(page: Page, name: str) -> list[float]:
    return [entry[2] for entry in page.evaluate("window.__eventTimes || []") if entry[0] == name]


RECORD_EVENT_TIMES = """
(names) => {
  window.__eventTimes = window.__eventTimes || [];
  for (const name of names) {
    window.CometChatCalls.addEventListener(name, () => window.__eventTimes.push([name, null, Date.now()]));
  }
}
"""


def test_a_dropped_socket_is_resumed_without_leaving_the_call(new_call: Callable[..., Call]) -> None:
    """
    Ann's signaling socket drops: she is back within 5 s as the same participant, Bob never sees
    her leave, and media never stops (it does not go through the socket).
    """
    session = new_call()
    ann, ann_id = session.join("Ann", init_script=KEEP_SOCKETS)
    bob, bob_id = session.join("Bob")
    wait_for_remote_media(ann, 1)
    wait_for_remote_media(bob, 1)
    record(ann, "onConnectionLost", "onConnectionRestored", "onParticipantLeft", "onSessionLeft")
    ann.evaluate(RECORD_EVENT_TIMES, ["onConnectionLost", "onConnectionRestored"])
    ann.evaluate(WATCH_CONNECTION_STATES)
    record(bob, "onParticipantLeft")

    # A close the SDK did not ask for, as a proxy or a network change would do.
    dropped_at = ann.evaluate("() => { window.__sockets.at(-1).close(4999, 'test'); return Date.now(); }")
    wait_for_event(ann, "onConnectionRestored")
    restored_at = event_times(ann, "onConnectionRestored")[0]
    assert restored_at - dropped_at < RESUME_WITHIN_S * 1000
    assert event_names(ann) == ["onConnectionLost", "onConnectionRestored"]
    # "Reconnecting…" showed while it lasted.
    assert connection_states(ann) == [["reconnecting", True], ["connected", False]]
    expect(ann.locator(ROOT)).to_have_attribute("data-connection", "connected")
    expect(ann.locator(f"{CONTAINER} .cc-reconnecting")).to_be_hidden()
    assert local_participant_id(ann) == ann_id
    assert ann.evaluate("window.__sockets.length") == 2

    # Still one call: the same tiles, media still playing both ways, and signaling works again.
    expect(tile(ann, bob_id)).to_have_count(1)
    expect(tile(bob, ann_id)).to_have_count(1)
    wait_for_remote_media(ann, 1)
    wait_for_remote_media(bob, 1)
    assert call(ann, "muteAudio()")["error"] is None
    expect(tile(bob, ann_id)).to_have_attribute("data-audio-muted", "true")
    assert "onParticipantLeft" not in event_names(bob)


def test_a_socket_that_goes_silent_is_noticed_and_resumed(new_call: Callable[..., Call]) -> None:
    """
    A socket that stops delivering anything (a network cut that closes nothing) is noticed by
    the heartbeat on both sides, and the SDK gets back in as the same participant.
    """
    session = new_call()
    ann, ann_id = session.join("Ann", init_script=KEEP_SOCKETS)
    bob = session.join("Bob").page
    expect(tile(bob, ann_id)).to_have_count(1)
    record(ann, "onConnectionLost", "onConnectionRestored")
    ann.evaluate(WATCH_CONNECTION_STATES)
    record(bob, "onParticipantLeft")
    # From now on this socket neither sends nor delivers: the page and the server hear nothing.
    ann.evaluate(
        """() => {
          const socket = window.__sockets.at(-1);
          socket.send = () => {};
          socket.addEventListener("message", (event) => event.stopImmediatePropagation(), { capture: true });
          socket.onmessage = null;
        }"""
    )
    wait_for_event(ann, "onConnectionRestored")
    assert event_names(ann) == ["onConnectionLost", "onConnectionRestored"]
    assert connection_states(ann) == [["reconnecting", True], ["connected", False]]
    assert local_participant_id(ann) == ann_id
    expect(tile(bob, ann_id)).to_have_count(1)
    assert "onParticipantLeft" not in event_names(bob)


# Stop sending anything on every sender of the page's peer connections, as a cut uplink would (the
# microphone stays unmuted and the camera on as far as the call knows); return the page's clock.
STOP_SENDING = """
async () => {
  window.__heldTracks = [];
  for (const pc of window.__pcs) {
    if (pc.connectionState === "closed") continue;
    for (const sender of pc.getSenders()) {
      if (!sender.track) continue;
      window.__heldTracks.push([sender, sender.track]);
      await sender.replaceTrack(null);
    }
  }
  return [window.__heldTracks.length, Date.now()];
}
"""
RESUME_SENDING = """
async () => {
  for (const [sender, track] of window.__heldTracks) await sender.replaceTrack(track);
  return Date.now();
}
"""


def test_a_peer_whose_media_stops_is_lost_and_then_restored(new_call: Callable[..., Call]) -> None:
    """
    In a peer call, Ann's media stops reaching Bob although she neither left nor turned anything off:
    10 to 14 s later Bob gets onRemoteConnectionLost (with Ann) once and her tile says "Connection
    lost"; when her media flows again, onRemoteConnectionRestored once and the tile is back. Bob has
    his microphone and camera off all along: that silence is on purpose, and Ann is never told he is lost.
    """
    session = new_call()
    ann, ann_id = session.join("Ann", init_script=KEEP_PEER_CONNECTIONS, isPeerCall="1")
    bob, bob_id = session.join("Bob", isPeerCall="1")
    wait_for_remote_media(bob, 1)
    names = ["onRemoteConnectionLost", "onRemoteConnectionRestored"]
    for page in (ann, bob):
        record(page, *names)
        page.evaluate(RECORD_EVENT_TIMES, names)
    assert call(bob, "muteAudio()")["error"] is None
    assert call(bob, "pauseVideo()")["error"] is None
    expect(tile(ann, bob_id)).to_have_attribute("data-video-paused", "true")
    expect(tile(ann, bob_id)).to_have_attribute("data-audio-muted", "true")

    senders, stopped_at = ann.evaluate(STOP_SENDING)
    assert senders == 2  # Her microphone and her camera.
    wait_for_event(bob, "onRemoteConnectionLost")  # The page's timeout (20 s) is more than enough.
    lost_after_s = (event_times(bob, "onRemoteConnectionLost")[0] - stopped_at) / 1000
    assert REMOTE_LOST_AFTER_S <= lost_after_s <= REMOTE_LOST_WITHIN_S
    lost = events(bob)[0]
    assert lost[0] == "onRemoteConnectionLost"
    assert lost[1]["pid"] == ann_id and lost[1]["name"] == "Ann"
    ann_tile = tile(bob, ann_id)
    expect(ann_tile).to_have_attribute("data-connection-lost", "true")
    expect(ann_tile.locator(".cc-tile__lost")).to_have_text("Connection lost")
    expect(ann_tile.locator(".cc-tile__network")).to_have_attribute("data-quality", "lost")
    expect(ann_tile.locator(".cc-tile__network")).to_have_attribute("aria-label", "Connection lost")
    # Nothing else changed: she is still in the call, unmuted, camera on.
    expect(ann_tile).to_have_attribute("data-audio-muted", "false")
    expect(ann_tile).to_have_attribute("data-video-paused", "false")

    resumed_at = ann.evaluate(RESUME_SENDING)
    wait_for_event(bob, "onRemoteConnectionRestored")
    assert event_times(bob, "onRemoteConnectionRestored")[0] - resumed_at <= REMOTE_RESTORED_WITHIN_S * 1000
    expect(ann_tile).to_have_attribute("data-connection-lost", "false")
    expect(ann_tile.locator(".cc-tile__lost")).to_be_hidden()
    expect(ann_tile.locator(".cc-tile__network")).not_to_have_attribute("data-quality", "lost")
    assert event_names(bob) == names
    assert events(bob)[1][1]["pid"] == ann_id
    # Bob's silence was on purpose.
    assert event_names(ann) == []
    expect(tile(ann, bob_id)).to_have_attribute("data-connection-lost", "false")


@pytest.fixture
def restartable_server(server_env: dict[str, str], tmp_path: Path) -> Iterator[DaphneServer]:
    """A server of the test's own (own database and port) that the test may crash and start again."""
    database = tmp_path / "restart.sqlite3"
    env = {**server_env, "DATABASE_URL": f"sqlite:///{database}"}
    port = free_port()
    env["CALLS_PUBLIC_URL"] = f"http://127.0.0.1:{port}"
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=PROJECT_ROOT, env=env, check=True)
    server = DaphneServer(port, env, tmp_path / "daphne.log")
    server.start()
    yield server
    server.stop()


def manage_on(server: DaphneServer, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=PROJECT_ROOT, env=server.env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


JOINS_OF_SESSION = """
import json
from sessions_app.models import Participant
rows = Participant.objects.filter(session__session_id="{session_id}").order_by("joined_at")
print(json.dumps([[p.display_name, p.joined_at.timestamp(), p.left_at and p.left_at.timestamp(), p.leave_reason]
                  for p in rows]))
"""


def test_a_server_restart_brings_everyone_back_into_the_call(
    open_page: Callable[..., Page], restartable_server: DaphneServer
) -> None:
    """
    The server crashes (SIGKILL) and is started again as `make run` does: both browsers are back in
    the call, seeing and hearing each other, within 15 s, with no click; the call log shows the gap.
    """
    share_url = manage_on(restartable_server, "create_session", "--title", "Restart").strip().splitlines()[-1]
    session_id = share_url.rstrip("/").split("/")[-1]
    (ann, ann_id), (bob, bob_id) = Call(open_page, share_url).join_all("Ann", "Bob", until=Until.MEDIA)
    old_ids = {ann_id, bob_id}
    for page in (ann, bob):
        record(page, "onConnectionLost", "onConnectionRestored", "onSessionLeft")

    crashed_at = time.monotonic()
    restartable_server.stop(kill=True)
    manage_on(restartable_server, "close_stale_participants")
    restartable_server.start()
    for page in (ann, bob):
        page.wait_for_function(
            "() => (window.__events || []).some((e) => e[0] === 'onConnectionRestored')",
            timeout=RESTART_RECOVERY_WITHIN_S * 1000,
        )
    # Each is back on its own schedule (its reconnect backoff): the first one back sees the other once
    # the other is back too, so the tiles are checked once both are.
    left_ms = max(RESTART_RECOVERY_WITHIN_S - (time.monotonic() - crashed_at), 1) * 1000
    for page in (ann, bob):
        expect(page.locator(REMOTE_TILES)).to_have_count(1, timeout=left_ms)
    assert time.monotonic() - crashed_at < RESTART_RECOVERY_WITHIN_S
    new_ids = {local_participant_id(ann), local_participant_id(bob)}
    assert not new_ids & old_ids  # The server forgot them: they joined again, as new participants.
    for page in (ann, bob):
        expect_state(page, "joined")
        assert "onSessionLeft" not in event_names(page)
        assert [e[0] for e in events(page)][:2] == ["onConnectionLost", "onConnectionRestored"]
    wait_for_remote_media(ann, 1)
    wait_for_remote_media(bob, 1)

    output = manage_on(restartable_server, "shell", "-c", JOINS_OF_SESSION.format(session_id=session_id))
    joins = json.loads(output.strip().splitlines()[-1])
    by_name: dict[str, list[list[object]]] = {}
    for row in joins:
        by_name.setdefault(str(row[0]), []).append(row)
    for name in ("Ann", "Bob"):
        first, second = by_name[name]
        assert first[3] == "server_stopped" and first[2] is not None
        assert second[2] is None and float(second[1]) >= float(first[2])  # type: ignore[arg-type]
