/**
 * Copy text: the async Clipboard API where the page may use it, else the old
 * select-and-copy route (plain-http LAN addresses are not secure contexts).
 */

import { copyBySelection } from "./dom.js";

export async function copyText(text, selectable = null) {
  if (navigator.clipboard && window.isSecureContext) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch {
      // Permission refused or document not focused: fall back below.
    }
  }
  return copyBySelection(text, selectable);
}
