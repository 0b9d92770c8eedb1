/**
 * Our own microphone and camera in the call: muting, pausing and resuming the camera, choosing
 * the microphone, camera (or its facing) and speaker, and keeping the tracks the peer connection
 * sends in step. Media actions run one at a time, so fast clicks cannot interleave. The devices
 * themselves are media.js's; their lists and events are devices.js's.
 */

import { DeviceKind, DeviceWatcher } from "./devices.js";
import { CallsError, ErrorCode, asCallsError, failure, notInCall, success } from "./errors.js";
import { Events } from "./events.js";
import { FacingMode, LocalMedia, canChooseAudioOutput } from "./media.js";
import { snapshot } from "./participant-model.js";

export class LocalMediaControls {
  /**
   * @param {object} call the part of the call this uses (session.js): inCall, voice, settings,
   *   localId, participants, peer, send, view, emit, listChanged, and from moderation.js held(kind)
   *   and holdRefusal(kind) (a moderator's hold on our microphone or camera)
   */
  constructor(call) {
    const settings = call.settings;
    this._call = call;
    this._audioMuted = settings.startAudioMuted;
    this._videoPaused = call.voice || settings.startVideoPaused;
    this._actions = Promise.resolve();
    this._onCameraEnded = () => this.setVideoPaused(true);
    this._media = new LocalMedia({
      video: !call.voice,
      audioDeviceId: settings.audioInputDeviceId,
      videoDeviceId: settings.videoInputDeviceId,
      facingMode: settings.initialCameraFacing === "REAR" ? FacingMode.REAR : FacingMode.FRONT,
      noiseSuppression: settings.enableNoiseReduction,
    });
    this._devices = new DeviceWatcher({
      media: this._media,
      audioOutputDeviceId: settings.audioOutputDeviceId,
      emit: (name, arg) => call.inCall && call.emit(name, arg),
    });
  }

  get audioMuted() {
    return this._audioMuted;
  }

  get videoPaused() {
    return this._videoPaused;
  }

  /** The tracks the peer connection sends: {audio, video}, either null when off. */
  get tracks() {
    return { audio: this._media.audioTrack, video: this._media.videoTrack };
  }

  /**
   * Open the microphone (and the camera unless it starts paused); resolves the problems to tell
   * the person about (a device that could not be opened leaves it off).
   */
  async open() {
    const problems = await this._media.start({ withVideo: !this._videoPaused });
    this._audioMuted = this._audioMuted || !this._media.audioTrack;
    this._videoPaused = this._videoPaused || !this._media.videoTrack;
    this._media.setAudioEnabled(!this._audioMuted);
    this._watchCamera(this._media.videoTrack);
    return problems;
  }

  /** In the call: read the device lists and follow their changes. */
  watchDevices() {
    return this._devices.start();
  }

  /** Close the devices and stop following them. */
  close() {
    this._devices.stop();
    if (this._media.videoTrack) this._media.videoTrack.removeEventListener("ended", this._onCameraEnded);
    this._media.stop();
  }

  /**
   * Turn the microphone (`audio`) and the camera (`video`) off before the call shows them: the
   * session's forced settings, or a moderator's hold we join under. Never turns anything on.
   */
  forceOff({ audio = false, video = false }) {
    if (audio && !this._audioMuted) {
      this._audioMuted = true;
      this._media.setAudioEnabled(false);
    }
    if (video && !this._videoPaused) {
      this._media.stopVideo();
      this._videoPaused = true;
    }
  }

  /**
   * The call turned out to be a voice call (the call token or the server says so) after the page
   * started as a video call: the camera closes, stops being sent, and cannot be turned on again.
   */
  becomeVoice() {
    if (this._media.videoTrack) this._media.videoTrack.removeEventListener("ended", this._onCameraEnded);
    this._media.forbidVideo();
    this._videoPaused = true;
    const peer = this._call.peer;
    if (peer) peer.replaceTrack("video", null).catch(() => {});
  }

  /**
   * The call's effective enableNoiseReduction (the server's answer to our join may differ from what
   * the page asked for): the microphone follows it, opened again where it cannot change live.
   */
  setNoiseReduction(enabled) {
    if (enabled === this._media.noiseSuppression) return Promise.resolve(success());
    return this._serialise(async () => {
      let track = null;
      try {
        track = await this._media.setNoiseSuppression(enabled);
      } finally {
        if (!this._media.audioTrack) await this._microphoneGone();
      }
      if (track) await this._call.peer.replaceTrack("audio", track);
    });
  }

  /** Our tile, the control bar and the list after our media (or a moderator's hold on it) changed. */
  shown() {
    const call = this._call;
    const me = call.participants.get(call.localId);
    if (!me) return;
    call.view.updateParticipant(snapshot(me));
    call.view.setLocalMedia({
      audioMuted: this._audioMuted,
      videoPaused: this._videoPaused,
      audioHeld: me.audioMutedByModerator,
      videoHeld: me.videoPausedByModerator,
    });
    call.listChanged();
  }

  setAudioMuted(muted) {
    return this._serialise(async () => {
      const call = this._call;
      // A moderator's hold: only they can lift it (the server refuses our unmute too).
      if (!muted && call.held("audio")) throw call.holdRefusal("audio");
      if (!muted && !this._media.audioTrack) {
        await call.peer.replaceTrack("audio", await this._media.ensureAudio());
      }
      this._media.setAudioEnabled(!muted);
      if (this._audioMuted === muted) return;
      this._audioMuted = muted;
      this._changed();
      call.emit(muted ? Events.onAudioMuted : Events.onAudioUnMuted);
    });
  }

  setVideoPaused(paused) {
    return this._serialise(async () => {
      const call = this._call;
      if (call.voice) throw voiceCall();
      if (!paused && call.held("video")) throw call.holdRefusal("video");
      if (this._videoPaused === paused) return;
      if (paused) {
        await call.peer.replaceTrack("video", null);
        this._media.stopVideo();
      } else {
        const track = await this._media.startVideo();
        this._watchCamera(track);
        await call.peer.replaceTrack("video", track);
      }
      call.view.setTrack(call.localId, "video", this._media.videoTrack);
      this._videoPaused = paused;
      this._changed();
      call.emit(paused ? Events.onVideoPaused : Events.onVideoResumed);
    });
  }

  // Devices.

  devices(kind) {
    return this._call.inCall ? this._devices.list(kind) : [];
  }

  currentDevice(kind) {
    return this._call.inCall ? this._devices.current(kind) : null;
  }

  setAudioInputDevice(deviceId) {
    return this._serialise(async () => {
      this._checkDevice(DeviceKind.audioInput, deviceId, "audio");
      const track = await this._media.switchAudio(deviceId);
      await this._call.peer.replaceTrack("audio", track);
      this._devices.announceCurrent(DeviceKind.audioInput);
    });
  }

  setVideoInputDevice(deviceId) {
    return this._serialise(async () => {
      this._checkDevice(DeviceKind.videoInput, deviceId, "video");
      await this._useCamera({ deviceId });
    });
  }

  /** The next camera, or the other facing mode (front/rear) with only one camera. */
  switchCamera() {
    return this._serialise(async () => {
      if (this._call.voice) throw voiceCall();
      const next = this._devices.nextCamera();
      if (next) await this._useCamera({ deviceId: next.deviceId });
      else await this._useCamera({ facingMode: this._media.facingMode === FacingMode.FRONT ? FacingMode.REAR : FacingMode.FRONT });
    });
  }

  /** Where the browser has setSinkId; elsewhere remote audio stays on the default speaker and this resolves ERROR_MEDIA_DEVICE. */
  setAudioOutputDevice(deviceId) {
    return this._serialise(async () => {
      if (!canChooseAudioOutput()) {
        throw new CallsError(ErrorCode.ERROR_MEDIA_DEVICE, "This browser cannot choose the speaker.", { kind: "audiooutput", reason: "unsupported" });
      }
      this._checkDevice(DeviceKind.audioOutput, deviceId, "audiooutput");
      try {
        await this._call.view.setAudioOutput(deviceId);
      } catch (error) {
        throw new CallsError(ErrorCode.ERROR_MEDIA_DEVICE, "The speaker could not be used.", { kind: "audiooutput", name: error.name || "" });
      }
      this._devices.audioOutputDeviceId = deviceId;
      this._devices.announceCurrent(DeviceKind.audioOutput);
    });
  }

  _checkDevice(kind, deviceId, name) {
    if (typeof deviceId !== "string" || !this._devices.has(kind, deviceId)) {
      throw new CallsError(ErrorCode.ERROR_MEDIA_DEVICE, "There is no such device.", { kind: name, deviceId: String(deviceId) });
    }
  }

  async _useCamera(choice) {
    const call = this._call;
    if (call.voice) throw voiceCall();
    const had = Boolean(this._media.videoTrack);
    let track;
    try {
      track = await this._media.switchVideo(choice);
    } finally {
      // The old camera is closed either way; a failed new one leaves the camera off.
      if (had && !this._media.videoTrack) await this._cameraGone();
    }
    if (track) {
      this._watchCamera(track);
      await call.peer.replaceTrack("video", track);
      call.view.setTrack(call.localId, "video", track);
    }
    this._devices.announceCurrent(DeviceKind.videoInput);
  }

  /** The microphone closed and did not open again: nothing is sent, and we are muted until we unmute (which opens it). */
  async _microphoneGone() {
    const call = this._call;
    if (call.peer) await call.peer.replaceTrack("audio", null);
    if (!this._audioMuted) {
      this._audioMuted = true;
      this._changed();
      call.emit(Events.onAudioMuted);
    }
  }

  async _cameraGone() {
    const call = this._call;
    await call.peer.replaceTrack("video", null);
    call.view.setTrack(call.localId, "video", null);
    if (!this._videoPaused) {
      this._videoPaused = true;
      this._changed();
      call.emit(Events.onVideoPaused);
    }
  }

  _watchCamera(track) {
    // A camera that is unplugged or taken by the system ends its track: show the camera as off.
    if (track) track.addEventListener("ended", this._onCameraEnded, { once: true });
  }

  /** Our media state changed: the list, the server and the screen hear of it. */
  _changed() {
    const call = this._call;
    const state = { audioMuted: this._audioMuted, videoPaused: this._videoPaused };
    call.participants.update(call.localId, state);
    call.send("media", state);
    this.shown();
  }

  /** Run media actions one at a time, so fast clicks cannot interleave. */
  _serialise(action) {
    const run = async () => {
      if (!this._call.inCall) return notInCall();
      try {
        await action();
        return success();
      } catch (error) {
        const reported = asCallsError(error, ErrorCode.ERROR_MEDIA_DEVICE);
        this._call.view.notify(reported.message);
        return failure(reported);
      }
    };
    const result = this._actions.then(run);
    this._actions = result;
    return result;
  }
}

function voiceCall() {
  return new CallsError(ErrorCode.ERROR_MEDIA_DEVICE, "This is a voice call.", { kind: "video" });
}
