/**
 * Call tokens: what the `join` message carries (sessions_app/tokens.py).
 *
 * A token is a signed JWT bound to one session; the SDK reads the session ID
 * out of it (it never verifies it: the server does). Without a token, a
 * share-link visitor joins as a guest with one from the REST API.
 */

import { CallsError, ErrorCode } from "./errors.js";

export const API_BASE = "/api/v1";
const JWT_PATTERN = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** Whether `value` has the shape of a call token (rather than a session ID). */
export function isCallToken(value) {
  return typeof value === "string" && JWT_PATTERN.test(value.trim());
}

/** The session a call token was issued for; throws ERROR_CALL_TOKEN when it has none. */
export function sessionIdFromToken(token) {
  try {
    const payload = token.trim().split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const claims = JSON.parse(atob(payload.padEnd(Math.ceil(payload.length / 4) * 4, "=")));
    if (typeof claims.sid === "string" && claims.sid) return claims.sid;
  } catch {
    // Reported below.
  }
  throw new CallsError(ErrorCode.ERROR_CALL_TOKEN, "The call token is not valid.");
}

/** POST `body` to the REST API; resolve its `data`, or throw the CallsError its error body names. */
async function post(path, body) {
  let response;
  try {
    response = await fetch(`${API_BASE}${path}`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body),
      credentials: "same-origin",
    });
  } catch {
    throw new CallsError(ErrorCode.ERROR_CONNECTION_FAILED, "Could not reach the call server.");
  }
  let payload = null;
  try {
    payload = await response.json();
  } catch {
    payload = null;
  }
  if (response.ok && payload && payload.data) return payload.data;
  const error = payload && payload.error;
  if (error && typeof error.code === "string") throw new CallsError(error.code, String(error.message || ""), error.details || {});
  throw new CallsError(ErrorCode.ERROR_JSON_EXCEPTION, `The call server answered ${response.status} without an error body.`);
}

/** A guest's call token for `sessionId`, under `displayName`. */
export async function fetchGuestToken(sessionId, displayName) {
  const data = await post(`/sessions/${encodeURIComponent(sessionId)}/guest_token`, { displayName });
  if (typeof data.token !== "string" || !data.token) {
    throw new CallsError(ErrorCode.ERROR_JSON_EXCEPTION, "The call server sent no token.");
  }
  return data.token;
}
