/**
 * Whether the other side's media still reaches this browser: CometChat's onRemoteConnectionLost
 * and onRemoteConnectionRestored, which it fires in peer calls (isPeerCall) only.
 *
 * It has no timer of its own: it reads the connection-quality samples (netquality.js, every 2 s),
 * which count the RTP packets received from each participant since the previous sample, audio,
 * camera and screen alike. A participant is lost once nothing has come from them for
 * REMOTE_CONNECTION_LOST_AFTER_MS although they have something on that should reach us: their
 * microphone unmuted (the SFU forwards nothing of a muted one) or their camera on and shown here
 * (the SFU forwards nothing for a video this page does not show). Silence on purpose restarts the
 * clock; a lost participant who then turns everything off stays lost until packets come again.
 * While our own media connection is not connected, nothing can reach us from anyone: that is our
 * connection's trouble (the view says "Reconnecting…"), so the clocks restart too.
 */

export const REMOTE_CONNECTION_LOST_AFTER_MS = 10_000;

export class RemoteConnectionWatch {
  /**
   * @param {object} options
   * @param {function(string): void} options.onLost participant ID: once when they are lost
   * @param {function(string): void} options.onRestored participant ID: once when their media comes again
   * @param {function(): number} options.now the clock, in ms
   */
  constructor({ onLost, onRestored, now = () => Date.now() }) {
    this._onLost = onLost;
    this._onRestored = onRestored;
    this._now = now;
    this._remotes = new Map(); // participant ID → {heardAt: ms or null, lost: boolean}
  }

  /** Start every clock again (a new peer connection, or the watching resumed): nothing was due yet. */
  restart() {
    for (const remote of this._remotes.values()) remote.heardAt = null;
  }

  isLost(pid) {
    const remote = this._remotes.get(pid);
    return Boolean(remote && remote.lost);
  }

  /**
   * One sample: each remote participant in the call, whether they have media on that should reach us
   * (`expecting`) and the packets received from them since the last sample; whether our own media
   * connection is `connected`. Participants not named have left and are forgotten.
   *
   * @param {Array<{pid: string, expecting: boolean, packets: number}>} remotes
   * @param {boolean} connected
   */
  sampled(remotes, connected) {
    const now = this._now();
    const present = new Set();
    for (const { pid, expecting, packets } of remotes) {
      present.add(pid);
      let remote = this._remotes.get(pid);
      if (!remote) this._remotes.set(pid, (remote = { heardAt: null, lost: false }));
      if (packets > 0) {
        remote.heardAt = now;
        if (remote.lost) {
          remote.lost = false;
          this._onRestored(pid);
        }
      } else if (!expecting || !connected || remote.heardAt === null) {
        remote.heardAt = now;
      } else if (!remote.lost && now - remote.heardAt >= REMOTE_CONNECTION_LOST_AFTER_MS) {
        remote.lost = true;
        this._onLost(pid);
      }
    }
    for (const pid of this._remotes.keys()) if (!present.has(pid)) this._remotes.delete(pid);
  }
}
