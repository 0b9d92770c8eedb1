/**
 * Raised hands: `hand {raised}` goes to the server, which stamps the time and tells everyone (us
 * included), so every tile and list shows the hand and raised hands come first, in order.
 */

import { success } from "./errors.js";
import { Events } from "./events.js";
import { snapshot } from "./participant-model.js";

export class HandRaising {
  /**
   * @param {object} call the part of the call this uses (session.js): inCall, localId, participants,
   *   settings, isLocked, forbidden, send, on, view, emit, listChanged, notInCall
   * @param {function(object): boolean} asksToSpeak whether a raised hand is a held participant's
   *   request, already told to moderators (moderation.js)
   */
  constructor(call, asksToSpeak) {
    this._call = call;
    this._asksToSpeak = asksToSpeak;
    call.on("hand", (message) => this._changed(message));
  }

  get raised() {
    const me = this._call.participants.get(this._call.localId);
    return Boolean(me && me.raisedHandTimestamp);
  }

  /** Once in the call (again). */
  start() {
    this._call.view.setHandRaised(this.raised);
  }

  setRaised(raised) {
    const call = this._call;
    if (!call.inCall) return call.notInCall();
    if (call.settings.hideRaiseHandButton && call.isLocked("hideRaiseHandButton")) return call.forbidden("Raising a hand");
    call.send("hand", { raised: Boolean(raised) });
    return success();
  }

  /** `hand {participantId, raised, raisedHandTimestamp}`: everyone's, ours included. */
  _changed({ participantId, raised, raisedHandTimestamp }) {
    const call = this._call;
    const timestamp = raised ? Number(raisedHandTimestamp) || Date.now() : 0;
    const changed = call.participants.update(participantId, { raisedHandTimestamp: timestamp });
    if (!changed.length) return;
    const participant = snapshot(call.participants.get(participantId));
    call.view.updateParticipant(participant);
    if (participantId === call.localId) call.view.setHandRaised(Boolean(timestamp));
    else if (timestamp && !this._asksToSpeak(participant) && call.settings.enableNotifications) {
      call.view.notify(`${participant.name || "Guest"} raised a hand`);
    }
    call.emit(timestamp ? Events.onParticipantHandRaised : Events.onParticipantHandLowered, participant);
    call.listChanged();
  }
}
