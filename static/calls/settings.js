/**
 * SessionSettings (calls-api §4): defaults, validation, and the share-link
 * query parameters that pre-fill them.
 *
 * Unknown keys are ignored so settings written for CometChat (or for a later
 * version of this SDK) still join; a known key with a wrong type or value is
 * refused with ERROR_JSON_EXCEPTION.
 */

import { CallsError, ErrorCode } from "./errors.js";

export const SessionType = Object.freeze({ VIDEO: "VIDEO", VOICE: "VOICE" });
export const Layout = Object.freeze({ TILE: "TILE", SIDEBAR: "SIDEBAR", SPOTLIGHT: "SPOTLIGHT" });
export const DEFAULT_DISPLAY_NAME = "Guest";
export const MAX_DISPLAY_NAME_CHARS = 100;

const BOOLEAN_SETTINGS = {
  startAudioMuted: false,
  startVideoPaused: false,
  hideControlPanel: false,
  hideLeaveSessionButton: false,
  hideToggleAudioButton: false,
  hideToggleVideoButton: false,
  hideShareInviteButton: true,
  hideSessionTimer: false,
};

const STRING_SETTINGS = {
  title: "",
  displayName: "",
  audioInputDeviceId: "",
  audioOutputDeviceId: "",
  videoInputDeviceId: "",
  shareUrl: "",
};

function invalid(field, problem) {
  return new CallsError(ErrorCode.ERROR_JSON_EXCEPTION, `SessionSettings.${field} ${problem}.`, { field });
}

/** "AUDIO" is CometChat's alias for VOICE; anything else unknown is null. */
export function parseSessionType(value) {
  const upper = String(value).trim().toUpperCase();
  if (upper === "AUDIO") return SessionType.VOICE;
  return upper in SessionType ? upper : null;
}

export function parseLayout(value) {
  const upper = String(value).trim().toUpperCase();
  return upper in Layout ? upper : null;
}

/** Collapse whitespace and drop control characters, as the server does. */
export function cleanDisplayName(value) {
  const printable = Array.from(String(value)).filter((ch) => !/\p{Cc}|\p{Cf}/u.test(ch)).join("");
  return printable.split(/\s+/).filter(Boolean).join(" ").slice(0, MAX_DISPLAY_NAME_CHARS);
}

/** Validate `input` and fill in defaults; throw ERROR_JSON_EXCEPTION when it is not usable. */
export function normalizeSettings(input) {
  if (input === undefined || input === null) input = {};
  if (typeof input !== "object" || Array.isArray(input)) {
    throw new CallsError(ErrorCode.ERROR_JSON_EXCEPTION, "SessionSettings must be an object.");
  }
  const settings = { sessionType: SessionType.VIDEO, layout: Layout.TILE };
  for (const [key, fallback] of Object.entries(BOOLEAN_SETTINGS)) {
    const value = input[key] ?? fallback;
    if (typeof value !== "boolean") throw invalid(key, "must be true or false");
    settings[key] = value;
  }
  for (const [key, fallback] of Object.entries(STRING_SETTINGS)) {
    const value = input[key] ?? fallback;
    if (typeof value !== "string") throw invalid(key, "must be a string");
    settings[key] = value;
  }
  if (input.sessionType !== undefined && input.sessionType !== null) {
    settings.sessionType = parseSessionType(input.sessionType);
    if (!settings.sessionType) throw invalid("sessionType", "must be VIDEO or VOICE");
  }
  if (input.layout !== undefined && input.layout !== null) {
    settings.layout = parseLayout(input.layout);
    if (!settings.layout) throw invalid("layout", "must be TILE, SIDEBAR or SPOTLIGHT");
  }
  settings.iceServers = input.iceServers ?? [];
  if (!Array.isArray(settings.iceServers)) throw invalid("iceServers", "must be a list of RTCIceServer objects");
  // Empty means "the name the call token carries" (a guest without a name is DEFAULT_DISPLAY_NAME).
  settings.displayName = cleanDisplayName(settings.displayName);
  return Object.freeze(settings);
}

function parseBoolean(value) {
  const lower = value.trim().toLowerCase();
  if (lower === "1" || lower === "true") return true;
  if (lower === "0" || lower === "false") return false;
  return null;
}

/**
 * Read the share link's query parameters: the settings they pre-fill and
 * whether to skip the pre-join screen. Values that do not parse are ignored.
 */
export function settingsFromQuery(searchParams) {
  const settings = {};
  const displayName = searchParams.get("displayName");
  if (displayName !== null && cleanDisplayName(displayName)) settings.displayName = cleanDisplayName(displayName);
  const sessionType = searchParams.get("sessionType");
  if (sessionType !== null && parseSessionType(sessionType)) settings.sessionType = parseSessionType(sessionType);
  const layout = searchParams.get("layout");
  if (layout !== null && parseLayout(layout)) settings.layout = parseLayout(layout);
  for (const key of ["startAudioMuted", "startVideoPaused"]) {
    const value = searchParams.get(key);
    if (value !== null && parseBoolean(value) !== null) settings[key] = parseBoolean(value);
  }
  const skip = searchParams.get("skipPrejoin");
  return { settings, skipPrejoin: skip !== null && parseBoolean(skip) === true };
}
