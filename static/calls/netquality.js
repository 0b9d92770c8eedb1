/**
 * Connection quality per tile, from RTCPeerConnection.getStats() every 2 s.
 *
 * Remote participants: the inbound-rtp of the transceivers that carry their
 * audio and video (packet loss and jitter since the last sample, and the
 * video's frames per second). The local participant: the remote-inbound-rtp
 * the SFU reports back for what we send (round-trip time and loss).
 * Each is "good", "fair" or "poor"; the worst of a participant's streams wins. A remote
 * participant's sample also carries the height of their camera video as received (the
 * simulcast layer the SFU forwards us: 180, 360 or 720), the worst loss among their streams, and
 * the RTP packets received from them since the last sample, all streams together (remote-connection.js
 * reads those: nothing received means nothing reaches us).
 */

export const STATS_INTERVAL_MS = 2000;
const RANK = { good: 0, fair: 1, poor: 2 };

function worst(a, b) {
  return RANK[b] > RANK[a] ? b : a;
}

/** "good" | "fair" | "poor" from loss (0-1), jitter and RTT (s) and video fps (null when unknown). */
export function rate({ loss = 0, jitter = 0, rtt = 0, fps = null }) {
  let level = "good";
  if (loss > 0.02 || jitter > 0.03 || rtt > 0.3 || (fps !== null && fps < 10)) level = "fair";
  if (loss > 0.08 || jitter > 0.1 || rtt > 0.6 || (fps !== null && fps < 4)) level = "poor";
  return level;
}

export class NetworkMonitor {
  /**
   * @param {object} options
   * @param {function(): ?RTCPeerConnection} options.pc
   * @param {function(): Object<string, {participantId: string}>} options.tracks the offer's mid → track info
   * @param {function(string): boolean} options.videoExpected whether `pid`'s camera is on (fps counts only then)
   * @param {string} options.localId
   * @param {function(Map<string, {level: string, loss: number, videoHeight: number, packets: number}>): void} options.onQuality
   *   participantId → its level, loss (0-1) since the last sample, received camera height (0: none) and
   *   packets received since the last sample (0 for the local participant)
   */
  constructor({ pc, tracks, videoExpected, localId, onQuality }) {
    this._pc = pc;
    this._tracksInfo = tracks;
    this._videoExpected = videoExpected;
    this._localId = localId;
    this._onQuality = onQuality;
    this._previous = new Map();
    this._timer = null;
  }

  start() {
    this.stop();
    this._timer = setInterval(() => this.sample().catch(() => {}), STATS_INTERVAL_MS);
  }

  stop() {
    clearInterval(this._timer);
    this._timer = null;
  }

  async sample() {
    const pc = this._pc();
    if (!pc || pc.connectionState === "closed") return;
    const info = this._tracksInfo() || {};
    // Older browsers' inbound-rtp has no mid: find it through the receiving track's id.
    const midByTrack = new Map();
    for (const transceiver of pc.getTransceivers()) {
      if (transceiver.mid && transceiver.receiver.track) midByTrack.set(transceiver.receiver.track.id, transceiver.mid);
    }
    const samples = new Map();
    const report = await pc.getStats();
    let localLevel = null;
    let localLoss = 0;
    report.forEach((stat) => {
      if (stat.type === "inbound-rtp") {
        const mid = stat.mid || midByTrack.get(stat.trackIdentifier);
        const pid = mid && info[mid] && info[mid].participantId;
        if (!pid) return;
        const previous = this._previous.get(stat.id) || { packetsLost: 0, packetsReceived: 0 };
        this._previous.set(stat.id, { packetsLost: stat.packetsLost || 0, packetsReceived: stat.packetsReceived || 0 });
        const lost = Math.max(0, (stat.packetsLost || 0) - previous.packetsLost);
        const received = Math.max(0, (stat.packetsReceived || 0) - previous.packetsReceived);
        const isVideo = stat.kind === "video" || stat.mediaType === "video";
        const fps = isVideo && info[mid].source !== "screen" && this._videoExpected(pid) && received > 0 ? (stat.framesPerSecond ?? null) : null;
        const loss = lost + received ? lost / (lost + received) : 0;
        const level = rate({ loss, jitter: stat.jitter || 0, fps });
        const sample = samples.get(pid) || { level: "good", loss: 0, videoHeight: 0, packets: 0 };
        sample.level = worst(sample.level, level);
        sample.loss = Math.max(sample.loss, loss);
        sample.packets += received;
        if (isVideo && info[mid].source !== "screen") sample.videoHeight = stat.frameHeight || 0;
        samples.set(pid, sample);
      } else if (stat.type === "remote-inbound-rtp") {
        const level = rate({ loss: stat.fractionLost || 0, rtt: stat.roundTripTime || 0 });
        localLevel = worst(localLevel || "good", level);
        localLoss = Math.max(localLoss, stat.fractionLost || 0);
      }
    });
    samples.set(this._localId, { level: localLevel || "good", loss: localLoss, videoHeight: 0, packets: 0 });
    this._onQuality(samples);
  }
}
