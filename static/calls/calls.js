/**
 * The public API: `CometChatCalls`, named as in CometChat's Calls SDK v5 so
 * an app written against it ports with little more than a change of import.
 *
 * The flow is CometChat's: init() → login() → generateToken() →
 * joinSession(). Nothing works before init(). Joining by session ID needs a
 * logged-in user (the SDK generates the token), except in an SDK
 * initialised with `allowGuests: true` (our share-link page), where a
 * visitor who is not logged in joins with a guest token.
 */

import * as auth from "./auth.js";
import { getConfig, parseAppSettings, participantListUrl, requireConfig, setConfig, shareUrl, signalingUrl } from "./config.js";
import { byId } from "./dom.js";
import { CallsError, ErrorCode, asCallsError, failure, notInCall, success } from "./errors.js";
import { Emitter, Events } from "./events.js";
import { CallSession } from "./session.js";
import { CameraFacing, DEFAULT_DISPLAY_NAME, Layout, SessionType, normalizeSettings, requestedSettings } from "./settings.js";
import { fetchGuestToken, isCallToken, requestCallToken, sessionIdFromToken } from "./tokens.js";

const SESSION_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

const emitter = new Emitter();
let current = null;

/**
 * Configure the SDK: {appId, region, host?, allowGuests?}. Resolves
 * {success, error} and never throws; a failed init leaves the SDK as it was.
 * Takes up the login remembered for this app, if any.
 */
async function init(appSettings) {
  try {
    const config = parseAppSettings(appSettings);
    setConfig(config);
    auth.restoreLogin(config.appId);
    return { success: true, error: null };
  } catch (error) {
    return { success: false, error: asCallsError(error, ErrorCode.ERROR_COMETCHAT_CALLS_SDK_INIT).toJSON() };
  }
}

function resolveContainer(container) {
  const element = typeof container === "string" ? byId(container) : container;
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

/** The call token in joinSession's first argument (a token string or generateToken's {token}), or "". */
function givenToken(tokenOrSessionId) {
  if (isCallToken(tokenOrSessionId)) return tokenOrSessionId.trim();
  if (tokenOrSessionId && typeof tokenOrSessionId === "object") {
    if (isCallToken(tokenOrSessionId.token)) return tokenOrSessionId.token.trim();
    throw new CallsError(ErrorCode.ERROR_CALL_TOKEN, "The call token is missing or not valid.");
  }
  return "";
}

/** The logged-in user's credentials for the REST API, or null. */
function memberCredentials() {
  const authToken = auth.getUserAuthToken();
  return authToken ? { appId: requireConfig().appId, authToken } : null;
}

/** Where the join's call token comes from, and the name to join under ("" = the token's). */
function tokenSource(sessionId, token, displayName, hostGrant) {
  if (token) return { getToken: async () => token, displayName };
  const credentials = memberCredentials();
  if (credentials) return { getToken: async () => (await requestCallToken(sessionId, credentials)).token, displayName };
  if (requireConfig().allowGuests) {
    const name = displayName || DEFAULT_DISPLAY_NAME;
    return { getToken: () => fetchGuestToken(sessionId, name, hostGrant), displayName: name };
  }
  throw new CallsError(
    ErrorCode.ERROR_AUTH_TOKEN,
    "No user is logged in: call login() or loginWithAuthToken() first, or join with a call token.",
  );
}

/**
 * Join a call and render it in `container` (an element or its id).
 * `tokenOrSessionId` is a call token generated beforehand (or generateToken's
 * data), or a session ID: the SDK then generates the logged-in user's token
 * (or, in a guest-capable SDK with nobody logged in, a guest token).
 * Resolves {data, error}; never rejects.
 */
async function joinSession(tokenOrSessionId, settings, container) {
  let session;
  try {
    requireConfig();
    const token = givenToken(tokenOrSessionId);
    const sessionId = checkSessionId(token ? sessionIdFromToken(token) : tokenOrSessionId);
    const normalized = normalizeSettings(settings);
    const element = resolveContainer(container);
    if (current && current.active) {
      throw new CallsError(ErrorCode.ERR_CALL_USER_ALREADY_JOINED, "Already in a call: leave it first.");
    }
    const { getToken, displayName } = tokenSource(sessionId, token, normalized.displayName, normalized.hostGrant);
    session = new CallSession({
      sessionId,
      getToken,
      displayName,
      settings: normalized,
      requested: requestedSettings(settings, normalized),
      container: element,
      emitter,
      signalingUrl: signalingUrl(sessionId),
      participantListUrl: participantListUrl(sessionId),
      shareUrl: normalized.shareUrl || shareUrl(sessionId),
      onRejoin: () => joinSession(tokenOrSessionId, settings, container),
    });
  } catch (error) {
    return failure(error);
  }
  current = session;
  return session.join();
}

/**
 * A call token for the logged-in user to join `sessionId`. Resolves
 * {data: {token, sessionId, uid, expiresAt}, error}; never rejects.
 */
async function generateToken(sessionId) {
  try {
    requireConfig();
    const id = checkSessionId(sessionId);
    const credentials = memberCredentials();
    if (!credentials) throw new CallsError(ErrorCode.ERROR_NO_USER_LOGGED_IN, "No user is logged in: call login() first.");
    return success(await requestCallToken(id, credentials));
  } catch (error) {
    return failure(error);
  }
}

function withSession(action) {
  return current && current.active ? Promise.resolve(action(current)) : Promise.resolve(notInCall());
}

/** A synchronous getter: `read(session)` in a call, else `fallback`. */
function fromSession(read, fallback) {
  return current && current.state === "joined" ? read(current) : fallback;
}

const CometChatCalls = Object.freeze({
  SessionType,
  Layout,
  CameraFacing,
  ErrorCode,
  Events,
  // Setup and auth (calls-api §2, §3).
  init,
  isInitialized: () => getConfig() !== null,
  login: auth.login,
  loginWithAuthToken: auth.loginWithAuthToken,
  logout: auth.logout,
  getLoggedInUser: auth.getLoggedInUser,
  isUserLoggedIn: auth.isUserLoggedIn,
  getUserAuthToken: auth.getUserAuthToken,
  addLoginListener: auth.addLoginListener,
  removeLoginListener: auth.removeLoginListener,
  generateToken,
  // The call.
  joinSession,
  /** Leave the call. Resolves {data, error}. */
  leaveSession: () => withSession((session) => session.leave()),
  muteAudio: () => withSession((session) => session.setAudioMuted(true)),
  unmuteAudio: () => withSession((session) => session.setAudioMuted(false)),
  pauseVideo: () => withSession((session) => session.setVideoPaused(true)),
  resumeVideo: () => withSession((session) => session.setVideoPaused(false)),
  /** The next camera (or front ↔ rear with one camera). */
  switchCamera: () => withSession((session) => session.switchCamera()),
  /** TILE, SIDEBAR or SPOTLIGHT (this screen only). */
  setLayout: (layout) => withSession((session) => session.setLayout(layout)),
  /** Feature a participant on this screen only: `type` "human" (default) or "screen-share" (what they present). */
  pinParticipant: (participantId, type) => withSession((session) => session.pinParticipant(typeof participantId === "string" ? participantId : "", type)),
  unpinParticipant: () => withSession((session) => session.pinParticipant("")),
  showParticipantList: () => withSession((session) => session.setParticipantListVisible(true)),
  hideParticipantList: () => withSession((session) => session.setParticipantListVisible(false)),
  /**
   * Moderation (moderators only; anyone else resolves AUTH_ERR_NO_ACCESS and nothing is sent): the
   * server mutes them, or turns their camera off, and holds it so until a moderator allows it again.
   */
  muteParticipant: (participantId) => withSession((session) => session.moderate(participantId, "mute")),
  pauseParticipantVideo: (participantId) => withSession((session) => session.moderate(participantId, "pause_video")),
  /** Extension: lift a moderator's hold; they stay muted (or with the camera off) until they turn it on. */
  allowParticipantAudio: (participantId) => withSession((session) => session.moderate(participantId, "allow_audio")),
  allowParticipantVideo: (participantId) => withSession((session) => session.moderate(participantId, "allow_video")),
  /** Extension: remove them from the call; their token is revoked and they cannot join it again. */
  removeParticipant: (participantId) => withSession((session) => session.moderate(participantId, "remove")),
  /** End the call for everyone in it (moderators only, where enableParticipantContextMenu is not locked off). */
  endSessionForAll: () => withSession((session) => session.moderation.endForAll()),
  raiseHand: () => withSession((session) => session.hand.setRaised(true)),
  lowerHand: () => withSession((session) => session.hand.setRaised(false)),
  /** Present a screen, window or tab (getDisplayMedia); others see it as a "screen-share" tile. */
  startScreenSharing: () => withSession((session) => session.screenShare.setSharing(true)),
  stopScreenSharing: () => withSession((session) => session.screenShare.setSharing(false)),
  /** The unread badge on the chat button. */
  setChatButtonUnreadCount: (count) => withSession((session) => session.chat.setUnread(count)),
  /** Extension: send an in-call chat message (hideChatButton: false); onChatMessageReceived for everyone. */
  sendChatMessage: (text) => withSession((session) => session.chat.send(text)),
  /** Extension: open or close the chat panel. */
  showChat: () => withSession((session) => session.chat.setOpen(true)),
  hideChat: () => withSession((session) => session.chat.setOpen(false)),
  // Devices: the lists and current devices are synchronous, as CometChat's (empty/null outside a call).
  getAudioInputDevices: () => fromSession((session) => session.devices("audioInput"), []),
  getVideoInputDevices: () => fromSession((session) => session.devices("videoInput"), []),
  getAudioOutputDevices: () => fromSession((session) => session.devices("audioOutput"), []),
  getCurrentAudioInputDevice: () => fromSession((session) => session.currentDevice("audioInput"), null),
  getCurrentVideoInputDevice: () => fromSession((session) => session.currentDevice("videoInput"), null),
  getCurrentAudioOutputDevice: () => fromSession((session) => session.currentDevice("audioOutput"), null),
  setAudioInputDevice: (deviceId) => withSession((session) => session.setAudioInputDevice(deviceId)),
  setVideoInputDevice: (deviceId) => withSession((session) => session.setVideoInputDevice(deviceId)),
  setAudioOutputDevice: (deviceId) => withSession((session) => session.setAudioOutputDevice(deviceId)),
  /** Register a listener (event names as calls-api §6); returns a function that removes it. */
  addEventListener: (name, callback) => emitter.addEventListener(name, callback),
});

window.CometChatCalls = CometChatCalls;

export default CometChatCalls;
