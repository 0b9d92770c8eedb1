/**
 * The remembered login: the logged-in user and their auth token, kept in
 * localStorage under `calls.auth.<appId>` so a reload (or another tab of the
 * same site, from its next init) stays logged in until logout(). As with any
 * browser-held credential, a script injected into the page could read it.
 * Storage can be unavailable (private modes, blocked storage): the login
 * then lasts as long as the page.
 */

const PREFIX = "calls.auth.";

const key = (appId) => PREFIX + appId;

/**
 * The stored login for `appId` as {user, authToken, minted}, or null (also for anything malformed).
 * `minted` says the SDK's own development login created the auth token, so logout revokes it.
 */
export function loadLogin(appId) {
  try {
    const stored = JSON.parse(window.localStorage.getItem(key(appId)) || "null");
    const user = stored && stored.user;
    if (user && typeof user.uid === "string" && user.uid && typeof stored.authToken === "string" && stored.authToken) {
      return { user, authToken: stored.authToken, minted: stored.minted === true };
    }
  } catch {
    // Unavailable storage or a value this SDK did not write: nobody is remembered.
  }
  return null;
}

export function saveLogin(appId, { user, authToken, minted = false }) {
  try {
    window.localStorage.setItem(key(appId), JSON.stringify({ user, authToken, minted }));
  } catch {
    // The login then lasts as long as the page.
  }
}

export function clearLogin(appId) {
  try {
    window.localStorage.removeItem(key(appId));
  } catch {
    // Nothing was stored.
  }
}
