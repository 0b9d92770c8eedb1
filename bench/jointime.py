"""
Join time: from ``joinSession()`` to the first remote video frame rendered in Chromium.

A synthetic publisher (an aiortc client in this process, on the real signaling websocket, the
server in its own Daphne process) is already in the call sending 640x480 VP8 at 30 fps; like a
browser, it answers a keyframe request (PLI) by starting again at a keyframe. Then, ``joins``
times, a fresh Chromium context opens the call's share page, clicks *Join now*, and the page
measures, on its own clock (``performance.now()``):

- start: the Join form's ``submit`` event (capture phase). The page's handler calls
  ``CometChatCalls.joinSession()`` synchronously from it (the SDK object is frozen, so it cannot
  be wrapped); everything the SDK does for a join is inside the interval: the guest token
  request, the websocket, getUserMedia, the server's offer, ICE, DTLS, the keyframe.
- end: the first ``requestVideoFrameCallback`` of the remote tile's ``<video>``: a frame
  handed to the compositor. (``loadeddata`` is recorded too.)

Each joiner leaves by closing its context before the next one.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from sessions_app.sfu.ice import use_host_addresses
from tests.synthetic import VIDEO_CLOCK, VIDEO_TIME_BASE, EncodedPacket, ReplayVideoTrack

from .churn import ChurnParticipant
from .media import camera_like_vp8
from .soak_server import SoakServer

TARGET_P95_MS = 500.0
CHROMIUM = "/usr/bin/chromium"
JOIN_TIMEOUT_MS = 20_000
GOP = 60

INSTRUMENT = """
() => {
  const bench = (window.__bench = { submit: null, offer: null, connected: null, firstFrame: null, loadeddata: null });
  // Phases: the server's offer arrives, the peer connection is up (ICE + DTLS), then the first frame.
  const proto = RTCPeerConnection.prototype;
  const setRemoteDescription = proto.setRemoteDescription;
  proto.setRemoteDescription = function (...args) {
    if (bench.offer === null) {
      bench.offer = performance.now();
      this.addEventListener("connectionstatechange", () => {
        if (this.connectionState === "connected" && bench.connected === null) bench.connected = performance.now();
      });
    }
    return setRemoteDescription.apply(this, args);
  };
  document.addEventListener("submit", () => { if (bench.submit === null) bench.submit = performance.now(); }, true);
  const seen = new WeakSet();
  const watch = (video) => {
    if (seen.has(video)) return;
    seen.add(video);
    video.addEventListener("loadeddata", () => {
      if (bench.loadeddata === null) bench.loadeddata = performance.now();
    });
    if ("requestVideoFrameCallback" in video) {
      video.requestVideoFrameCallback((now) => { if (bench.firstFrame === null) bench.firstFrame = now; });
    }
  };
  const remote = "#call_view_container [data-participant-id]:not([data-local]) video";
  new MutationObserver(() => document.querySelectorAll(remote).forEach(watch))
    .observe(document.documentElement, { subtree: true, childList: true });
}
"""


class KeyframeOnRequestTrack(ReplayVideoTrack):
    """Replayed VP8 that answers a keyframe request as an encoder would: the next frame is a keyframe."""

    def __init__(self, frames: list[bytes], fps: int = 30) -> None:
        super().__init__(frames, fps=fps)
        self._position = 0
        self._keyframe_wanted = False
        self.keyframes_on_request = 0

    def request_keyframe(self) -> None:
        self._keyframe_wanted = True

    async def recv(self) -> EncodedPacket:  # type: ignore[override]
        if self._start is None:
            self._start = time.monotonic()
        delay = self._start + self._index / self.fps - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        if self._keyframe_wanted:
            self._keyframe_wanted = False
            if self._position % GOP:
                self._position = 0  # the loop's first frame is a keyframe
                self.keyframes_on_request += 1
        data = self.frames[self._position % len(self.frames)]
        packet = EncodedPacket(data, self._index * (VIDEO_CLOCK // self.fps), VIDEO_TIME_BASE)
        self._index += 1
        self._position += 1
        return packet


class Publisher:
    """The synthetic publisher, on its own event loop in a thread (Playwright's sync API has the main thread)."""

    def __init__(self, server: SoakServer, session_id: str, token: str, frames: list[bytes]) -> None:
        self.server, self.session_id, self.token, self.frames = server, session_id, token, frames
        self._tasks: list[asyncio.Task[None]] = []
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.participant: ChurnParticipant | None = None
        self.track: KeyframeOnRequestTrack | None = None

    def start(self) -> None:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(60)

    async def _start(self) -> None:
        use_host_addresses(("127.0.0.1",))
        frames = self.frames
        participant = ChurnParticipant(
            "publisher", self.server.socket_url(self.session_id), self.server.origin, self.token, frames, 30
        )
        self.track = KeyframeOnRequestTrack(frames)
        participant.client.tracks["video"] = self.track
        self.participant = participant
        await participant.join()
        self._tasks.append(asyncio.ensure_future(self._hook_keyframe_requests()))

    async def _hook_keyframe_requests(self) -> None:
        """Route the sender's PLI/FIR to the track once the offer made it the sender's track."""
        assert self.participant is not None and self.track is not None
        hooked: set[int] = set()
        while True:
            for transceiver in self.participant.client.pc.getTransceivers():
                sender = transceiver.sender
                if sender.track is self.track and id(sender) not in hooked:
                    sender._send_keyframe = self.track.request_keyframe  # type: ignore[method-assign]
                    hooked.add(id(sender))
            await asyncio.sleep(0.2)

    def present(self) -> bool:
        """Whether the publisher's signaling socket is still open (a starved one is closed as silent)."""
        socket = self.participant._socket if self.participant is not None else None
        return socket is not None and socket.close_code is None

    def stop(self) -> None:
        for task in self._tasks:
            self.loop.call_soon_threadsafe(task.cancel)
        if self.participant is not None:
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(self.participant.close(), self.loop).result(15)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def since(marks: dict[str, float | None], mark: str) -> float | None:
    """Milliseconds from the Join click to ``mark``, if the page saw it."""
    at, start = marks.get(mark), marks.get("submit")
    return round(at - start, 1) if at is not None and start is not None else None


def measure_joins(
    share_url: str, joins: int, chromium_args: list[str], publisher_present: Any = lambda: True
) -> list[dict[str, Any]]:
    from playwright.sync_api import sync_playwright

    results: list[dict[str, Any]] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=chromium_args)
        try:
            for index in range(joins):
                if not publisher_present():
                    results.append({"error": "the publisher was no longer in the call"})
                    print(f"join {index}: the publisher left the call (its socket was closed)", flush=True)
                    break
                context = browser.new_context(viewport={"width": 1280, "height": 800})
                try:
                    page = context.new_page()
                    page.set_default_timeout(JOIN_TIMEOUT_MS)
                    page.goto(f"{share_url}?displayName=Joiner{index}")
                    page.wait_for_selector("#cc-join")
                    page.evaluate(INSTRUMENT)
                    page.click("#cc-join")
                    page.wait_for_function(
                        "() => window.__bench.firstFrame !== null || window.__bench.loadeddata !== null",
                        timeout=JOIN_TIMEOUT_MS,
                    )
                    page.wait_for_timeout(100)  # rVFC can trail loadeddata by a frame
                    marks = page.evaluate("() => window.__bench")
                    end = marks["firstFrame"] if marks["firstFrame"] is not None else marks["loadeddata"]
                    results.append(
                        {
                            "join_ms": round(end - marks["submit"], 1),
                            "offer_ms": since(marks, "offer"),
                            "connected_ms": since(marks, "connected"),
                            "loadeddata_ms": round(marks["loadeddata"] - marks["submit"], 1)
                            if marks["loadeddata"] is not None
                            else None,
                            "measured_by": "requestVideoFrameCallback"
                            if marks["firstFrame"] is not None
                            else "loadeddata",
                        }
                    )
                    print(f"join {index}: {results[-1]}", flush=True)
                except Exception as exc:
                    results.append({"error": repr(exc)[:300]})
                    print(f"join {index} failed: {exc!r}"[:300], flush=True)
                finally:
                    context.close()
        finally:
            browser.close()
    return results


def run(joins: int) -> dict[str, Any]:
    from tests.browser.conftest import CHROMIUM_ARGS

    with tempfile.TemporaryDirectory(prefix="calls-bench-join-") as work:
        server = SoakServer(Path(work))
        # The pages need their static files: development settings serve them without collectstatic.
        server.env.update({"DJANGO_DEBUG": "1", "CALLS_TOKEN_RATE": "10000/m", "CALLS_LOGIN_RATE": "10000/m"})
        ((session_id, tokens),) = server.prepare_sessions([1])
        server.env["CALLS_PUBLIC_URL"] = server.origin
        server.start()
        publisher = Publisher(server, session_id, tokens[0], camera_like_vp8(gop=GOP))
        try:
            publisher.start()
            time.sleep(2.0)
            results = measure_joins(f"{server.origin}/s/{session_id}/", joins, CHROMIUM_ARGS, publisher.present)
        finally:
            publisher.stop()
            server.stop()
    times = [r["join_ms"] for r in results if "join_ms" in r]
    summary: dict[str, Any] = {"joins": joins, "completed": len(times), "results": results}
    if times:
        summary.update(
            {
                "p50_ms": round(float(np.percentile(times, 50)), 1),
                "p95_ms": round(float(np.percentile(times, 95)), 1),
                "max_ms": round(max(times), 1),
            }
        )
        for phase in ("offer_ms", "connected_ms"):
            values = [r[phase] for r in results if r.get(phase) is not None]
            if values:
                summary[f"{phase[:-3]}_p50_ms"] = round(float(np.percentile(values, 50)), 1)
    summary["target_p95_ms"] = TARGET_P95_MS
    summary["met"] = bool(times) and len(times) == joins and summary["p95_ms"] <= TARGET_P95_MS
    summary["keyframes_on_request"] = publisher.track.keyframes_on_request if publisher.track else 0
    return summary
