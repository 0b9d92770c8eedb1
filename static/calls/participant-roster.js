/**
 * Who is in the call, as the server tells it: the participants `joined` names, who comes
 * (`participant_joined`) and goes (`participant_left`), their microphone and camera (`media`), the
 * catch-up after a resumed connection, and the tracks each remote participant sends. Each change
 * reaches the view, the events and the list (participant-model.js holds the list itself).
 */

import { Events } from "./events.js";
import { makeParticipant, snapshot } from "./participant-model.js";

export class ParticipantRoster {
  /**
   * @param {object} call the part of the call this uses (session.js): inCall, localId, settings,
   *   participants, remoteTracks, on, view, emit, listChanged, and the session's own
   *   screenTrack(pid, track) (screen-share.js), applyHolds(holds) (moderation.js),
   *   speakerLeft(pid) (dominant-speaker.js), unpin(pid) and leaveBecause(reason)
   */
  constructor(call) {
    this._call = call;
    call.on("participant_joined", (message) => this.joined(message.participant || {}));
    call.on("participant_left", (message) => this.left(message.participantId, String(message.reason || "")));
    call.on("media", (message) => this.media(message));
  }

  /** We took a seat (`joined`): ourselves, as `local` describes us, and the others already there. */
  seat(local, others) {
    const call = this._call;
    call.participants.put(makeParticipant(local, true));
    for (const wire of Array.isArray(others) ? others : []) {
      if (wire && wire.pid && wire.pid !== call.localId) call.participants.put(makeParticipant(wire, false));
    }
    for (const participant of call.participants.snapshots()) call.view.addParticipant(participant);
  }

  /** The server no longer has us: everyone we saw is gone, with their tracks. */
  clear() {
    const call = this._call;
    for (const participant of call.participants.snapshots()) {
      call.participants.remove(participant.pid);
      call.view.removeParticipant(participant.pid);
      call.speakerLeft(participant.pid);
      if (!participant.isLocal) call.emit(Events.onParticipantLeft, participant);
    }
    call.remoteTracks.clear();
  }

  /** Back on a new socket as the same participant (`resumed`): catch up with who came, went or changed meanwhile. */
  catchUp(message) {
    const call = this._call;
    const present = new Map();
    for (const wire of Array.isArray(message.participants) ? message.participants : []) {
      if (wire && wire.pid && wire.pid !== call.localId) present.set(wire.pid, wire);
    }
    for (const participant of call.participants.snapshots()) {
      if (!participant.isLocal && !present.has(participant.pid)) this.left(participant.pid);
    }
    for (const [pid, wire] of present) {
      if (call.participants.has(pid)) this.media({ ...wire, participantId: pid });
      else this.joined(wire);
    }
  }

  /** A remote track: `source` is "audio", "video" or "screen" (a screen share gets a tile of its own). */
  remoteTrack(pid, source, track) {
    const call = this._call;
    call.remoteTracks.set(pid, { ...call.remoteTracks.get(pid), [source]: track });
    if (source === "screen") call.screenTrack(pid, track);
    else call.view.setTrack(pid, source, track);
  }

  joined(wire) {
    const call = this._call;
    if (!wire.pid || wire.pid === call.localId) return;
    // Someone who joined while we were joining is in `joined` and may be announced as well: once is news.
    if (call.participants.has(wire.pid)) {
      this.media({ ...wire, participantId: wire.pid });
      return;
    }
    const participant = call.participants.put(makeParticipant(wire, false));
    call.view.addParticipant(snapshot(participant));
    const tracks = call.remoteTracks.get(participant.pid) || {};
    for (const [kind, track] of Object.entries(tracks)) {
      if (kind === "screen") call.screenTrack(participant.pid, track);
      else call.view.setTrack(participant.pid, kind, track);
    }
    if (call.settings.enableNotifications) call.view.notify(`${participant.name || "Guest"} joined`);
    call.emit(Events.onParticipantJoined, snapshot(participant));
    call.listChanged();
  }

  left(pid, reason = "") {
    const call = this._call;
    const participant = call.participants.remove(pid);
    call.remoteTracks.delete(pid);
    if (!participant || participant.isLocal) return;
    call.view.removeParticipant(pid);
    call.speakerLeft(pid);
    call.unpin(pid);
    if (call.settings.enableNotifications) call.view.notify(`${participant.name || "Guest"} ${reason === "removed" ? "was removed from the call" : "left"}`);
    call.emit(Events.onParticipantLeft, snapshot(participant));
    call.listChanged();
    // A peer call is over for both once the other side has gone.
    if (call.settings.isPeerCall && call.participants.size === 1 && call.inCall) call.leaveBecause("peerLeft");
  }

  /** `media {participantId, audioMuted, videoPaused, ...ByModerator}`: anyone's, ours included. */
  media({ participantId, audioMuted, videoPaused, audioMutedByModerator, videoPausedByModerator }) {
    const call = this._call;
    if (participantId === call.localId) {
      // Our media state is ours to say, but for a moderator's hold.
      call.applyHolds({ audio: audioMutedByModerator, video: videoPausedByModerator });
      return;
    }
    const changes = {};
    if (typeof audioMuted === "boolean") changes.audioMuted = audioMuted;
    if (typeof videoPaused === "boolean") changes.videoPaused = videoPaused;
    if (typeof audioMutedByModerator === "boolean") changes.audioMutedByModerator = audioMutedByModerator;
    if (typeof videoPausedByModerator === "boolean") changes.videoPausedByModerator = videoPausedByModerator;
    const changed = call.participants.update(participantId, changes);
    if (!changed.length) return;
    const participant = snapshot(call.participants.get(participantId));
    call.view.updateParticipant(participant);
    if (changed.includes("audioMuted")) {
      call.emit(audioMuted ? Events.onParticipantAudioMuted : Events.onParticipantAudioUnmuted, participant);
    }
    if (changed.includes("videoPaused")) {
      call.emit(videoPaused ? Events.onParticipantVideoPaused : Events.onParticipantVideoResumed, participant);
    }
    call.listChanged();
  }
}
