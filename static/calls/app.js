/**
 * The share-link page (/s/<id>/): reads the server's #call-config and the
 * link's query parameters, initialises the SDK for the call's app, then
 * shows the pre-join screen or, with skipPrejoin=1, joins straight away.
 *
 * A call that admits guests is joined as a guest unless this browser is
 * logged in to its app. A members-only call first asks for a login (auth
 * token, or uid and auth key), and the SDK generates the member's token.
 */

import CometChatCalls, { settle } from "./calls.js";
import { byId } from "./dom.js";
import { LoginMethod, LoginScreen } from "./login.js";
import { loadPreferences, savePreferences } from "./preferences.js";
import { PrejoinScreen, renderNotice } from "./prejoin.js";
import { DEFAULT_DISPLAY_NAME, settingsFromQuery } from "./settings.js";

// The SDK's app for calls started on this site's home page, which belong to no app.
const SITE_APP_ID = "calls";

function readConfig() {
  const element = byId("call-config");
  return element ? JSON.parse(element.textContent) : null;
}

class CallPage {
  constructor(config, container) {
    this.config = config;
    this.container = container;
    this.homeUrl = container.dataset.homeUrl || "/";
    this.membersOnly = config.allowGuests === false;
    this.query = settingsFromQuery(new URLSearchParams(window.location.search));
    // The session's defaults (its app's, then its own): the link's query and the person's choices go over them.
    this.sessionDefaults = config.settings && typeof config.settings === "object" ? config.settings : {};
    const { startAudioMuted, startVideoPaused } = this.sessionDefaults;
    this.startMedia = Object.fromEntries(
      Object.entries({ startAudioMuted, startVideoPaused }).filter(([, value]) => typeof value === "boolean"),
    );
    // A video call may be joined with audio only; a voice call carries no video whatever the link says.
    this.sessionType = config.sessionType === "VOICE" ? "VOICE" : this.query.settings.sessionType || config.sessionType;
  }

  async start() {
    const { config, container, homeUrl } = this;
    const ready = await CometChatCalls.init({
      appId: config.appId || SITE_APP_ID,
      region: config.region || "",
      host: window.location.origin,
      allowGuests: !this.membersOnly,
    });
    if (!ready.success) {
      renderNotice(container, { state: "error", title: "This call cannot start", text: `${ready.error.errorDescription} (${ready.error.errorCode})`, homeUrl });
      return;
    }
    if (config.ended) {
      renderNotice(container, { state: "ended", title: "This call has ended", text: "You can start a new call and share its link.", homeUrl });
      return;
    }
    this.next();
  }

  /** Sign in first on a members-only call; then the pre-join screen (or the call itself). */
  next(error = null) {
    if (this.membersOnly && !CometChatCalls.isUserLoggedIn()) this.showLogin(error);
    else this.showPrejoin();
  }

  showLogin(error) {
    new LoginScreen(this.container, {
      homeUrl: this.homeUrl,
      error,
      signIn: ({ method, uid, secret }) =>
        settle(method === LoginMethod.AUTH_KEY ? CometChatCalls.login(uid, secret) : CometChatCalls.loginWithAuthToken(secret)),
      onSignedIn: () => this.next(),
    });
  }

  showPrejoin() {
    const preferences = loadPreferences();
    const member = CometChatCalls.getLoggedInUser();
    const devices = {
      audioInputDeviceId: preferences.audioInputDeviceId || "",
      videoInputDeviceId: preferences.videoInputDeviceId || "",
      audioOutputDeviceId: preferences.audioOutputDeviceId || "",
    };
    if (this.query.skipPrejoin) {
      // A member joins under their own name unless the link names another; a guest under the last name used here.
      const fallback = member ? "" : preferences.displayName || DEFAULT_DISPLAY_NAME;
      this.join({ displayName: this.query.settings.displayName || fallback, ...devices });
      return;
    }
    new PrejoinScreen(this.container, {
      title: this.config.title || "",
      voice: this.sessionType === "VOICE",
      initial: { ...preferences, ...(member ? { displayName: member.name } : {}), ...this.startMedia, ...this.query.settings },
      account: member,
      host: this.config.isHost === true && !member,
      onSignOut: member ? () => this.signOut() : null,
      onJoin: (choices) => {
        savePreferences(choices);
        this.join(choices);
      },
    });
  }

  async signOut() {
    await settle(CometChatCalls.logout());
    this.next();
  }

  async join(choices) {
    const { config } = this;
    const settings = {
      title: config.title || "",
      shareUrl: config.shareUrl,
      iceServers: config.iceServers || [],
      hostGrant: config.hostGrant || "",
      hideShareInviteButton: false,
      ...this.sessionDefaults,
      ...this.query.settings,
      sessionType: this.sessionType,
      ...choices,
    };
    const { error } = await CometChatCalls.joinSession(config.sessionId, settings, this.container);
    if (error && error.errorCode === CometChatCalls.ErrorCode.ERROR_AUTH_TOKEN && CometChatCalls.isUserLoggedIn()) {
      // The remembered login no longer works (revoked, or its user deleted): forget it and ask again.
      await settle(CometChatCalls.logout());
      this.next({ errorCode: error.errorCode, errorDescription: "Your login is no longer valid: sign in again." });
    }
  }
}

function main() {
  const config = readConfig();
  const container = byId("call_view_container");
  if (!config || !container) return;
  new CallPage(config, container).start();
}

main();
