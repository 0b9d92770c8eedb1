/**
 * Adaptive stream: tell the SFU how big this page shows each remote video, so it forwards the
 * smallest simulcast layer that fills it, and nothing for a video nobody can see (LiveKit's
 * adaptiveStream). Sent as `video_views {views: [{participantId, source, width, height}]}` in
 * device pixels; 0 x 0 stands for hidden: off screen, display:none, a hidden page, or a tile that
 * shows the avatar because the camera is off.
 *
 * It watches the call view's remote tiles ([data-participant-id] without data-local; a screen
 * share's tile is "<pid>:screen") with a ResizeObserver and an IntersectionObserver, and the view
 * itself with a MutationObserver for tiles that come and go or turn their camera off.
 */

import { listenToDocument, pageHidden } from "./dom.js";

export const VIEWS_DEBOUNCE_MS = 250;
// The server allows 40 video_views per 10 s a socket: never more than one every 300 ms.
export const VIEWS_MIN_INTERVAL_MS = 300;
export const MAX_VIEWS = 200;
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

export class AdaptiveStream {
  /**
   * @param {object} options
   * @param {HTMLElement} options.root the element the call view lives in (it survives view rebuilds)
   * @param {function(Array<{participantId: string, source: string, width: number, height: number}>): void} options.send
   */
  constructor({ root, send }) {
    this._root = root;
    this._send = send;
    this._videos = new Map(); // <video> → its tile
    this._visible = new WeakMap(); // <video> → whether it intersects the viewport (IntersectionObserver's word)
    this._lastSent = "";
    this._lastSentAt = 0;
    this._timer = null;
    this._resize = null;
    this._intersection = null;
    this._mutation = null;
    this._stopVisibility = null;
  }

  start() {
    this.stop();
    this._resize = new ResizeObserver(() => this._schedule());
    this._intersection = new IntersectionObserver((entries) => {
      for (const entry of entries) this._visible.set(entry.target, entry.isIntersecting);
      this._schedule();
    });
    this._mutation = new MutationObserver(() => this._schedule());
    this._mutation.observe(this._root, { childList: true, subtree: true, attributes: true, attributeFilter: ["data-video-paused", "hidden"] });
    this._stopVisibility = listenToDocument("visibilitychange", () => this._schedule());
    this._schedule();
  }

  stop() {
    clearTimeout(this._timer);
    this._timer = null;
    for (const observer of [this._resize, this._intersection, this._mutation]) if (observer) observer.disconnect();
    this._resize = this._intersection = this._mutation = null;
    if (this._stopVisibility) this._stopVisibility();
    this._stopVisibility = null;
    this._videos.clear();
    this._lastSent = "";
    this._lastSentAt = 0;
  }

  /** Send every view again at the next opportunity (a new socket may not know them). */
  resend() {
    this._lastSent = "";
    if (this._resize) this._schedule();
  }

  _schedule() {
    if (!this._resize) return;
    clearTimeout(this._timer);
    const wait = Math.max(VIEWS_DEBOUNCE_MS, this._lastSentAt + VIEWS_MIN_INTERVAL_MS - Date.now());
    this._timer = setTimeout(() => this._flush(), wait);
  }

  _flush() {
    this._timer = null;
    if (!this._resize) return;
    this._rescan();
    const views = [...this._videos].slice(0, MAX_VIEWS).map(([video, tile]) => ({ ...viewKey(tile), ...this._size(video, tile) }));
    const text = JSON.stringify(views);
    if (text === this._lastSent) return;
    if (this._send(views) === false) return; // Not sent (the socket is closed): try again on the next change.
    this._lastSent = text;
    this._lastSentAt = Date.now();
  }

  /** Follow the remote videos now in the view; forget those gone. */
  _rescan() {
    const current = new Map();
    for (const tile of this._root.querySelectorAll(REMOTE_TILES)) {
      const video = tile.querySelector("video");
      if (video) current.set(video, tile);
    }
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
    this._videos = current;
  }

  /** Device pixels `video` takes on screen; 0 x 0 when nobody can see it. */
  _size(video, tile) {
    const hidden =
      pageHidden() || tile.dataset.videoPaused === "true" || this._visible.get(video) === false;
    if (hidden) return { width: 0, height: 0 };
    const rect = video.getBoundingClientRect();
    const ratio = window.devicePixelRatio || 1;
    return { width: Math.round(rect.width * ratio), height: Math.round(rect.height * ratio) };
  }
}
