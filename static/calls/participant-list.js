/**
 * The participant list panel (showParticipantList): everyone in the call,
 * you first, with their microphone and camera state and, where the context
 * menu is enabled, the same options as their tile. Rendered in the browser
 * from the SDK's participant list.
 */

import { avatarColourClass, h, initials } from "./dom.js";
import { icon } from "./icons.js";
import { menuButton } from "./tile-menu.js";

export class ParticipantPanel {
  /**
   * @param {object} options
   * @param {boolean} options.voice a voice call (no camera state)
   * @param {boolean} options.menu whether rows carry the participant menu
   * @param {function(HTMLElement, object): void} options.openMenu
   * @param {function(): void} options.onClose the close button was used
   */
  constructor({ voice, menu, openMenu, onClose }) {
    this._voice = voice;
    this._menu = menu;
    this._openMenu = openMenu;
    this._heading = h("h2", { class: "cc-panel__title", id: "cc-participant-panel-title", text: "People" });
    this._list = h("ul", { class: "cc-panel__list", "aria-labelledby": "cc-participant-panel-title" });
    this._close = h(
      "button",
      { type: "button", class: "cc-btn cc-btn--flat", "data-action": "close-participant-list", "aria-label": "Close the list of people", title: "Close", onclick: onClose },
      icon("close"),
    );
    this.element = h(
      "aside",
      { class: "cc-panel", id: "cc-participant-panel", hidden: true, "aria-labelledby": "cc-participant-panel-title" },
      h("div", { class: "cc-panel__header" }, this._heading, this._close),
      this._list,
    );
    this.element.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        event.stopPropagation();
        onClose();
      }
    });
  }

  get isOpen() {
    return !this.element.hidden;
  }

  setOpen(open) {
    this.element.hidden = !open;
    if (open) this._close.focus();
  }

  /** Show `participants` (§6 Participants, you first): raised hands on top, in the order they went up. */
  render(participants) {
    this._heading.textContent = `People (${participants.length})`;
    const raised = participants.filter((p) => p.raisedHandTimestamp).sort((a, b) => a.raisedHandTimestamp - b.raisedHandTimestamp);
    const rest = participants.filter((p) => !p.raisedHandTimestamp);
    this._list.replaceChildren(...[...raised, ...rest].map((participant) => this._row(participant)));
  }

  _row(participant) {
    const name = participant.name || (participant.isLocal ? "You" : "Guest");
    const states = [];
    if (participant.raisedHandTimestamp) states.push(h("span", { class: "cc-panel__state cc-panel__state--hand", role: "img", "aria-label": "Hand raised" }, icon("hand")));
    if (participant.audioMuted) states.push(h("span", { class: "cc-panel__state", role: "img", "aria-label": "Microphone off" }, icon("micOff")));
    if (!this._voice && participant.videoPaused) states.push(h("span", { class: "cc-panel__state", role: "img", "aria-label": "Camera off" }, icon("videocamOff")));
    if (participant.isPinned) states.push(h("span", { class: "cc-panel__state", role: "img", "aria-label": "Pinned" }, icon("pin")));
    return h(
      "li",
      { class: "cc-panel__row", "data-pid": participant.pid, "data-hand-raised": String(Boolean(participant.raisedHandTimestamp)), "data-self": participant.isLocal ? "true" : false },
      h("span", { class: `cc-avatar cc-avatar--small ${avatarColourClass(participant.pid)}`, "aria-hidden": "true", text: initials(name) }),
      h("span", { class: "cc-panel__name", text: participant.isLocal ? `${name} (You)` : name }),
      h("span", { class: "cc-panel__states" }, states),
      this._menu ? menuButton(participant, (button) => this._openMenu(button, participant)) : null,
    );
  }
}
