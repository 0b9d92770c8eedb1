/**
 * One participant's tile in the call view: video (or an initials avatar when
 * the camera is off), their audio, a name label and a muted badge. Used by
 * ui.js only.
 */

import { avatarColourClass, h, initials } from "./dom.js";
import { icon } from "./icons.js";
import { menuButton } from "./tile-menu.js";

export class Tile {
  /**
   * @param {object} participant a §6 Participant
   * @param {{voice: boolean, onAudioBlocked: function(), audioOutputDeviceId: string, openMenu: ?function(HTMLElement, object)}} options
   *   openMenu: the participant menu's opener, or null without a menu
   */
  constructor(participant, { voice, onAudioBlocked, audioOutputDeviceId, openMenu = null }) {
    this.pid = participant.pid;
    this.isLocal = participant.isLocal;
    this._onAudioBlocked = onAudioBlocked;
    this._audioOutputDeviceId = audioOutputDeviceId;
    this._videoTrack = null;
    this._audioTrack = null;

    this.video = voice
      ? null
      : h("video", { class: "cc-tile__video", muted: true, autoplay: true, playsInline: true, "aria-hidden": "true" });
    this.audio = this.isLocal ? null : h("audio", { class: "cc-tile__audio", autoplay: true });
    this._avatar = h("span", { class: `cc-avatar ${avatarColourClass(participant.pid)}`, "aria-hidden": "true" });
    this._name = h("span", { class: "cc-tile__name" });
    this._mutedBadge = h("span", { class: "cc-tile__muted", role: "img", "aria-label": "Microphone muted" }, icon("micOff"));
    this.element = h(
      "div",
      {
        class: "cc-tile",
        role: "group",
        "data-participant-id": participant.pid,
        "data-local": this.isLocal ? "true" : false,
        "data-video-ready": "false",
      },
      this.video,
      this.audio,
      h("div", { class: "cc-tile__avatar" }, this._avatar),
      h("div", { class: "cc-tile__label" }, this._mutedBadge, this._name),
      openMenu ? menuButton(participant, (button) => openMenu(button, this.participant)) : null,
    );
    if (this.video) {
      const ready = () => this._setVideoReady(this.video.videoWidth > 0);
      this.video.addEventListener("loadeddata", ready);
      this.video.addEventListener("resize", ready);
    }
    this.update(participant);
  }

  update(participant) {
    this.participant = participant;
    this.element.dataset.pinned = String(Boolean(participant.isPinned));
    const name = participant.name || (this.isLocal ? "You" : "Guest");
    this._name.textContent = this.isLocal && participant.name ? `${name} (You)` : name;
    this._avatar.textContent = initials(name);
    this.element.dataset.audioMuted = String(Boolean(participant.audioMuted));
    this.element.dataset.videoPaused = String(Boolean(participant.videoPaused) || !this.video);
    this.element.setAttribute("aria-label", participant.audioMuted ? `${name}, microphone muted` : name);
  }

  setVideoTrack(track) {
    if (!this.video || track === this._videoTrack) return;
    this._videoTrack = track;
    this._setVideoReady(false);
    this.video.srcObject = track ? new MediaStream([track]) : null;
    // Muted video may always autoplay; a rejection here only means a newer source replaced this one.
    if (track) this.video.play().catch(() => {});
  }

  setAudioTrack(track) {
    if (!this.audio || track === this._audioTrack) return;
    this._audioTrack = track;
    this.audio.srcObject = track ? new MediaStream([track]) : null;
    if (this._audioOutputDeviceId) {
      this.setAudioOutput(this._audioOutputDeviceId).catch((error) => console.warn("[calls] could not switch the speaker:", error));
    }
    if (track) this.playAudio();
  }

  /** Start (or retry) this tile's audio; resolve whether it plays. */
  async playAudio() {
    if (!this.audio || !this.audio.srcObject) return true;
    try {
      await this.audio.play();
      return true;
    } catch (error) {
      if (error.name === "NotAllowedError") {
        console.warn("[calls] the browser blocked sound until the page is clicked.");
        this._onAudioBlocked();
      }
      return false;
    }
  }

  /** Play this tile's audio on the speaker `deviceId`; resolves once it does (rejects if it cannot). */
  async setAudioOutput(deviceId) {
    this._audioOutputDeviceId = deviceId;
    if (this.audio && typeof this.audio.setSinkId === "function") await this.audio.setSinkId(deviceId);
  }

  _setVideoReady(ready) {
    this.element.dataset.videoReady = String(ready);
  }

  destroy() {
    if (this.video) this.video.srcObject = null;
    if (this.audio) this.audio.srcObject = null;
    this.element.remove();
  }
}
