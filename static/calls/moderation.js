/**
 * Roles and moderation: who may moderate, the moderator actions (ending the
 * call for everyone among them), and a moderator's hold on our own
 * microphone or camera.
 *
 * The server decides and enforces all of it (sessions_app/signaling/protocol.py): a
 * call token carries the role, `moderate` and `end_for_all` from anyone but a
 * moderator are refused, and a held participant's own unmute is refused. The
 * SDK mirrors those rules so that nothing is offered, or sent, that the
 * server would refuse: moderator controls exist only for moderators, and a
 * held microphone's button asks to speak (raises the hand, as Jitsi's "ask
 * to unmute") instead of unmuting.
 */

import { CallsError, ErrorCode, Refusal, failure, success } from "./errors.js";
import { Events } from "./events.js";
import { isModerator, snapshot, unknownParticipant } from "./participant-model.js";

/** The `moderate` actions, by the view's action names. */
export const ModerationAction = Object.freeze({
  "mute-participant": "mute",
  "pause-participant-video": "pause_video",
  "remove-participant": "remove",
  "allow-participant-audio": "allow_audio",
  "allow-participant-video": "allow_video",
});

// A hold by kind: the participant field that says so and what the person is told.
const HOLDS = {
  audio: {
    field: "audioMutedByModerator",
    placed: "A moderator muted you. Click the microphone to ask to speak.",
    asked: "A moderator muted you. Your hand is raised to ask to speak.",
    lifted: "A moderator allowed you to speak",
    refused: "A moderator muted you: raise your hand to ask to speak.",
  },
  video: {
    field: "videoPausedByModerator",
    placed: "A moderator turned your camera off. Click the camera to ask to turn it on.",
    asked: "A moderator turned your camera off. Your hand is raised to ask to turn it on.",
    lifted: "A moderator allowed your camera",
    refused: "A moderator turned your camera off: raise your hand to ask to turn it on.",
  },
};

export class Moderation {
  /**
   * @param {object} call the part of the call this uses (session.js): inCall, voice, localId,
   *   participants, settings, isLocked, forbidden, send, on, view, emit, notInCall, and our own
   *   media: audioMuted, videoPaused, setAudioMuted, setVideoPaused, localMediaShown
   * @param {object} hand our raised hand (hand-raising.js), which a held button raises to ask
   */
  constructor(call, hand) {
    this._call = call;
    this._hand = hand;
    call.on("moderation", (message) => this._moderated(message));
  }

  /** Whether we are a moderator of this call (from our call token, as the server says in `joined`). */
  get isModerator() {
    return isModerator(this._call.participants.get(this._call.localId));
  }

  /** Whether a moderator holds our `kind` ("audio" or "video") off. */
  held(kind) {
    const me = this._call.participants.get(this._call.localId);
    return Boolean(me && me[HOLDS[kind].field]);
  }

  /** The error of an action only moderators may take, or null when we may take it. */
  refusal(what) {
    const call = this._call;
    if (!this.isModerator) {
      return new CallsError(ErrorCode.AUTH_ERR_NO_ACCESS, `Only a moderator can ${what}.`, { reason: Refusal.ROLE });
    }
    if (!call.settings.enableParticipantContextMenu && call.isLocked("enableParticipantContextMenu")) {
      return new CallsError(ErrorCode.AUTH_ERR_NO_ACCESS, "This call does not allow moderation.", { reason: Refusal.LOCKED });
    }
    return null;
  }

  /** Ask the server to `action` (a ModerationAction value) participant `pid`; nothing is sent if it would be refused. */
  moderate(pid, action) {
    const call = this._call;
    if (!call.inCall) return call.notInCall();
    const refused = this.refusal("moderate other participants");
    if (refused) return failure(refused);
    if (typeof pid !== "string" || !call.participants.has(pid)) return failure(unknownParticipant(pid));
    if (pid === call.localId) {
      return failure(new CallsError(ErrorCode.ERR_BAD_REQUEST, "Use muteAudio() or pauseVideo() for yourself.", { participantId: pid }));
    }
    call.send("moderate", { target: pid, action });
    return success();
  }

  /** endSessionForAll(), moderators only: anyone else gets AUTH_ERR_NO_ACCESS and nothing is sent. */
  endForAll() {
    const call = this._call;
    if (!call.inCall) return call.notInCall();
    if (!call.settings.enableParticipantContextMenu && call.isLocked("enableParticipantContextMenu")) return call.forbidden("Ending the call for everyone");
    const refused = this.refusal("end the call for everyone");
    if (refused) return failure(refused);
    call.send("end_for_all");
    return success();
  }

  /** The error `setAudioMuted(false)` / `setVideoPaused(false)` gets while held, or null. */
  holdRefusal(kind) {
    if (!this.held(kind)) return null;
    return new CallsError(ErrorCode.AUTH_ERR_NO_ACCESS, HOLDS[kind].refused, { reason: Refusal.HELD, kind });
  }

  /** The microphone or camera button while held: raise the hand to ask, and say so. */
  askToTurnOn(kind) {
    if (!this._hand.raised) this._hand.setRaised(true);
    this._call.view.notify(HOLDS[kind].asked);
    return success();
  }

  /**
   * Our hold flags as the server states them (in `joined`, `resumed`, `media`, or an
   * `error` refusing our unmute): placing a hold turns the device off here too.
   */
  applyHolds({ audio, video }) {
    const call = this._call;
    const changes = {};
    if (typeof audio === "boolean") changes.audioMutedByModerator = audio;
    if (typeof video === "boolean") changes.videoPausedByModerator = video;
    const changed = call.participants.update(call.localId, changes);
    if (audio && !call.audioMuted) call.setAudioMuted(true);
    if (video && !call.videoPaused && !call.voice) call.setVideoPaused(true);
    if (changed.length) call.localMediaShown();
  }

  /** An `error` the server sent in the call; true when it was about moderation and has been handled here. */
  serverRefused(error) {
    if (error.errorCode !== ErrorCode.AUTH_ERR_NO_ACCESS || !error.details) return false;
    const { reason, kind } = error.details;
    if (reason === Refusal.HELD && (kind === "audio" || kind === "video")) {
      // Our unmute raced the hold (or we did not know): the server kept it off, so do we.
      this.applyHolds({ [kind]: true });
      this._call.view.notify(HOLDS[kind].refused);
      return true;
    }
    return false;
  }

  /** A held participant raised a hand: a moderator is told they ask to speak. */
  asksToSpeak(participant) {
    if (!this.isModerator || participant.isLocal) return false;
    if (!participant.audioMutedByModerator && !participant.videoPausedByModerator) return false;
    this._call.view.notify(`${participant.name || "Guest"} asks to ${participant.audioMutedByModerator ? "speak" : "turn their camera on"}`);
    return true;
  }

  /** Our role as the view should show it (after joining, and after every rejoin). */
  showRole() {
    const me = this._call.participants.get(this._call.localId);
    if (me) this._call.view.setLocalRole(snapshot(me));
  }

  /**
   * `moderation {action, by}`: a moderator muted us or turned our camera off (the server has
   * already stopped forwarding it, and holds it off until a moderator allows it again), or lifted
   * that hold.
   */
  _moderated({ action, by }) {
    const call = this._call;
    if (action === "mute" || action === "pause_video") {
      const kind = action === "mute" ? "audio" : "video";
      this.applyHolds({ [kind]: true });
      call.view.notify(HOLDS[kind].placed);
    } else if (action === "allow_audio" || action === "allow_video") {
      const kind = action === "allow_audio" ? "audio" : "video";
      this.applyHolds({ [kind]: false });
      call.view.notify(HOLDS[kind].lifted);
    }
    call.emit(Events.onModeratedByParticipant, { action: String(action || ""), by: String(by || "") });
  }
}
