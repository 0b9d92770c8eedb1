/**
 * The participant list panel (showParticipantList): everyone in the call with their
 * avatar, hand, microphone, camera and presenting state, a "Guest" or "Moderator" marker and,
 * where the context menu is enabled, the same options as their tile. The rows are
 * rendered by the server (the htmx partial GET /s/<id>/participants/, asked for with this
 * join's call token) each time the list changes while the panel is open; icons are filled
 * in here, from icons.js, and so is a moderator's "Allow to speak" on the row of a held
 * participant who raised a hand.
 */

import { fragmentFromHtml, h, watchAvatarImage } from "./dom.js";
import { icon } from "./icons.js";
import { sidePanel } from "./side-panel.js";

export class ParticipantPanel {
  /**
   * @param {object} options
   * @param {boolean} options.voice a voice call (no camera state)
   * @param {boolean} options.menu whether rows carry the participant menu
   * @param {function(HTMLElement, object): void} options.openMenu
   * @param {function(string, string): void} options.onAction (action, pid) for the rows' own buttons
   * @param {function(): void} options.onClose the close button was used
   * @param {function(object): Promise<string>} options.loadRows the server's rows for {self, pinned, voice, menu}
   */
  constructor({ voice, menu, openMenu, onAction, onClose, loadRows }) {
    this._voice = voice;
    this._menu = menu;
    this._moderator = false;
    this._openMenu = openMenu;
    this._loadRows = loadRows;
    this._participants = new Map();
    this._loading = false;
    this._stale = false;
    this._list = h("ul", { class: "cc-panel__list", "aria-labelledby": "cc-participant-panel-title" });
    ({ element: this.element, heading: this._heading, closeButton: this._close } = sidePanel(
      { id: "cc-participant-panel", title: "People", closeAction: "close-participant-list", closeLabel: "Close the list of people", onClose },
      this._list,
    ));
    this._list.addEventListener("click", (event) => {
      const allow = event.target.closest("[data-action='allow-participant-audio']");
      const allowRow = allow && allow.closest("[data-pid]");
      if (allowRow) {
        event.stopPropagation();
        onAction("allow-participant-audio", allowRow.dataset.pid);
        return;
      }
      const button = event.target.closest("[data-action='participant-menu']");
      const row = button && button.closest("[data-pid]");
      const participant = row && this._participants.get(row.dataset.pid);
      if (!participant) return;
      event.stopPropagation();
      this._openMenu(button, participant);
    });
  }

  get isOpen() {
    return !this.element.hidden;
  }

  /** Whether we are a moderator (rows of held participants asking to speak get "Allow to speak"). */
  setModerator(moderator) {
    if (this._moderator === moderator) return;
    this._moderator = moderator;
    if (this.isOpen) this.refresh();
  }

  setOpen(open) {
    this.element.hidden = !open;
    if (open) {
      this._close.focus();
      this.refresh();
    }
  }

  /** The list changed (§6 Participants, you first): the server renders it again if the panel shows. */
  render(participants) {
    this._participants = new Map(participants.map((participant) => [participant.pid, participant]));
    this._heading.textContent = `People (${participants.length})`;
    if (this.isOpen) this.refresh();
  }

  /** Ask the server for the rows; changes while a request is out are folded into one more request. */
  async refresh() {
    if (this._loading) {
      this._stale = true;
      return;
    }
    this._loading = true;
    try {
      do {
        this._stale = false;
        const everyone = [...this._participants.values()];
        const self = everyone.find((participant) => participant.isLocal);
        const pinned = everyone.find((participant) => participant.isPinned);
        this._show(await this._loadRows({ self: self ? self.pid : "", pinned: pinned ? pinned.pid : "", voice: this._voice, menu: this._menu }));
      } while (this._stale);
    } catch (error) {
      console.warn("[calls] could not load the participant list:", error);
    } finally {
      this._loading = false;
    }
  }

  _show(html) {
    const rows = fragmentFromHtml(html);
    for (const element of rows.querySelectorAll("[data-icon]")) element.append(icon(element.dataset.icon));
    // Followed before they are in the page (where they start loading): one that fails leaves the initials.
    for (const image of rows.querySelectorAll(".cc-avatar > .cc-avatar__image")) watchAvatarImage(image, image.parentElement);
    if (this._moderator) {
      for (const row of rows.querySelectorAll("[data-pid][data-audio-held='true'][data-hand-raised='true']")) {
        row.append(h("button", { type: "button", class: "cc-button cc-button--secondary cc-panel__allow", "data-action": "allow-participant-audio", text: "Allow to speak" }));
      }
    }
    this._list.replaceChildren(rows);
  }
}
