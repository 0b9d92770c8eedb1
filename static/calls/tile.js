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
  constructor(participant, { voice, onAudioBlocked, audioOutputDeviceId, openMenu = null, networkIndicator = true }) {
    this.pid = participant.pid;
    this.isLocal = participant.isLocal;
    // A screen share is a tile of its own, type "screen-share", with id "<pid>:screen".
    this.isScreen = participant.type === "screen-share";
    if (this.isScreen) voice = false;
    this._onAudioBlocked = onAudioBlocked;
    this._audioOutputDeviceId = audioOutputDeviceId;
    this._videoTrack = null;
    this._audioTrack = null;

    this.video = voice
      ? null
      : h("video", { class: "cc-tile__video", muted: true, autoplay: true, playsInline: true, "aria-hidden": "true" });
    this.audio = this.isLocal || this.isScreen ? null : h("audio", { class: "cc-tile__audio", autoplay: true });
    this._hand = h("span", { class: "cc-tile__hand", role: "img", "aria-label": "Hand raised", hidden: true }, icon("hand"));
    this._network = networkIndicator && !this.isScreen
      ? h(
          "span",
          { class: "cc-tile__network", role: "img", "data-quality": "good", "aria-label": "Connection: good" },
          h("span", { class: "cc-tile__bar" }),
          h("span", { class: "cc-tile__bar" }),
          h("span", { class: "cc-tile__bar" }),
        )
      : null;
    this._avatar = h("span", { class: `cc-avatar ${avatarColourClass(participant.pid)}`, "aria-hidden": "true" });
    this._name = h("span", { class: "cc-tile__name" });
    this._mutedBadge = h("span", { class: "cc-tile__muted", role: "img", "aria-label": "Microphone muted" }, icon("micOff"));
    this.element = h(
      "div",
      {
        class: "cc-tile",
        role: "group",
        "data-participant-id": participant.pid,
        // Your own screen share is "screen", so [data-local="true"] stays your one camera tile.
        "data-local": this.isLocal ? (this.isScreen ? "screen" : "true") : false,
        "data-type": this.isScreen ? "screen-share" : "human",
        "data-speaking": "false",
        "data-video-ready": "false",
      },
      this.video,
      this.audio,
      h("div", { class: "cc-tile__avatar" }, this._avatar),
      h("div", { class: "cc-tile__label" }, this.isScreen ? icon("screenShare") : this._mutedBadge, this._name),
      h("div", { class: "cc-tile__badges" }, this._hand, this._network),
      openMenu && !this.isScreen ? menuButton(participant, (button) => openMenu(button, this.participant)) : null,
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
    if (this.isScreen) {
      this._name.textContent = this.isLocal ? "You are presenting" : `${name} (presenting)`;
      this.element.setAttribute("aria-label", `${name}'s screen`);
      this.element.dataset.videoPaused = "false";
      return;
    }
    this._name.textContent = this.isLocal && participant.name ? `${name} (You)` : name;
    const raised = Boolean(participant.raisedHandTimestamp);
    this._hand.hidden = !raised;
    this.element.dataset.handRaised = String(raised);
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

  /** Speaking now (the dominant speaker): a ring round the tile. */
  setSpeaking(speaking) {
    this.element.dataset.speaking = String(speaking);
  }

  /** "good" | "fair" | "poor": the three bars and their label. */
  setNetworkQuality(level) {
    if (!this._network) return;
    this._network.dataset.sampled = "true";
    if (this._network.dataset.quality === level) return;
    this._network.dataset.quality = level;
    this._network.setAttribute("aria-label", `Connection: ${level}`);
    this._network.title = `Connection: ${level}`;
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
