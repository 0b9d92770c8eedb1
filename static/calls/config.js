/**
 * The SDK's configuration, set by `init()`: which app it works for and
 * where the calls server is. Every URL the SDK uses (REST API, signaling
 * websocket, share links) is derived from the configured host here.
 */

import { CallsError, ErrorCode } from "./errors.js";

const APP_ID_PATTERN = /^[A-Za-z0-9_.-]{1,100}$/;

let current = null;

function invalid(field, message) {
  return new CallsError(ErrorCode.ERROR_COMETCHAT_CALLS_SDK_INIT, message, { field });
}

/** "https://calls.example.com/base/" → "https://calls.example.com/base" (http(s) URLs only). */
function parseHost(host) {
  if (host === undefined || host === null || host === "") return window.location.origin;
  if (typeof host !== "string") throw invalid("host", "appSettings.host must be a URL string.");
  let url;
  try {
    url = new URL(host.trim());
  } catch {
    throw invalid("host", "appSettings.host must be an absolute URL, like https://calls.example.com.");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw invalid("host", "appSettings.host must be an http or https URL.");
  }
  if (url.search || url.hash || url.username || url.password) {
    throw invalid("host", "appSettings.host is a server address without query, fragment or credentials.");
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, "")}`;
}

/**
 * Validate `appSettings` ({appId, region, host, authKey, allowGuests}); return the
 * frozen configuration, or throw ERROR_COMETCHAT_CALLS_SDK_INIT naming the field.
 */
export function parseAppSettings(appSettings) {
  if (!appSettings || typeof appSettings !== "object" || Array.isArray(appSettings)) {
    throw invalid("appSettings", "init() needs an object: {appId, region, host}.");
  }
  const { appId, region, host, authKey, allowGuests } = appSettings;
  if (typeof appId !== "string" || !appId.trim()) throw invalid("appId", "appSettings.appId must be a non-empty string.");
  if (!APP_ID_PATTERN.test(appId.trim())) throw invalid("appId", "appSettings.appId holds characters an app ID never has.");
  if (region !== undefined && region !== null && typeof region !== "string") {
    throw invalid("region", "appSettings.region must be a string (us, eu, in...).");
  }
  if (authKey !== undefined && authKey !== null && typeof authKey !== "string") {
    throw invalid("authKey", "appSettings.authKey must be a string (the app's auth key, for development logins).");
  }
  if (allowGuests !== undefined && typeof allowGuests !== "boolean") {
    throw invalid("allowGuests", "appSettings.allowGuests must be true or false.");
  }
  return Object.freeze({
    appId: appId.trim(),
    region: (region || "").trim().toLowerCase(),
    host: parseHost(host),
    // As CometChat's: login(uid) without a key uses this one. Development only, as any auth key.
    authKey: (authKey || "").trim(),
    allowGuests: allowGuests === true,
  });
}

/** Make `config` (from parseAppSettings) the SDK's configuration. */
export function setConfig(config) {
  current = config;
}

/** The configuration, or null before a successful init(). */
export function getConfig() {
  return current;
}

/** The configuration; throws ERROR_COMETCHAT_CALLS_SDK_INIT before a successful init(). */
export function requireConfig() {
  if (!current) {
    throw new CallsError(ErrorCode.ERROR_COMETCHAT_CALLS_SDK_INIT, "The calls SDK is not initialised: call init() first.");
  }
  return current;
}

/** The REST API URL of `path` ("/tokens") on the configured host. */
export function apiUrl(path) {
  return `${requireConfig().host}/api/v1${path}`;
}

/** The signaling websocket URL of a session on the configured host: wss: for an https host. */
export function signalingUrl(sessionId) {
  const url = new URL(`${requireConfig().host}/ws/calls/${encodeURIComponent(sessionId)}/`);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  return url.href;
}

/** The server-rendered participant list (an htmx partial) of a session on the configured host. */
export function participantListUrl(sessionId) {
  return `${requireConfig().host}/s/${encodeURIComponent(sessionId)}/participants/`;
}

/** The share-link page of a session on the configured host. */
export function shareUrl(sessionId) {
  return `${requireConfig().host}/s/${encodeURIComponent(sessionId)}/`;
}
