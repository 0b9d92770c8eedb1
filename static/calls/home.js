/**
 * The home page: the "Copy" button next to a new call's share link.
 */

import { copyText } from "./clipboard.js";
import { byId, queryAll } from "./dom.js";

for (const button of queryAll("[data-copy-target]")) {
  button.addEventListener("click", async () => {
    const field = byId(button.dataset.copyTarget);
    if (!field) return;
    const copied = await copyText(field.value, field);
    const label = button.querySelector("[data-copy-label]") || button;
    label.textContent = copied ? "Copied" : "Press Ctrl+C to copy";
    button.dataset.copied = String(copied);
    setTimeout(() => {
      label.textContent = "Copy";
      delete button.dataset.copied;
    }, 2500);
  });
}
