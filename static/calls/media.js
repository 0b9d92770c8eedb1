/**
 * The local microphone and camera.
 *
 * Muting keeps the microphone open (track.enabled = false, instant to undo);
 * pausing video stops the camera so its light goes off, and resuming opens it
 * again. A VOICE session never asks for the camera.
 */

import { CallsError, ErrorCode } from "./errors.js";

// Echo cancellation and gain control are always on; noise suppression follows enableNoiseReduction.
const AUDIO_CONSTRAINTS = { echoCancellation: true, autoGainControl: true };
const VIDEO_CONSTRAINTS = { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30, max: 30 } };

export const FacingMode = Object.freeze({ FRONT: "user", REAR: "environment" });

/**
 * `exact`: this device or fail (a device chosen during the call); else preferred (a remembered one may
 * be gone). `noiseSuppression`: the browser's noise suppression (SessionSettings.enableNoiseReduction).
 */
export function audioConstraints(deviceId, { exact = false, noiseSuppression = false } = {}) {
  const constraints = { ...AUDIO_CONSTRAINTS, noiseSuppression };
  if (!deviceId) return constraints;
  return { ...constraints, deviceId: exact ? { exact: deviceId } : deviceId };
}

export function videoConstraints(deviceId, { exact = false, facingMode = FacingMode.FRONT } = {}) {
  if (!deviceId) return { ...VIDEO_CONSTRAINTS, facingMode };
  return { ...VIDEO_CONSTRAINTS, deviceId: exact ? { exact: deviceId } : deviceId };
}

function deviceError(kind, error) {
  const what = kind === "audio" ? "microphone" : "camera";
  const blocked = error && (error.name === "NotAllowedError" || error.name === "SecurityError");
  const message = blocked ? `Access to the ${what} was blocked.` : `The ${what} could not be opened.`;
  return new CallsError(ErrorCode.ERROR_MEDIA_DEVICE, message, { kind, name: error ? error.name : "" });
}

/** Open one kind of device; resolve its track or throw ERROR_MEDIA_DEVICE. `options` as the constraints'. */
export async function openTrack(kind, deviceId, options = {}) {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    throw deviceError(kind, { name: "NotSupportedError" });
  }
  const constraints = kind === "audio" ? { audio: audioConstraints(deviceId, options) } : { video: videoConstraints(deviceId, options) };
  try {
    const stream = await navigator.mediaDevices.getUserMedia(constraints);
    return stream.getTracks()[0];
  } catch (error) {
    throw deviceError(kind, error);
  }
}

/**
 * Open the microphone and (optionally) the camera in one prompt, falling back
 * to each on its own so a missing camera does not cost the microphone.
 * Resolves {audio, video, problems}: a track or null per kind, and a
 * CallsError per kind that could not be opened.
 */
export async function openDevices({ audio, video, audioDeviceId = "", videoDeviceId = "", facingMode = FacingMode.FRONT, noiseSuppression = false }) {
  const result = { audio: null, video: null, problems: [] };
  if (!audio && !video) return result;
  if (audio && video && navigator.mediaDevices && navigator.mediaDevices.getUserMedia) {
    try {
      const stream = await navigator.mediaDevices.getUserMedia({
        audio: audioConstraints(audioDeviceId, { noiseSuppression }),
        video: videoConstraints(videoDeviceId, { facingMode }),
      });
      result.audio = stream.getAudioTracks()[0] || null;
      result.video = stream.getVideoTracks()[0] || null;
      return result;
    } catch {
      // Try each device on its own below: one of them may still work.
    }
  }
  for (const kind of ["audio", "video"]) {
    if (!(kind === "audio" ? audio : video)) continue;
    try {
      result[kind] = await openTrack(kind, kind === "audio" ? audioDeviceId : videoDeviceId, { facingMode, noiseSuppression });
    } catch (error) {
      result.problems.push(error);
    }
  }
  return result;
}

/** Whether audio output can be routed to a chosen device (setSinkId). */
export function canChooseAudioOutput() {
  return typeof HTMLMediaElement !== "undefined" && "setSinkId" in HTMLMediaElement.prototype;
}

/** The media devices by kind: {audioInput, videoInput, audioOutput}, each [{deviceId, label, kind, groupId}]. */
export async function listDevices() {
  const found = { audioInput: [], videoInput: [], audioOutput: [] };
  if (!navigator.mediaDevices || !navigator.mediaDevices.enumerateDevices) return found;
  const keys = { audioinput: "audioInput", videoinput: "videoInput", audiooutput: "audioOutput" };
  const devices = await navigator.mediaDevices.enumerateDevices();
  for (const device of devices) {
    const key = keys[device.kind];
    if (!key || !device.deviceId) continue;
    const number = found[key].length + 1;
    const fallback = { audioInput: "Microphone", videoInput: "Camera", audioOutput: "Speaker" }[key];
    found[key].push(
      Object.freeze({ deviceId: device.deviceId, label: device.label || `${fallback} ${number}`, kind: device.kind, groupId: device.groupId || "" }),
    );
  }
  if (!canChooseAudioOutput()) found.audioOutput = [];
  return found;
}

/** Whether `track` says its noise suppression is not `enabled` (false where the browser does not say). */
function ignoresNoiseSuppression(track, enabled) {
  const actual = typeof track.getSettings === "function" ? track.getSettings().noiseSuppression : undefined;
  return typeof actual === "boolean" && actual !== enabled;
}

function stopTrack(track) {
  if (track && track.readyState !== "ended") track.stop();
}

/** The local participant's microphone and camera for the length of one call. */
export class LocalMedia {
  constructor({ video, audioDeviceId = "", videoDeviceId = "", facingMode = FacingMode.FRONT, noiseSuppression = false }) {
    this.videoAllowed = video;
    this.audioDeviceId = audioDeviceId;
    // What the microphone is (to be) opened with: SessionSettings.enableNoiseReduction.
    this.noiseSuppression = noiseSuppression;
    this.videoDeviceId = videoDeviceId;
    this.facingMode = facingMode;
    this.audioTrack = null;
    this.videoTrack = null;
    this.stopped = false;
  }

  /**
   * Open what the call starts with. Failures are not fatal: the call goes on
   * without that device, and `problems` says what could not be opened.
   */
  async start({ withVideo }) {
    const opened = await openDevices({
      audio: true,
      video: this.videoAllowed && withVideo,
      audioDeviceId: this.audioDeviceId,
      videoDeviceId: this.videoDeviceId,
      facingMode: this.facingMode,
      noiseSuppression: this.noiseSuppression,
    });
    this.audioTrack = opened.audio;
    this.videoTrack = opened.video;
    return opened.problems;
  }

  setAudioEnabled(enabled) {
    if (this.audioTrack) this.audioTrack.enabled = enabled;
  }

  /** Open the microphone if the call started without one; resolve the track. */
  async ensureAudio() {
    if (!this.audioTrack || this.audioTrack.readyState === "ended") {
      this.audioTrack = await openTrack("audio", this.audioDeviceId, { noiseSuppression: this.noiseSuppression });
    }
    return this.audioTrack;
  }

  /** Open the camera (again); resolve the new track. */
  async startVideo() {
    if (!this.videoAllowed) throw new CallsError(ErrorCode.ERROR_MEDIA_DEVICE, "This is a voice call.", { kind: "video" });
    stopTrack(this.videoTrack);
    this.videoTrack = await openTrack("video", this.videoDeviceId, { facingMode: this.facingMode });
    return this.videoTrack;
  }

  /**
   * Use another microphone: the new one opens before the old one closes, so a
   * device that fails leaves the call as it was. Resolves the new track.
   */
  async switchAudio(deviceId) {
    const track = await openTrack("audio", deviceId, { exact: true, noiseSuppression: this.noiseSuppression });
    this._replaceAudio(track);
    this.audioDeviceId = deviceId;
    return track;
  }

  /**
   * Turn the browser's noise suppression on or off. A live microphone gets the new constraints
   * (`applyConstraints`); where its settings do not follow (Chromium fixes a microphone's audio
   * processing when it opens) it is opened again with them. Resolves the new track, or null when the
   * live one (or none) did; throws ERROR_MEDIA_DEVICE, with the microphone closed, if it does not open again.
   */
  async setNoiseSuppression(enabled) {
    this.noiseSuppression = enabled;
    const track = this.audioTrack;
    if (!track || track.readyState !== "live") return null;
    try {
      await track.applyConstraints(audioConstraints("", { noiseSuppression: enabled }));
    } catch {
      // Opened again below if its settings did not follow.
    }
    if (track !== this.audioTrack || !ignoresNoiseSuppression(track, enabled)) return null;
    // A microphone opened again while its track is live gets that track's processing: close it first.
    const deviceId = this.currentDeviceId("audio");
    const muted = !track.enabled;
    stopTrack(track);
    this.audioTrack = null; // If it does not open again, the call goes on without a microphone.
    const reopened = await openTrack("audio", deviceId, { noiseSuppression: enabled });
    if (this.stopped) {
      stopTrack(reopened); // The call ended meanwhile: this microphone must not stay open.
      return null;
    }
    reopened.enabled = !muted;
    this.audioTrack = reopened;
    return reopened;
  }

  /** A new microphone track in place of the old one, muted as the old one was. */
  _replaceAudio(track) {
    if (this.audioTrack) track.enabled = this.audioTrack.enabled;
    stopTrack(this.audioTrack);
    this.audioTrack = track;
  }

  /**
   * Use another camera (by deviceId, or by facing mode when `deviceId` is "").
   * With the camera off only the choice is kept; resolves the new track or null.
   */
  async switchVideo({ deviceId = "", facingMode = this.facingMode }) {
    if (!this.videoAllowed) throw new CallsError(ErrorCode.ERROR_MEDIA_DEVICE, "This is a voice call.", { kind: "video" });
    if (this.videoTrack) {
      // Some phones cannot open two cameras at once: close the old one first.
      stopTrack(this.videoTrack);
      this.videoTrack = null; // If the new camera fails, the camera is off.
      this.videoTrack = await openTrack("video", deviceId, { exact: Boolean(deviceId), facingMode });
    }
    this.videoDeviceId = deviceId;
    this.facingMode = facingMode;
    return this.videoTrack;
  }

  /** The deviceId a live track of `kind` uses, else the one chosen. */
  currentDeviceId(kind) {
    const track = kind === "audio" ? this.audioTrack : this.videoTrack;
    const live = track && track.readyState === "live" && track.getSettings ? track.getSettings().deviceId : "";
    return live || (kind === "audio" ? this.audioDeviceId : this.videoDeviceId);
  }

  /** From now on a voice call: the camera closes and never opens again. */
  forbidVideo() {
    this.videoAllowed = false;
    this.stopVideo();
  }

  /** Close the camera: its light goes off. */
  stopVideo() {
    stopTrack(this.videoTrack);
    this.videoTrack = null;
  }

  stop() {
    this.stopped = true;
    stopTrack(this.audioTrack);
    this.stopVideo();
    this.audioTrack = null;
  }
}
