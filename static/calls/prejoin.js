/**
 * The pre-join screen: a camera preview, the display name, microphone and
 * camera toggles and device choices, and the Join button. The click on Join
 * is also the user gesture that lets the call play sound.
 */

import { avatarColourClass, h, initials, replaceChildren } from "./dom.js";
import { icon } from "./icons.js";
import { canChooseAudioOutput, listDevices, openDevices, openTrack } from "./media.js";
import { MAX_DISPLAY_NAME_CHARS, cleanDisplayName } from "./settings.js";

function stop(track) {
  if (track) track.stop();
}

function deviceSelect(id, label, onChange) {
  const select = h("select", { class: "cc-field", id, onchange: () => onChange(select.value) });
  const wrapper = h("label", { class: "cc-prejoin__device", hidden: true, for: id }, h("span", { class: "cc-label", text: label }), select);
  return { select, wrapper };
}

export class PrejoinScreen {
  /**
   * @param {HTMLElement} container
   * @param {object} options
   * @param {string} options.title the call's title
   * @param {boolean} options.voice a voice call: no camera
   * @param {object} options.initial {displayName, startAudioMuted, startVideoPaused, *DeviceId}
   * @param {function(object): void} options.onJoin called with the person's choices
   * @param {object} [options.account] the logged-in CallUser, shown with a Sign out button
   * @param {function(): void} [options.onSignOut] called when Sign out is clicked (after the preview closes)
   * @param {boolean} [options.host] this browser hosts the call: it joins as a moderator, and is told so
   */
  constructor(container, { title, voice, initial, onJoin, account = null, onSignOut = null, host = false }) {
    this._container = container;
    this._voice = voice;
    this._onJoin = onJoin;
    this._account = account;
    this._onSignOut = onSignOut;
    this._host = host;
    this._audioOn = !initial.startAudioMuted;
    this._videoOn = !voice && !initial.startVideoPaused;
    this._devices = {
      audioInputDeviceId: initial.audioInputDeviceId || "",
      videoInputDeviceId: initial.videoInputDeviceId || "",
      audioOutputDeviceId: initial.audioOutputDeviceId || "",
    };
    this._audioTrack = null;
    this._videoTrack = null;
    this._destroyed = false;
    this._onDeviceChange = () => this._fillDevices();
    this._build(title, initial.displayName || "");
    this._start();
  }

  _build(title, displayName) {
    this._video = this._voice ? null : h("video", { class: "cc-tile__video", muted: true, autoplay: true, playsInline: true, "aria-hidden": "true" });
    this._avatar = h("span", { class: `cc-avatar ${avatarColourClass(displayName)}`, "aria-hidden": "true", text: initials(displayName || "?") });
    this._status = h("p", { class: "cc-prejoin__status", "aria-live": "polite" });
    this._audioButton = h("button", { type: "button", class: "cc-btn", id: "cc-prejoin-toggle-audio", "data-action": "toggle-audio", onclick: () => this._toggleAudio() });
    this._videoButton = this._voice
      ? null
      : h("button", { type: "button", class: "cc-btn", id: "cc-prejoin-toggle-video", "data-action": "toggle-video", onclick: () => this._toggleVideo() });
    this._preview = h(
      "div",
      { class: "cc-tile cc-prejoin__preview", "data-local": "true", "data-video-ready": "false" },
      this._video,
      h("div", { class: "cc-tile__avatar" }, this._avatar),
      this._status,
      h("div", { class: "cc-prejoin__toggles" }, this._audioButton, this._videoButton),
    );
    if (this._video) this._video.addEventListener("loadeddata", () => (this._preview.dataset.videoReady = "true"));

    this._name = h("input", {
      class: "cc-field",
      id: "cc-display-name",
      name: "displayName",
      type: "text",
      required: true,
      maxlength: MAX_DISPLAY_NAME_CHARS,
      autocomplete: "name",
      placeholder: "Your name",
      value: displayName,
      oninput: () => this._nameChanged(),
    });
    this._mic = deviceSelect("cc-audio-input", "Microphone", (id) => this._chooseDevice("audio", id));
    this._camera = deviceSelect("cc-video-input", "Camera", (id) => this._chooseDevice("video", id));
    this._speaker = deviceSelect("cc-audio-output", "Speaker", (id) => (this._devices.audioOutputDeviceId = id));
    this._problem = h("p", { class: "cc-prejoin__problem", role: "alert" });
    this._joinButton = h("button", { type: "submit", class: "cc-button cc-button--primary cc-prejoin__join", id: "cc-join", "data-action": "join", text: "Join now" });
    const form = h(
      "form",
      { class: "cc-prejoin__form", novalidate: true, onsubmit: (event) => this._submit(event) },
      h("h2", { class: "cc-prejoin__heading", text: "Ready to join?" }),
      title ? h("p", { class: "cc-prejoin__title", text: title }) : null,
      this._accountLine(),
      this._host
        ? h("p", { class: "cc-prejoin__host", text: "You host this call: you can mute, turn off cameras, remove people and end it for everyone." })
        : null,
      h("label", { class: "cc-prejoin__name", for: "cc-display-name" }, h("span", { class: "cc-label", text: "Your name" }), this._name),
      h("div", { class: "cc-prejoin__devices" }, this._mic.wrapper, this._voice ? null : this._camera.wrapper, this._speaker.wrapper),
      this._problem,
      this._joinButton,
    );
    this.root = h("div", { class: "cc-root", "data-state": "prejoin", "data-session-type": this._voice ? "VOICE" : "VIDEO" }, h("div", { class: "cc-prejoin" }, this._preview, form));
    replaceChildren(this._container, this.root);
    this._renderToggles();
  }

  _accountLine() {
    if (!this._account) return null;
    const { name, uid } = this._account;
    return h(
      "p",
      { class: "cc-prejoin__account" },
      h("span", { text: "Signed in as " }),
      h("strong", { class: "cc-prejoin__account-name", text: name || uid }),
      name && name !== uid ? h("span", { class: "cc-prejoin__account-uid", text: ` (${uid})` }) : null,
      this._onSignOut
        ? h("button", { type: "button", class: "cc-link-button", id: "cc-sign-out", "data-action": "sign-out", text: "Sign out", onclick: () => this._signOut() })
        : null,
    );
  }

  _signOut() {
    this.destroy();
    this._onSignOut();
  }

  async _start() {
    const opened = await openDevices({
      audio: true,
      video: this._videoOn,
      audioDeviceId: this._devices.audioInputDeviceId,
      videoDeviceId: this._devices.videoInputDeviceId,
    });
    if (this._destroyed) {
      stop(opened.audio);
      stop(opened.video);
      return;
    }
    this._setTrack("audio", opened.audio);
    this._setTrack("video", opened.video);
    if (!opened.audio) this._audioOn = false;
    if (this._videoOn && !opened.video) this._videoOn = false;
    this._showProblems(opened.problems);
    this._renderToggles();
    if (navigator.mediaDevices) navigator.mediaDevices.addEventListener("devicechange", this._onDeviceChange);
    await this._fillDevices();
  }

  _setTrack(kind, track) {
    if (kind === "audio") {
      stop(this._audioTrack);
      this._audioTrack = track;
      if (track) track.enabled = this._audioOn;
      return;
    }
    stop(this._videoTrack);
    this._videoTrack = track;
    if (!this._video) return;
    this._preview.dataset.videoReady = "false";
    this._video.srcObject = track ? new MediaStream([track]) : null;
    if (track) this._video.play().catch(() => {});
  }

  async _fillDevices() {
    const devices = await listDevices();
    if (this._destroyed) return;
    const fill = ({ select, wrapper }, list, current, track) => {
      const inUse = track ? track.getSettings().deviceId : "";
      const chosen = list.some((d) => d.deviceId === current) ? current : inUse;
      select.replaceChildren(...list.map((d) => h("option", { value: d.deviceId, text: d.label, selected: d.deviceId === chosen })));
      wrapper.hidden = list.length === 0;
    };
    fill(this._mic, devices.audioInput, this._devices.audioInputDeviceId, this._audioTrack);
    if (!this._voice) fill(this._camera, devices.videoInput, this._devices.videoInputDeviceId, this._videoTrack);
    if (canChooseAudioOutput()) fill(this._speaker, devices.audioOutput, this._devices.audioOutputDeviceId, null);
  }

  async _chooseDevice(kind, deviceId) {
    this._devices[kind === "audio" ? "audioInputDeviceId" : "videoInputDeviceId"] = deviceId;
    if (kind === "video" && !this._videoOn) return;
    stop(kind === "audio" ? this._audioTrack : this._videoTrack);
    try {
      this._setTrack(kind, await openTrack(kind, deviceId));
      this._showProblems([]);
    } catch (error) {
      this._setTrack(kind, null);
      this._showProblems([error]);
    }
  }

  _toggleAudio() {
    this._audioOn = !this._audioOn;
    if (this._audioOn && !this._audioTrack) {
      this._chooseDevice("audio", this._devices.audioInputDeviceId).then(() => {
        if (!this._audioTrack) this._audioOn = false;
        this._renderToggles();
      });
    } else if (this._audioTrack) {
      this._audioTrack.enabled = this._audioOn;
    }
    this._renderToggles();
  }

  async _toggleVideo() {
    this._videoOn = !this._videoOn;
    this._renderToggles();
    if (!this._videoOn) {
      this._setTrack("video", null); // The camera light goes off.
      return;
    }
    await this._chooseDevice("video", this._devices.videoInputDeviceId);
    if (!this._videoTrack) this._videoOn = false;
    this._renderToggles();
  }

  _renderToggles() {
    const setButton = (button, on, onIcon, offIcon, what) => {
      if (!button) return;
      const label = on ? `Turn off ${what}` : `Turn on ${what}`;
      button.replaceChildren(icon(on ? onIcon : offIcon));
      button.setAttribute("aria-label", label);
      button.title = label;
      button.dataset.off = String(!on);
    };
    setButton(this._audioButton, this._audioOn, "mic", "micOff", "microphone");
    setButton(this._videoButton, this._videoOn, "videocam", "videocamOff", "camera");
    this._preview.dataset.audioMuted = String(!this._audioOn);
    this._preview.dataset.videoPaused = String(!this._videoOn);
    this._status.textContent = this._voice ? "" : this._videoOn ? "" : "Camera is off";
  }

  _nameChanged() {
    const name = cleanDisplayName(this._name.value);
    this._avatar.textContent = initials(name || "?");
    this._avatar.className = `cc-avatar ${avatarColourClass(name)}`;
    if (name) this._problem.textContent = "";
  }

  _showProblems(problems) {
    this._problem.textContent = problems.map((problem) => problem.message).join(" ");
  }

  _submit(event) {
    event.preventDefault();
    const displayName = cleanDisplayName(this._name.value);
    if (!displayName) {
      this._problem.textContent = "Enter your name to join.";
      this._name.focus();
      return;
    }
    this._joinButton.disabled = true;
    this._joinButton.textContent = "Joining…";
    const choices = {
      displayName,
      startAudioMuted: !this._audioOn,
      startVideoPaused: !this._videoOn,
      ...this._devices,
    };
    this.destroy();
    this._onJoin(choices);
  }

  /** Release the preview's devices (the call opens its own). */
  destroy() {
    this._destroyed = true;
    if (navigator.mediaDevices) navigator.mediaDevices.removeEventListener("devicechange", this._onDeviceChange);
    this._setTrack("audio", null);
    this._setTrack("video", null);
  }
}

/** A page with nothing to join (the call ended, or needs a login) and a way to start another. */
export function renderNotice(container, { state, title, text, homeUrl }) {
  replaceChildren(
    container,
    h(
      "div",
      { class: "cc-root", "data-state": state },
      h(
        "div",
        { class: "cc-screen" },
        h(
          "div",
          { class: "cc-screen__card" },
          icon(state === "ended" ? "callEnd" : "error"),
          h("h2", { class: "cc-screen__title", text: title }),
          h("p", { class: "cc-screen__text", text }),
          h("a", { class: "cc-button cc-button--primary", href: homeUrl, text: "Start a new call" }),
        ),
      ),
    ),
  );
}
