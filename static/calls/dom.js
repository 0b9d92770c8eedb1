/**
 * The SDK's one DOM layer: building elements, finding them in the page, and
 * listening to the document and the window. Every other module that shows
 * something goes through here; the call's logic (session.js and its features)
 * only talks to the view (ui.js).
 *
 * Text always goes in as text nodes (never as HTML), so names people type
 * cannot inject markup; the one exception is `fragmentFromHtml`, for rows the
 * server renders (and escapes) itself.
 */

const SVG_NS = "http://www.w3.org/2000/svg";

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

/** An SVG element (icons.js): attributes as h's, children appended. */
export function svg(tag, attributes = {}, ...children) {
  const element = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  append(element, children);
  return element;
}

/** The nodes of server-rendered HTML (the participant list's htmx partial), as a fragment. */
export function fragmentFromHtml(html) {
  const template = document.createElement("template");
  template.innerHTML = html;
  return template.content;
}

/** The page's element with this id, or null. */
export function byId(id) {
  return document.getElementById(id);
}

/** The page's elements that match `selector`. */
export function queryAll(selector) {
  return document.querySelectorAll(selector);
}

/** The element that has the focus. */
export function focusedElement() {
  return document.activeElement;
}

/** Whether the page is hidden (another tab, a minimised window). */
export function pageHidden() {
  return document.visibilityState === "hidden";
}

/** Listen to the whole document (`visibilitychange`, shortcuts, clicks outside a menu); returns the function that stops it. */
export function listenToDocument(type, listener, options) {
  document.addEventListener(type, listener, options);
  return () => document.removeEventListener(type, listener, options);
}

/** Listen to the window (`pagehide`); returns the function that stops it. */
export function listenToWindow(type, listener, options) {
  window.addEventListener(type, listener, options);
  return () => window.removeEventListener(type, listener, options);
}

/**
 * Copy `text` the old way: select it in `field` (or in an off-screen text area made for it) and
 * run the copy command; the focus goes back where it was. Whether it worked.
 */
export function copyBySelection(text, field = null) {
  const selectable = field || h("textarea", { value: text, readOnly: true, class: "cc-offscreen" });
  if (!field) document.body.append(selectable);
  const focused = document.activeElement;
  selectable.focus();
  selectable.select();
  let copied = false;
  try {
    copied = document.execCommand("copy");
  } catch {
    copied = false;
  }
  if (!field) selectable.remove();
  if (focused && focused !== selectable && typeof focused.focus === "function") focused.focus();
  return copied;
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

// Avatar pictures that failed to load in this page: not asked for again at every tile update.
const failedAvatars = new Set();

/**
 * Show the picture at `url` (an http(s) URL the participant model has checked; "" for none) in
 * `avatar`, over its initials. The initials stay until the picture has loaded, and come back if
 * it fails: never a broken-image icon.
 */
export function setAvatarImage(avatar, url) {
  const current = avatar.querySelector(".cc-avatar__image");
  if (current && current.getAttribute("src") === url) return;
  if (current) current.remove();
  delete avatar.dataset.image;
  if (!url || failedAvatars.has(url)) return;
  const image = h("img", { class: "cc-avatar__image", alt: "", referrerpolicy: "no-referrer", decoding: "async", draggable: "false", src: url });
  watchAvatarImage(image, avatar);
  avatar.append(image);
}

/**
 * Follow an avatar's picture (also one the server rendered, before it is put in the page):
 * `avatar` gets data-image="loaded" once it shows; a picture that fails to load is removed.
 */
export function watchAvatarImage(image, avatar) {
  if (failedAvatars.has(image.getAttribute("src"))) {
    image.remove();
    return;
  }
  image.addEventListener("load", () => (avatar.dataset.image = "loaded"), { once: true });
  image.addEventListener(
    "error",
    () => {
      failedAvatars.add(image.getAttribute("src"));
      image.remove();
    },
    { once: true },
  );
}
