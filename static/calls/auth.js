/**
 * Who is logged in (calls-api §2): development login with the app's auth
 * key, production login with an auth token the app's server minted, logout,
 * and the login listeners. One login at a time; the login is remembered per
 * app (credentials.js) so a reload keeps it.
 *
 * These resolve results (`{data, error}`); the public object (calls.js)
 * resolves their data or rejects with their error, as CometChat's SDK does.
 */

import { apiRequest } from "./api.js";
import { getConfig, requireConfig } from "./config.js";
import { clearLogin, loadLogin, saveLogin } from "./credentials.js";
import { CallsError, ErrorCode, failure, success } from "./errors.js";

// The server's rule for uids (sessions_app/api/support.py).
const UID_PATTERN = /^[A-Za-z0-9_-]{1,100}$/;

let loggedIn = null; // {appId, user, authToken}
let loginInFlight = false;
const listeners = new Map();

/** A CallUser as the SDK hands it out: {uid, name, avatar, status, authToken}, frozen (CometChat's user carries its auth token). */
function callUser(data, authToken) {
  return Object.freeze({
    uid: String(data.uid || ""),
    name: String(data.name || data.uid || ""),
    avatar: typeof data.avatar === "string" ? data.avatar : "",
    status: typeof data.status === "string" ? data.status : "available",
    authToken,
  });
}

function notify(event, ...args) {
  for (const [id, listener] of [...listeners]) {
    if (typeof listener[event] !== "function") continue;
    try {
      listener[event](...args);
    } catch (error) {
      console.error(`[calls] login listener "${id}" failed in ${event}:`, error);
    }
  }
}

/** The uid trimmed; throws ERROR_INVALID_UID or ERROR_UID_WITH_SPACE (details.field "uid"). */
export function checkUid(uid) {
  if (typeof uid !== "string" || !uid.trim()) throw new CallsError(ErrorCode.ERROR_INVALID_UID, "The uid is empty.", { field: "uid" });
  const trimmed = uid.trim();
  if (/\s/.test(trimmed)) throw new CallsError(ErrorCode.ERROR_UID_WITH_SPACE, "A uid cannot contain spaces.", { field: "uid" });
  if (!UID_PATTERN.test(trimmed)) {
    throw new CallsError(ErrorCode.ERROR_INVALID_UID, "A uid is 1 to 100 letters, digits, underscores or hyphens.", { field: "uid" });
  }
  return trimmed;
}

/** The auth token trimmed; throws ERROR_BLANK_AUTHTOKEN or ERROR_AUTHTOKEN_WITH_SPACE (details.field "authToken"). */
export function checkAuthToken(authToken) {
  if (typeof authToken !== "string" || !authToken.trim()) {
    throw new CallsError(ErrorCode.ERROR_BLANK_AUTHTOKEN, "The auth token is blank.", { field: "authToken" });
  }
  const trimmed = authToken.trim();
  if (/\s/.test(trimmed)) {
    throw new CallsError(ErrorCode.ERROR_AUTHTOKEN_WITH_SPACE, "An auth token cannot contain spaces.", { field: "authToken" });
  }
  return trimmed;
}

/**
 * Run one login: `check` validates the arguments (throwing), `exchange`
 * asks the server and resolves {user data, authToken}. Every failure but
 * ERROR_LOGIN_IN_PROGRESS is also reported to onLoginFailure.
 */
async function runLogin(check, exchange) {
  if (loginInFlight) {
    return failure(new CallsError(ErrorCode.ERROR_LOGIN_IN_PROGRESS, "A login is already in progress."));
  }
  loginInFlight = true;
  try {
    const { appId } = requireConfig();
    const checked = check();
    const { data, authToken, minted = false } = await exchange(appId, checked);
    const user = callUser(data, authToken);
    saveLogin(appId, { user: { uid: user.uid, name: user.name, avatar: user.avatar, status: user.status }, authToken, minted });
    // init() may have switched apps meanwhile: the login still belongs to the app it was made for.
    if (getConfig() && getConfig().appId === appId) loggedIn = { appId, user, authToken, minted };
    notify("onLoginSuccess", user);
    return success(user);
  } catch (error) {
    const result = failure(error);
    notify("onLoginFailure", result.error);
    return result;
  } finally {
    loginInFlight = false;
  }
}

/** Development login: `uid` with the app's auth key (by default init's `authKey`). Resolves {data: CallUser, error}. */
export function login(uid, authKey) {
  return runLogin(
    () => {
      const checkedUid = checkUid(uid);
      if (authKey === undefined || authKey === null) authKey = requireConfig().authKey;
      if (typeof authKey !== "string" || !authKey.trim()) {
        throw new CallsError(ErrorCode.ERROR_API_KEY_NOT_FOUND, "The auth key is empty.", { field: "authKey" });
      }
      return { uid: checkedUid, authKey: authKey.trim() };
    },
    async (appId, body) => {
      const data = await apiRequest("POST", "/login", { headers: { appid: appId }, body });
      if (typeof data.authToken !== "string" || !data.authToken) {
        throw new CallsError(ErrorCode.ERROR_JSON_EXCEPTION, "The call server sent no auth token.");
      }
      return { data, authToken: data.authToken, minted: true };
    },
  );
}

/** Production login with an auth token minted by the app's server. Resolves {data: CallUser, error}. */
export function loginWithAuthToken(authToken) {
  return runLogin(
    () => checkAuthToken(authToken),
    async (appId, token) => ({
      data: await apiRequest("GET", "/me", { headers: { appid: appId, authtoken: token } }),
      authToken: token,
    }),
  );
}

/**
 * Forget the logged-in user (here and in storage). An auth token the SDK's development login
 * minted is also revoked on the server; one the app's server minted stays the app's to revoke.
 * Resolves {data: null, error}.
 */
export async function logout() {
  try {
    const { appId } = requireConfig();
    if (loginInFlight) throw new CallsError(ErrorCode.ERROR_LOGIN_IN_PROGRESS, "A login is in progress: log out once it is over.");
    if (!loggedIn) throw new CallsError(ErrorCode.ERROR_NO_USER_LOGGED_IN, "No user is logged in.");
    const { authToken, minted } = loggedIn;
    loggedIn = null;
    clearLogin(appId);
    if (minted) {
      // Best effort: being offline must not keep anyone logged in here.
      await apiRequest("POST", "/logout", { headers: { appid: appId, authtoken: authToken } }).catch(() => {});
    }
  } catch (error) {
    const result = failure(error);
    notify("onLogoutFailure", result.error);
    return result;
  }
  notify("onLogoutSuccess");
  return success();
}

/** After init(): take up the login remembered for `appId`, if any. */
export function restoreLogin(appId) {
  const stored = loadLogin(appId);
  loggedIn = stored ? { appId, user: callUser(stored.user, stored.authToken), authToken: stored.authToken, minted: stored.minted } : null;
}

/** The logged-in CallUser, or null. */
export function getLoggedInUser() {
  return loggedIn ? loggedIn.user : null;
}

export function isUserLoggedIn() {
  return loggedIn !== null;
}

/** The logged-in user's auth token, or null. */
export function getUserAuthToken() {
  return loggedIn ? loggedIn.authToken : null;
}

/**
 * Register `listener` ({onLoginSuccess, onLoginFailure, onLogoutSuccess,
 * onLogoutFailure}, each optional) under `id`; the same id replaces it.
 */
export function addLoginListener(id, listener) {
  if (typeof id !== "string" || !id) throw new TypeError("A login listener needs a non-empty string id.");
  if (!listener || typeof listener !== "object") throw new TypeError("A login listener is an object of callbacks.");
  listeners.set(id, listener);
}

export function removeLoginListener(id) {
  listeners.delete(id);
}
