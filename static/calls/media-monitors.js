/**
 * What this page watches of the media it receives while in the call: the connection-quality
 * bars (netquality.js, unless hideNetworkIndicator) and the size of each remote video for the
 * SFU's choice of simulcast layer (adaptive-stream.js; not in a voice call).
 */

import { AdaptiveStream } from "./adaptive-stream.js";
import { NetworkMonitor } from "./netquality.js";

export class MediaMonitors {
  /**
   * @param {object} call the part of the call this uses (session.js): voice, settings, localId,
   *   participants, peer, send, view
   */
  constructor(call) {
    this._call = call;
    this._network = null;
    this._views = new AdaptiveStream({ send: (views) => call.send("video_views", { views }) });
  }

  /** Once in the call (again). */
  start() {
    const call = this._call;
    if (!call.settings.hideNetworkIndicator) {
      this._network = new NetworkMonitor({
        pc: () => (call.peer ? call.peer.pc : null),
        tracks: () => (call.peer ? call.peer.tracks : {}),
        videoExpected: (pid) => {
          const participant = call.participants.get(pid);
          return Boolean(participant && !participant.videoPaused && !call.voice);
        },
        localId: call.localId,
        onQuality: (levels) => call.view.setNetworkQuality(levels),
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
}
