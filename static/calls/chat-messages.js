/**
 * In-call chat (hideChatButton: false): `chat {text}` goes to the server, which sends it to
 * everyone (ours echoed too); the unread count on the chat button while its panel is closed.
 * The panel itself is chat-panel.js.
 */

import { CallsError, ErrorCode, failure, success } from "./errors.js";
import { Events } from "./events.js";

export const MAX_CHAT_CHARS = 2000;

export class ChatMessages {
  /**
   * @param {object} call the part of the call this uses (session.js): inCall, localId, settings,
   *   isLocked, forbidden, send, on, view, emit, notInCall
   * @param {function(): void} closeParticipantList the chat and the participant list share the side
   */
  constructor(call, closeParticipantList) {
    this._call = call;
    this._closeParticipantList = closeParticipantList;
    this._unread = 0;
    this._open = false;
    call.on("chat", (message) => this._received(message));
  }

  get isOpen() {
    return this._open;
  }

  send(text) {
    const call = this._call;
    if (!call.inCall) return call.notInCall();
    if (call.settings.hideChatButton && call.isLocked("hideChatButton")) return call.forbidden("Chat");
    const message = typeof text === "string" ? text.trim() : "";
    if (!message || message.length > MAX_CHAT_CHARS) {
      return failure(new CallsError(ErrorCode.ERROR_JSON_EXCEPTION, `A chat message is 1 to ${MAX_CHAT_CHARS} characters.`, { field: "text" }));
    }
    call.send("chat", { text: message });
    return success();
  }

  setOpen(open) {
    const call = this._call;
    if (!call.inCall) return call.notInCall();
    if (call.settings.hideChatButton) return failure(new CallsError(ErrorCode.ERR_BAD_REQUEST, "Chat is off in this call (hideChatButton)."));
    this._open = open;
    if (open) {
      this._closeParticipantList();
      this.setUnread(0);
    }
    call.view.setChatOpen(open);
    return success();
  }

  /** setChatButtonUnreadCount(n): the badge on the chat button (an app with its own chat sets it). */
  setUnread(count) {
    const n = Number.isInteger(count) && count > 0 ? count : 0;
    this._unread = n;
    this._call.view.setChatUnread(n);
    return success();
  }

  /** `chat {id, participantId, name, isGuest, text, sentAt}` from the server (ours echoed too). */
  _received(wire) {
    const call = this._call;
    const message = {
      id: String(wire.id || ""),
      participantId: String(wire.participantId || ""),
      name: String(wire.name || ""),
      isGuest: wire.isGuest === true,
      text: String(wire.text || ""),
      sentAt: Number(wire.sentAt) || Date.now(),
      isLocal: wire.participantId === call.localId,
    };
    call.view.addChatMessage(message);
    if (!message.isLocal && !this._open) {
      this.setUnread(this._unread + 1);
      if (call.settings.enableNotifications) call.view.notify(`${message.name || "Guest"}: ${message.text.slice(0, 80)}`);
    }
    call.emit(Events.onChatMessageReceived, Object.freeze(message));
  }
}
