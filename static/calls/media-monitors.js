/**
 * What this page watches of the media it receives while in the call: the connection-quality
 * bars (netquality.js, unless hideNetworkIndicator), in a peer call whether the other side's media
 * still reaches us (remote-connection.js, from the same getStats() samples), and the size of each
 * remote video for the SFU's choice of simulcast layer (adaptive-stream.js; not in a voice call).
 */

import { AdaptiveStream } from "./adaptive-stream.js";
import { Events } from "./events.js";
import { NetworkMonitor } from "./netquality.js";
import { snapshot } from "./participant-model.js";
import { RemoteConnectionWatch } from "./remote-connection.js";

export class MediaMonitors {
  /**
   * @param {object} call the part of the call this uses (session.js): voice, settings, localId,
   *   participants, peer, send, view, emit
   */
  constructor(call) {
    this._call = call;
    this._network = null;
    this._views = new AdaptiveStream({ send: (views) => call.send("video_views", { views }) });
    this._remote = null;
  }

  /** Once in the call (again). */
  start() {
    const call = this._call;
    const showQuality = !call.settings.hideNetworkIndicator;
    // CometChat fires the remote connection events in peer calls only; so do we. The watch lasts the
    // session, so a participant lost before we rejoined is restored once, not lost twice.
    if (!call.settings.isPeerCall) this._remote = null;
    else if (this._remote) this._remote.restart();
    else {
      this._remote = new RemoteConnectionWatch({
        onLost: (pid) => this._remoteConnection(pid, true),
        onRestored: (pid) => this._remoteConnection(pid, false),
      });
    }
    if (showQuality || this._remote) {
      this._network = new NetworkMonitor({
        pc: () => (call.peer ? call.peer.pc : null),
        tracks: () => (call.peer ? call.peer.tracks : {}),
        videoExpected: (pid) => {
          const participant = call.participants.get(pid);
          return Boolean(participant && !participant.videoPaused && !call.voice);
        },
        localId: call.localId,
        onQuality: (samples) => {
          if (showQuality) call.view.setNetworkQuality(samples);
          if (this._remote) this._watchRemotes(samples);
        },
      });
      this._network.start();
    }
    if (!call.voice) this._views.start(call.view);
  }

  stop() {
    if (this._network) this._network.stop();
    this._network = null;
    this._views.stop();
  }

  /** Back on a new socket as the same participant: tell the server our video sizes again. */
  resumed() {
    this._views.resend();
  }

  /**
   * One sample for the remote connection watch: each other participant, whether what they have on
   * should reach us (their microphone, or their camera where this page shows it), and the packets
   * that did. The tiles show who is lost (again after a view was rebuilt).
   */
  _watchRemotes(samples) {
    const call = this._call;
    const pc = call.peer ? call.peer.pc : null;
    const remotes = [];
    for (const participant of call.participants.snapshots()) {
      if (participant.isLocal) continue;
      const cameraShown = !call.voice && !participant.videoPaused && !this._views.cameraHidden(participant.pid);
      const sample = samples.get(participant.pid);
      remotes.push({ pid: participant.pid, expecting: !participant.audioMuted || cameraShown, packets: sample ? sample.packets : 0 });
    }
    this._remote.sampled(remotes, Boolean(pc) && pc.connectionState === "connected");
    for (const { pid } of remotes) call.view.setConnectionLost(pid, this._remote.isLost(pid));
  }

  _remoteConnection(pid, lost) {
    const call = this._call;
    call.view.setConnectionLost(pid, lost);
    call.emit(lost ? Events.onRemoteConnectionLost : Events.onRemoteConnectionRestored, snapshot(call.participants.get(pid)));
  }
}
