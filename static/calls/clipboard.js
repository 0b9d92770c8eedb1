/**
 * Copy text: the async Clipboard API where the page may use it, else the old
 * select-and-copy route (plain-http LAN addresses are not secure contexts).
 */

export async function copyText(text, selectable = null) {
  if (navigator.clipboard && window.isSecureContext) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch {
      // Permission refused or document not focused: fall back below.
    }
  }
  return legacyCopy(text, selectable);
}

function legacyCopy(text, selectable) {
  let field = selectable;
  let temporary = false;
  if (!field) {
    field = document.createElement("textarea");
    field.value = text;
    field.readOnly = true;
    field.className = "cc-offscreen";
    document.body.append(field);
    temporary = true;
  }
  const focused = document.activeElement;
  field.focus();
  field.select();
  let copied = false;
  try {
    copied = document.execCommand("copy");
  } catch {
    copied = false;
  }
  if (temporary) field.remove();
  if (focused && focused !== field && typeof focused.focus === "function") focused.focus();
  return copied;
}
