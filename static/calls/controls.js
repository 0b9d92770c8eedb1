/**
 * The call's header (title and session timer) and control bar. Which
 * controls exist follows the hide flags of SessionSettings and, for ending
 * the call for everyone and recording it, our role; clicks are reported as actions.
 */

import { h } from "./dom.js";
import { icon } from "./icons.js";

const LAYOUT_NAMES = { TILE: "Tile", SIDEBAR: "Sidebar", SPOTLIGHT: "Spotlight" };
const LAYOUT_ICONS = { TILE: "gridView", SIDEBAR: "sidebar", SPOTLIGHT: "spotlight" };

export function formatDuration(totalSeconds) {
  const hours = Math.floor(totalSeconds / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const seconds = totalSeconds % 60;
  const pad = (n) => String(n).padStart(2, "0");
  return hours ? `${hours}:${pad(minutes)}:${pad(seconds)}` : `${pad(minutes)}:${pad(seconds)}`;
}

function canShareScreen() {
  return Boolean(navigator.mediaDevices && typeof navigator.mediaDevices.getDisplayMedia === "function");
}

function controlButton(action, iconName, label, extraClass = "") {
  return h(
    "button",
    { type: "button", class: `cc-btn ${extraClass}`.trim(), id: `cc-${action}`, "data-action": action, "aria-label": label, title: label },
    icon(iconName),
  );
}

function setButton(button, iconName, label, extra = {}) {
  if (!button) return;
  button.replaceChildren(icon(iconName));
  button.setAttribute("aria-label", label);
  button.title = label;
  for (const [name, value] of Object.entries(extra)) button.setAttribute(name, value);
}

/** The title and the time since joining (`.cc-header`). */
export class Header {
  constructor(settings) {
    this._timer = null;
    this._time = h("span", { class: "cc-header__timer", role: "timer", "aria-label": "Time in the call", hidden: settings.hideSessionTimer, text: "00:00" });
    this.element = h(
      "header",
      { class: "cc-header", hidden: settings.hideHeaderPanel },
      settings.title ? h("h1", { class: "cc-header__title", text: settings.title }) : null,
      this._time,
    );
  }

  start() {
    const started = Date.now();
    const tick = () => (this._time.textContent = formatDuration(Math.floor((Date.now() - started) / 1000)));
    tick();
    this._timer = setInterval(tick, 1000);
  }

  stop() {
    clearInterval(this._timer);
    this._timer = null;
  }
}

/** The control bar (`role="toolbar"`); `onAction(name)` for every click. */
export class ControlBar {
  constructor({ settings, voice, onAction }) {
    const s = settings;
    const video = !voice;
    this._buttons = h(
      "div",
      { class: "cc-controls__buttons" },
      s.hideToggleAudioButton ? null : controlButton("toggle-audio", "mic", "Turn off microphone"),
      s.hideToggleVideoButton || !video ? null : controlButton("toggle-video", "videocam", "Turn off camera"),
      s.hideSwitchCameraButton || !video ? null : controlButton("switch-camera", "flipCamera", "Switch camera"),
      s.hideScreenSharingButton || !video || !canShareScreen() ? null : controlButton("screen-share", "screenShare", "Present your screen"),
      s.hideRaiseHandButton ? null : controlButton("raise-hand", "hand", "Raise hand"),
      s.hideShareInviteButton ? null : controlButton("share", "link", "Copy the link to this call"),
      s.hideLeaveSessionButton ? null : controlButton("leave", "callEnd", "Leave call", "cc-btn--leave"),
    );
    // Ending the call for everyone is a moderation action: offered to moderators (setModerator) where moderation is.
    this._endAll = s.hideLeaveSessionButton || !s.enableParticipantContextMenu
      ? null
      : controlButton("end-for-all", "callEnd", "End the call for everyone", "cc-btn--leave cc-btn--end-all");
    if (this._endAll) this._endAll.append(h("span", { class: "cc-btn__text", text: "End for all" }));
    // Recording is a moderator's too: offered to moderators (setModerator) unless hideRecordingButton.
    this._record = s.hideRecordingButton ? null : controlButton("toggle-recording", "record", "Record the call", "cc-btn--record");
    if (this._record) this._record.setAttribute("aria-pressed", "false");
    this._unread = h("span", { class: "cc-controls__unread", "aria-hidden": "true", hidden: true, text: "0" });
    this._chat = s.hideChatButton ? null : controlButton("chat", "chat", "Show messages");
    if (this._chat) {
      this._chat.append(this._unread);
      this._chat.setAttribute("aria-expanded", "false");
      this._chat.setAttribute("aria-controls", "cc-chat-panel");
    }
    this._count = h("span", { class: "cc-controls__count", "aria-hidden": "true", text: "1" });
    this._list = s.hideParticipantListButton ? null : controlButton("participant-list", "people", "Show everyone");
    if (this._list) {
      this._list.append(this._count);
      this._list.setAttribute("aria-expanded", "false");
      this._list.setAttribute("aria-controls", "cc-participant-panel");
    }
    this._layout = s.hideChangeLayoutButton ? null : controlButton("change-layout", "gridView", "Change layout");
    // The devices in use (CometChat's settings dialog); there is no hide flag for it.
    this._settings = controlButton("settings", "settings", "Settings");
    this._settings.setAttribute("aria-haspopup", "dialog");
    this._settings.setAttribute("aria-expanded", "false");
    this._settings.setAttribute("aria-controls", "cc-settings-dialog");
    this.element = h(
      "div",
      { class: "cc-controls", role: "toolbar", "aria-label": "Call controls", hidden: s.hideControlPanel },
      h("div", { class: "cc-controls__info" }),
      this._buttons,
      h("div", { class: "cc-controls__meta" }, this._settings, this._layout, this._chat, this._list),
    );
    this.element.addEventListener("click", (event) => {
      const button = event.target.closest("[data-action]");
      if (button && this.element.contains(button)) onAction(button.dataset.action);
    });
    this.setLayout(s.layout);
  }

  has(action) {
    return Boolean(this.element.querySelector(`[data-action="${action}"]`));
  }

  /** Moderators get the record and end-for-all controls; everyone else does not have them at all. */
  setModerator(moderator) {
    if (this._record) {
      const leave = this._buttons.querySelector('[data-action="leave"]');
      if (moderator) this._buttons.insertBefore(this._record, leave);
      else this._record.remove();
    }
    if (!this._endAll) return;
    if (moderator) this._buttons.append(this._endAll);
    else this._endAll.remove();
  }

  /** The record button: pressed while the call is being recorded. */
  setRecording(recording) {
    setButton(this._record, recording ? "stopRecord" : "record", recording ? "Stop recording" : "Record the call", {
      "data-active": String(recording),
      "aria-pressed": String(recording),
    });
  }

  /** The microphone and camera buttons; one held off by a moderator shows a lock and asks instead of turning on. */
  setLocalMedia({ audioMuted, videoPaused, audioHeld = false, videoHeld = false }) {
    const audio = this.element.querySelector('[data-action="toggle-audio"]');
    if (audioMuted && audioHeld) {
      setButton(audio, "micOff", "Muted by a moderator", { "data-off": "true", "data-held": "true" });
      if (audio) audio.title = "Muted by a moderator: click to raise your hand and ask to speak";
    } else {
      setButton(audio, audioMuted ? "micOff" : "mic", audioMuted ? "Turn on microphone" : "Turn off microphone", { "data-off": String(audioMuted), "data-held": "false" });
    }
    const video = this.element.querySelector('[data-action="toggle-video"]');
    if (videoPaused && videoHeld) {
      setButton(video, "videocamOff", "Camera turned off by a moderator", { "data-off": "true", "data-held": "true" });
      if (video) video.title = "Camera turned off by a moderator: click to raise your hand and ask to turn it on";
    } else {
      setButton(video, videoPaused ? "videocamOff" : "videocam", videoPaused ? "Turn on camera" : "Turn off camera", { "data-off": String(videoPaused), "data-held": "false" });
    }
    for (const button of [audio, video]) {
      if (button && button.dataset.held === "true") button.append(h("span", { class: "cc-btn__lock" }, icon("lock")));
    }
  }

  setLayout(layout) {
    setButton(this._layout, LAYOUT_ICONS[layout], `Change layout (now ${LAYOUT_NAMES[layout]})`, { "data-layout": layout });
  }

  setCount(count) {
    this._count.textContent = String(count);
    if (this._list) {
      const label = `Show everyone (${count} in the call)`;
      this._list.setAttribute("aria-label", this._list.getAttribute("aria-expanded") === "true" ? `Hide everyone (${count} in the call)` : label);
      this._list.title = "People";
    }
  }

  setHandRaised(raised) {
    const button = this.element.querySelector('[data-action="raise-hand"]');
    setButton(button, "hand", raised ? "Lower hand" : "Raise hand", { "data-active": String(raised), "aria-pressed": String(raised) });
  }

  setScreenSharing(sharing) {
    const button = this.element.querySelector('[data-action="screen-share"]');
    setButton(button, sharing ? "stopScreenShare" : "screenShare", sharing ? "Stop presenting" : "Present your screen", {
      "data-active": String(sharing),
      "aria-pressed": String(sharing),
    });
  }

  setChatOpen(open) {
    if (!this._chat) return;
    this._chat.setAttribute("aria-expanded", String(open));
    this._chat.dataset.active = String(open);
    this._chat.setAttribute("aria-label", open ? "Hide messages" : this._chatLabel());
  }

  /** The unread badge on the chat button (0 hides it). */
  setUnread(count) {
    if (!this._chat) return;
    this._unread.textContent = count > 99 ? "99+" : String(count);
    this._unread.hidden = count <= 0;
    this._chat.dataset.unread = String(count);
    if (this._chat.getAttribute("aria-expanded") !== "true") this._chat.setAttribute("aria-label", this._chatLabel());
  }

  _chatLabel() {
    const count = Number(this._chat.dataset.unread || 0);
    return count > 0 ? `Show messages (${count} unread)` : "Show messages";
  }

  setSettingsOpen(open) {
    this._settings.setAttribute("aria-expanded", String(open));
    this._settings.dataset.active = String(open);
  }

  setListOpen(open) {
    if (!this._list) return;
    this._list.setAttribute("aria-expanded", String(open));
    this._list.dataset.active = String(open);
    this.setCount(Number(this._count.textContent));
  }
}
