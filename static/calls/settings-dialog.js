/**
 * The in-call settings dialog (CometChat's `showSettingsDialog()`, and the
 * control bar's settings button): the microphone, camera and speaker in use,
 * each chosen from its list. A choice is reported, not applied here: the
 * call changes the device and the dialog then shows what is in use.
 */

import { h } from "./dom.js";
import { icon } from "./icons.js";

// The dialog's selects: the device kind, its element id and its label.
const FIELDS = [
  ["audioInput", "cc-settings-audio-input", "Microphone"],
  ["videoInput", "cc-settings-video-input", "Camera"],
  ["audioOutput", "cc-settings-audio-output", "Speaker"],
];

export class SettingsDialog {
  /**
   * @param {object} options
   * @param {boolean} options.voice a voice call (no camera to choose)
   * @param {function(string, string): void} options.onChoose (kind, deviceId) a device was picked
   * @param {function(): void} options.onClose the close button or Escape was used
   */
  constructor({ voice, onChoose, onClose }) {
    this._selects = new Map();
    const fields = [];
    for (const [kind, id, label] of FIELDS) {
      if (voice && kind === "videoInput") continue;
      const select = h("select", { class: "cc-field cc-settings__select", id, "data-kind": kind });
      select.addEventListener("change", () => onChoose(kind, select.value));
      const field = h("div", { class: "cc-settings__field" }, h("label", { class: "cc-settings__label", for: id, text: label }), select);
      this._selects.set(kind, { select, field });
      fields.push(field);
    }
    this._close = h(
      "button",
      { type: "button", class: "cc-btn cc-btn--flat", "data-action": "close-settings", "aria-label": "Close settings", title: "Close", onclick: onClose },
      icon("close"),
    );
    this.element = h(
      "div",
      { class: "cc-settings", id: "cc-settings-dialog", role: "dialog", "aria-modal": "true", "aria-labelledby": "cc-settings-title", hidden: true },
      h("div", { class: "cc-settings__header" }, h("h2", { class: "cc-settings__title", id: "cc-settings-title", text: "Settings" }), this._close),
      ...fields,
    );
    this.element.addEventListener("keydown", (event) => {
      if (event.key !== "Escape") return;
      event.stopPropagation();
      onClose();
    });
  }

  get isOpen() {
    return !this.element.hidden;
  }

  /**
   * Show the dialog (or keep it shown) with `devices`: for each kind, `{list, current}` (the devices,
   * and the one in use or null). A kind with nothing to choose from (no speaker choice where the
   * browser cannot pick one) is left out.
   */
  show(devices) {
    for (const [kind, { select, field }] of this._selects) {
      const { list = [], current = null } = devices[kind] || {};
      field.hidden = list.length === 0;
      select.replaceChildren(
        ...list.map((device, index) => h("option", { value: device.deviceId, text: device.label || `${field.firstChild.textContent} ${index + 1}` })),
      );
      if (current) select.value = current.deviceId;
    }
    if (!this.isOpen) {
      this.element.hidden = false;
      const first = [...this._selects.values()].find(({ field }) => !field.hidden);
      (first ? first.select : this._close).focus();
    }
  }

  hide() {
    this.element.hidden = true;
  }
}
