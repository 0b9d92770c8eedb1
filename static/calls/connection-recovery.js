/**
 * Staying in the call through a dropped signaling socket (calls-api §6:
 * onConnectionLost, onConnectionRestored).
 *
 * Media does not go through the socket, so a blip need not interrupt anyone.
 * When the socket drops, the view says "Reconnecting…" and a new socket is
 * tried (reconnect-policy.js decides when). On it, `resume` carries on as the same
 * participant with the same peer connection; the server answers with who is in
 * the call now, and what it said meanwhile follows. If the server has let us go
 * (it restarted, or we were away longer than its grace period) we join again on
 * that socket, as a new participant with a new peer connection, with no click.
 */

import { CallsError, CloseCode, ErrorCode, LeaveReason, Refusal, errorFromServer } from "./errors.js";
import { Events } from "./events.js";
import { Reconnector } from "./reconnect-policy.js";

export const REPLY_TIMEOUT_MS = 10_000;
// Close codes after which the call is over, not interrupted. (A 1000 we did not ask for is not one:
// the server only closes with it after our own "leave", and it is what comes back when something
// else closed the socket under us.)
const FINAL_CLOSE_CODES = new Set([
  CloseCode.REMOVED,
  CloseCode.SESSION_NOT_FOUND,
  CloseCode.SESSION_ENDED,
  CloseCode.INVALID_SESSION_ID,
  // Our call token joined again elsewhere: coming back here would only push that join out in turn.
  CloseCode.REPLACED_BY_JOIN,
]);
// Join errors that another attempt would only repeat.
const FINAL_ERRORS = new Set([
  ErrorCode.ERR_CALL_TERMINATED,
  ErrorCode.ERR_CALL_SESSION_NOT_FOUND,
  ErrorCode.ERROR_CALL_TOKEN,
  ErrorCode.ERROR_CALL_SESSION_ID,
  ErrorCode.AUTH_ERR_NO_ACCESS, // Removed by a moderator meanwhile.
  ErrorCode.ERR_CALL_FULL,
]);

/** Why we are out of the call after getting back failed with `error`. */
function leaveReason(error) {
  if (error.errorCode === ErrorCode.ERR_CALL_TERMINATED) return LeaveReason.ENDED;
  if (error.errorCode === ErrorCode.AUTH_ERR_NO_ACCESS && error.details && error.details.reason === Refusal.REMOVED) return LeaveReason.REMOVED;
  return LeaveReason.DISCONNECTED;
}

export class ConnectionRecovery {
  /**
   * @param {object} call the part of the call this uses (session.js): sessionId, inCall, localId,
   *   view, emit, and what a try needs of the session:
   * @param {function(): import("./signaling.js").SignalingChannel} call.openSignaling a new socket, made the current one
   * @param {function(object): void} call.catchUp apply `resumed` (same participant, same peer connection)
   * @param {function(): void} call.leaveSeat the server no longer has us: drop the old participant
   * @param {function(): object} call.joinFields what `join` says
   * @param {function(object): void} call.takeSeat apply `joined` as a new participant, and start the features again
   * @param {function(string, object): void} call.callOver leave the call with a reason, for the close `{code, reason}`
   */
  constructor(call) {
    this._call = call;
    this._reconnector = null;
    this._waiter = null;
    this.resumeToken = "";
  }

  get reconnecting() {
    return this._reconnector !== null;
  }

  /** Whether a socket closed with `code` leaves room to come back. */
  static isRecoverable(code) {
    return !FINAL_CLOSE_CODES.has(code);
  }

  /** The socket dropped while in the call: say so and start getting back. */
  connectionLost(close) {
    this._rejectReply(new CallsError(ErrorCode.ERROR_CONNECTION_FAILED, "The signaling connection closed."));
    if (this._reconnector) return;
    const call = this._call;
    call.view.setConnectionState("reconnecting");
    call.emit(Events.onConnectionLost, { sessionId: call.sessionId, code: close.code, reason: close.reason });
    this._reconnector = new Reconnector({
      attempt: () => this._attempt(),
      isFinal: (error) => FINAL_ERRORS.has(error.errorCode),
      onGiveUp: (error) => {
        this._reconnector = null;
        if (call.inCall) call.callOver(leaveReason(error), close);
      },
    });
    this._reconnector.run();
  }

  /** A message the current attempt waits for: handled here, not by the session. */
  takeReply(message) {
    const waiter = this._waiter;
    if (!waiter || !waiter.types.includes(message.type)) return false;
    this._waiter = null;
    clearTimeout(waiter.timer);
    if (message.type === "error") waiter.reject(errorFromServer(message));
    else waiter.resolve(message);
    return true;
  }

  stop() {
    if (this._reconnector) this._reconnector.cancel();
    this._reconnector = null;
    this._rejectReply(new CallsError(ErrorCode.ERROR_JOIN_CANCELLED, "Left the call."));
  }

  async _attempt() {
    const call = this._call;
    const channel = call.openSignaling();
    await channel.open();
    if (!call.inCall || !this._reconnector) {
      channel.close();
      return;
    }
    try {
      const resumed = await this._request(channel, "resume", { participantId: call.localId, resumeToken: this.resumeToken }, ["resumed"]);
      this._restored(() => call.catchUp(resumed));
    } catch (error) {
      if (error.errorCode !== ErrorCode.ERR_CALL_NOT_A_PART) throw this._closing(channel, error);
      // The server no longer has us (it restarted, or we were gone too long): join again.
      call.leaveSeat();
      try {
        const joined = await this._request(channel, "join", call.joinFields(), ["joined"]);
        this._restored(() => call.takeSeat(joined));
      } catch (joinError) {
        throw this._closing(channel, joinError);
      }
    }
  }

  _restored(apply) {
    const call = this._call;
    this._reconnector = null;
    apply();
    call.view.setConnectionState("connected");
    call.emit(Events.onConnectionRestored, { sessionId: call.sessionId });
  }

  _closing(channel, error) {
    if (channel.isOpen) channel.close();
    return error;
  }

  _request(channel, type, fields, replyTypes) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this._waiter = null;
        reject(new CallsError(ErrorCode.ERROR_CONNECTION_FAILED, "The call server did not answer in time."));
      }, REPLY_TIMEOUT_MS);
      this._waiter = { types: [...replyTypes, "error"], resolve, reject, timer };
      if (!channel.send(type, fields)) this._rejectReply(new CallsError(ErrorCode.ERROR_CONNECTION_FAILED, "The signaling connection closed."));
    });
  }

  _rejectReply(error) {
    const waiter = this._waiter;
    if (!waiter) return;
    this._waiter = null;
    clearTimeout(waiter.timer);
    waiter.reject(error);
  }
}
