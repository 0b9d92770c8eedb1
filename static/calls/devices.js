/**
 * The devices a call can use, kept current while it runs: the lists of
 * microphones, cameras and speakers (refreshed on `devicechange`), which one
 * of each is in use, and the events when either changes.
 *
 * The lists are cached so the getters are synchronous, as CometChat's are.
 */

import { Events } from "./events.js";
import { canChooseAudioOutput, listDevices } from "./media.js";

export const DeviceKind = Object.freeze({ audioInput: "audioInput", videoInput: "videoInput", audioOutput: "audioOutput" });

const LIST_EVENTS = {
  audioInput: Events.onAudioInputDevicesChanged,
  videoInput: Events.onVideoInputDevicesChanged,
  audioOutput: Events.onAudioOutputDevicesChanged,
};
export const CURRENT_EVENTS = {
  audioInput: Events.onAudioInputDeviceChanged,
  videoInput: Events.onVideoInputDeviceChanged,
  audioOutput: Events.onAudioOutputDeviceChanged,
};

const sameIds = (a, b) => a.length === b.length && a.every((device, i) => device.deviceId === b[i].deviceId && device.label === b[i].label);

export class DeviceWatcher {
  /**
   * @param {object} options
   * @param {import("./media.js").LocalMedia} options.media the call's microphone and camera
   * @param {string} options.audioOutputDeviceId the speaker chosen at join ("" = the default)
   * @param {function(string, *): void} options.emit
   */
  constructor({ media, audioOutputDeviceId, emit }) {
    this._media = media;
    this._emit = emit;
    this.audioOutputDeviceId = audioOutputDeviceId;
    this._lists = { audioInput: [], videoInput: [], audioOutput: [] };
    this._refreshing = Promise.resolve();
    this._onChange = () => this.refresh(true);
  }

  /** Read the lists once and follow the system's device changes. */
  start() {
    if (navigator.mediaDevices) navigator.mediaDevices.addEventListener("devicechange", this._onChange);
    return this.refresh(false);
  }

  stop() {
    if (navigator.mediaDevices) navigator.mediaDevices.removeEventListener("devicechange", this._onChange);
  }

  /** Re-read the lists; with `announce`, fire an event for each kind whose list changed. */
  refresh(announce) {
    this._refreshing = this._refreshing.then(async () => {
      let found;
      try {
        found = await listDevices();
      } catch (error) {
        console.warn("[calls] could not list the media devices:", error);
        return;
      }
      for (const kind of Object.keys(this._lists)) {
        const changed = !sameIds(this._lists[kind], found[kind]);
        this._lists[kind] = found[kind];
        if (changed && announce) this._emit(LIST_EVENTS[kind], this.list(kind));
      }
    });
    return this._refreshing;
  }

  list(kind) {
    return [...this._lists[kind]];
  }

  has(kind, deviceId) {
    return this._lists[kind].some((device) => device.deviceId === deviceId);
  }

  /** The device of `kind` in use (or chosen), or null when none is known. */
  current(kind) {
    const list = this._lists[kind];
    let id;
    if (kind === DeviceKind.audioOutput) {
      if (!canChooseAudioOutput()) return null;
      id = this.audioOutputDeviceId || "default";
    } else {
      id = this._media.currentDeviceId(kind === DeviceKind.audioInput ? "audio" : "video");
    }
    return list.find((device) => device.deviceId === id) || (kind === DeviceKind.audioOutput ? list[0] || null : null);
  }

  /** The camera after the one in use, or null with fewer than two cameras. */
  nextCamera() {
    const cameras = this._lists.videoInput;
    if (cameras.length < 2) return null;
    const index = cameras.findIndex((device) => device.deviceId === this._media.currentDeviceId("video"));
    return cameras[(index + 1) % cameras.length];
  }

  announceCurrent(kind) {
    this._emit(CURRENT_EVENTS[kind], this.current(kind));
  }
}
