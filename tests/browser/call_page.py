"""What the browser tests ask of a call page, through the DOM contract in docs/sdk.md."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from playwright.sync_api import Locator, Page, expect

CONTAINER = "#call_view_container"
ROOT = f"{CONTAINER} .cc-root"
REMOTE_TILES = f"{CONTAINER} [data-participant-id]:not([data-local])"
JOIN_TIMEOUT_MS = 20_000

# Every remote tile's video has a picture and is playing.
REMOTE_VIDEOS_PLAYING = """
([selector, count]) => {
  const tiles = [...document.querySelectorAll(selector)];
  return tiles.length === count && tiles.every((tile) => {
    const video = tile.querySelector("video");
    return video && !video.paused && video.videoWidth > 0 && video.currentTime > 0;
  });
}
"""

REMOTE_VIDEO_TIMES = """
(selector) => Object.fromEntries([...document.querySelectorAll(selector)].map(
  (tile) => [tile.dataset.participantId, tile.querySelector("video").currentTime]))
"""

# Every remote video has moved on by at least a second since `before`.
REMOTE_VIDEOS_ADVANCED = """
([selector, before]) => [...document.querySelectorAll(selector)].every(
  (tile) => tile.querySelector("video").currentTime > before[tile.dataset.participantId] + 1)
"""

# Every remote tile plays a live audio track.
REMOTE_AUDIO_LIVE = """
([selector, count]) => {
  const tiles = [...document.querySelectorAll(selector)];
  return tiles.length === count && tiles.every((tile) => {
    const audio = tile.querySelector("audio");
    const track = audio && audio.srcObject && audio.srcObject.getAudioTracks()[0];
    return track && track.readyState === "live" && !audio.paused;
  });
}
"""

# The loudest sample heard on each remote audio element over a few seconds (the fake microphone beeps).
REMOTE_AUDIO_PEAKS = """
async (selector) => {
  const context = new AudioContext();
  await context.resume();
  const analysers = [...document.querySelectorAll(selector)].map((tile) => {
    const analyser = context.createAnalyser();
    analyser.fftSize = 2048;
    context.createMediaStreamSource(tile.querySelector("audio").srcObject).connect(analyser);
    return [tile.dataset.participantId, analyser];
  });
  const peaks = Object.fromEntries(analysers.map(([pid]) => [pid, 0]));
  const samples = new Float32Array(2048);
  for (let i = 0; i < 40; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    for (const [pid, analyser] of analysers) {
      analyser.getFloatTimeDomainData(samples);
      for (const sample of samples) peaks[pid] = Math.max(peaks[pid], Math.abs(sample));
    }
  }
  await context.close();
  return peaks;
}
"""


# Keep every signaling socket the page opens, so a test can send what a modified client would.
KEEP_SOCKETS = """
window.__sockets = [];
const NativeWebSocket = window.WebSocket;
window.WebSocket = class extends NativeWebSocket {
  constructor(...args) {
    super(...args);
    window.__sockets.push(this);
  }
};
"""
SEND_RAW = "(message) => window.__sockets[window.__sockets.length - 1].send(JSON.stringify(message))"

# Load the SDK into any page of the site (as an app would), with a call container of its own.
LOAD_SDK = """
async () => {
  await import("/static/calls/calls.js");
  const container = document.createElement("div");
  container.id = "call_view_container";
  document.querySelector("main").replaceChildren(container);
}
"""


def load_sdk(page: Page) -> Page:
    """Import the SDK into ``page`` (not initialised) and give it an empty #call_view_container."""
    page.evaluate(LOAD_SDK)
    return page


def sdk(page: Page, body: str, arg: Any = None) -> Any:
    """
    Run ``body`` (an async function body) in ``page`` with ``calls`` (the SDK), ``container`` and
    ``arg`` in scope; return what it returns.
    """
    script = (
        "async (arg) => { const calls = window.CometChatCalls; "
        f'const container = document.getElementById("call_view_container"); {body}\n}}'
    )
    return page.evaluate(script, arg)


def join_url(share_url: str, name: str, **params: str) -> str:
    query = "&".join(f"{key}={value}" for key, value in {"skipPrejoin": "1", "displayName": name, **params}.items())
    return f"{share_url}?{query}"


def joined_as_host(open_page: Callable[..., Page], host_url: str, share_url: str, name: str, **params: Any) -> Page:
    """
    Open the call's host link (this browser context then hosts the call: it joins as a moderator),
    then the share link with skipPrejoin and ``params``; return the page once it is in the call.
    ``width``, ``height`` and ``init_script`` go to ``open_page``.
    """
    page_options = {key: params.pop(key) for key in ("width", "height", "init_script") if key in params}
    page = open_page(host_url, **page_options)
    page.goto(join_url(share_url, name, **params))
    expect_state(page, "joined")
    return page


def expect_state(page: Page, state: str) -> None:
    expect(page.locator(ROOT)).to_have_attribute("data-state", state, timeout=JOIN_TIMEOUT_MS)


def local_participant_id(page: Page) -> str:
    tile = page.locator(f'{CONTAINER} [data-participant-id][data-local="true"]')
    expect(tile).to_have_count(1)
    return tile.get_attribute("data-participant-id") or ""


def tile(page: Page, participant_id: str) -> Locator:
    return page.locator(f'{CONTAINER} [data-participant-id="{participant_id}"]')


def wait_for_remote_media(page: Page, count: int) -> None:
    """Wait until `count` remote videos play and keep playing, and their audio tracks are live."""
    page.wait_for_function(REMOTE_VIDEOS_PLAYING, arg=[REMOTE_TILES, count], timeout=JOIN_TIMEOUT_MS)
    before = page.evaluate(REMOTE_VIDEO_TIMES, REMOTE_TILES)
    page.wait_for_function(REMOTE_VIDEOS_ADVANCED, arg=[REMOTE_TILES, before], timeout=10_000)
    page.wait_for_function(REMOTE_AUDIO_LIVE, arg=[REMOTE_TILES, count], timeout=10_000)
