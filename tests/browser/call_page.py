"""What the browser tests ask of a call page, through the DOM contract in docs/sdk.md."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any, NamedTuple

from playwright.sync_api import Browser, Locator, Page, expect

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

# Keep every RTCPeerConnection the page makes, so a test can reach its senders.
KEEP_PEER_CONNECTIONS = """
window.__pcs = [];
const NativePeerConnection = window.RTCPeerConnection;
window.RTCPeerConnection = class extends NativePeerConnection {
  constructor(...args) {
    super(...args);
    window.__pcs.push(this);
  }
};
"""

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
    ``arg`` in scope; return what it returns, in its JSON form (an error as its ``toJSON()``).
    """
    script = (
        "async (arg) => { const calls = window.CometChatCalls; "
        'const container = document.getElementById("call_view_container"); '
        f"const result = await (async () => {{ {body}\n}})(); "
        "return result === undefined ? null : JSON.parse(JSON.stringify(result)); }"
    )
    return page.evaluate(script, arg)


def join_with_token(page: Page, app_id: str, host: str, token: str, settings: dict[str, Any] | None = None) -> Any:
    """
    In ``page`` (the SDK loaded with ``load_sdk``), ``init`` for ``app_id`` on ``host`` and join with
    the call ``token`` and ``settings``, as an app does; return joinSession's data once in the call.
    """
    result = sdk(
        page,
        """
        const ready = await calls.init({appId: arg.appId, region: "us", host: arg.host});
        if (!ready.success) return {data: null, error: ready.error};
        return await calls.joinSession(arg.token, arg.settings, container);
        """,
        {"appId": app_id, "host": host, "token": token, "settings": settings or {}},
    )
    assert result["error"] is None, result
    expect_state(page, "joined")
    return result["data"]


def join_url(share_url: str, name: str, **params: str) -> str:
    query = "&".join(f"{key}={value}" for key, value in {"skipPrejoin": "1", "displayName": name, **params}.items())
    return f"{share_url}?{query}"


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


def joining(
    open_page: Callable[..., Page],
    share_url: str,
    name: str,
    *,
    host_url: str | None = None,
    width: int = 1280,
    height: int = 800,
    on: Browser | None = None,
    init_script: str | None = None,
    **params: str,
) -> Page:
    """
    Open the share link with skipPrejoin, ``name`` and ``params`` as a new person; return the page, which
    is on its way into the call. With ``host_url`` the page opens the call's host link first, so this
    browser context hosts the call (it joins as a moderator). ``width``, ``height``, ``on`` and
    ``init_script`` go to ``open_page``.
    """
    page = open_page(host_url or join_url(share_url, name, **params), width, height, on=on, init_script=init_script)
    if host_url:
        page.goto(join_url(share_url, name, **params))
    return page


def joined(open_page: Callable[..., Page], share_url: str, name: str, **options: Any) -> Page:
    """``joining``, and return the page once it is in the call."""
    page = joining(open_page, share_url, name, **options)
    expect_state(page, "joined")
    return page


class Person(NamedTuple):
    """Someone in a call: their page and the participant ID it joined as."""

    page: Page
    participant_id: str


class Until(Enum):
    """How far ``Call.join_all`` waits once everyone is in the call."""

    JOINED = "joined"
    # Every page shows each other person's tile, and no one else's.
    TILES = "tiles"
    # Every page plays each other person's video and audio (wait_for_remote_media).
    MEDIA = "media"


@dataclass(frozen=True)
class Call:
    """A session on the test server that people join through its share link, each in a context of their own."""

    open_page: Callable[..., Page]
    share_url: str
    host_url: str | None = None

    @property
    def session_id(self) -> str:
        return self.share_url.rstrip("/").rsplit("/", 1)[-1]

    def join(self, name: str, *, host: bool = False, **options: Any) -> Person:
        """
        ``name`` joins with skipPrejoin (as the call's host with ``host``); ``options`` are ``joining``'s:
        the page's size and init script, and the link's parameters.
        """
        return self._in_call(self._open(name, host=host, **options))

    def join_all(self, *names: str, at_once: bool = False, until: Until = Until.JOINED, **options: Any) -> list[Person]:
        """
        Everyone in ``names`` joins with the same ``options``: one after the other, or ``at_once`` (every
        page is opened before any is waited for). Once all are in the call, wait ``until`` they see (or
        see and hear) each other; ``names`` must then be everyone in the call.
        """
        if at_once:
            people = [self._in_call(page) for page in [self._open(name, **options) for name in names]]
        else:
            people = [self.join(name, **options) for name in names]
        for person in people:
            others = [other.participant_id for other in people if other is not person]
            if until is Until.TILES:
                for participant_id in others:
                    expect(tile(person.page, participant_id)).to_have_count(1)
                expect(person.page.locator(REMOTE_TILES)).to_have_count(len(others))
            elif until is Until.MEDIA:
                wait_for_remote_media(person.page, len(others))
        return people

    def _open(self, name: str, *, host: bool = False, **options: Any) -> Page:
        if host and self.host_url is None:
            raise ValueError("This call has no host link.")
        return joining(self.open_page, self.share_url, name, host_url=self.host_url if host else None, **options)

    @staticmethod
    def _in_call(page: Page) -> Person:
        expect_state(page, "joined")
        return Person(page, local_participant_id(page))


# The SDK's events and actions as tests drive them.

# Record every event named in `names` into window.__events as [name, argument, root's state and layout].
RECORD_EVENTS = """
(names) => {
  window.__events = window.__events || [];
  for (const name of names) {
    window.CometChatCalls.addEventListener(name, (arg) => {
      const root = document.querySelector("#call_view_container .cc-root");
      window.__events.push([name, arg === undefined ? null : JSON.parse(JSON.stringify(arg)),
        root.dataset.state, root.dataset.layout]);
    });
  }
}
"""


def record(page: Page, *names: str) -> None:
    page.evaluate(RECORD_EVENTS, list(names))


def events(page: Page) -> list[list[Any]]:
    return page.evaluate("window.__events || []")


def event_names(page: Page) -> list[str]:
    return [event[0] for event in events(page)]


def wait_for_event(page: Page, name: str) -> None:
    page.wait_for_function("(name) => (window.__events || []).some((e) => e[0] === name)", arg=name)


# `settled(promise)` in a page: what the SDK's promise came to, as {data, error}.
SETTLED = """
const settled = async (promise) => {
  try {
    const data = await promise;
    return { data: data === undefined ? null : data, error: null };
  } catch (error) {
    return { data: null, error };
  }
};
"""


def call(page: Page, expression: str, arg: Any = None) -> Any:
    """Run ``calls.<expression>`` in ``page``; return ``{data, error}``: what it resolved, or how it rejected."""
    return sdk(page, f"{SETTLED} return settled(calls.{expression});", arg)


def button(page: Page, action: str) -> Locator:
    return page.locator(f'{CONTAINER} .cc-controls [data-action="{action}"]')


def last_event_arg(page: Page, name: str) -> Any:
    return [e[1] for e in events(page) if e[0] == name][-1]
