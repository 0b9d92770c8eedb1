/**
 * CometChat's v4 calls API, which its v5 SDK keeps as deprecated drop-ins:
 * the builders (CallAppSettingsBuilder, CallSettingsBuilder), the
 * OngoingCallListener, startSession/endSession and the renamed actions. Each
 * is a thin adapter over the v5 method it became (CometChat's v5 migration
 * guide gives the mapping), so v4 code runs unchanged while it is ported.
 *
 * v4 settings and calls with no v5 equivalent (virtual backgrounds, the main
 * video container, localized strings, custom CSS, switchToVideoCall) are
 * accepted and have no effect, as in CometChat v5; each says so once on the
 * console. v4's getCallDetails works: it is with the call logs (call-logs.js).
 */

import { CallsError, ErrorCode } from "./errors.js";
import { Events } from "./events.js";
import { Layout } from "./settings.js";

/** v4's call modes (`CometChatCalls.MODE`, `CALL_MODE`); DEFAULT became SIDEBAR, GRID is TILE. */
const MODE = Object.freeze({ DEFAULT: "DEFAULT", SPOTLIGHT: "SPOTLIGHT", GRID: "TILE" });
const LAYOUT_OF_MODE = { DEFAULT: Layout.SIDEBAR, SPOTLIGHT: Layout.SPOTLIGHT, TILE: Layout.TILE, GRID: Layout.TILE, SIDEBAR: Layout.SIDEBAR };
// v4's idle timeout warned this long before it ended the call.
const V4_IDLE_WARNING_S = 60;

const warned = new Set();

function noEffect(name) {
  if (warned.has(name)) return;
  warned.add(name);
  console.warn(`[calls] ${name} (CometChat v4) has no effect here, as in CometChat v5.`);
}

function layoutOfMode(mode) {
  return LAYOUT_OF_MODE[String(mode || "").toUpperCase()] || null;
}

/** v4's `CallAppSettingsBuilder`: build() gives what v5's init() takes. */
class CallAppSettingsBuilder {
  constructor() {
    this._settings = {};
  }

  setAppId(appId) {
    this._settings.appId = appId;
    return this;
  }

  setRegion(region) {
    this._settings.region = region;
    return this;
  }

  setHost(host) {
    this._settings.host = host;
    return this;
  }

  build() {
    return { ...this._settings };
  }
}

/**
 * v4's OngoingCallListener: an object of callbacks, kept as given. `startSession` and
 * `addCallEventListener` subscribe them to the v5 events they became.
 */
class OngoingCallListener {
  constructor(callbacks = {}) {
    Object.assign(this, callbacks);
  }
}

/** v4's participant ("user") as its callbacks received it, from a v5 participant. */
function v4User(participant) {
  return {
    ...participant,
    isAudioMuted: Boolean(participant.audioMuted),
    isVideoMuted: Boolean(participant.videoPaused),
  };
}

/**
 * Which v5 event each v4 callback became (the migration guide's table), and how its argument is made.
 * A moderator's mute does not say who muted: `mutedBy` is the muted participant.
 */
const V4_CALLBACKS = [
  ["onUserJoined", Events.onParticipantJoined, (p) => [v4User(p)]],
  ["onUserLeft", Events.onParticipantLeft, (p) => [v4User(p)]],
  ["onUserListUpdated", Events.onParticipantListChanged, (list) => [list.map(v4User)]],
  ["onUserMuted", Events.onParticipantAudioMuted, (p) => [{ muted: v4User(p), mutedBy: v4User(p) }]],
  ["onUserUnMuted", Events.onParticipantAudioUnmuted, (p) => [v4User(p)]],
  // v4 told everyone who started or stopped a recording: v5 tells the other pages (a participant) and the
  // page that did it (nothing: it knows), and every page when autoStartRecording started it.
  ["onRecordingStarted", Events.onParticipantStartedRecording, (p) => [{ user: v4User(p) }]],
  ["onRecordingStarted", Events.onRecordingStarted, () => [{ user: null }]],
  ["onRecordingStopped", Events.onParticipantStoppedRecording, (p) => [{ user: v4User(p) }]],
  ["onRecordingStopped", Events.onRecordingStopped, () => [{ user: null }]],
  ["onScreenShareStarted", Events.onScreenShareStarted, () => []],
  ["onScreenShareStopped", Events.onScreenShareStopped, () => []],
  ["onCallEnded", Events.onSessionLeft, () => []],
  ["onSessionTimeout", Events.onSessionTimedOut, () => []],
  ["onCallEndButtonPressed", Events.onLeaveSessionButtonClicked, () => []],
  ["onError", Events.onError, (error) => [error]],
];
const DEVICE_LIST_EVENTS = [Events.onAudioInputDevicesChanged, Events.onAudioOutputDevicesChanged, Events.onVideoInputDevicesChanged];

/** Subscribe `listener`'s v4 callbacks to the v5 events; returns a function that unsubscribes them all. */
function subscribe(api, listener) {
  const removers = [];
  for (const [callback, event, args] of V4_CALLBACKS) {
    if (typeof listener[callback] === "function") {
      removers.push(api.addEventListener(event, (value) => listener[callback](...args(value))));
    }
  }
  if (typeof listener.onMediaDeviceListUpdated === "function") {
    const report = () =>
      listener.onMediaDeviceListUpdated({
        audioInputDevices: api.getAudioInputDevices(),
        audioOutputDevices: api.getAudioOutputDevices(),
        videoInputDevices: api.getVideoInputDevices(),
      });
    for (const event of DEVICE_LIST_EVENTS) removers.push(api.addEventListener(event, report));
  }
  return () => removers.forEach((remove) => remove());
}

/** v4's positions and aspect ratios for the main video's labels and buttons (MainVideoContainerSetting). */
const POSITION = Object.freeze({ TOP_LEFT: "top-left", TOP_RIGHT: "top-right", BOTTOM_LEFT: "bottom-left", BOTTOM_RIGHT: "bottom-right" });
const ASPECT_RATIO = Object.freeze({ DEFAULT: "default", CONTAIN: "contain", COVER: "cover" });

/** v4's CallSettings: what the builder set, with v4's getters, and the v5 SessionSettings it stands for. */
class CallSettings {
  static POSITION = POSITION;
  static POSITION_TOP_LEFT = POSITION.TOP_LEFT;
  static POSITION_TOP_RIGHT = POSITION.TOP_RIGHT;
  static POSITION_BOTTOM_LEFT = POSITION.BOTTOM_LEFT;
  static POSITION_BOTTOM_RIGHT = POSITION.BOTTOM_RIGHT;
  static ASPECT_RATIO = ASPECT_RATIO;

  constructor(fields) {
    Object.assign(this, fields);
    Object.freeze(this);
  }

  /** The v5 SessionSettings (the migration guide's mapping). */
  toSessionSettings() {
    const settings = {
      sessionType: this.audioOnly ? "VOICE" : "VIDEO",
      hideControlPanel: !this.defaultLayout,
      hideLeaveSessionButton: !this.endCallButton,
      hideToggleAudioButton: !this.muteAudioButton,
      hideToggleVideoButton: !this.pauseVideoButton,
      hideScreenSharingButton: !this.screenShareButton,
      hideChangeLayoutButton: !this.modeButton,
      hideRecordingButton: !this.recordingButton,
      startAudioMuted: this.startAudioMuted,
      startVideoPaused: this.startVideoMuted,
      autoStartRecording: this.recordOnStart,
    };
    const layout = layoutOfMode(this.mode);
    if (layout) settings.layout = layout;
    if (this.idleTimeoutSeconds) {
      // v4 ended the call after this many seconds alone, warning a minute before.
      const seconds = this.idleTimeoutSeconds;
      const warning = Math.min(V4_IDLE_WARNING_S, Math.max(1, Math.floor(seconds / 2)));
      settings.idleTimeoutPeriodBeforePrompt = Math.max(1, seconds - warning) * 1000;
      settings.idleTimeoutPeriodAfterPrompt = warning * 1000;
    }
    return settings;
  }

  getCallListener() {
    return this.listener;
  }

  isAudioOnlyCall() {
    return this.audioOnly;
  }

  isDefaultLayoutEnabled() {
    return this.defaultLayout;
  }

  getMode() {
    return this.mode;
  }

  getStartWithAudioMuted() {
    return this.startAudioMuted;
  }

  getStartWithVideoMuted() {
    return this.startVideoMuted;
  }

  isEndCallButtonEnabled() {
    return this.endCallButton;
  }

  isMuteAudioButtonEnabled() {
    return this.muteAudioButton;
  }

  isPauseVideoButtonEnabled() {
    return this.pauseVideoButton;
  }

  isScreenShareButtonEnabled() {
    return this.screenShareButton;
  }

  isModeButtonEnabled() {
    return this.modeButton;
  }

  isRecordingButtonEnabled() {
    return this.recordingButton;
  }

  shouldStartRecordingOnCallStart() {
    return this.recordOnStart;
  }

  getIdleTimeoutPeriod() {
    return this.idleTimeoutSeconds;
  }

  /** As set (it has no effect here). */
  getLocalizedStringObject() {
    return this.localizedStrings;
  }

  /** As set (it has no effect here: a call keeps its type). */
  isAudioToVideoButtonEnabled() {
    return this.switchToVideoButton;
  }
}

/**
 * v4's settings for the main video's labels and buttons: kept so v4 code that builds one still runs; CometChat
 * v5 does not support it, and CallSettingsBuilder.setMainVideoContainerSetting says it has no effect.
 */
class MainVideoContainerSetting {
  setMainVideoAspectRatio(aspectRatio) {
    this.aspectRatio = aspectRatio;
  }

  setFullScreenButtonParams(position, visible) {
    this.fullScreenButton = { position, visible };
  }

  setNameLabelParams(position, visible, color) {
    this.nameLabel = { position, visible, color };
  }

  setNetworkLabelParams(position, visible) {
    this.networkLabel = { position, visible };
  }
}

/** v4's `CallSettingsBuilder`, with v4's defaults. */
class CallSettingsBuilder {
  constructor() {
    this._fields = {
      defaultLayout: true,
      audioOnly: false,
      mode: MODE.DEFAULT,
      endCallButton: true,
      muteAudioButton: true,
      pauseVideoButton: true,
      screenShareButton: true,
      modeButton: true,
      recordingButton: false,
      startAudioMuted: false,
      startVideoMuted: false,
      recordOnStart: false,
      idleTimeoutSeconds: 0,
      listener: null,
      switchToVideoButton: true,
      localizedStrings: undefined,
    };
  }

  _set(field, value) {
    this._fields[field] = value;
    return this;
  }

  enableDefaultLayout(enabled) {
    return this._set("defaultLayout", enabled !== false);
  }

  setIsAudioOnlyCall(audioOnly) {
    return this._set("audioOnly", audioOnly === true);
  }

  setMode(mode) {
    return this._set("mode", mode);
  }

  showEndCallButton(show) {
    return this._set("endCallButton", show !== false);
  }

  showMuteAudioButton(show) {
    return this._set("muteAudioButton", show !== false);
  }

  showPauseVideoButton(show) {
    return this._set("pauseVideoButton", show !== false);
  }

  showScreenShareButton(show) {
    return this._set("screenShareButton", show !== false);
  }

  showModeButton(show) {
    return this._set("modeButton", show !== false);
  }

  showRecordingButton(show) {
    return this._set("recordingButton", show === true);
  }

  startWithAudioMuted(muted) {
    return this._set("startAudioMuted", muted === true);
  }

  startWithVideoMuted(muted) {
    return this._set("startVideoMuted", muted === true);
  }

  startRecordingOnCallStart(start) {
    return this._set("recordOnStart", start === true);
  }

  /** v4's idle timeout, in seconds alone in the call before it ends. */
  setIdleTimeoutPeriod(seconds) {
    const whole = Number(seconds);
    if (!Number.isInteger(whole) || whole <= 0) {
      throw new CallsError(ErrorCode.ERROR_JSON_EXCEPTION, "The idle timeout is a whole number of seconds.", { field: "idleTimeoutPeriod" });
    }
    return this._set("idleTimeoutSeconds", whole);
  }

  setCallListener(listener) {
    return this._set("listener", listener || null);
  }

  showSwitchToVideoCallButton(show) {
    noEffect("showSwitchToVideoCallButton");
    return this._set("switchToVideoButton", show !== false);
  }

  showVirtualBackgroundSetting() {
    noEffect("showVirtualBackgroundSetting");
    return this;
  }

  setVirtualBackground() {
    noEffect("setVirtualBackground");
    return this;
  }

  setMainVideoContainerSetting() {
    noEffect("setMainVideoContainerSetting");
    return this;
  }

  setLocalizedStringObject(strings) {
    noEffect("setLocalizedStringObject");
    return this._set("localizedStrings", strings);
  }

  setCustomCSS() {
    noEffect("setCustomCSS");
    return this;
  }

  build() {
    return new CallSettings({ ...this._fields });
  }
}

/**
 * The v4 entry points over `api` (the v5 methods of calls.js): merged into `CometChatCalls`.
 * Listeners from `startSession`'s settings last as long as that call.
 */
export function v4Adapters(api) {
  const callListeners = new Map();
  return {
    MODE,
    CALL_MODE: MODE,
    CallAppSettingsBuilder,
    CallSettingsBuilder,
    CallSettings,
    MainVideoContainerSetting,
    OngoingCallListener,
    /** v4's join: joinSession with the v5 settings its CallSettings stand for; its listener lasts the call. */
    async startSession(callToken, callSettings, htmlElement) {
      const v4 = callSettings instanceof CallSettings ? callSettings : null;
      const settings = v4 ? v4.toSessionSettings() : callSettings;
      const unsubscribe = v4 && v4.listener ? subscribe(api, v4.listener) : null;
      const result = await api.joinSession(callToken, settings, htmlElement);
      if (unsubscribe) {
        if (result.error) unsubscribe();
        else {
          const stop = api.addEventListener(Events.onSessionLeft, () => {
            stop();
            unsubscribe();
          });
        }
      }
      return result;
    },
    /** v4's endSession: leaveSession (safe once the call is over, as v4's docs call it from onCallEnded). */
    endSession: () => api.leaveSession(),
    /** Removed in CometChat v5, which keeps it as a no-op: a call keeps its type. */
    switchToVideoCall: () => noEffect("switchToVideoCall"),
    startScreenShare: () => api.startScreenSharing(),
    stopScreenShare: () => api.stopScreenSharing(),
    setMode: (mode) => api.setLayout(layoutOfMode(mode) || mode),
    /** v4's listener registry: the same id replaces the listener. */
    addCallEventListener(listenerId, listener) {
      if (typeof listenerId !== "string" || !listenerId) throw new TypeError("A call listener needs a non-empty string id.");
      if (!listener || typeof listener !== "object") throw new TypeError("A call listener is an object of callbacks.");
      if (callListeners.has(listenerId)) callListeners.get(listenerId)();
      callListeners.set(listenerId, subscribe(api, listener));
    },
    removeCallEventListener(listenerId) {
      const unsubscribe = callListeners.get(listenerId);
      if (unsubscribe) unsubscribe();
      callListeners.delete(listenerId);
    },
  };
}
