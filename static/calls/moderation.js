/**
 * Roles and moderation on top of a CallSession (session.js): who may
 * moderate, the moderator actions, and a moderator's hold on our own
 * microphone or camera.
 *
 * The server decides and enforces all of it (sessions_app/protocol.py): a
 * call token carries the role, `moderate` and `end_for_all` from anyone but a
 * moderator are refused, and a held participant's own unmute is refused. The
 * SDK mirrors those rules so that nothing is offered, or sent, that the
 * server would refuse: moderator controls exist only for moderators, and a
 * held microphone's button asks to speak (raises the hand, as Jitsi's "ask
 * to unmute") instead of unmuting.
 */

import { CallsError, ErrorCode } from "./errors.js";
import { Events } from "./events.js";
import { isModerator, snapshot } from "./participant-model.js";

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
  /** @param {import("./session.js").CallSession} session */
  constructor(session) {
    this._s = session;
  }

  /** Whether we are a moderator of this call (from our call token, as the server says in `joined`). */
  get isModerator() {
    return isModerator(this._s._participants.get(this._s.participantId));
  }

  /** Whether a moderator holds our `kind` ("audio" or "video") off. */
  held(kind) {
    const me = this._s._participants.get(this._s.participantId);
    return Boolean(me && me[HOLDS[kind].field]);
  }

  /** The error of an action only moderators may take, or null when we may take it. */
  refusal(what) {
    const s = this._s;
    if (!this.isModerator) {
      return new CallsError(ErrorCode.AUTH_ERR_NO_ACCESS, `Only a moderator can ${what}.`, { reason: "role" });
    }
    if (!s.settings.enableParticipantContextMenu && s._locked.has("enableParticipantContextMenu")) {
      return new CallsError(ErrorCode.AUTH_ERR_NO_ACCESS, "This call does not allow moderation.", { reason: "locked" });
    }
    return null;
  }

  /** Ask the server to `action` (a ModerationAction value) participant `pid`; nothing is sent if it would be refused. */
  moderate(pid, action) {
    const s = this._s;
    if (s.state !== "joined") return s._notInCall();
    const refused = this.refusal("moderate other participants");
    if (refused) return s._failed(refused);
    if (typeof pid !== "string" || !s._participants.has(pid)) return s._failed(s._unknownParticipant(pid));
    if (pid === s.participantId) {
      return s._failed(new CallsError(ErrorCode.ERR_BAD_REQUEST, "Use muteAudio() or pauseVideo() for yourself.", { participantId: pid }));
    }
    s._signaling.send("moderate", { target: pid, action });
    return s._ok();
  }

  /** The error `setAudioMuted(false)` / `setVideoPaused(false)` gets while held, or null. */
  holdRefusal(kind) {
    if (!this.held(kind)) return null;
    return new CallsError(ErrorCode.AUTH_ERR_NO_ACCESS, HOLDS[kind].refused, { reason: "held", kind });
  }

  /** The microphone or camera button while held: raise the hand to ask, and say so. */
  askToTurnOn(kind) {
    const s = this._s;
    if (!s._features.handRaised) s._features.setHandRaised(true);
    s._view.notify(HOLDS[kind].asked);
    return s._ok();
  }

  /**
   * Our hold flags as the server states them (in `joined`, `resumed`, `media`, or an
   * `error` refusing our unmute): placing a hold turns the device off here too.
   */
  applyHolds({ audio, video }) {
    const s = this._s;
    const changes = {};
    if (typeof audio === "boolean") changes.audioMutedByModerator = audio;
    if (typeof video === "boolean") changes.videoPausedByModerator = video;
    const changed = s._participants.update(s.participantId, changes);
    if (audio && !s.audioMuted) s.setAudioMuted(true);
    if (video && !s.videoPaused && !s._voice) s.setVideoPaused(true);
    if (changed.length) s._localMediaShown();
  }

  /** `moderation {action, by}`: a moderator acted on us. */
  moderated({ action, by }) {
    const s = this._s;
    if (action === "mute" || action === "pause_video") {
      const kind = action === "mute" ? "audio" : "video";
      this.applyHolds({ [kind]: true });
      s._view.notify(HOLDS[kind].placed);
    } else if (action === "allow_audio" || action === "allow_video") {
      const kind = action === "allow_audio" ? "audio" : "video";
      this.applyHolds({ [kind]: false });
      s._view.notify(HOLDS[kind].lifted);
    }
    s._emitter.emit(Events.onModeratedByParticipant, { action: String(action || ""), by: String(by || "") });
  }

  /** An `error` the server sent in the call; true when it was about moderation and has been handled here. */
  serverRefused(error) {
    const s = this._s;
    if (error.code !== ErrorCode.AUTH_ERR_NO_ACCESS || !error.details) return false;
    const { reason, kind } = error.details;
    if (reason === "held" && (kind === "audio" || kind === "video")) {
      // Our unmute raced the hold (or we did not know): the server kept it off, so do we.
      this.applyHolds({ [kind]: true });
      s._view.notify(HOLDS[kind].refused);
      return true;
    }
    return false;
  }

  /** A held participant raised a hand: a moderator is told they ask to speak. */
  handRaised(participant) {
    const s = this._s;
    if (!this.isModerator || participant.isLocal) return false;
    if (!participant.audioMutedByModerator && !participant.videoPausedByModerator) return false;
    s._view.notify(`${participant.name || "Guest"} asks to ${participant.audioMutedByModerator ? "speak" : "turn their camera on"}`);
    return true;
  }

  /** Our role as the view should show it (after joining, and after every rejoin). */
  showRole() {
    const s = this._s;
    const me = s._participants.get(s.participantId);
    if (me) s._view.setLocalRole(snapshot(me));
  }
}
