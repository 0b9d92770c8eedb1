/**
 * The in-call features layered on a CallSession (session.js): raised hands,
 * chat, screen sharing, the dominant speaker, ending the call for everyone
 * the connection-quality bars and the adaptive stream (the size of each remote video, for
 * the SFU's choice of simulcast layer). The server side is sessions_app
 * (protocol.py lists the messages); this module keeps each feature's state
 * and turns server messages into view updates and §6 events.
 */

import { AdaptiveStream } from "./adaptive-stream.js";
import { CallsError, ErrorCode } from "./errors.js";
import { Events } from "./events.js";
import { NetworkMonitor } from "./netquality.js";
import { snapshot } from "./participant-model.js";

export const MAX_CHAT_CHARS = 2000;

export class CallFeatures {
  /** @param {import("./session.js").CallSession} session */
  constructor(session) {
    this._s = session;
    this._screenTrack = null;
    this._screenStarting = false;
    this._onScreenEnded = () => this.setScreenSharing(false);
    this._unread = 0;
    this._chatOpen = false;
    this._speaker = "";
    this._network = null;
    this._views = new AdaptiveStream({
      root: session._container,
      send: (views) => Boolean(session._signaling) && session._signaling.send("video_views", { views }),
    });
  }

  get handRaised() {
    const me = this._s._participants.get(this._s.participantId);
    return Boolean(me && me.raisedHandTimestamp);
  }

  get screenSharing() {
    return Boolean(this._screenTrack);
  }

  get dominantSpeaker() {
    return this._speaker;
  }

  /** Once in the call. */
  start() {
    const s = this._s;
    if (!s.settings.hideNetworkIndicator) {
      this._network = new NetworkMonitor({
        pc: () => (s._peer ? s._peer.pc : null),
        tracks: () => (s._peer ? s._peer.tracks : {}),
        videoExpected: (pid) => {
          const p = s._participants.get(pid);
          return Boolean(p && !p.videoPaused && !s._voice);
        },
        localId: s.participantId,
        onQuality: (levels) => s._view.setNetworkQuality(levels),
      });
      this._network.start();
    }
    if (!s._voice) this._views.start();
    s._view.setHandRaised(this.handRaised);
  }

  stop() {
    if (this._network) this._network.stop();
    this._network = null;
    this._views.stop();
    this._releaseScreen();
  }

  /** Back on a new socket as the same participant: tell the server our video sizes again. */
  resumed() {
    this._views.resend();
  }

  /** The server let us go and we join again as a new participant: what we presented is gone. */
  connectionReset() {
    const s = this._s;
    if (this._screenTrack) {
      this._releaseScreen();
      s._view.removeScreen(s.participantId);
      s._view.setScreenSharing(false);
      s._emitter.emit(Events.onScreenShareStopped);
    }
    this.stop();
  }

  // Raised hands.

  setHandRaised(raised) {
    const s = this._s;
    if (s.state !== "joined") return s._notInCall();
    if (s.settings.hideRaiseHandButton && s._locked.has("hideRaiseHandButton")) return this._forbidden("Raising a hand");
    s._signaling.send("hand", { raised: Boolean(raised) });
    return s._ok();
  }

  /** `hand {participantId, raised, raisedHandTimestamp}`: everyone's, ours included. */
  handChanged({ participantId, raised, raisedHandTimestamp }) {
    const s = this._s;
    const timestamp = raised ? Number(raisedHandTimestamp) || Date.now() : 0;
    const changed = s._participants.update(participantId, { raisedHandTimestamp: timestamp });
    if (!changed.length) return;
    const participant = snapshot(s._participants.get(participantId));
    s._view.updateParticipant(participant);
    if (participantId === s.participantId) s._view.setHandRaised(Boolean(timestamp));
    else if (timestamp && !s.moderation.handRaised(participant) && s.settings.enableNotifications) {
      s._view.notify(`${participant.name || "Guest"} raised a hand`);
    }
    s._emitter.emit(timestamp ? Events.onParticipantHandRaised : Events.onParticipantHandLowered, participant);
    s._listChanged();
  }

  // Chat.

  sendChat(text) {
    const s = this._s;
    if (s.state !== "joined") return s._notInCall();
    if (s.settings.hideChatButton && s._locked.has("hideChatButton")) return this._forbidden("Chat");
    const message = typeof text === "string" ? text.trim() : "";
    if (!message || message.length > MAX_CHAT_CHARS) {
      return s._failed(new CallsError(ErrorCode.ERROR_JSON_EXCEPTION, `A chat message is 1 to ${MAX_CHAT_CHARS} characters.`, { field: "text" }));
    }
    s._signaling.send("chat", { text: message });
    return s._ok();
  }

  /** `chat {id, participantId, name, isGuest, text, sentAt}` from the server (ours echoed too). */
  chatReceived(wire) {
    const s = this._s;
    const message = {
      id: String(wire.id || ""),
      participantId: String(wire.participantId || ""),
      name: String(wire.name || ""),
      isGuest: wire.isGuest === true,
      text: String(wire.text || ""),
      sentAt: Number(wire.sentAt) || Date.now(),
      isLocal: wire.participantId === s.participantId,
    };
    s._view.addChatMessage(message);
    if (!message.isLocal && !this._chatOpen) {
      this.setUnread(this._unread + 1);
      if (s.settings.enableNotifications) s._view.notify(`${message.name || "Guest"}: ${message.text.slice(0, 80)}`);
    }
    s._emitter.emit(Events.onChatMessageReceived, Object.freeze(message));
  }

  setChatOpen(open) {
    const s = this._s;
    if (s.state !== "joined") return s._notInCall();
    if (s.settings.hideChatButton) return s._failed(new CallsError(ErrorCode.ERR_BAD_REQUEST, "Chat is off in this call (hideChatButton)."));
    this._chatOpen = open;
    if (open) {
      if (s._listOpen) s.setParticipantListVisible(false);
      this.setUnread(0);
    }
    s._view.setChatOpen(open);
    return s._ok();
  }

  /** setChatButtonUnreadCount(n): the badge on the chat button (an app with its own chat sets it). */
  setUnread(count) {
    const n = Number.isInteger(count) && count > 0 ? count : 0;
    this._unread = n;
    this._s._view.setChatUnread(n);
    return this._s._ok();
  }

  // Screen sharing.

  /** Start (getDisplayMedia) or stop presenting; onScreenShareStarted / Stopped. */
  async setScreenSharing(enabled) {
    const s = this._s;
    if (s.state !== "joined") return s._notInCall();
    if (enabled) {
      if (this._screenTrack || this._screenStarting) return s._ok();
      if (s._voice) return s._failed(new CallsError(ErrorCode.ERROR_MEDIA_DEVICE, "This is a voice call.", { kind: "screen" }));
      if (s.settings.hideScreenSharingButton && s._locked.has("hideScreenSharingButton")) return this._forbidden("Screen sharing");
      if (!navigator.mediaDevices || typeof navigator.mediaDevices.getDisplayMedia !== "function") {
        return s._failed(new CallsError(ErrorCode.ERROR_MEDIA_DEVICE, "This browser cannot share its screen.", { kind: "screen", reason: "unsupported" }));
      }
      this._screenStarting = true;
      let stream;
      try {
        stream = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
      } catch (error) {
        const problem = new CallsError(ErrorCode.ERROR_MEDIA_DEVICE, error.name === "NotAllowedError" ? "Screen sharing was not allowed." : "The screen could not be shared.", { kind: "screen", name: error.name || "" });
        if (error.name !== "NotAllowedError") s._view.notify(problem.message);
        return s._failed(problem);
      } finally {
        this._screenStarting = false;
      }
      const track = stream.getVideoTracks()[0];
      if (s.state !== "joined" || !track) {
        stream.getTracks().forEach((t) => t.stop());
        return s._notInCall();
      }
      if ("contentHint" in track) track.contentHint = "detail";
      this._screenTrack = track;
      track.addEventListener("ended", this._onScreenEnded, { once: true });
      await s._peer.setScreenTrack(track);
      s._signaling.send("screen_share", { enabled: true });
      this._presenting(s.participantId, true);
      s._view.setScreenTrack(snapshot(s._participants.get(s.participantId)), track);
      s._view.setScreenSharing(true);
      s._emitter.emit(Events.onScreenShareStarted);
      return s._ok();
    }
    if (!this._screenTrack) return s._ok();
    this._releaseScreen();
    if (s._peer) await s._peer.setScreenTrack(null);
    s._signaling.send("screen_share", { enabled: false });
    this._presenting(s.participantId, false);
    s._view.removeScreen(s.participantId);
    s._view.setScreenSharing(false);
    s._emitter.emit(Events.onScreenShareStopped);
    return s._ok();
  }

  _releaseScreen() {
    if (!this._screenTrack) return;
    this._screenTrack.removeEventListener("ended", this._onScreenEnded);
    this._screenTrack.stop();
    this._screenTrack = null;
  }

  /** A received track whose offer source is "screen". */
  remoteScreen(pid, track) {
    const s = this._s;
    const participant = s._participants.get(pid);
    if (!participant) return;
    s._view.setScreenTrack(snapshot(participant), track);
  }

  /** `screen_share {participantId, enabled}` from the server. */
  screenShareChanged({ participantId, enabled }) {
    const s = this._s;
    if (participantId === s.participantId) {
      // Refused or stopped by the server: stop presenting here too.
      if (!enabled && this._screenTrack) this.setScreenSharing(false);
      return;
    }
    if (!this._presenting(participantId, Boolean(enabled))) return;
    if (!enabled) {
      s._view.removeScreen(participantId);
      const tracks = s._remoteTracks.get(participantId);
      if (tracks) delete tracks.screen;
    } else {
      const track = (s._remoteTracks.get(participantId) || {}).screen;
      if (track) this.remoteScreen(participantId, track);
    }
    const participant = snapshot(s._participants.get(participantId));
    s._emitter.emit(enabled ? Events.onParticipantStartedScreenShare : Events.onParticipantStoppedScreenShare, participant);
  }

  _presenting(pid, presenting) {
    const s = this._s;
    const changed = s._participants.update(pid, { isPresenting: presenting });
    if (!changed.length) return false;
    s._view.updateParticipant(snapshot(s._participants.get(pid)));
    s._listChanged();
    return true;
  }

  // Dominant speaker.

  /** `dominant_speaker {participantId}`: ring their tile; SPOTLIGHT follows unless someone is pinned. */
  dominantSpeaker({ participantId }) {
    const s = this._s;
    const pid = String(participantId || "");
    if (pid === this._speaker || (pid && !s._participants.has(pid))) return;
    this._speaker = pid;
    s._view.setSpeaker(pid);
    if (pid) s._emitter.emit(Events.onDominantSpeakerChanged, snapshot(s._participants.get(pid)));
  }

  participantLeft(pid) {
    if (pid === this._speaker) {
      this._speaker = "";
      this._s._view.setSpeaker("");
    }
  }

  // Ending for everyone.

  /** Moderators only: anyone else gets AUTH_ERR_NO_ACCESS and nothing is sent. */
  endForAll() {
    const s = this._s;
    if (s.state !== "joined") return s._notInCall();
    if (!s.settings.enableParticipantContextMenu && s._locked.has("enableParticipantContextMenu")) return this._forbidden("Ending the call for everyone");
    const refused = s.moderation.refusal("end the call for everyone");
    if (refused) return s._failed(refused);
    s._signaling.send("end_for_all");
    return s._ok();
  }

  _forbidden(what) {
    const error = new CallsError(ErrorCode.AUTH_ERR_NO_ACCESS, `${what} is not allowed in this call.`);
    this._s._view.notify(error.message);
    return this._s._failed(error);
  }
}
