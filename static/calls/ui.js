/**
 * The call view: the only module (with its tile.js and remote-video-sizes.js)
 * that touches the call's DOM inside the container. It renders what it is
 * told, reports clicks as actions, and measures the remote videos for the
 * adaptive stream; it holds no call state of its own beyond what is on screen.
 *
 * Root states (data-state): "connecting", "joined", "left", "ended", "error".
 */

import { copyText } from "./clipboard.js";
import { ControlBar, Header } from "./controls.js";
import { h, listenToDocument, replaceChildren } from "./dom.js";
import { ErrorCode } from "./errors.js";
import { icon } from "./icons.js";
import { ChatPanel } from "./chat-panel.js";
import { ParticipantPanel } from "./participant-panel.js";
import { RemoteVideoSizes } from "./remote-video-sizes.js";
import { SettingsDialog } from "./settings-dialog.js";
import { Tile } from "./tile.js";
import { ParticipantMenu } from "./tile-menu.js";

const TOAST_MS = 4000;
const FEATURED_LAYOUTS = new Set(["SIDEBAR", "SPOTLIGHT"]);

/** The tile of `pid`'s screen share. */
function screenTileId(pid) {
  return `${pid}:screen`;
}

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
// Errors whose screen depends on details.reason.
const REASON_SCREENS = {
  removed: ["You were removed from this call", "A moderator removed you. You can join again only if they let you back in."],
  replaced: ["You joined this call from another tab or device", "This tab left the call."],
};
// Why we are out of the call → what the left screen says.
const LEFT_SCREENS = {
  left: ["You left the call", "Thanks for joining."],
  disconnected: ["You were disconnected", "The connection to the call was lost."],
  removed: ["You were removed from this call", "A moderator removed you. You can join again only if they let you back in."],
  replaced: ["You joined this call from another tab or device", "This tab left the call so that the other one could join."],
  timedOut: ["You left the call", "Nobody else was here, so the call ended for you."],
  peerLeft: ["The call has ended", "The other person left the call."],
};

// Leave reasons after which joining again would only be refused.
const NO_REJOIN = new Set(["removed"]);
const FINAL_ERRORS = new Set([
  ErrorCode.ERR_CALL_TERMINATED,
  ErrorCode.ERR_CALL_SESSION_NOT_FOUND,
  ErrorCode.ERR_GUESTS_NOT_ALLOWED,
  ErrorCode.ERROR_AUTH_TOKEN,
  ErrorCode.AUTH_ERR_NO_ACCESS,
]);

/** [title, text] of the screen for a failed join. */
function errorScreen(error) {
  const reason = error.details && error.details.reason;
  if (reason && REASON_SCREENS[reason]) return REASON_SCREENS[reason];
  if (error.errorCode === ErrorCode.ERR_CALL_FULL) {
    const most = Number(error.details && error.details.maxParticipants);
    const people = most === 1 ? "1 person" : `${most} people`;
    return [most > 0 ? `This call is full (${people})` : "This call is full", "Try again when someone has left."];
  }
  return ERROR_SCREENS[error.errorCode] || ["Could not join the call", error.message];
}

export class CallView {
  /**
   * @param {HTMLElement} container
   * @param {object} options
   * @param {object} options.settings normalized SessionSettings
   * @param {string} options.shareUrl the link others join with
   * @param {function(string, string=): void} options.onAction (action, participantId?): "toggle-audio" |
   *   "toggle-video" | "switch-camera" | "leave" | "share" | "change-layout" | "participant-list" |
   *   "close-participant-list" | "pin" | "unpin" | "mute-participant" | "pause-participant-video" | "stay" | "rejoin" |
   *   "raise-hand" | "screen-share" | "end-for-all" | "chat" | "close-chat" | "send-chat" (second argument: the text) |
   *   "settings" | "close-settings" | "choose-device" (second argument: {kind, deviceId})
   */
  constructor(container, { settings, shareUrl, onAction, loadParticipantRows }) {
    this.container = container;
    this._settings = settings;
    this._shareUrl = shareUrl;
    this._onAction = onAction;
    this._voice = settings.sessionType === "VOICE";
    this._layout = settings.layout;
    this._pinned = "";
    this._speaker = "";
    this._featured = null;
    this._moderator = false;
    this._tiles = new Map();
    this._onKeyDown = (event) => this._shortcut(event);
    this._stopShortcuts = null;

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
    this._reconnecting = h(
      "div",
      { class: "cc-reconnecting", role: "status", "aria-live": "assertive", hidden: true },
      h("div", { class: "cc-spinner cc-spinner--small", "aria-hidden": "true" }),
      h("span", { text: "Reconnecting…" }),
    );
    // Everyone sees that the call is being recorded (as the law in many places requires), unless the page hides it.
    this._recordingIndicator = h(
      "div",
      { class: "cc-recording-indicator", role: "status", hidden: true },
      h("span", { class: "cc-recording-indicator__dot", "aria-hidden": "true" }),
      h("span", { text: "This call is being recorded" }),
    );
    this._header = new Header(settings);
    this._controls = new ControlBar({ settings, voice: this._voice, onAction: (action) => this._onAction(action) });
    this._screen = h("div", { class: "cc-screen", hidden: true });
    this.root = h("div", {
      class: "cc-root",
      "data-state": "connecting",
      "data-session-type": settings.sessionType,
      "data-layout": settings.layout,
    });
    this._menu = settings.enableParticipantContextMenu
      ? new ParticipantMenu({ root: this.root, voice: this._voice, onAction: (action, pid) => this._onAction(action, pid) })
      : null;
    this._panel = new ParticipantPanel({
      voice: this._voice,
      menu: Boolean(this._menu),
      openMenu: (button, participant) => this._menu.open(button, participant),
      onAction: (action, pid) => this._onAction(action, pid),
      onClose: () => this._onAction("close-participant-list"),
      loadRows: loadParticipantRows,
    });
    this._chat = settings.hideChatButton
      ? null
      : new ChatPanel({ onSend: (text) => this._onAction("send-chat", text), onClose: () => this._onAction("close-chat") });
    this._settingsDialog = new SettingsDialog({
      voice: this._voice,
      onChoose: (kind, deviceId) => this._onAction("choose-device", { kind, deviceId }),
      onClose: () => this._onAction("close-settings"),
    });
    this._idle = null;
    this._body = h("div", { class: "cc-body" }, this._stage, this._panel.element, this._chat ? this._chat.element : null, this._alone);
    this.root.append(
      this._header.element,
      this._body,
      this._audioUnlock,
      this._reconnecting,
      this._recordingIndicator,
      this._toasts,
      this._controls.element,
      this._menu ? this._menu.element : null,
      this._settingsDialog.element,
      this._screen,
    );
    this._videoSizes = new RemoteVideoSizes(this.root);
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

  /** "reconnecting" while the link to the call is being restored, "connected" otherwise. */
  setConnectionState(state) {
    this.root.dataset.connection = state;
    this._reconnecting.hidden = state !== "reconnecting";
  }

  showCall() {
    this._setState("joined");
    this._screen.hidden = true;
    this._arrange();
    this._header.start();
    if (!this._stopShortcuts) this._stopShortcuts = listenToDocument("keydown", this._onKeyDown);
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
      NO_REJOIN.has(reason) ? null : this._rejoinButton(reason === "replaced" ? "Join here instead" : "Rejoin"),
    );
  }

  /** A join that failed: say why, and offer to try again where that can help. */
  showError(error) {
    this._teardownCall();
    const [title, text] = errorScreen(error);
    const retry = !FINAL_ERRORS.has(error.errorCode);
    this._setState(error.errorCode === ErrorCode.ERR_CALL_TERMINATED ? "ended" : "error");
    this._showScreen(
      icon("error"),
      h("h2", { class: "cc-screen__title", text: title }),
      h("p", { class: "cc-screen__text", text }),
      h("p", { class: "cc-screen__code", text: error.errorCode }),
      retry ? this._rejoinButton("Try again") : null,
    );
  }

  destroy() {
    this._teardownCall();
    this._videoSizes.stop();
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
      networkIndicator: !this._settings.hideNetworkIndicator,
      onAudioBlocked: () => (this._audioUnlock.hidden = false),
      audioOutputDeviceId: this._audioOutputDeviceId ?? this._settings.audioOutputDeviceId,
      openMenu: this._menu ? (button, current) => this._menu.open(button, current) : null,
      onAllow: this._menu ? (pid) => this._onAction("allow-participant-audio", pid) : null,
    });
    tile.setViewerModerator(this._moderator);
    this._tiles.set(participant.pid, tile);
    this._arrange();
  }

  updateParticipant(participant) {
    const tile = this._tiles.get(participant.pid);
    if (tile) tile.update(participant);
  }

  /** The participant list changed: re-render the panel (you first). */
  setParticipants(participants) {
    this._panel.render(participants);
    if (this._menu && this._menu.isOpen && !participants.some((p) => p.pid === this._menu.element.dataset.pid)) this._menu.close(false);
  }

  removeParticipant(pid) {
    this.removeScreen(pid);
    const tile = this._tiles.get(pid);
    if (!tile) return;
    tile.destroy();
    this._tiles.delete(pid);
    this._arrange();
  }

  /** Show `participant`'s screen share as a tile of its own ("<pid>:screen", data-type="screen-share"). */
  setScreenTrack(participant, track) {
    const id = screenTileId(participant.pid);
    let tile = this._tiles.get(id);
    if (!tile) {
      tile = new Tile({ ...participant, pid: id, type: "screen-share" }, { voice: false, onAudioBlocked: () => {}, audioOutputDeviceId: "" });
      this._tiles.set(id, tile);
      this._arrange();
    }
    tile.setVideoTrack(track);
  }

  removeScreen(pid) {
    const id = screenTileId(pid);
    const tile = this._tiles.get(id);
    if (!tile) return;
    tile.destroy();
    this._tiles.delete(id);
    this._arrange();
  }

  /** The dominant speaker ("" for nobody): a ring on their tile; SPOTLIGHT and SIDEBAR feature them. */
  setSpeaker(pid) {
    this._speaker = pid;
    for (const tile of this._tiles.values()) tile.setSpeaking(!tile.isScreen && tile.pid === pid);
    this._arrange();
  }

  /** participantId → {level: "good" | "fair" | "poor", loss, videoHeight} (netquality.js). */
  setNetworkQuality(samples) {
    for (const [pid, sample] of samples) {
      const tile = this._tiles.get(pid);
      if (tile) tile.setNetworkQuality(sample);
    }
  }

  /** In a peer call, `pid`'s media no longer reaches us (remote-connection.js): their tile says so. */
  setConnectionLost(pid, lost) {
    const tile = this._tiles.get(pid);
    if (tile) tile.setConnectionLost(lost);
  }

  setHandRaised(raised) {
    this._controls.setHandRaised(raised);
  }

  /**
   * Our own participant's role: moderators get the moderation controls (end for all, the menu's
   * moderation items, "Allow to speak"); nobody else has them on screen at all.
   */
  setLocalRole(me) {
    this._moderator = me.role === "moderator";
    // The DOM keeps the server's names (as the participant list's rows do): "moderator" or "participant".
    this.root.dataset.role = this._moderator ? "moderator" : "participant";
    this.root.dataset.guest = String(Boolean(me.isGuest));
    this._controls.setModerator(this._moderator);
    if (this._menu) this._menu.setModerator(this._moderator);
    this._panel.setModerator(this._moderator && Boolean(this._menu));
    for (const tile of this._tiles.values()) tile.setViewerModerator(this._moderator);
  }

  setScreenSharing(sharing) {
    this._controls.setScreenSharing(sharing);
  }

  /** The call is (or is no longer) being recorded: the indicator, and a moderator's record button. */
  setRecording(recording) {
    this.root.dataset.recording = String(recording);
    this._recordingIndicator.hidden = !recording || this._settings.hideRecordingStatusIndicator;
    this._controls.setRecording(recording);
  }

  get chatOpen() {
    return Boolean(this._chat && this._chat.isOpen);
  }

  setChatOpen(open) {
    if (!this._chat) return;
    if (open) this.setParticipantListOpen(false);
    this._chat.setOpen(open);
    this._controls.setChatOpen(open);
    if (open) this.root.dataset.panel = "chat";
    else if (this.root.dataset.panel === "chat") this.root.dataset.panel = "";
  }

  addChatMessage(message) {
    if (this._chat) this._chat.add(message);
  }

  setChatUnread(count) {
    this._controls.setUnread(count);
  }

  /** Play a participant's audio or video track in their tile. */
  setTrack(pid, kind, track) {
    const tile = this._tiles.get(pid);
    if (!tile) return;
    if (kind === "audio") tile.setAudioTrack(track);
    else tile.setVideoTrack(track);
  }

  /**
   * Each remote video on screen (a screen share's too), in the view's order:
   * [{participantId, source: "video" | "screen", width, height}] in device pixels, 0 x 0 when nobody
   * can see it (off screen, display:none, a hidden page, the camera off). For the adaptive stream.
   */
  remoteVideoSizes() {
    return this._videoSizes.measure();
  }

  /** Call `onChange()` whenever remoteVideoSizes() may have changed; returns the function that stops it. */
  watchRemoteVideos(onChange) {
    return this._videoSizes.watch(onChange);
  }

  /** Reflect the local microphone and camera on the control bar. */
  setLocalMedia(state) {
    this._controls.setLocalMedia(state);
  }

  /** Play remote audio on the speaker `deviceId`; rejects if the browser cannot. */
  async setAudioOutput(deviceId) {
    this._audioOutputDeviceId = deviceId;
    await Promise.all([...this._tiles.values()].map((tile) => tile.setAudioOutput(deviceId)));
  }

  setLayout(layout) {
    this._layout = layout;
    this.root.dataset.layout = layout;
    this._controls.setLayout(layout);
    this._arrange();
  }

  /** Feature `pid` on this screen ("" for nobody): their tile, or with `type` "screen-share" their screen share's. */
  setPinned(pid, type = "human") {
    this._pinned = pid && type === "screen-share" ? screenTileId(pid) : pid;
    this._arrange();
  }

  /** The settings dialog, shown with `devices` ({audioInput, videoInput, audioOutput}: each {list, current}). */
  showSettings(devices) {
    this._settingsDialog.show(devices);
    this._controls.setSettingsOpen(true);
  }

  hideSettings() {
    const wasOpen = this._settingsDialog.isOpen;
    this._settingsDialog.hide();
    this._controls.setSettingsOpen(false);
    // Focus goes back where it came from, as after any dialog.
    if (wasOpen) {
      const button = this._controls.element.querySelector('[data-action="settings"]');
      if (button && this.root.dataset.state === "joined") button.focus();
    }
  }

  get settingsOpen() {
    return this._settingsDialog.isOpen;
  }

  setParticipantListOpen(open) {
    if (open && this._chat && this._chat.isOpen) this._onAction("close-chat");
    this._panel.setOpen(open);
    this._controls.setListOpen(open);
    if (open) this.root.dataset.panel = "participants";
    else if (this.root.dataset.panel === "participants") this.root.dataset.panel = "";
  }

  /** "Still there?": shown when alone for a while; Stay keeps the call, else it ends in `ms`. */
  showIdlePrompt(ms) {
    this.hideIdlePrompt();
    const title = h("h2", { class: "cc-idle__title", id: "cc-idle-title", text: "Still there?" });
    const text = h("p", {
      class: "cc-idle__text",
      id: "cc-idle-text",
      text: `You're the only one here. You'll leave the call in ${Math.ceil(ms / 1000)} seconds unless you stay.`,
    });
    const stay = h("button", { type: "button", class: "cc-button cc-button--primary", "data-action": "stay", text: "Stay", onclick: () => this._onAction("stay") });
    const leave = h("button", { type: "button", class: "cc-button cc-button--secondary", "data-action": "idle-leave", text: "Leave now", onclick: () => this._onAction("leave") });
    this._idle = h(
      "div",
      { class: "cc-idle", role: "alertdialog", "aria-modal": "false", "aria-labelledby": "cc-idle-title", "aria-describedby": "cc-idle-text" },
      title,
      text,
      h("div", { class: "cc-idle__actions" }, leave, stay),
    );
    this.root.append(this._idle);
    stay.focus();
  }

  hideIdlePrompt() {
    if (this._idle) this._idle.remove();
    this._idle = null;
  }

  /** A toast; the same text again (a burst of refusals) keeps one toast up rather than stacking. */
  notify(text) {
    const same = [...this._toasts.children].find((toast) => toast.textContent === text);
    if (same) {
      clearTimeout(same._timer);
      same._timer = setTimeout(() => same.remove(), TOAST_MS);
      return;
    }
    const toast = h("div", { class: "cc-toast", text });
    this._toasts.append(toast);
    toast._timer = setTimeout(() => toast.remove(), TOAST_MS);
  }

  // Building blocks.

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
   * Lay the tiles out. TILE: one grid. SIDEBAR / SPOTLIGHT: one featured
   * tile (the pinned participant, else the first other one) in the main
   * area, everyone else in the strip; TILE with someone pinned features them
   * as SPOTLIGHT does. Moving a playing element within one task does not
   * pause it.
   */
  _arrange() {
    const tiles = [...this._tiles.values()];
    let featured = null;
    if (tiles.length > 1) featured = this._tiles.get(this._pinned) || (FEATURED_LAYOUTS.has(this._layout) ? this._stageTile(tiles) : null);
    this._featured = featured;
    for (const tile of tiles) {
      const parent = !featured || tile === featured ? this._main : this._strip;
      if (tile.element.parentNode !== parent) parent.append(tile.element);
      tile.setPinned(Boolean(this._pinned) && tile.pid === this._pinned);
    }
    this._main.dataset.count = String(this._main.children.length);
    this._stage.dataset.featured = String(Boolean(featured));
    const people = tiles.filter((t) => !t.isScreen).length;
    this._controls.setCount(people);
    this._alone.hidden = people !== 1 || this.root.dataset.state !== "joined";
  }

  /**
   * Who takes the stage in SPOTLIGHT and SIDEBAR when nobody is pinned: a screen share (someone
   * else's first), else the dominant speaker (not you), else whoever had it, else the first other.
   */
  _stageTile(tiles) {
    const screen = tiles.find((t) => t.isScreen && !t.isLocal) || tiles.find((t) => t.isScreen);
    if (screen) return screen;
    const speaker = this._tiles.get(this._speaker);
    if (speaker && !speaker.isLocal) return speaker;
    if (this._featured && tiles.includes(this._featured) && !this._featured.isLocal) return this._featured;
    return tiles.find((t) => !t.isLocal) || null;
  }

  async _unlockAudio() {
    const results = await Promise.all([...this._tiles.values()].map((tile) => tile.playAudio()));
    this._audioUnlock.hidden = results.every(Boolean);
  }

  /** Meet's shortcuts: Ctrl/⌘+D toggles the microphone, Ctrl/⌘+E the camera. */
  _shortcut(event) {
    if (!(event.ctrlKey || event.metaKey) || event.altKey || event.shiftKey) return;
    const action = { d: "toggle-audio", e: "toggle-video" }[event.key.toLowerCase()];
    if (!action || !this._controls.has(action)) return;
    event.preventDefault();
    this._onAction(action);
  }

  _teardownCall() {
    this._header.stop();
    this.hideIdlePrompt();
    this._settingsDialog.hide();
    if (this._menu) this._menu.close(false);
    this.setParticipantListOpen(false);
    this.setChatOpen(false);
    this._header.element.hidden = true;
    if (this._stopShortcuts) this._stopShortcuts();
    this._stopShortcuts = null;
    for (const tile of this._tiles.values()) tile.destroy();
    this._tiles.clear();
    this._alone.hidden = true;
    this._audioUnlock.hidden = true;
    this._recordingIndicator.hidden = true;
    this._controls.element.hidden = true;
  }
}
