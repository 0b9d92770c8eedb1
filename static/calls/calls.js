/**
 * The public API: `CometChatCalls`, named as in CometChat's Calls SDK v5 so
 * an app written against it ports with little more than a change of import.
 *
 * Later additions (init/login, call tokens, more actions) live in their own
 * modules and hang off this object the same way joinSession does.
 */

import { CallsError, ErrorCode, asCallsError } from "./errors.js";
import { Emitter, Events } from "./events.js";
import { CallSession } from "./session.js";
import { Layout, SessionType, normalizeSettings } from "./settings.js";
import { isCallToken, sessionIdFromToken } from "./tokens.js";

const SESSION_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

const emitter = new Emitter();
let current = null;

function resolveContainer(container) {
  const element = typeof container === "string" ? document.getElementById(container) : container;
  if (!(element instanceof HTMLElement)) {
    throw new CallsError(ErrorCode.ERROR_CALLING_VIEW_REF_NULL, "The container to render the call in is missing.");
  }
  return element;
}

function checkSessionId(sessionId) {
  if (typeof sessionId !== "string" || !sessionId.trim()) {
    throw new CallsError(ErrorCode.ERROR_CALL_SESSION_ID, "The session ID is empty.");
  }
  if (!SESSION_ID_PATTERN.test(sessionId)) {
    throw new CallsError(ErrorCode.ERROR_CALL_SESSION_ID, "The session ID may only hold letters, digits, '-' and '_'.");
  }
  return sessionId;
}

/**
 * Join a call and render it in `container` (an element or its id).
 * `tokenOrSessionId` is a call token generated beforehand, or a session ID
 * (the SDK then gets a guest token itself). Resolves {data, error}; never rejects.
 */
async function joinSession(tokenOrSessionId, settings, container) {
  let session;
  try {
    const token = isCallToken(tokenOrSessionId) ? tokenOrSessionId.trim() : "";
    const id = checkSessionId(token ? sessionIdFromToken(token) : tokenOrSessionId);
    const normalized = normalizeSettings(settings);
    const element = resolveContainer(container);
    if (current && current.active) {
      throw new CallsError(ErrorCode.ERR_CALL_USER_ALREADY_JOINED, "Already in a call: leave it first.");
    }
    session = new CallSession({
      sessionId: id,
      token,
      settings: normalized,
      container: element,
      emitter,
      onRejoin: () => joinSession(tokenOrSessionId, settings, container),
    });
  } catch (error) {
    return { data: null, error: asCallsError(error).toJSON() };
  }
  current = session;
  return session.join();
}

const notInCall = () => ({ data: null, error: new CallsError(ErrorCode.ERR_CALL_NOT_A_PART, "You are not in a call.").toJSON() });

function withSession(action) {
  return current && current.active ? action(current) : Promise.resolve(notInCall());
}

const CometChatCalls = Object.freeze({
  SessionType,
  Layout,
  ErrorCode,
  Events,
  joinSession,
  /** Leave the call. Resolves {data, error}. */
  leaveSession: () => withSession((session) => session.leave()),
  muteAudio: () => withSession((session) => session.setAudioMuted(true)),
  unmuteAudio: () => withSession((session) => session.setAudioMuted(false)),
  pauseVideo: () => withSession((session) => session.setVideoPaused(true)),
  resumeVideo: () => withSession((session) => session.setVideoPaused(false)),
  /** Register a listener (event names as calls-api §6); returns a function that removes it. */
  addEventListener: (name, callback) => emitter.addEventListener(name, callback),
});

window.CometChatCalls = CometChatCalls;

export default CometChatCalls;
