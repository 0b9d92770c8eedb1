/**
 * Call tokens: what the `join` message carries (sessions_app/tokens.py).
 *
 * A token is a signed JWT bound to one session and one user; the SDK reads
 * the session ID out of it (it never verifies it: the server does). Tokens
 * come from the REST API: a logged-in user's from POST /tokens, a
 * share-link guest's from POST /sessions/<id>/guest_token. checkSessionId
 * is the SDK's one check of a session ID an app passes in.
 */

import { apiRequest } from "./api.js";
import { CallsError, ErrorCode } from "./errors.js";

const JWT_PATTERN = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const SESSION_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** `sessionId` if it can be a session ID; else throws ERROR_CALL_SESSION_ID. */
export function checkSessionId(sessionId) {
  if (typeof sessionId !== "string" || !sessionId.trim()) {
    throw new CallsError(ErrorCode.ERROR_CALL_SESSION_ID, "The session ID is empty.");
  }
  if (!SESSION_ID_PATTERN.test(sessionId)) {
    throw new CallsError(ErrorCode.ERROR_CALL_SESSION_ID, "The session ID may only hold letters, digits, '-' and '_'.");
  }
  return sessionId;
}

/** Whether `value` has the shape of a call token (rather than a session ID). */
export function isCallToken(value) {
  return typeof value === "string" && JWT_PATTERN.test(value.trim());
}

/** A call token's claims (unverified), or null when it has none to read. */
function claimsOf(token) {
  try {
    const payload = token.trim().split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const claims = JSON.parse(atob(payload.padEnd(Math.ceil(payload.length / 4) * 4, "=")));
    return claims && typeof claims === "object" ? claims : null;
  } catch {
    return null;
  }
}

/** The session a call token was issued for; throws ERROR_CALL_TOKEN when it names none. */
export function sessionIdFromToken(token) {
  const claims = claimsOf(token);
  if (claims && typeof claims.sid === "string" && claims.sid) return claims.sid;
  throw new CallsError(ErrorCode.ERROR_CALL_TOKEN, "The call token is not valid.");
}

/**
 * The type of the session ("VIDEO" or "VOICE") when the token was issued, or "" for a token that
 * does not say (from a server before the claim). Read before any device opens: a VOICE session's
 * join never asks for the camera.
 */
export function sessionTypeFromToken(token) {
  const claims = claimsOf(token);
  const type = claims && typeof claims.sessionType === "string" ? claims.sessionType.toUpperCase() : "";
  return type === "VIDEO" || type === "VOICE" ? type : "";
}

function tokenFrom(data) {
  if (typeof data.token !== "string" || !isCallToken(data.token)) {
    throw new CallsError(ErrorCode.ERROR_JSON_EXCEPTION, "The call server sent no usable token.");
  }
  return data.token;
}

/**
 * A call token for the logged-in user: {token, sessionId, uid, expiresAt}
 * (expiresAt in seconds since the epoch).
 */
export async function requestCallToken(sessionId, { appId, authToken }) {
  const data = await apiRequest("POST", "/tokens", { headers: { appid: appId, authtoken: authToken }, body: { sessionId } });
  return Object.freeze({
    token: tokenFrom(data),
    sessionId: String(data.sessionId || sessionId),
    uid: String(data.uid || ""),
    expiresAt: Number(data.expiresAt) || 0,
  });
}

/**
 * A share-link visitor's call token for `sessionId`, under `displayName`: a guest's, or with the
 * host grant of the call's share page (its creator's browser), a moderator's.
 */
export async function fetchGuestToken(sessionId, displayName, hostGrant = "") {
  const body = hostGrant ? { displayName, hostGrant } : { displayName };
  const data = await apiRequest("POST", `/sessions/${encodeURIComponent(sessionId)}/guest_token`, { body });
  return tokenFrom(data);
}
