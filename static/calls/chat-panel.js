/**
 * The in-call chat panel (hideChatButton: false): the messages of this join,
 * oldest first, and a box to send one. Message text is only ever set with
 * textContent. Styled as the participant panel (`.cc-panel`).
 */

import { MAX_CHAT_CHARS } from "./chat-messages.js";
import { h } from "./dom.js";
import { icon } from "./icons.js";
import { sidePanel } from "./side-panel.js";

function clock(ms) {
  const date = new Date(ms);
  return `${String(date.getHours()).padStart(2, "0")}:${String(date.getMinutes()).padStart(2, "0")}`;
}

export class ChatPanel {
  /**
   * @param {object} options
   * @param {function(string): void} options.onSend a message to send (already trimmed, never empty)
   * @param {function(): void} options.onClose the close button or Escape was used
   */
  constructor({ onSend, onClose }) {
    this._list = h("ol", { class: "cc-chat__list", "aria-live": "polite", "aria-labelledby": "cc-chat-panel-title" });
    this._empty = h("p", { class: "cc-chat__empty", text: "Messages are seen by everyone in the call and go away when it ends." });
    this._input = h("textarea", {
      class: "cc-field cc-chat__input",
      rows: 1,
      maxLength: MAX_CHAT_CHARS,
      placeholder: "Send a message",
      "aria-label": "Message to everyone",
    });
    const send = h("button", { type: "submit", class: "cc-btn cc-btn--flat cc-chat__send", "data-action": "send-chat", "aria-label": "Send", title: "Send" }, icon("send"));
    this._form = h("form", { class: "cc-chat__form" }, this._input, send);
    this._form.addEventListener("submit", (event) => {
      event.preventDefault();
      const text = this._input.value.trim();
      if (!text) return;
      onSend(text);
      this._input.value = "";
    });
    this._input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey) {
        event.preventDefault();
        this._form.requestSubmit();
      }
    });
    ({ element: this.element } = sidePanel(
      { id: "cc-chat-panel", title: "In-call messages", className: "cc-chat", closeAction: "close-chat", closeLabel: "Close the messages", onClose },
      this._empty,
      this._list,
      this._form,
    ));
  }

  get isOpen() {
    return !this.element.hidden;
  }

  setOpen(open) {
    this.element.hidden = !open;
    if (open) {
      this._input.focus();
      this._list.scrollTop = this._list.scrollHeight;
    }
  }

  /** Append one message ({id, participantId, name, isGuest, text, sentAt, isLocal}); a guest's name is marked. */
  add(message) {
    this._empty.hidden = true;
    const item = h(
      "li",
      { class: "cc-chat__message", "data-message-id": message.id, "data-participant-id": message.participantId, "data-self": message.isLocal ? "true" : false },
      h(
        "div",
        { class: "cc-chat__meta" },
        h("span", { class: "cc-chat__name", text: message.isLocal ? "You" : message.name || "Guest" }),
        message.isGuest ? h("span", { class: "cc-role-badge", "data-role": "guest", text: "Guest" }) : null,
        h("time", { class: "cc-chat__time", dateTime: new Date(message.sentAt).toISOString(), text: clock(message.sentAt) }),
      ),
      h("p", { class: "cc-chat__text", text: message.text }),
    );
    this._list.append(item);
    this._list.scrollTop = this._list.scrollHeight;
  }
}
