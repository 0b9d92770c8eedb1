/**
 * The browser's one RTCPeerConnection to the SFU.
 *
 * The server always makes the offers and the browser only answers, so there
 * is no glare. Each offer names the transceivers this browser publishes on
 * (`publish`: {audio: mid, video: mid, screen?: mid}) and whose media every
 * other mid carries (`tracks`: {mid: {participantId, kind, source}}, source
 * "audio" | "video" | "screen"). The server does not
 * trickle ICE: an answer is sent once candidate gathering is complete.
 */

import { CallsError, ErrorCode } from "./errors.js";

export const ICE_GATHERING_TIMEOUT_MS = 10_000;
const RECEIVING = new Set(["recvonly", "sendrecv"]);
/**
 * The camera's simulcast layers, lowest first, in the order the server's offer names their rids
 * (q, h, f): a quarter, half and full resolution (320x180, 640x360, 1280x720 from a 720p camera),
 * each with three temporal layers. The SFU forwards each viewer the one that fits its link and
 * tile; the browser turns the top ones off by itself when its uplink is short.
 */
export const CAMERA_LAYERS = Object.freeze([
  Object.freeze({ scaleResolutionDownBy: 4, maxBitrate: 150_000 }),
  Object.freeze({ scaleResolutionDownBy: 2, maxBitrate: 500_000 }),
  Object.freeze({ scaleResolutionDownBy: 1, maxBitrate: 1_700_000 }),
]);
const TEMPORAL_LAYERS = "L1T3";

/** Resolve when `pc` has gathered all its candidates (or after `timeoutMs`, with what it has). */
export function iceGatheringComplete(pc, timeoutMs = ICE_GATHERING_TIMEOUT_MS) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      pc.removeEventListener("icegatheringstatechange", onChange);
      resolve();
    };
    const onChange = () => {
      if (pc.iceGatheringState === "complete") done();
    };
    const timer = setTimeout(() => {
      console.warn("[calls] ICE gathering is taking long; answering with the candidates found so far.");
      done();
    }, timeoutMs);
    pc.addEventListener("icegatheringstatechange", onChange);
  });
}

/**
 * Shape what a sender encodes. The camera: one encoding per simulcast layer the server asked for
 * (CAMERA_LAYERS). A screen: full resolution always, frame rate dropped under pressure (text must
 * stay sharp), with temporal layers the SFU can drop per viewer. A browser that refuses a
 * setting (an older one without scalabilityMode) keeps the rest; one that does not know it
 * (Firefox 153 ESR) ignores it and chooses its own temporal layers (two).
 */
async function tuneEncodings(kind, sender) {
  if (kind === "audio" || typeof sender.getParameters !== "function") return;
  const params = sender.getParameters();
  const encodings = params.encodings || [];
  if (!encodings.length) return;
  if (kind === "video") {
    if (encodings.length < 2) return;
    encodings.forEach((encoding, index) => Object.assign(encoding, CAMERA_LAYERS[Math.min(index, CAMERA_LAYERS.length - 1)]));
  } else {
    params.degradationPreference = "maintain-resolution";
  }
  for (const withTemporalLayers of [true, false]) {
    for (const encoding of encodings) {
      if (withTemporalLayers) encoding.scalabilityMode = TEMPORAL_LAYERS;
      else delete encoding.scalabilityMode;
    }
    try {
      await sender.setParameters(params);
      return;
    } catch (error) {
      if (!withTemporalLayers) console.warn(`[calls] could not set the ${kind} encodings: ${error.message}`);
    }
  }
}

/** "audio", "video" or "screen" for a received track. */
function sourceOf(info, track) {
  if (info.source === "screen") return "screen";
  return info.kind || track.kind;
}

export class PeerTransport {
  /**
   * @param {object} options
   * @param {RTCIceServer[]} options.iceServers
   * @param {string} [options.iceTransportPolicy] "all" (default) or "relay": only through TURN servers
   * @param {function(string, object): void} options.send signaling send(type, fields)
   * @param {function(string, string, MediaStreamTrack): void} options.onRemoteTrack (participantId, source, track):
   *   source "audio", "video" or "screen"
   * @param {function(CallsError): void} options.onError
   * @param {function(string): void} options.onConnectionState
   */
  constructor({ iceServers, iceTransportPolicy = "all", send, onRemoteTrack, onError, onConnectionState }) {
    this._send = send;
    this._onRemoteTrack = onRemoteTrack;
    this._onError = onError;
    this._tracks = {};
    this._local = { audio: null, video: null, screen: null };
    this._senders = { audio: null, video: null, screen: null };
    this._queue = Promise.resolve();
    this._closed = false;
    this.pc = new RTCPeerConnection({
      iceServers: iceServers || [],
      iceTransportPolicy: iceTransportPolicy === "relay" ? "relay" : "all",
      bundlePolicy: "max-bundle",
    });
    this.pc.addEventListener("track", (event) => this._handleTrack(event));
    this.pc.addEventListener("connectionstatechange", () => onConnectionState(this.pc.connectionState));
  }

  /** The tracks to publish once the server names their transceivers (null = nothing yet). */
  setLocalTracks({ audio = null, video = null }) {
    this._local = { ...this._local, audio, video };
  }

  /** The offer's mid → {participantId, kind, source} of what this browser receives. */
  get tracks() {
    return this._tracks;
  }

  /**
   * Publish a screen track on the transceiver the server's next offer names (publish.screen);
   * null stops: the sender goes quiet now and the server makes that transceiver inactive.
   */
  async setScreenTrack(track) {
    this._local.screen = track;
    const sender = this._senders.screen;
    if (sender) await sender.replaceTrack(track);
    if (!track) this._senders.screen = null;
  }

  /** Queue the server's offer; offers are answered strictly one after another. */
  handleOffer(message) {
    this._queue = this._queue
      .then(() => this._answer(message))
      .catch((error) => {
        if (this._closed) return;
        this._onError(new CallsError(ErrorCode.ERROR_MEDIA_NEGOTIATION, `Could not answer the server's offer: ${error.message}`));
      });
    return this._queue;
  }

  /** Publish `track` (or nothing, with null) as this browser's `kind` ("audio", "video" or "screen"). */
  async replaceTrack(kind, track) {
    this._local[kind] = track;
    const sender = this._senders[kind];
    if (sender) await sender.replaceTrack(track);
  }

  close() {
    this._closed = true;
    this.pc.close();
  }

  async _answer({ sdp, publish = {}, tracks = {} }) {
    if (this._closed) return;
    // Known before setRemoteDescription: the track events it fires are looked up here.
    this._tracks = tracks && typeof tracks === "object" ? tracks : {};
    await this.pc.setRemoteDescription({ type: "offer", sdp });
    await this._bindPublishing(publish || {});
    await this.pc.setLocalDescription(await this.pc.createAnswer());
    await iceGatheringComplete(this.pc);
    if (this._closed) return;
    this._send("answer", { sdp: this.pc.localDescription.sdp });
    this._reconcileReceivers();
  }

  async _bindPublishing(publish) {
    for (const kind of ["audio", "video", "screen"]) {
      const mid = publish[kind];
      if (kind === "screen" && !this._local.screen) continue;
      if (!mid || (this._senders[kind] && this._senderMid(kind) === mid)) continue;
      const transceiver = this.pc.getTransceivers().find((t) => t.mid === mid);
      if (!transceiver) throw new Error(`the offer has no media section with mid ${mid}`);
      transceiver.direction = "sendonly";
      await transceiver.sender.replaceTrack(this._local[kind]);
      this._senders[kind] = transceiver.sender;
      await tuneEncodings(kind, transceiver.sender);
    }
  }

  _senderMid(kind) {
    const transceiver = this.pc.getTransceivers().find((t) => t.sender === this._senders[kind]);
    return transceiver ? transceiver.mid : null;
  }

  _handleTrack(event) {
    const info = this._tracks[event.transceiver.mid];
    if (info) this._onRemoteTrack(info.participantId, sourceOf(info, event.track), event.track);
  }

  /**
   * Hand over every receiving transceiver's track again: the server reuses idle
   * transceivers for new participants, which does not always fire a track event.
   */
  _reconcileReceivers() {
    for (const transceiver of this.pc.getTransceivers()) {
      const info = this._tracks[transceiver.mid];
      if (info && RECEIVING.has(transceiver.currentDirection)) {
        this._onRemoteTrack(info.participantId, sourceOf(info, transceiver.receiver.track), transceiver.receiver.track);
      }
    }
  }
}
