/**
 * Screen sharing: ours (getDisplayMedia; `screen_share {enabled}` tells the server, whose next
 * offer names the transceiver in `publish.screen`) and everyone else's, each a tile of its own.
 */

import { CallsError, ErrorCode, failure, success } from "./errors.js";
import { Events } from "./events.js";
import { snapshot } from "./participant-model.js";

export class ScreenShare {
  /**
   * @param {object} call the part of the call this uses (session.js): inCall, voice, localId,
   *   participants, remoteTracks, settings, isLocked, forbidden, peer, send, on, view, emit,
   *   listChanged, notInCall, and the session's screenGone(pid) (a pinned screen share is unpinned)
   */
  constructor(call) {
    this._call = call;
    this._track = null;
    this._starting = false;
    this._onEnded = () => this.setSharing(false);
    call.on("screen_share", (message) => this._changed(message));
  }

  get sharing() {
    return Boolean(this._track);
  }

  /** Start (getDisplayMedia) or stop presenting; onScreenShareStarted / Stopped. */
  async setSharing(enabled) {
    const call = this._call;
    if (!call.inCall) return call.notInCall();
    if (enabled) return this._start();
    if (!this._track) return success();
    this._release();
    if (call.peer) await call.peer.setScreenTrack(null);
    call.send("screen_share", { enabled: false });
    this._presenting(call.localId, false);
    this._removeTile(call.localId);
    call.view.setScreenSharing(false);
    call.emit(Events.onScreenShareStopped);
    return success();
  }

  async _start() {
    const call = this._call;
    if (this._track || this._starting) return success();
    if (call.voice) return failure(new CallsError(ErrorCode.ERROR_MEDIA_DEVICE, "This is a voice call.", { kind: "screen" }));
    if (call.settings.hideScreenSharingButton && call.isLocked("hideScreenSharingButton")) return call.forbidden("Screen sharing");
    if (!navigator.mediaDevices || typeof navigator.mediaDevices.getDisplayMedia !== "function") {
      return failure(new CallsError(ErrorCode.ERROR_MEDIA_DEVICE, "This browser cannot share its screen.", { kind: "screen", reason: "unsupported" }));
    }
    this._starting = true;
    let stream;
    try {
      stream = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
    } catch (error) {
      const problem = new CallsError(ErrorCode.ERROR_MEDIA_DEVICE, error.name === "NotAllowedError" ? "Screen sharing was not allowed." : "The screen could not be shared.", { kind: "screen", name: error.name || "" });
      if (error.name !== "NotAllowedError") call.view.notify(problem.message);
      return failure(problem);
    } finally {
      this._starting = false;
    }
    const track = stream.getVideoTracks()[0];
    if (!call.inCall || !track) {
      stream.getTracks().forEach((t) => t.stop());
      return call.notInCall();
    }
    if ("contentHint" in track) track.contentHint = "detail";
    this._track = track;
    track.addEventListener("ended", this._onEnded, { once: true });
    await call.peer.setScreenTrack(track);
    call.send("screen_share", { enabled: true });
    this._presenting(call.localId, true);
    call.view.setScreenTrack(snapshot(call.participants.get(call.localId)), track);
    call.view.setScreenSharing(true);
    call.emit(Events.onScreenShareStarted);
    return success();
  }

  /** The call is over: stop the track (the view goes with the call). */
  stop() {
    this._release();
  }

  /** The server let us go and we join again as a new participant: what we presented is gone. */
  reset() {
    if (!this._track) return;
    const call = this._call;
    this._release();
    this._removeTile(call.localId);
    call.view.setScreenSharing(false);
    call.emit(Events.onScreenShareStopped);
  }

  /** A received track whose offer source is "screen". */
  remoteTrack(pid, track) {
    const participant = this._call.participants.get(pid);
    if (participant) this._call.view.setScreenTrack(snapshot(participant), track);
  }

  /** `pid`'s screen share is over: its tile goes, and it is no longer pinned. */
  _removeTile(pid) {
    this._call.view.removeScreen(pid);
    this._call.screenGone(pid);
  }

  _release() {
    if (!this._track) return;
    this._track.removeEventListener("ended", this._onEnded);
    this._track.stop();
    this._track = null;
  }

  /** `screen_share {participantId, enabled}` from the server. */
  _changed({ participantId, enabled }) {
    const call = this._call;
    if (participantId === call.localId) {
      // Refused or stopped by the server: stop presenting here too.
      if (!enabled && this._track) this.setSharing(false);
      return;
    }
    if (!this._presenting(participantId, Boolean(enabled))) return;
    if (!enabled) {
      this._removeTile(participantId);
      const tracks = call.remoteTracks.get(participantId);
      if (tracks) delete tracks.screen;
    } else {
      const track = (call.remoteTracks.get(participantId) || {}).screen;
      if (track) this.remoteTrack(participantId, track);
    }
    const participant = snapshot(call.participants.get(participantId));
    call.emit(enabled ? Events.onParticipantStartedScreenShare : Events.onParticipantStoppedScreenShare, participant);
  }

  _presenting(pid, presenting) {
    const call = this._call;
    const changed = call.participants.update(pid, { isPresenting: presenting });
    if (!changed.length) return false;
    call.view.updateParticipant(snapshot(call.participants.get(pid)));
    call.listChanged();
    return true;
  }
}
