/**
 * The server's messages by `type` (sessions_app/signaling/protocol.py lists them): one table that the
 * session and each feature register their handlers with, so every type has one handler and the
 * protocol the SDK understands reads off the registrations.
 */

export class MessageRouter {
  /** @param {function(): boolean} inCall whether the call is joined (most handlers only run then) */
  constructor(inCall) {
    this._inCall = inCall;
    this._handlers = new Map();
  }

  /**
   * Handle messages of `type` with `handler(message)`: only while in the call, unless `always`
   * (the handler then decides for itself). A type has one handler.
   */
  on(type, handler, { always = false } = {}) {
    if (this._handlers.has(type)) throw new Error(`[calls] "${type}" messages already have a handler.`);
    this._handlers.set(type, { handler, always });
  }

  route(message) {
    const entry = this._handlers.get(message.type);
    if (!entry) console.debug("[calls] ignoring signaling message", message.type);
    else if (entry.always || this._inCall()) entry.handler(message);
  }
}
