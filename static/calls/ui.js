/**
 * The call view: the only module (with its tile.js) that touches the call's
 * DOM inside the container. It renders what it is told and reports clicks as
 * actions; it holds no call state of its own beyond what is on screen.
 *
 * Root states (data-state): "connecting", "joined", "left", "ended", "error".
 */

import { copyText } from "./clipboard.js";
import { h, replaceChildren } from "./dom.js";
import { ErrorCode } from "./errors.js";
import { icon } from "./icons.js";
import { Tile } from "./tile.js";

const TOAST_MS = 4000;
const FEATURED_LAYOUTS = new Set(["SIDEBAR", "SPOTLIGHT"]);

const ERROR_SCREENS = {
  [ErrorCode.ERR_CALL_TERMINATED]: ["This call has ended", "The host or the server ended it. Start a new call to talk again."],
  [ErrorCode.ERR_CALL_SESSION_NOT_FOUND]: ["This call does not exist", "Check the link you were given."],
  [ErrorCode.ERROR_CALL_SESSION_ID]: ["This link is not valid", "Check the link you were given."],
  [ErrorCode.ERROR_CONNECTION_FAILED]: ["Could not connect", "Check your connection and try again."],
  [ErrorCode.ERR_GUESTS_NOT_ALLOWED]: ["This call needs a login", "Only signed-in members can join it."],
  [ErrorCode.ERROR_CALL_TOKEN]: ["Your invitation was refused", "It may have expired or been revoked."],
  [ErrorCode.ERR_TOO_MANY_REQUESTS]: ["Too many attempts", "Wait a minute, then try again."],
  [ErrorCode.ERROR_AUTH_TOKEN]: ["Your login was refused", "Sign in again to join this call."],
  [ErrorCode.AUTH_ERR_NO_ACCESS]: ["You cannot join this call", "It belongs to another app."],
};
// Why we are out of the call → what the left screen says.
const LEFT_SCREENS = {
  left: ["You left the call", "Thanks for joining."],
  disconnected: ["You were disconnected", "The connection to the call was lost."],
  removed: ["You were removed from the call", "A moderator removed you from this call."],
};

const FINAL_ERRORS = new Set([
  ErrorCode.ERR_CALL_TERMINATED,
  ErrorCode.ERR_CALL_SESSION_NOT_FOUND,
  ErrorCode.ERR_GUESTS_NOT_ALLOWED,
  ErrorCode.ERROR_AUTH_TOKEN,
  ErrorCode.AUTH_ERR_NO_ACCESS,
]);

function formatDuration(totalSeconds) {
  const hours = Math.floor(totalSeconds / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const seconds = totalSeconds % 60;
  const pad = (n) => String(n).padStart(2, "0");
  return hours ? `${hours}:${pad(minutes)}:${pad(seconds)}` : `${pad(minutes)}:${pad(seconds)}`;
}

function controlButton(action, iconName, label, extraClass = "") {
  return h(
    "button",
    { type: "button", class: `cc-btn ${extraClass}`.trim(), id: `cc-${action}`, "data-action": action, "aria-label": label, title: label },
    icon(iconName),
  );
}

export class CallView {
  /**
   * @param {HTMLElement} container
   * @param {object} options
   * @param {object} options.settings normalized SessionSettings
   * @param {string} options.shareUrl the link others join with
   * @param {function(string): void} options.onAction "toggle-audio" | "toggle-video" | "leave" | "share" | "rejoin"
   */
  constructor(container, { settings, shareUrl, onAction }) {
    this.container = container;
    this._settings = settings;
    this._shareUrl = shareUrl;
    this._onAction = onAction;
    this._voice = settings.sessionType === "VOICE";
    this._tiles = new Map();
    this._timer = null;
    this._onKeyDown = (event) => this._shortcut(event);

    this._main = h("div", { class: "cc-stage__main" });
    this._strip = h("div", { class: "cc-stage__strip" });
    this._stage = h("div", { class: "cc-stage" }, this._main, this._strip);
    this._alone = this._buildAloneHint();
    this._audioUnlock = h(
      "button",
      { type: "button", class: "cc-audio-unlock", "data-action": "enable-audio", hidden: true, onclick: () => this._unlockAudio() },
      icon("volumeUp"),
      "Click to enable audio",
    );
    this._toasts = h("div", { class: "cc-toasts", role: "status", "aria-live": "polite" });
    this._controls = this._buildControls();
    this._screen = h("div", { class: "cc-screen", hidden: true });
    this.root = h(
      "div",
      { class: "cc-root", "data-state": "connecting", "data-session-type": settings.sessionType, "data-layout": settings.layout },
      this._stage,
      this._alone,
      this._audioUnlock,
      this._toasts,
      this._controls,
      this._screen,
    );
    replaceChildren(container, this.root);
  }

  // States.

  showConnecting() {
    this._setState("connecting");
    this._showScreen(
      h("div", { class: "cc-spinner", "aria-hidden": "true" }),
      h("h2", { class: "cc-screen__title", text: "Joining the call…" }),
      this._settings.title ? h("p", { class: "cc-screen__text", text: this._settings.title }) : null,
    );
  }

  showCall() {
    this._setState("joined");
    this._screen.hidden = true;
    this._arrange();
    this._startTimer();
    document.addEventListener("keydown", this._onKeyDown);
  }

  /** The call is over for this browser: `reason` is "left", "disconnected" or "ended". */
  showLeft(reason) {
    this.root.dataset.leftReason = reason;
    this._teardownCall();
    if (reason === "ended") {
      this._setState("ended");
      this._showScreen(icon("callEnd"), h("h2", { class: "cc-screen__title", text: "This call has ended" }));
      return;
    }
    this._setState("left");
    const [title, text] = LEFT_SCREENS[reason] || LEFT_SCREENS.left;
    this._showScreen(
      icon(reason === "left" ? "callEnd" : "error"),
      h("h2", { class: "cc-screen__title", text: title }),
      h("p", { class: "cc-screen__text", text }),
      this._rejoinButton("Rejoin"),
    );
  }

  /** A join that failed: say why, and offer to try again where that can help. */
  showError(error) {
    this._teardownCall();
    const [title, text] = ERROR_SCREENS[error.code] || ["Could not join the call", error.message];
    const retry = !FINAL_ERRORS.has(error.code);
    this._setState(error.code === ErrorCode.ERR_CALL_TERMINATED ? "ended" : "error");
    this._showScreen(
      icon("error"),
      h("h2", { class: "cc-screen__title", text: title }),
      h("p", { class: "cc-screen__text", text }),
      h("p", { class: "cc-screen__code", text: error.code }),
      retry ? this._rejoinButton("Try again") : null,
    );
  }

  destroy() {
    this._teardownCall();
    this.root.remove();
  }

  // Participants and media.

  addParticipant(participant) {
    if (this._tiles.has(participant.pid)) {
      this.updateParticipant(participant);
      return;
    }
    const tile = new Tile(participant, {
      voice: this._voice,
      onAudioBlocked: () => (this._audioUnlock.hidden = false),
      audioOutputDeviceId: this._settings.audioOutputDeviceId,
    });
    this._tiles.set(participant.pid, tile);
    this._arrange();
  }

  updateParticipant(participant) {
    const tile = this._tiles.get(participant.pid);
    if (tile) tile.update(participant);
  }

  removeParticipant(pid) {
    const tile = this._tiles.get(pid);
    if (!tile) return;
    tile.destroy();
    this._tiles.delete(pid);
    this._arrange();
  }

  /** Play a participant's audio or video track in their tile. */
  setTrack(pid, kind, track) {
    const tile = this._tiles.get(pid);
    if (!tile) return;
    if (kind === "audio") tile.setAudioTrack(track);
    else tile.setVideoTrack(track);
  }

  /** Reflect the local microphone and camera on the control bar. */
  setLocalMedia({ audioMuted, videoPaused }) {
    const audio = this._controls.querySelector('[data-action="toggle-audio"]');
    const audioLabel = audioMuted ? "Turn on microphone" : "Turn off microphone";
    this._setButton(audio, audioMuted ? "micOff" : "mic", audioLabel, audioMuted);
    const video = this._controls.querySelector('[data-action="toggle-video"]');
    if (video) {
      const videoLabel = videoPaused ? "Turn on camera" : "Turn off camera";
      this._setButton(video, videoPaused ? "videocamOff" : "videocam", videoLabel, videoPaused);
    }
  }

  setAudioOutput(deviceId) {
    for (const tile of this._tiles.values()) tile.setAudioOutput(deviceId);
  }

  notify(text) {
    const toast = h("div", { class: "cc-toast", text });
    this._toasts.append(toast);
    setTimeout(() => toast.remove(), TOAST_MS);
  }

  // Building blocks.

  _buildControls() {
    const s = this._settings;
    const buttons = [
      s.hideToggleAudioButton ? null : controlButton("toggle-audio", "mic", "Turn off microphone"),
      s.hideToggleVideoButton || this._voice ? null : controlButton("toggle-video", "videocam", "Turn off camera"),
      s.hideShareInviteButton ? null : controlButton("share", "link", "Copy the link to this call"),
      s.hideLeaveSessionButton ? null : controlButton("leave", "callEnd", "Leave call", "cc-btn--leave"),
    ];
    this._timerText = h("span", { class: "cc-controls__timer", hidden: s.hideSessionTimer, text: "00:00" });
    this._count = h("span", { class: "cc-controls__count-number", text: "1" });
    const bar = h(
      "div",
      { class: "cc-controls", role: "toolbar", "aria-label": "Call controls", hidden: s.hideControlPanel },
      h("div", { class: "cc-controls__info" }, this._timerText, s.title ? h("span", { class: "cc-controls__title", text: s.title }) : null),
      h("div", { class: "cc-controls__buttons" }, buttons),
      h("div", { class: "cc-controls__meta", title: "People in the call" }, icon("people"), this._count),
    );
    bar.addEventListener("click", (event) => {
      const button = event.target.closest("[data-action]");
      if (button && bar.contains(button)) this._onAction(button.dataset.action);
    });
    return bar;
  }

  _buildAloneHint() {
    const field = h("input", { class: "cc-field cc-alone__link", type: "text", readOnly: true, value: this._shareUrl, "aria-label": "Link to this call" });
    const copy = h(
      "button",
      { type: "button", class: "cc-button cc-button--secondary", "data-action": "copy-link" },
      icon("copy"),
      h("span", { text: "Copy link" }),
    );
    copy.addEventListener("click", () => this.copyShareLink(field));
    return h(
      "div",
      { class: "cc-alone", hidden: true },
      h("h2", { class: "cc-alone__title", text: "You're the only one here" }),
      h("p", { class: "cc-alone__text", text: "Share this link with the people you want in the call." }),
      h("div", { class: "cc-alone__row" }, field, copy),
    );
  }

  /** Copy the share link and say so. */
  async copyShareLink(field = null) {
    const copied = await copyText(this._shareUrl, field);
    this.notify(copied ? "Link copied" : "Copy the link from the box above");
  }

  _rejoinButton(label) {
    return h(
      "button",
      { type: "button", class: "cc-button cc-button--primary", "data-action": "rejoin", onclick: () => this._onAction("rejoin") },
      icon("replay"),
      h("span", { text: label }),
    );
  }

  _setButton(button, iconName, label, off) {
    if (!button) return;
    button.replaceChildren(icon(iconName));
    button.setAttribute("aria-label", label);
    button.title = label;
    button.dataset.off = String(off);
  }

  _setState(state) {
    this.root.dataset.state = state;
  }

  _showScreen(...children) {
    replaceChildren(this._screen, h("div", { class: "cc-screen__card" }, children));
    this._screen.hidden = false;
    const focusable = this._screen.querySelector("button");
    if (focusable) focusable.focus();
  }

  /**
   * Lay the tiles out. TILE: one grid. SIDEBAR / SPOTLIGHT: the first remote
   * participant in the main area, everyone else in the strip. Moving a
   * playing element within one task does not pause it.
   */
  _arrange() {
    const tiles = [...this._tiles.values()];
    const featured = FEATURED_LAYOUTS.has(this._settings.layout) && tiles.length > 1 ? tiles.find((t) => !t.isLocal) : null;
    for (const tile of tiles) {
      const parent = !featured || tile === featured ? this._main : this._strip;
      if (tile.element.parentNode !== parent) parent.append(tile.element);
    }
    this._main.dataset.count = String(this._main.children.length);
    this._stage.dataset.featured = String(Boolean(featured));
    this._count.textContent = String(tiles.length);
    this._alone.hidden = tiles.length !== 1 || this.root.dataset.state !== "joined";
  }

  async _unlockAudio() {
    const results = await Promise.all([...this._tiles.values()].map((tile) => tile.playAudio()));
    this._audioUnlock.hidden = results.every(Boolean);
  }

  _startTimer() {
    const started = Date.now();
    const tick = () => (this._timerText.textContent = formatDuration(Math.floor((Date.now() - started) / 1000)));
    tick();
    this._timer = setInterval(tick, 1000);
  }

  /** Meet's shortcuts: Ctrl/⌘+D toggles the microphone, Ctrl/⌘+E the camera. */
  _shortcut(event) {
    if (!(event.ctrlKey || event.metaKey) || event.altKey || event.shiftKey) return;
    const action = { d: "toggle-audio", e: "toggle-video" }[event.key.toLowerCase()];
    if (!action || !this._controls.querySelector(`[data-action="${action}"]`)) return;
    event.preventDefault();
    this._onAction(action);
  }

  _teardownCall() {
    clearInterval(this._timer);
    this._timer = null;
    document.removeEventListener("keydown", this._onKeyDown);
    for (const tile of this._tiles.values()) tile.destroy();
    this._tiles.clear();
    this._alone.hidden = true;
    this._audioUnlock.hidden = true;
    this._controls.hidden = true;
  }
}
