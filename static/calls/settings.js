/**
 * SessionSettings (calls-api §4): defaults, validation, and the share-link
 * query parameters that pre-fill them.
 *
 * Unknown keys are ignored so settings written for CometChat (or for a later
 * version of this SDK) still join; a known key with a wrong type or value is
 * refused with ERROR_JSON_EXCEPTION naming the field (`details.field`).
 */

import { CallsError, ErrorCode } from "./errors.js";

export const SessionType = Object.freeze({ VIDEO: "VIDEO", VOICE: "VOICE" });
export const Layout = Object.freeze({ TILE: "TILE", SIDEBAR: "SIDEBAR", SPOTLIGHT: "SPOTLIGHT" });
export const CameraFacing = Object.freeze({ FRONT: "FRONT", REAR: "REAR" });
export const DEFAULT_DISPLAY_NAME = "Guest";
export const MAX_DISPLAY_NAME_CHARS = 100;
// The longest idle period accepted: a day (setTimeout overflows past 2^31 - 1 ms).
const MAX_PERIOD_MS = 86_400_000;
// The longest text option (title, device IDs), as the server accepts it.
const MAX_TEXT_CHARS = 200;

export const BOOLEAN_SETTINGS = Object.freeze({
  startAudioMuted: false,
  startVideoPaused: false,
  autoStartRecording: false,
  isPeerCall: false,
  enableNotifications: true,
  enableParticipantContextMenu: true,
  enableNoiseReduction: false,
  hideControlPanel: false,
  hideHeaderPanel: false,
  hideSessionTimer: false,
  hideLeaveSessionButton: false,
  hideToggleAudioButton: false,
  hideToggleVideoButton: false,
  hideSwitchCameraButton: false,
  hideRaiseHandButton: false,
  hideParticipantListButton: false,
  hideChangeLayoutButton: false,
  hideScreenSharingButton: false,
  hideRecordingButton: true,
  hideShareInviteButton: true,
  hideChatButton: true,
  hideNetworkIndicator: false,
  hideRecordingStatusIndicator: false,
});

const STRING_SETTINGS = Object.freeze({
  title: "",
  displayName: "",
  audioInputDeviceId: "",
  audioOutputDeviceId: "",
  videoInputDeviceId: "",
  shareUrl: "",
});

export const PERIOD_SETTINGS = Object.freeze({
  idleTimeoutPeriodBeforePrompt: 60_000,
  idleTimeoutPeriodAfterPrompt: 120_000,
});

// Settings a share link may carry, besides the booleans and periods (the rest are the app's to set).
const QUERY_STRINGS = ["title", "audioInputDeviceId", "videoInputDeviceId", "audioOutputDeviceId"];

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

export function parseCameraFacing(value) {
  const upper = String(value).trim().toUpperCase();
  return upper in CameraFacing ? upper : null;
}

/** A period in ms: a whole number from 1 ms to a day, else null. */
export function parsePeriod(value) {
  const number = typeof value === "string" && value.trim() ? Number(value) : value;
  return Number.isInteger(number) && number > 0 && number <= MAX_PERIOD_MS ? number : null;
}

/** Collapse whitespace and drop control characters, as the server does. */
export function cleanDisplayName(value) {
  const printable = Array.from(String(value)).filter((ch) => !/\p{Cc}|\p{Cf}/u.test(ch)).join("");
  return printable.split(/\s+/).filter(Boolean).join(" ").slice(0, MAX_DISPLAY_NAME_CHARS);
}

const ENUMS = [
  ["sessionType", parseSessionType, "must be VIDEO or VOICE", SessionType.VIDEO],
  ["layout", parseLayout, "must be TILE, SIDEBAR or SPOTLIGHT", Layout.TILE],
  ["initialCameraFacing", parseCameraFacing, "must be FRONT or REAR", CameraFacing.FRONT],
];

/** Validate `input` and fill in defaults; throw ERROR_JSON_EXCEPTION naming the first bad field. */
export function normalizeSettings(input) {
  if (input === undefined || input === null) input = {};
  if (typeof input !== "object" || Array.isArray(input)) {
    throw new CallsError(ErrorCode.ERROR_JSON_EXCEPTION, "SessionSettings must be an object.");
  }
  const settings = {};
  for (const [key, fallback] of Object.entries(BOOLEAN_SETTINGS)) {
    const value = input[key] ?? fallback;
    if (typeof value !== "boolean") throw invalid(key, "must be true or false");
    settings[key] = value;
  }
  for (const [key, fallback] of Object.entries(STRING_SETTINGS)) {
    const value = input[key] ?? fallback;
    if (typeof value !== "string") throw invalid(key, "must be a string");
    if (key !== "displayName" && key !== "shareUrl" && value.length > MAX_TEXT_CHARS) {
      throw invalid(key, `must be at most ${MAX_TEXT_CHARS} characters`);
    }
    settings[key] = value;
  }
  for (const [key, fallback] of Object.entries(PERIOD_SETTINGS)) {
    const value = input[key] ?? fallback;
    if (typeof value !== "number" || parsePeriod(value) === null) throw invalid(key, `must be a whole number of ms from 1 to ${MAX_PERIOD_MS}`);
    settings[key] = value;
  }
  for (const [key, parse, problem, fallback] of ENUMS) {
    const value = input[key] ?? fallback;
    settings[key] = typeof value === "string" ? parse(value) : null;
    if (!settings[key]) throw invalid(key, problem);
  }
  // The host's share page passes its host grant: the guest token it asks for then makes a moderator.
  settings.hostGrant = typeof input.hostGrant === "string" ? input.hostGrant : "";
  settings.iceServers = input.iceServers ?? [];
  if (!Array.isArray(settings.iceServers)) throw invalid("iceServers", "must be a list of RTCIceServer objects");
  // Empty means "the name the call token carries" (a guest without a name is DEFAULT_DISPLAY_NAME).
  settings.displayName = cleanDisplayName(settings.displayName);
  return Object.freeze(settings);
}

// Options only this page uses: the server knows nothing of them.
const CLIENT_ONLY = new Set(["shareUrl", "iceServers", "hostGrant"]);

/**
 * The options `input` sets itself (normalized): the SessionSettings the join asks the server for.
 * The server merges them over the session's and the app's defaults, except the options the session
 * locks, and answers with the effective settings; what `input` leaves out takes the session's value.
 */
export function requestedSettings(input, normalized) {
  const requested = {};
  if (!input || typeof input !== "object") return requested;
  for (const key of Object.keys(normalized)) {
    if (!CLIENT_ONLY.has(key) && input[key] !== undefined && input[key] !== null) requested[key] = normalized[key];
  }
  if (!requested.displayName) delete requested.displayName;
  return requested;
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
  const take = (key, parse) => {
    const raw = searchParams.get(key);
    const value = raw === null ? null : parse(raw);
    if (value !== null && value !== "") settings[key] = value;
  };
  take("displayName", cleanDisplayName);
  for (const [key, parse] of ENUMS) take(key, parse);
  for (const key of Object.keys(BOOLEAN_SETTINGS)) take(key, parseBoolean);
  for (const key of Object.keys(PERIOD_SETTINGS)) take(key, parsePeriod);
  for (const key of QUERY_STRINGS) take(key, (value) => value.trim());
  const skip = searchParams.get("skipPrejoin");
  return { settings, skipPrejoin: skip !== null && parseBoolean(skip) === true };
}
