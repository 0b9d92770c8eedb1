/**
 * The participant context menu (enableParticipantContextMenu): pin or unpin
 * anyone (local view) and, for moderators only, mute, turn off the camera of,
 * allow back or remove someone else (moderation, enforced by the server).
 * Non-moderators get no moderation items at all. One menu element serves
 * every tile and every row of the participant list.
 *
 * Keyboard: the menu opens with focus on its first item; ↑/↓ move, Escape or
 * Tab close it and focus returns to the button that opened it.
 */

import { focusedElement, h, listenToDocument } from "./dom.js";
import { icon } from "./icons.js";

/** The items for `participant`, as seen by a moderator or not: [{action, label, iconName}]. */
export function menuItems(participant, { voice, moderator = false }) {
  const items = [
    participant.isPinned
      ? { action: "unpin", label: "Unpin", iconName: "pin" }
      : { action: "pin", label: participant.isLocal ? "Pin yourself" : `Pin ${participant.name || "Guest"}`, iconName: "pin" },
  ];
  if (!moderator || participant.isLocal) return items;
  const allowAudio = { action: "allow-participant-audio", label: "Allow to speak", iconName: "mic" };
  if (participant.audioMutedByModerator && participant.raisedHandTimestamp) items.unshift(allowAudio); // They ask to speak.
  else if (participant.audioMutedByModerator) items.push(allowAudio);
  else if (!participant.audioMuted) items.push({ action: "mute-participant", label: "Mute", iconName: "micOff" });
  if (!voice && participant.videoPausedByModerator) items.push({ action: "allow-participant-video", label: "Allow camera", iconName: "videocam" });
  else if (!voice && !participant.videoPaused) items.push({ action: "pause-participant-video", label: "Turn off camera", iconName: "videocamOff" });
  items.push({ action: "remove-participant", label: "Remove from call", iconName: "personRemove" });
  return items;
}

/** The "More options" button a tile or list row carries. */
export function menuButton(participant, onOpen) {
  const button = h("button", {
    type: "button",
    class: "cc-menu-button",
    "data-action": "participant-menu",
    "aria-haspopup": "menu",
    "aria-expanded": "false",
    "aria-label": `More options for ${participant.name || "Guest"}`,
    title: "More options",
  }, icon("moreVert"));
  button.addEventListener("click", (event) => {
    event.stopPropagation();
    onOpen(button);
  });
  return button;
}

export class ParticipantMenu {
  /**
   * @param {object} options
   * @param {HTMLElement} options.root the call view's root (the menu is positioned inside it)
   * @param {boolean} options.voice a voice call (no camera items)
   * @param {function(string, string): void} options.onAction (action, pid)
   */
  constructor({ root, voice, onAction }) {
    this._root = root;
    this._voice = voice;
    this._onAction = onAction;
    this._moderator = false;
    this._opener = null;
    this._stopOutside = null;
    this.element = h("div", { class: "cc-menu", role: "menu", hidden: true, id: "cc-participant-menu" });
    this.element.addEventListener("keydown", (event) => this._key(event));
    this._onOutside = (event) => {
      if (!this.element.contains(event.target) && event.target !== this._opener) this.close(false);
    };
  }

  get isOpen() {
    return !this.element.hidden;
  }

  /** Whether we are a moderator: only then does the menu carry moderation items. */
  setModerator(moderator) {
    this._moderator = moderator;
    this.close(false);
  }

  /** Open under `opener` with the items for `participant`. */
  open(opener, participant) {
    if (this.isOpen && this._opener === opener) {
      this.close(true);
      return;
    }
    this.close(false);
    const items = menuItems(participant, { voice: this._voice, moderator: this._moderator }).map(({ action, label, iconName }) =>
      h(
        "button",
        {
          type: "button",
          class: "cc-menu__item",
          role: "menuitem",
          tabindex: "-1",
          "data-action": action,
          onclick: () => {
            this.close(true);
            this._onAction(action, participant.pid);
          },
        },
        icon(iconName),
        h("span", { text: label }),
      ),
    );
    this.element.replaceChildren(...items);
    this.element.setAttribute("aria-label", `Options for ${participant.name || "Guest"}`);
    this.element.dataset.pid = participant.pid;
    this._opener = opener;
    opener.setAttribute("aria-expanded", "true");
    this.element.hidden = false;
    this._place(opener);
    this._stopOutside = listenToDocument("pointerdown", this._onOutside, true);
    items[0].focus();
  }

  /** Close; with `refocus`, focus goes back to the button that opened it. */
  close(refocus) {
    if (!this.isOpen) return;
    this.element.hidden = true;
    if (this._stopOutside) this._stopOutside();
    this._stopOutside = null;
    const opener = this._opener;
    this._opener = null;
    if (opener) {
      opener.setAttribute("aria-expanded", "false");
      if (refocus && opener.isConnected) opener.focus();
    }
  }

  _place(opener) {
    const root = this._root.getBoundingClientRect();
    const anchor = opener.getBoundingClientRect();
    const menu = this.element.getBoundingClientRect();
    const left = Math.min(Math.max(8, anchor.right - root.left - menu.width), root.width - menu.width - 8);
    const below = anchor.bottom - root.top + 4;
    const top = below + menu.height > root.height - 8 ? Math.max(8, anchor.top - root.top - menu.height - 4) : below;
    this.element.style.left = `${left}px`;
    this.element.style.top = `${top}px`;
  }

  _key(event) {
    const items = [...this.element.querySelectorAll('[role="menuitem"]')];
    const index = items.indexOf(focusedElement());
    if (event.key === "Escape") {
      event.preventDefault();
      this.close(true);
    } else if (event.key === "Tab") {
      this.close(true);
    } else if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      const step = event.key === "ArrowDown" ? 1 : -1;
      items[(index + step + items.length) % items.length].focus();
    } else if (event.key === "Home" || event.key === "End") {
      event.preventDefault();
      items[event.key === "Home" ? 0 : items.length - 1].focus();
    }
  }
}
