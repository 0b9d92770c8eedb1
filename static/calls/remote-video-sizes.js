/**
 * How big the call view shows each remote video, for the adaptive stream (adaptive-stream.js):
 * device pixels, 0 x 0 when nobody can see it (off screen, display:none, a hidden page, or a tile
 * that shows the avatar because the camera is off). A part of the call view (ui.js).
 *
 * It watches the remote tiles ([data-participant-id] without data-local; a screen share's tile is
 * "<pid>:screen") with a ResizeObserver and an IntersectionObserver, and the view itself with a
 * MutationObserver for tiles that come and go or turn their camera off.
 */

import { listenToDocument, pageHidden } from "./dom.js";

const REMOTE_TILES = "[data-participant-id]:not([data-local])";
const SCREEN_SUFFIX = ":screen";

/** (participantId, source) of a tile: "<pid>:screen" is pid's screen share. */
function viewKey(tile) {
  const id = tile.dataset.participantId;
  if (tile.dataset.type === "screen-share" && id.endsWith(SCREEN_SUFFIX)) {
    return { participantId: id.slice(0, -SCREEN_SUFFIX.length), source: "screen" };
  }
  return { participantId: id, source: "video" };
}

export class RemoteVideoSizes {
  /** @param {HTMLElement} root the call view's root element */
  constructor(root) {
    this._root = root;
    this._videos = new Map(); // <video> → its tile
    this._visible = new WeakMap(); // <video> → whether it intersects the viewport (IntersectionObserver's word)
    this._resize = null;
    this._intersection = null;
    this._mutation = null;
    this._stopVisibility = null;
  }

  /**
   * Call `onChange()` whenever a size may have changed: a tile came or went or turned its camera
   * off, a video was resized or scrolled in or out of view, the page was hidden or shown. One
   * watcher at a time; returns the function that stops it.
   */
  watch(onChange) {
    this.stop();
    this._resize = new ResizeObserver(() => onChange());
    this._intersection = new IntersectionObserver((entries) => {
      for (const entry of entries) this._visible.set(entry.target, entry.isIntersecting);
      onChange();
    });
    this._mutation = new MutationObserver(() => onChange());
    this._mutation.observe(this._root, { childList: true, subtree: true, attributes: true, attributeFilter: ["data-video-paused", "hidden"] });
    this._stopVisibility = listenToDocument("visibilitychange", () => onChange());
    return () => this.stop();
  }

  stop() {
    for (const observer of [this._resize, this._intersection, this._mutation]) if (observer) observer.disconnect();
    this._resize = this._intersection = this._mutation = null;
    if (this._stopVisibility) this._stopVisibility();
    this._stopVisibility = null;
    this._videos.clear();
  }

  /** [{participantId, source: "video" | "screen", width, height}] of each remote video, in the view's order. */
  measure() {
    this._rescan();
    return [...this._videos].map(([video, tile]) => ({ ...viewKey(tile), ...this._size(video, tile) }));
  }

  /** Follow the remote videos now in the view; forget those gone. */
  _rescan() {
    const current = new Map();
    for (const tile of this._root.querySelectorAll(REMOTE_TILES)) {
      const video = tile.querySelector("video");
      if (video) current.set(video, tile);
    }
    if (this._resize) {
      for (const video of this._videos.keys()) {
        if (current.has(video)) continue;
        this._resize.unobserve(video);
        this._intersection.unobserve(video);
      }
      for (const video of current.keys()) {
        if (this._videos.has(video)) continue;
        this._resize.observe(video);
        this._intersection.observe(video);
      }
    }
    this._videos = current;
  }

  /** Device pixels `video` takes on screen; 0 x 0 when nobody can see it. */
  _size(video, tile) {
    const hidden = pageHidden() || tile.dataset.videoPaused === "true" || this._visible.get(video) === false;
    if (hidden) return { width: 0, height: 0 };
    const rect = video.getBoundingClientRect();
    const ratio = window.devicePixelRatio || 1;
    return { width: Math.round(rect.width * ratio), height: Math.round(rect.height * ratio) };
  }
}
