/**
 * The public API: `CometChatCalls`, shaped as CometChat's Calls SDK v5 for
 * the web, so an app written against it ports by changing where
 * `CometChatCalls` comes from (docs/sdk.md, "Porting from CometChat").
 *
 * The flow is CometChat's: init() → login() → generateToken() →
 * joinSession(). As CometChat's: init() resolves {success, error} and
 * joinSession() resolves {data, error}, never rejecting; every other
 * asynchronous method resolves its value (undefined for actions) or rejects
 * with a CallsError ({errorCode, errorDescription, name, details}).
 * `settle()` (an extension) turns any of them into {data, error}.
 *
 * Nothing works before init(). Joining by session ID needs a logged-in user
 * (the SDK generates the token), except in an SDK initialised with
 * `allowGuests: true` (our share-link page), where a visitor who is not
 * logged in joins with a guest token.
 */

import * as auth from "./auth.js";
import { CallLog } from "./call-log.js";
import { callLogApi } from "./call-logs.js";
import { getConfig, parseAppSettings, participantListUrl, requireConfig, setConfig, shareUrl, signalingUrl } from "./config.js";
import { byId } from "./dom.js";
import { CallsError, ErrorCode, ErrorName, asCallsError, failure, notInCall, success, unwrap } from "./errors.js";
import { Emitter, Events } from "./events.js";
import { ParticipantType } from "./participant-model.js";
import { CallSession } from "./session.js";
import { CameraFacing, DEFAULT_DISPLAY_NAME, Layout, SessionType, normalizeSettings, requestedSettings } from "./settings.js";
import { checkSessionId, fetchGuestToken, isCallToken, requestCallToken, sessionIdFromToken } from "./tokens.js";
import { v4Adapters } from "./v4.js";

const emitter = new Emitter();
let current = null;

/**
 * Configure the SDK: {appId, region, host?, authKey?, allowGuests?}. Resolves
 * {success, error} and never rejects (as CometChat's); a failed init leaves the SDK as it was.
 * Takes up the login remembered for this app, if any.
 */
async function init(appSettings) {
  try {
    const config = parseAppSettings(appSettings);
    setConfig(config);
    auth.restoreLogin(config.appId);
    return { success: true, error: null };
  } catch (error) {
    return { success: false, error: asCallsError(error, ErrorCode.ERROR_COMETCHAT_CALLS_SDK_INIT) };
  }
}

/**
 * init() from CometChat's combined settings: {appId, region, credentials: {authKey}, callsSDK: {host}} (the
 * chat SDK's and UI kit's parts are not this SDK's). Resolves {success, error} as init() does.
 */
async function initFromSettings(settings) {
  if (!settings || typeof settings !== "object" || Array.isArray(settings)) return init(settings);
  const { appId, region, credentials, callsSDK } = settings;
  return init({ appId, region, authKey: credentials && credentials.authKey, host: callsSDK && callsSDK.host });
}

function resolveContainer(container) {
  const element = typeof container === "string" ? byId(container) : container;
  if (!(element instanceof HTMLElement)) {
    throw new CallsError(ErrorCode.ERROR_CALLING_VIEW_REF_NULL, "The container to render the call in is missing.");
  }
  return element;
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
 * Resolves {data, error} and never rejects, as CometChat's: `data` (an
 * extension; CometChat's is undefined) is {sessionId, participantId, participants}.
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
 * A call token to join `sessionId`: the logged-in user's, or (v4's form) the user's whose
 * `authToken` is given. Resolves {token, sessionId, uid, expiresAt}; rejects with a CallsError.
 */
async function generateToken(sessionId, authToken) {
  requireConfig();
  const id = checkSessionId(sessionId);
  let credentials = memberCredentials();
  if (authToken !== undefined && authToken !== null) {
    if (typeof authToken !== "string" || !authToken.trim()) {
      throw new CallsError(ErrorCode.ERROR_BLANK_AUTHTOKEN, "The auth token is blank.", { field: "authToken" });
    }
    credentials = { appId: requireConfig().appId, authToken: authToken.trim() };
  }
  if (!credentials) throw new CallsError(ErrorCode.ERROR_NO_USER_LOGGED_IN, "No user is logged in: call login() first.");
  return requestCallToken(id, credentials);
}

/**
 * Extension: `{data, error}` for any of the SDK's promises (or a value), never rejecting. For code
 * that prefers testing `error` to try/catch: `const { data, error } = await settle(CometChatCalls.login(uid))`.
 */
export async function settle(promise) {
  try {
    const data = await promise;
    return success(data === undefined ? null : data);
  } catch (error) {
    return failure(error, ErrorCode.ERROR_JSON_EXCEPTION);
  }
}

/** A call action: `action(session)`'s value, or a rejection (ERR_CALL_NOT_A_PART outside a call). */
async function withSession(action) {
  return unwrap(current && current.active ? await action(current) : notInCall());
}

/** A synchronous getter: `read(session)` in a call, else `fallback`. */
function fromSession(read, fallback) {
  return current && current.state === "joined" ? read(current) : fallback;
}

/** A result-returning auth function as a public method: resolves its data or rejects. */
function resolvesData(run) {
  return async (...args) => unwrap(await run(...args));
}

/** `muteAudio(false)` unmutes, as v4's `muteAudio(muted)` did; the same for `pauseVideo(false)`. */
function flag(value) {
  return value === undefined ? true : value !== false;
}


const setAudioMuted = (muted) => withSession((session) => session.setAudioMuted(muted));
const setVideoPaused = (paused) => withSession((session) => session.setVideoPaused(paused));
const setParticipantListVisible = (visible) => withSession((session) => session.setParticipantListVisible(visible));

const api = {
  SessionType,
  Layout,
  CameraFacing,
  ParticipantType,
  ErrorCode,
  ErrorName,
  Events,
  /** CometChat's constants, as its SDK exposes them. */
  constants: Object.freeze({ LAYOUT: Layout, TYPE: SessionType, CAMERA_FACING: CameraFacing }),
  // Setup and auth (calls-api §2, §3).
  init,
  initFromSettings,
  /** Extension: whether an init() has succeeded. */
  isInitialized: () => getConfig() !== null,
  /** Development login: resolves the CallUser ({uid, name, avatar, status, authToken}). `authKey` defaults to init's. */
  login: resolvesData(auth.login),
  loginWithAuthToken: resolvesData(auth.loginWithAuthToken),
  /** Resolves a message saying so. */
  logout: async () => {
    unwrap(await auth.logout());
    return "Logged out successfully.";
  },
  getLoggedInUser: auth.getLoggedInUser,
  isUserLoggedIn: auth.isUserLoggedIn,
  getUserAuthToken: auth.getUserAuthToken,
  addLoginListener: auth.addLoginListener,
  removeLoginListener: auth.removeLoginListener,
  generateToken,
  // The call.
  joinSession,
  /**
   * Leave the call (or stop joining it). As CometChat's (synchronous, never failing), leaving when
   * there is no call to leave does nothing: apps call it from cleanup code that runs after the call ended.
   */
  leaveSession: async () => {
    if (current && current.active) unwrap(await current.leave());
  },
  /** Mute the microphone (`muteAudio(false)`, v4's form, unmutes). */
  muteAudio: (muted) => setAudioMuted(flag(muted)),
  unmuteAudio: () => setAudioMuted(false),
  /** The spelling of CometChat's actions page. */
  unMuteAudio: () => setAudioMuted(false),
  toggleAudio: () => withSession((session) => session.setAudioMuted(!session.audioMuted)),
  /** Turn the camera off (`pauseVideo(false)`, v4's form, turns it on). */
  pauseVideo: (paused) => setVideoPaused(flag(paused)),
  resumeVideo: () => setVideoPaused(false),
  toggleVideo: () => withSession((session) => session.setVideoPaused(!session.videoPaused)),
  /** The next camera (or front ↔ rear with one camera). */
  switchCamera: () => withSession((session) => session.switchCamera()),
  /** TILE, SIDEBAR or SPOTLIGHT (this screen only). */
  setLayout: (layout) => withSession((session) => session.setLayout(layout)),
  /** Feature a participant ("human", the default) or their screen share ("screen-share") on this screen only. */
  pinParticipant: (participantId, type) =>
    withSession((session) => session.pinParticipant(typeof participantId === "string" ? participantId : "", type)),
  unpinParticipant: () => withSession((session) => session.pinParticipant("")),
  /** CometChat's settings dialog: the microphone, camera and speaker in use, to change. */
  showSettingsDialog: () => withSession((session) => session.setSettingsDialogVisible(true)),
  hideSettingsDialog: () => withSession((session) => session.setSettingsDialogVisible(false)),
  showParticipantList: () => setParticipantListVisible(true),
  hideParticipantList: () => setParticipantListVisible(false),
  toggleParticipantList: () => withSession((session) => session.setParticipantListVisible(!session.participantListVisible)),
  /**
   * Moderation (moderators only; anyone else is refused with AUTH_ERR_NO_ACCESS and nothing is sent): the
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
  /**
   * Record the call (moderators only; anyone else is refused with AUTH_ERR_NO_ACCESS and nothing is
   * sent): the server writes every track to files, and everyone sees "This call is being recorded".
   */
  startRecording: () => withSession((session) => session.recording.setRecording(true)),
  stopRecording: () => withSession((session) => session.recording.setRecording(false)),
  toggleRecording: () => withSession((session) => session.recording.toggle()),
  raiseHand: () => withSession((session) => session.hand.setRaised(true)),
  lowerHand: () => withSession((session) => session.hand.setRaised(false)),
  toggleHand: () => withSession((session) => session.hand.setRaised(!session.hand.raised)),
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
  // Devices: the lists and current devices are synchronous, as CometChat's (empty/undefined outside a call).
  getAudioInputDevices: () => fromSession((session) => session.devices("audioInput"), []),
  getVideoInputDevices: () => fromSession((session) => session.devices("videoInput"), []),
  getAudioOutputDevices: () => fromSession((session) => session.devices("audioOutput"), []),
  getCurrentAudioInputDevice: () => fromSession((session) => session.currentDevice("audioInput"), undefined),
  getCurrentVideoInputDevice: () => fromSession((session) => session.currentDevice("videoInput"), undefined),
  getCurrentAudioOutputDevice: () => fromSession((session) => session.currentDevice("audioOutput"), undefined),
  setAudioInputDevice: (deviceId) => withSession((session) => session.setAudioInputDevice(deviceId)),
  setVideoInputDevice: (deviceId) => withSession((session) => session.setVideoInputDevice(deviceId)),
  setAudioOutputDevice: (deviceId) => withSession((session) => session.setAudioOutputDevice(deviceId)),
  /**
   * Register a listener (event names as calls-api §6); returns a function that removes it. As
   * CometChat's, `options.signal` (an AbortSignal) removes it too when aborted.
   */
  addEventListener: (name, callback, options) => emitter.addEventListener(name, callback, options),
};

// Call logs: CallLogRequestBuilder, CallLogRequest, CallLog and v4's getCallDetails (call-logs.js).
const CometChatCalls = Object.freeze({ ...api, ...v4Adapters(api), ...callLogApi });

window.CometChatCalls = CometChatCalls;

// CallLog is also a named export of CometChat's package.
export { CallLog, CometChatCalls };
export default CometChatCalls;
