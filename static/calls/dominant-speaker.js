/**
 * The dominant speaker (`dominant_speaker {participantId}`, decided by the server): their tile is
 * ringed, and SPOTLIGHT follows them unless someone is pinned.
 */

import { Events } from "./events.js";
import { snapshot } from "./participant-model.js";

export class DominantSpeaker {
  /** @param {object} call the part of the call this uses (session.js): participants, on, view, emit */
  constructor(call) {
    this._call = call;
    this._pid = "";
    call.on("dominant_speaker", (message) => this._changed(message));
  }

  get participantId() {
    return this._pid;
  }

  participantLeft(pid) {
    if (pid !== this._pid) return;
    this._pid = "";
    this._call.view.setSpeaker("");
  }

  _changed({ participantId }) {
    const call = this._call;
    const pid = String(participantId || "");
    if (pid === this._pid || (pid && !call.participants.has(pid))) return;
    this._pid = pid;
    call.view.setSpeaker(pid);
    if (pid) call.emit(Events.onDominantSpeakerChanged, snapshot(call.participants.get(pid)));
  }
}
