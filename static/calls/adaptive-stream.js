/**
 * Adaptive stream: tell the SFU how big this page shows each remote video, so it forwards the
 * smallest simulcast layer that fills it, and nothing for a video nobody can see (LiveKit's
 * adaptiveStream). Sent as `video_views {views: [{participantId, source, width, height}]}` in
 * device pixels; 0 x 0 stands for hidden: off screen, display:none, a hidden page, or a tile that
 * shows the avatar because the camera is off.
 *
 * The call view measures (`remoteVideoSizes`, remote-video-sizes.js) and says when the sizes may
 * have changed (`watchRemoteVideos`); this decides when to send: debounced, rate-limited, and
 * only what changed.
 */

export const VIEWS_DEBOUNCE_MS = 250;
// The server allows 40 video_views per 10 s a socket: never more than one every 300 ms.
export const VIEWS_MIN_INTERVAL_MS = 300;
export const MAX_VIEWS = 200;

export class AdaptiveStream {
  /**
   * @param {object} options
   * @param {function(Array<{participantId: string, source: string, width: number, height: number}>): (boolean|void)} options.send
   *   false when it could not send (the socket is closed)
   */
  constructor({ send }) {
    this._send = send;
    this._view = null;
    this._stopWatching = null;
    this._lastSent = "";
    this._lastViews = [];
    this._lastSentAt = 0;
    this._timer = null;
  }

  /** Follow the remote videos of `view` (ui.js's CallView) until stop(). */
  start(view) {
    this.stop();
    this._view = view;
    this._stopWatching = view.watchRemoteVideos(() => this._schedule());
    this._schedule();
  }

  stop() {
    clearTimeout(this._timer);
    this._timer = null;
    if (this._stopWatching) this._stopWatching();
    this._stopWatching = null;
    this._view = null;
    this._lastSent = "";
    this._lastViews = [];
    this._lastSentAt = 0;
  }

  /** Whether the SFU was last told that this page shows `participantId`'s camera nowhere (0 x 0): it forwards none of it. */
  cameraHidden(participantId) {
    return this._lastViews.some((view) => view.participantId === participantId && view.source === "video" && !(view.width > 0 && view.height > 0));
  }

  /** Send every view again at the next opportunity (a new socket may not know them). */
  resend() {
    this._lastSent = "";
    if (this._view) this._schedule();
  }

  _schedule() {
    if (!this._view) return;
    clearTimeout(this._timer);
    const wait = Math.max(VIEWS_DEBOUNCE_MS, this._lastSentAt + VIEWS_MIN_INTERVAL_MS - Date.now());
    this._timer = setTimeout(() => this._flush(), wait);
  }

  _flush() {
    this._timer = null;
    if (!this._view) return;
    const views = this._view.remoteVideoSizes().slice(0, MAX_VIEWS);
    const text = JSON.stringify(views);
    if (text === this._lastSent) return;
    if (this._send(views) === false) return; // Not sent (the socket is closed): try again on the next change.
    this._lastSent = text;
    this._lastViews = views;
    this._lastSentAt = Date.now();
  }
}
