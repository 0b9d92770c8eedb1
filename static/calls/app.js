/**
 * The share-link page (/s/<id>/): reads the server's #call-config and the
 * link's query parameters, then shows the pre-join screen or, with
 * skipPrejoin=1, joins straight away.
 */

import CometChatCalls from "./calls.js";
import { loadPreferences, savePreferences } from "./preferences.js";
import { PrejoinScreen, renderNotice } from "./prejoin.js";
import { DEFAULT_DISPLAY_NAME, settingsFromQuery } from "./settings.js";

function readConfig() {
  const element = document.getElementById("call-config");
  return element ? JSON.parse(element.textContent) : null;
}

function main() {
  const config = readConfig();
  const container = document.getElementById("call_view_container");
  if (!config || !container) return;
  const homeUrl = container.dataset.homeUrl || "/";
  if (config.ended) {
    renderNotice(container, { state: "ended", title: "This call has ended", text: "You can start a new call and share its link.", homeUrl });
    return;
  }
  if (config.allowGuests === false) {
    // Joining as a member (init/login) is not offered by this page.
    renderNotice(container, { state: "error", title: "This call needs a login", text: "Only signed-in members of its app can join it.", homeUrl });
    return;
  }

  const query = settingsFromQuery(new URLSearchParams(window.location.search));
  const preferences = loadPreferences();
  // A video call may be joined with audio only; a voice call carries no video whatever the link says.
  const sessionType = config.sessionType === "VOICE" ? "VOICE" : query.settings.sessionType || config.sessionType;
  const base = {
    title: config.title || "",
    shareUrl: config.shareUrl,
    iceServers: config.iceServers || [],
    hideShareInviteButton: false,
    ...query.settings,
    sessionType,
  };
  const join = (choices) => CometChatCalls.joinSession(config.sessionId, { ...base, ...choices }, container);

  if (query.skipPrejoin) {
    join({
      displayName: query.settings.displayName || preferences.displayName || DEFAULT_DISPLAY_NAME,
      audioInputDeviceId: preferences.audioInputDeviceId || "",
      videoInputDeviceId: preferences.videoInputDeviceId || "",
      audioOutputDeviceId: preferences.audioOutputDeviceId || "",
    });
    return;
  }

  new PrejoinScreen(container, {
    title: config.title || "",
    voice: sessionType === "VOICE",
    initial: { ...preferences, ...query.settings },
    onJoin: (choices) => {
      savePreferences(choices);
      join(choices);
    },
  });
}

main();
