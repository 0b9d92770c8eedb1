/**
 * The signaling websocket: JSON messages to and from /ws/calls/<sessionId>/
 * (the message types are those of sessions_app/signaling/protocol.py), plus a heartbeat.
 * The URL comes from config.js (the configured host).
 */

import { CallsError, ErrorCode } from "./errors.js";

// The server closes a socket silent for 5 s (sessions_app/signaling/silence.py): ping well within that. A server
// silent through two and a half pings is treated as gone, and connection-recovery.js takes over.
export const HEARTBEAT_INTERVAL_MS = 2_000;
export const HEARTBEAT_TIMEOUT_MS = 5_000;
export const CONNECT_TIMEOUT_MS = 15_000;

export class SignalingChannel {
  /**
   * @param {string} url
   * @param {{onMessage: function(object), onClose: function({code, reason, byClient})}} handlers
   */
  constructor(url, { onMessage, onClose }) {
    this.url = url;
    this._onMessage = onMessage;
    this._onClose = onClose;
    this._ws = null;
    this._heartbeat = null;
    this._lastHeardAt = 0;
    this._closedByClient = false;
    this._closeReported = false;
  }

  /** Resolve once the socket is open; reject with ERROR_CONNECTION_FAILED otherwise. */
  open() {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(this.url);
      this._ws = ws;
      const timer = setTimeout(() => {
        ws.close();
        reject(new CallsError(ErrorCode.ERROR_CONNECTION_FAILED, "The call server did not answer in time."));
      }, CONNECT_TIMEOUT_MS);
      ws.addEventListener("open", () => {
        clearTimeout(timer);
        this._lastHeardAt = Date.now();
        this._heartbeat = setInterval(() => this._beat(), HEARTBEAT_INTERVAL_MS);
        resolve();
      });
      ws.addEventListener("message", (event) => this._receive(event.data));
      ws.addEventListener("close", (event) => {
        clearTimeout(timer);
        if (ws.readyState !== WebSocket.OPEN && this._lastHeardAt === 0) {
          reject(new CallsError(ErrorCode.ERROR_CONNECTION_FAILED, "Could not connect to the call server.", {
            closeCode: event.code,
          }));
        }
        this._closed(event.code, event.reason);
      });
    });
  }

  get isOpen() {
    return Boolean(this._ws) && this._ws.readyState === WebSocket.OPEN;
  }

  /** Send one message: `{type, ...fields}`. Dropped (with a warning) once the socket is closed. */
  send(type, fields = {}) {
    if (!this.isOpen) {
      console.warn(`[calls] not sending "${type}": the signaling connection is closed.`);
      return false;
    }
    this._ws.send(JSON.stringify({ ...fields, type }));
    return true;
  }

  /** Close from our side; onClose still reports it, with byClient = true. */
  close(code = 1000, reason = "") {
    this._closedByClient = true;
    if (this._ws && this._ws.readyState <= WebSocket.OPEN) this._ws.close(code, reason);
    this._closed(code, reason);
  }

  _receive(text) {
    this._lastHeardAt = Date.now();
    let message;
    try {
      message = JSON.parse(text);
    } catch {
      console.warn("[calls] ignoring a signaling message that is not JSON.");
      return;
    }
    if (!message || typeof message !== "object" || typeof message.type !== "string") {
      console.warn("[calls] ignoring a signaling message without a type.");
      return;
    }
    if (message.type === "pong") return;
    this._onMessage(message);
  }

  _beat() {
    if (Date.now() - this._lastHeardAt > HEARTBEAT_TIMEOUT_MS) {
      // The server has been silent through several pings: treat the link as dead.
      if (this._ws) this._ws.close();
      this._closed(4408, "The call server stopped answering.");
      return;
    }
    this.send("ping");
  }

  _closed(code, reason) {
    clearInterval(this._heartbeat);
    this._heartbeat = null;
    if (this._closeReported) return;
    this._closeReported = true;
    this._onClose({ code, reason, byClient: this._closedByClient });
  }
}
