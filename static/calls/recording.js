/**
 * Recording the call: a moderator starts and stops it (`recording {action}`); the server records
 * and tells everyone (`recording {recording, by}`), and every page shows that the call is being
 * recorded, late joiners too (`joined.recording`).
 *
 * Which page gets which event, after CometChat's names: the page whose person started (or
 * stopped) the recording gets `onRecordingStarted` (`onRecordingStopped`), as it gets
 * `onScreenShareStarted`; every other page gets `onParticipantStartedRecording(participant)`
 * (`onParticipantStoppedRecording`). A recording the call started itself (`autoStartRecording`,
 * `by: ""`) is `onRecordingStarted` on every page.
 *
 * The server decides (moderators only; a session that locks `hideRecordingButton: true` forbids
 * it); the SDK refuses what the server would, without sending.
 */

import { CallsError, ErrorCode, Refusal, failure, success } from "./errors.js";
import { Events } from "./events.js";
import { isModerator, snapshot } from "./participant-model.js";

export class Recording {
  /**
   * @param {object} call the part of the call this uses (session.js): inCall, notInCall, localId,
   *   participants, settings, isLocked, send, on, view, emit
   */
  constructor(call) {
    this._call = call;
    this._recording = false;
    call.on("recording", (message) => this._changed(message));
  }

  /** Whether the call is being recorded, as the server last said. */
  get recording() {
    return this._recording;
  }

  /** `joined` says whether the call is being recorded already (no event: nothing changed). */
  seat(recording) {
    this._recording = recording === true;
    this._call.view.setRecording(this._recording);
  }

  /** The error startRecording() / stopRecording() gets here, or null when we may record. */
  refusal() {
    const call = this._call;
    if (!isModerator(call.participants.get(call.localId))) {
      return new CallsError(ErrorCode.AUTH_ERR_NO_ACCESS, "Only a moderator can record the call.", { reason: Refusal.ROLE });
    }
    if (call.settings.hideRecordingButton && call.isLocked("hideRecordingButton")) {
      return new CallsError(ErrorCode.AUTH_ERR_NO_ACCESS, "This call does not allow recording.", { reason: Refusal.LOCKED });
    }
    return null;
  }

  /** Ask the server to start (true) or stop recording; nothing is sent if it would be refused. */
  setRecording(on) {
    const call = this._call;
    if (!call.inCall) return call.notInCall();
    const refused = this.refusal();
    if (refused) return failure(refused);
    call.send("recording", { action: on ? "start" : "stop" });
    return success();
  }

  toggle() {
    return this.setRecording(!this._recording);
  }

  /** `recording {recording, by}`: to everyone, the moderator who did it included. */
  _changed({ recording, by }) {
    const call = this._call;
    const on = recording === true;
    this._recording = on;
    call.view.setRecording(on);
    const pid = typeof by === "string" ? by : "";
    if (!pid || pid === call.localId) {
      call.emit(on ? Events.onRecordingStarted : Events.onRecordingStopped);
      return;
    }
    const participant = call.participants.has(pid) ? snapshot(call.participants.get(pid)) : { pid };
    call.emit(on ? Events.onParticipantStartedRecording : Events.onParticipantStoppedRecording, participant);
  }
}
