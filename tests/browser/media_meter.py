"""
What a page presents and what its peer connections say, measured over a window of time.

``METER_SCRIPT`` goes into a page's context as an init script (``open_page(..., init_script=...)``),
before the SDK runs. It keeps every ``RTCPeerConnection`` the SDK makes (by wrapping the
constructor) and follows every remote ``<video>`` in a tile with ``requestVideoFrameCallback``,
which fires once per frame actually put on screen: a frozen picture shows as a gap there even
when the element keeps "playing". Python reads both back with ``page.evaluate``.

Each page has its own clock (``performance.now()``); a window is marked on each page and the
figures of a page are computed on its own clock, so pages need not agree on the time.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from playwright.sync_api import Page
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

METER_SCRIPT = """
(() => {
  if (window.__meter) return;
  const MAX_FRAMES = 30000;  // about 15 minutes at 30 fps: a bound, not a limit a test reaches
  const meter = { pcs: [], frames: {}, attached: new WeakSet() };
  window.__meter = meter;

  const NativePeerConnection = window.RTCPeerConnection;
  window.RTCPeerConnection = class extends NativePeerConnection {
    constructor(...args) {
      super(...args);
      meter.pcs.push(this);
    }
  };

  // [time (ms, performance.now), videoWidth, videoHeight, presentedFrames] per presented frame.
  const follow = (video, participantId) => {
    meter.attached.add(video);
    const frames = (meter.frames[participantId] ||= []);
    const onFrame = (now, metadata) => {
      frames.push([now, video.videoWidth, video.videoHeight, metadata.presentedFrames]);
      if (frames.length > MAX_FRAMES) frames.splice(0, frames.length - MAX_FRAMES);
      video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
  };
  // Tiles come and go (and may re-render their video): look for new remote videos a few times a second.
  setInterval(() => {
    for (const tile of document.querySelectorAll("[data-participant-id]:not([data-local])")) {
      const video = tile.querySelector("video");
      if (video && !meter.attached.has(video)) follow(video, tile.dataset.participantId);
    }
  }, 200);

  // participantId -> id of the track its tile's video plays (matches inbound-rtp trackIdentifier).
  const trackIds = () => {
    const ids = {};
    for (const tile of document.querySelectorAll("[data-participant-id]:not([data-local])")) {
      const video = tile.querySelector("video");
      const track = video && video.srcObject && video.srcObject.getVideoTracks()[0];
      if (track) ids[track.id] = tile.dataset.participantId;
    }
    return ids;
  };

  meter.stats = async () => {
    const owners = trackIds();
    const inbound = {};
    const outbound = [];
    for (const pc of meter.pcs) {
      if (pc.connectionState === "closed") continue;
      const report = await pc.getStats();
      report.forEach((s) => {
        if (s.type === "inbound-rtp" && s.kind === "video") {
          const participantId = owners[s.trackIdentifier];
          if (!participantId) return;
          inbound[participantId] = {
            framesDecoded: s.framesDecoded || 0, keyFramesDecoded: s.keyFramesDecoded || 0,
            freezeCount: s.freezeCount || 0, totalFreezesDuration: s.totalFreezesDuration || 0,
            frameWidth: s.frameWidth || 0, frameHeight: s.frameHeight || 0,
            packetsLost: s.packetsLost || 0, bytesReceived: s.bytesReceived || 0,
          };
        } else if (s.type === "outbound-rtp" && s.kind === "video") {
          outbound.push({
            rid: s.rid || "", ssrc: s.ssrc, framesEncoded: s.framesEncoded || 0,
            keyFramesEncoded: s.keyFramesEncoded || 0, frameWidth: s.frameWidth || 0,
            frameHeight: s.frameHeight || 0, bytesSent: s.bytesSent || 0,
            qualityLimitationReason: s.qualityLimitationReason || "", pliCount: s.pliCount || 0,
            active: s.active !== false,
          });
        }
      });
    }
    return { now: performance.now(), inbound, outbound };
  };

  // Presented frames per remote participant between t0 and t1 (this page's clock). A callback can stand for
  // several frames (presentedFrames counts those shown between two callbacks): each callback is weighed by
  // how far presentedFrames moved since the one before, and those frames get its picture's height.
  meter.frameSummary = (t0, t1, topHeight) => {
    const summary = {};
    for (const [participantId, frames] of Object.entries(meter.frames)) {
      let presented = 0, callbacks = 0, topHeightFrames = 0, maxGap = 0, previousTime = t0, lastHeight = 0;
      const heights = {};
      frames.forEach(([t, , h, count], i) => {
        if (t < t0 || t > t1) return;
        const before = frames[i - 1];
        const weight = before && count > before[3] ? count - before[3] : 1;
        presented += weight;
        callbacks += 1;
        heights[h] = (heights[h] || 0) + weight;
        if (h === topHeight) topHeightFrames += weight;
        // A freeze at either edge counts: gaps run from t0 to the first frame and from the last to t1.
        maxGap = Math.max(maxGap, t - previousTime);
        previousTime = t;
        lastHeight = h;
      });
      maxGap = Math.max(maxGap, t1 - previousTime);
      summary[participantId] = { presented, callbacks, maxGapMs: maxGap, heights, topHeightFrames, lastHeight };
    }
    return summary;
  };

  // The height the publisher's camera captures: the top layer once the encoder has room for it.
  meter.captureHeight = () => {
    for (const pc of meter.pcs) {
      for (const sender of pc.getSenders()) {
        if (sender.track && sender.track.kind === "video") return sender.track.getSettings().height || 0;
      }
    }
    return 0;
  };

  meter.lastFrame = (participantId) => {
    const frames = meter.frames[participantId] || [];
    const last = frames[frames.length - 1];
    return last ? { t: last[0], width: last[1], height: last[2], now: performance.now() } : null;
  };
})();
"""

# True once this page has presented a frame of `participantId`'s video since `since` (its clock).
PRESENTED_SINCE = """
([participantId, since]) => (window.__meter.frames[participantId] || []).some(([t, , h]) => t > since && h > 0)
"""
# Resolves once some remote video presented a frame since `t` whose height satisfies `below` / at least.
HEIGHT_SEEN_SINCE = """
([participantId, since, height, below]) => (window.__meter.frames[participantId] || []).some(
  ([t, , h]) => t > since && h > 0 && (below ? h < height : h >= height))
"""
# True once the publisher's top layer encodes at the camera's full height and nothing holds it back.
# Playwright does not await a predicate's promise, so each poll starts a getStats() and judges the last
# one that finished.
PUBLISHER_AT_TOP = """
() => {
  const meter = window.__meter;
  if (!meter.refreshing) {
    meter.refreshing = true;
    meter.stats().then((latest) => { meter.latest = latest; }).finally(() => { meter.refreshing = false; });
  }
  const capture = meter.captureHeight();
  return Boolean(meter.latest) && capture > 0 && meter.latest.outbound.some(
    (layer) => layer.frameHeight >= capture && layer.qualityLimitationReason === "none");
}
"""
NOW = "performance.now()"
REACHED = "(t) => performance.now() >= t"


@dataclass(frozen=True)
class ViewerFigures:
    """One remote video on one viewer's page over a window."""

    participant_id: str
    seconds: float
    presented: int
    fps: float
    max_gap_ms: float
    top_height_frames: int
    heights: dict[str, int]
    keyframes_decoded: int
    frames_decoded: int
    freezes: int
    freezes_s: float
    packets_lost: int
    kbit_per_s: float
    frame_height_end: int

    def __str__(self) -> str:
        return (
            f"{self.fps:.1f} fps ({self.presented} presented, {self.top_height_frames} at top height), "
            f"max gap {self.max_gap_ms:.0f} ms, {self.frames_decoded} decoded, {self.keyframes_decoded} keyframes, "
            f"{self.freezes} freezes ({self.freezes_s:.1f} s), {self.packets_lost} lost, "
            f"{self.kbit_per_s:.0f} kbit/s, heights {self.heights}, frameHeight now {self.frame_height_end}"
        )


@dataclass(frozen=True)
class PublisherFigures:
    """The publisher's top video layer (the outbound-rtp entry with the largest frame) over a window."""

    rid: str
    layers: int
    frames_encoded: int
    keyframes_encoded: int
    height_start: int
    height_end: int
    width_end: int
    quality_limitation: str
    kbit_per_s: float
    total_kbit_per_s: float

    def __str__(self) -> str:
        return (
            f"top layer rid={self.rid!r} of {self.layers}: {self.frames_encoded} frames encoded, "
            f"{self.keyframes_encoded} keyframes, height {self.height_start} -> {self.height_end} "
            f"({self.width_end}x{self.height_end}), {self.kbit_per_s:.0f} kbit/s of {self.total_kbit_per_s:.0f} "
            f"kbit/s sent, limited by {self.quality_limitation or 'nothing'}"
        )


@dataclass(frozen=True)
class Window:
    """What every measured page showed over the same stretch of time."""

    seconds: float
    publisher: PublisherFigures
    viewers: dict[str, ViewerFigures]  # viewer name -> the publisher's video on that viewer's page


def stats(page: Page) -> dict[str, Any]:
    result: dict[str, Any] = page.evaluate("window.__meter.stats()")
    return result


def top_layer(outbound: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The publisher's largest layer (today the one encoding there is; with simulcast the top rid)."""
    if not outbound:
        raise AssertionError("the publisher sends no video (no outbound-rtp video entry)")
    return max(outbound, key=lambda layer: (layer["frameWidth"] * layer["frameHeight"], layer["framesEncoded"]))


def presents_within(page: Page, participant_id: str, timeout_ms: int) -> bool:
    """
    Whether ``page`` presents a new frame of ``participant_id``'s video within ``timeout_ms``: a fresh
    frame, not the picture left on screen. False (not an error) lets a test measure a frozen viewer.
    """
    since = page.evaluate(NOW)
    try:
        page.wait_for_function(PRESENTED_SINCE, arg=[participant_id, since], polling=100, timeout=timeout_ms)
    except PlaywrightTimeoutError:
        return False
    return True


def publisher_reaches_top(publisher: Page, timeout_ms: int) -> float | None:
    """
    Wait until the publisher encodes its top layer at the camera's full height, unhindered: a new
    publisher starts low and climbs as its bandwidth estimate (the SFU's REMB) grows. Return the
    seconds that took, or None if it did not happen within ``timeout_ms`` (the test then measures anyway).
    """
    started = time.monotonic()
    try:
        publisher.wait_for_function(PUBLISHER_AT_TOP, polling=500, timeout=timeout_ms)
    except PlaywrightTimeoutError:
        return None
    return time.monotonic() - started


def first_frame_after(
    page: Page, participant_id: str, since: float, height: int, *, below: bool, timeout_ms: int
) -> float | None:
    """
    Seconds from ``since`` (the page's clock) to the first presented frame of ``participant_id`` shorter
    than ``height`` (``below``) or at least that tall; None if none comes within ``timeout_ms``.
    """
    try:
        page.wait_for_function(
            HEIGHT_SEEN_SINCE, arg=[participant_id, since, height, below], polling=100, timeout=timeout_ms
        )
    except PlaywrightTimeoutError:
        return None
    seen: float = page.evaluate(
        """([participantId, since, height, below]) => window.__meter.frames[participantId].find(
             ([t, , h]) => t > since && h > 0 && (below ? h < height : h >= height))[0]""",
        [participant_id, since, height, below],
    )
    return (seen - since) / 1000


def measure_window(publisher: Page, viewers: dict[str, Page], publisher_id: str, seconds: float) -> Window:
    """
    Mark t0 on every page, wait ``seconds`` (on a condition, not a sleep), and return what the publisher
    encoded on its top layer and what each viewer presented of the publisher's video in between.
    """
    start_publisher = stats(publisher)
    marks = {name: (page.evaluate(NOW), stats(page)) for name, page in viewers.items()}
    wall_start = time.monotonic()
    publisher.wait_for_function(
        REACHED, arg=start_publisher["now"] + seconds * 1000, polling=250, timeout=seconds * 1000 + 10_000
    )
    end_publisher = stats(publisher)
    elapsed = time.monotonic() - wall_start

    top_start = top_layer(start_publisher["outbound"])
    top_end = next(
        (layer for layer in end_publisher["outbound"] if layer["ssrc"] == top_start["ssrc"]),
        top_layer(end_publisher["outbound"]),
    )
    publisher_seconds = (end_publisher["now"] - start_publisher["now"]) / 1000
    bytes_sent = sum(layer["bytesSent"] for layer in end_publisher["outbound"]) - sum(
        layer["bytesSent"] for layer in start_publisher["outbound"]
    )
    publisher_figures = PublisherFigures(
        rid=top_end["rid"],
        layers=len(end_publisher["outbound"]),
        frames_encoded=top_end["framesEncoded"] - top_start["framesEncoded"],
        keyframes_encoded=top_end["keyFramesEncoded"] - top_start["keyFramesEncoded"],
        height_start=top_start["frameHeight"],
        height_end=top_end["frameHeight"],
        width_end=top_end["frameWidth"],
        quality_limitation=top_end["qualityLimitationReason"],
        kbit_per_s=(top_end["bytesSent"] - top_start["bytesSent"]) * 8 / 1000 / publisher_seconds,
        total_kbit_per_s=bytes_sent * 8 / 1000 / publisher_seconds,
    )

    viewer_figures = {}
    for name, page in viewers.items():
        t0, before = marks[name]
        after = stats(page)
        t1 = after["now"]
        frames = page.evaluate(
            "([t0, t1, h]) => window.__meter.frameSummary(t0, t1, h)", [t0, t1, publisher_figures.height_end]
        )
        if publisher_id not in frames:
            raise AssertionError(f"{name} has no video of the publisher {publisher_id}: {sorted(frames)}")
        shown = frames[publisher_id]
        start = before["inbound"].get(publisher_id, {})
        end = after["inbound"].get(publisher_id, {})

        def delta(key: str, start: dict[str, Any] = start, end: dict[str, Any] = end) -> Any:
            return end.get(key, 0) - start.get(key, 0)

        window_s = (t1 - t0) / 1000
        viewer_figures[name] = ViewerFigures(
            participant_id=publisher_id,
            seconds=window_s,
            presented=shown["presented"],
            fps=shown["presented"] / window_s,
            max_gap_ms=shown["maxGapMs"],
            top_height_frames=shown["topHeightFrames"],
            heights=shown["heights"],
            keyframes_decoded=delta("keyFramesDecoded"),
            frames_decoded=delta("framesDecoded"),
            freezes=delta("freezeCount"),
            freezes_s=delta("totalFreezesDuration"),
            packets_lost=delta("packetsLost"),
            kbit_per_s=delta("bytesReceived") * 8 / 1000 / window_s,
            frame_height_end=end.get("frameHeight", 0),
        )
    return Window(seconds=elapsed, publisher=publisher_figures, viewers=viewer_figures)
