/**
 * One participant's tile in the call view: video (or, with the camera off,
 * their avatar: their picture, else their initials), their audio, a name
 * label with a muted badge and a "Guest" or "Moderator" marker, and, for a
 * moderator looking at a held participant who raised a hand, an "Allow to
 * speak" button; "Connection lost" when their media stopped reaching us in a
 * peer call. Used by ui.js only.
 */

import { avatarColourClass, h, initials, setAvatarImage } from "./dom.js";
import { icon } from "./icons.js";
import { menuButton } from "./tile-menu.js";

export class Tile {
  /**
   * @param {object} participant a §6 Participant
   * @param {{voice: boolean, onAudioBlocked: function(), audioOutputDeviceId: string, openMenu: ?function(HTMLElement, object)}} options
   *   openMenu: the participant menu's opener, or null without a menu; onAllow(pid): a moderator lifts their microphone hold
   */
  constructor(participant, { voice, onAudioBlocked, audioOutputDeviceId, openMenu = null, onAllow = null, networkIndicator = true }) {
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
    this._initials = h("span", { class: "cc-avatar__initials" });
    this._avatar = h("span", { class: `cc-avatar ${avatarColourClass(participant.pid)}`, "aria-hidden": "true" }, this._initials);
    this._name = h("span", { class: "cc-tile__name" });
    this._mutedBadge = h("span", { class: "cc-tile__muted", role: "img", "aria-label": "Microphone muted" }, icon("micOff"));
    this._role = h("span", { class: "cc-tile__role", hidden: true });
    this._connectionLost = false;
    this._lostNotice = this.isLocal || this.isScreen ? null : h("span", { class: "cc-tile__lost", role: "status" });
    this._moderatorView = false;
    this._allow = onAllow && !this.isScreen && !this.isLocal
      ? h(
          "button",
          { type: "button", class: "cc-tile__allow", "data-action": "allow-participant-audio", hidden: true, onclick: () => onAllow(this.pid) },
          icon("mic"),
          h("span", { text: "Allow to speak" }),
        )
      : null;
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
        "data-connection-lost": "false",
      },
      this.video,
      this.audio,
      h("div", { class: "cc-tile__avatar" }, this._avatar),
      h("div", { class: "cc-tile__label" }, this.isScreen ? icon("screenShare") : this._mutedBadge, this._name, this.isScreen ? null : this._role),
      h("div", { class: "cc-tile__badges" }, this._hand, this._network, this._lostNotice),
      this._allow,
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
    this._initials.textContent = initials(name);
    setAvatarImage(this._avatar, participant.avatar);
    this.element.dataset.audioMuted = String(Boolean(participant.audioMuted));
    this.element.dataset.videoPaused = String(Boolean(participant.videoPaused) || !this.video);
    this.element.setAttribute("aria-label", participant.audioMuted ? `${name}, microphone muted` : name);
    this._showRole(participant);
    this._showHolds(participant);
  }

  /**
   * Guests are marked "Guest", moderators "Moderator". The DOM keeps the server's role names, as the
   * participant list's rows do: data-role is "moderator" or "participant" (CometChat's "none").
   */
  _showRole(participant) {
    const role = participant.role === "moderator" ? "moderator" : "participant";
    this.element.dataset.role = role;
    this.element.dataset.guest = String(Boolean(participant.isGuest));
    this._role.hidden = !participant.isGuest && role !== "moderator";
    this._role.textContent = participant.isGuest ? "Guest" : role === "moderator" ? "Moderator" : "";
    this._role.dataset.role = participant.isGuest ? "guest" : role;
  }

  /** Featured by a pin on this screen (the view decides: a person's tile or a screen share's). */
  setPinned(pinned) {
    this.element.dataset.pinned = String(pinned);
  }

  /** A moderator's hold on their microphone or camera; a moderator sees when a held participant asks to speak. */
  _showHolds(participant) {
    const audioHeld = Boolean(participant.audioMutedByModerator);
    this.element.dataset.audioHeld = String(audioHeld);
    this.element.dataset.videoHeld = String(Boolean(participant.videoPausedByModerator));
    this._mutedBadge.setAttribute("aria-label", audioHeld ? "Muted by a moderator" : "Microphone muted");
    this._mutedBadge.title = audioHeld ? "Muted by a moderator" : "";
    if (this._allow) this._allow.hidden = !(this._moderatorView && audioHeld && participant.raisedHandTimestamp);
  }

  /** Whether the person looking at this tile is a moderator (who may lift a hold from it). */
  setViewerModerator(moderator) {
    this._moderatorView = moderator;
    if (this.participant && !this.isScreen) this._showHolds(this.participant);
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

  /**
   * The three bars ("good" | "fair" | "poor") and their label; the tooltip adds the loss and, for
   * someone else's camera, the height received ("720p": the simulcast layer the SFU sends us).
   */
  setNetworkQuality({ level, loss = 0, videoHeight = 0 }) {
    if (!this._network) return;
    const network = this._network;
    network.dataset.sampled = "true";
    if (!this.isLocal) network.dataset.videoHeight = String(videoHeight);
    if (this._connectionLost) return; // "Connection lost" stands until their media comes again.
    const details = [`Connection: ${level}`];
    if (!this.isLocal && videoHeight > 0) details.push(`${videoHeight}p`);
    details.push(`${(loss * 100).toFixed(loss > 0 && loss < 0.1 ? 1 : 0)}% loss`);
    network.title = details.join(" · ");
    this._showQuality(level);
  }

  /**
   * Their media no longer reaches us (a peer call's remote connection watch): the tile says
   * "Connection lost", and so does the indicator (data-quality="lost") until it comes again.
   */
  setConnectionLost(lost) {
    if (!this._lostNotice || lost === this._connectionLost) return;
    this._connectionLost = lost;
    this.element.dataset.connectionLost = String(lost);
    this._lostNotice.textContent = lost ? "Connection lost" : "";
    if (!this._network) return;
    this._network.title = lost ? "Connection lost" : "";
    // Restored: "good" until the next sample rates it.
    this._showQuality(lost ? "lost" : "good");
  }

  _showQuality(level) {
    const network = this._network;
    if (network.dataset.quality === level) return;
    network.dataset.quality = level;
    network.setAttribute("aria-label", level === "lost" ? "Connection lost" : `Connection: ${level}`);
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
