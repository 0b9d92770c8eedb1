/**
 * The closable side panel the participant list and the chat share: an `aside` with a titled
 * header and a close button; Escape inside it closes it too.
 */

import { h } from "./dom.js";
import { icon } from "./icons.js";

/**
 * @param {object} options
 * @param {string} options.id the panel's element id (its title is `${id}-title`)
 * @param {string} options.title
 * @param {string} options.className extra classes besides `cc-panel`
 * @param {string} options.closeAction the close button's data-action
 * @param {string} options.closeLabel the close button's accessible name
 * @param {function(): void} options.onClose the close button or Escape was used
 * @param {Array<Node>} children the panel's body
 * @returns {{element: HTMLElement, heading: HTMLElement, closeButton: HTMLElement}}
 */
export function sidePanel({ id, title, className = "", closeAction, closeLabel, onClose }, ...children) {
  const titleId = `${id}-title`;
  const heading = h("h2", { class: "cc-panel__title", id: titleId, text: title });
  const closeButton = h(
    "button",
    { type: "button", class: "cc-btn cc-btn--flat", "data-action": closeAction, "aria-label": closeLabel, title: "Close", onclick: onClose },
    icon("close"),
  );
  const element = h(
    "aside",
    { class: `cc-panel ${className}`.trim(), id, hidden: true, "aria-labelledby": titleId },
    h("div", { class: "cc-panel__header" }, heading, closeButton),
    ...children,
  );
  element.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      event.stopPropagation();
      onClose();
    }
  });
  return { element, heading, closeButton };
}
