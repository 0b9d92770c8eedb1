/**
 * A small element builder for the SDK's views. Text always goes in as text
 * nodes (never as HTML), so names people type cannot inject markup.
 */

// Set as properties: as attributes they only set defaults (muted) or need camelCase (playsInline).
const PROPERTIES = new Set(["muted", "autoplay", "playsInline", "value", "disabled", "checked", "readOnly", "selected"]);

/**
 * h("button", {class: "x", "data-action": "leave", onclick: fn}, "Leave")
 * Attribute values false/null/undefined are skipped; true sets an empty attribute.
 */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue;
    if (name === "class") element.className = value;
    else if (name === "text") element.textContent = value;
    else if (name.startsWith("on") && typeof value === "function") element.addEventListener(name.slice(2), value);
    else if (PROPERTIES.has(name)) element[name] = value;
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
}

/** Replace everything inside `element` with `children`. */
export function replaceChildren(element, ...children) {
  element.replaceChildren();
  append(element, children);
}

/** Up to two initials for an avatar: "Ada Lovelace" → "AL", "ada" → "A". */
export function initials(name) {
  const words = String(name).trim().split(/\s+/).filter(Boolean);
  if (!words.length) return "?";
  const letters = words.length === 1 ? [words[0]] : [words[0], words[words.length - 1]];
  return letters.map((word) => Array.from(word)[0].toUpperCase()).join("");
}

export const AVATAR_COLOURS = 8;

/** A stable colour class for a participant, so their avatar looks the same everywhere. */
export function avatarColourClass(key) {
  let hash = 0;
  for (const ch of String(key)) hash = (hash * 31 + ch.codePointAt(0)) >>> 0;
  return `cc-avatar--c${hash % AVATAR_COLOURS}`;
}
