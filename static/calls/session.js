/**
 * One join of one call, from "connecting" to "left": wires the signaling
 * channel, the peer connection, our microphone and camera
 * (local-media-controls.js), the participant roster (participant-roster.js)
 * and the call view together; joins, leaves, and wires the recovery of a lost
 * connection. Its public methods delegate to the module that does the work.
 *
 * Those modules and the features (hand-raising.js, chat-messages.js,
 * screen-share.js, dominant-speaker.js, media-monitors.js, moderation.js, recording.js,
 * connection-recovery.js) never see the session: each gets the narrow part of
 * the call context it names (`_callContext`), and registers its server
 * messages with one table (message-router.js).
 */

import { ChatMessages } from "./chat-messages.js";
import { ConnectionRecovery } from "./connection-recovery.js";
import { listenToWindow } from "./dom.js";
import { DominantSpeaker } from "./dominant-speaker.js";
import { CallsError, CloseCode, ErrorCode, LeaveReason, asCallsError, errorForCloseCode, errorFromServer, failure, notInCall, success } from "./errors.js";
import { Events } from "./events.js";
import { HandRaising } from "./hand-raising.js";
import { IdleTimer } from "./idle.js";
import { LocalMediaControls } from "./local-media-controls.js";
import { MediaMonitors } from "./media-monitors.js";
import { MessageRouter } from "./message-router.js";
import { ModerationAction, Moderation } from "./moderation.js";
import { ParticipantList, ParticipantType, snapshot, unknownParticipant } from "./participant-model.js";
import { ParticipantRoster } from "./participant-roster.js";
import { Recording } from "./recording.js";
import { PeerTransport } from "./peer.js";
import { ScreenShare } from "./screen-share.js";
import { Layout, SessionType, parseLayout } from "./settings.js";
import { SignalingChannel } from "./signaling.js";
import { sessionTypeFromToken } from "./tokens.js";
import { CallView } from "./ui.js";

export const JOIN_TIMEOUT_MS = 20_000;

const LAYOUT_ORDER = [Layout.TILE, Layout.SIDEBAR, Layout.SPOTLIGHT];
// The server's names of rate-limited message types (ERR_TOO_MANY_REQUESTS details.type), for people.
const REFUSED_MESSAGE_TYPES = { Chat: "chat", Hand: "raised-hand", MediaState: "microphone and camera", Moderate: "moderation", ScreenShare: "screen-sharing" };
// Closes that end the call for us, and the leave reason each stands for (any other: "disconnected").
const LEFT_REASONS = new Map([
  [CloseCode.SESSION_ENDED, LeaveReason.ENDED],
  [CloseCode.REMOVED, LeaveReason.REMOVED],
  [CloseCode.REPLACED_BY_JOIN, LeaveReason.REPLACED],
]);
// Settings about this device, settled before the server answers: the server's merge does not move them.
const DEVICE_SETTINGS = new Set([
  "sessionType",
  "displayName",
  "initialCameraFacing",
  "audioInputDeviceId",
  "audioOutputDeviceId",
  "videoInputDeviceId",
]);
// What changes the settings dialog's lists or choices while it is open.
const DEVICE_EVENTS = new Set([
  Events.onAudioInputDeviceChanged,
  Events.onVideoInputDeviceChanged,
  Events.onAudioOutputDeviceChanged,
  Events.onAudioInputDevicesChanged,
  Events.onVideoInputDevicesChanged,
  Events.onAudioOutputDevicesChanged,
]);
// The device setters by kind, for the settings dialog.
const DEVICE_SETTERS = {
  audioInput: "setAudioInputDevice",
  videoInput: "setVideoInputDevice",
  audioOutput: "setAudioOutputDevice",
};
// Control-bar buttons and the event each fires before its default action (calls-api §6).
const BUTTON_EVENTS = {
  "toggle-audio": Events.onToggleAudioButtonClicked,
  "toggle-video": Events.onToggleVideoButtonClicked,
  "switch-camera": Events.onSwitchCameraButtonClicked,
  leave: Events.onLeaveSessionButtonClicked,
  share: Events.onShareInviteButtonClicked,
  "change-layout": Events.onChangeLayoutButtonClicked,
  "participant-list": Events.onParticipantListButtonClicked,
  "raise-hand": Events.onRaiseHandButtonClicked,
  chat: Events.onChatButtonClicked,
  "screen-share": Events.onScreenShareButtonClicked,
  "toggle-recording": Events.onRecordingToggleButtonClicked,
};

/**
 * The part of `context` a feature uses: the properties `names` (getters stay live) and `extras`,
 * frozen. A name the context lacks is a programming error.
 */
function narrow(context, names, extras = {}) {
  const descriptors = Object.getOwnPropertyDescriptors(context);
  const picked = {};
  for (const name of names) {
    if (!descriptors[name]) throw new Error(`[calls] the call context has no "${name}".`);
    picked[name] = descriptors[name];
  }
  return Object.freeze(Object.defineProperties({ ...extras }, picked));
}

export class CallSession {
  /**
   * @param {object} options
   * @param {string} options.sessionId
   * @param {function(): Promise<string>} options.getToken the call token to join with (asked for once the view shows "connecting")
   * @param {string} options.displayName the name to join under; "" for the name the token was issued under
   * @param {object} options.settings normalized SessionSettings
   * @param {object} options.requested the options the caller set itself, sent with the join (the session's defaults fill the rest)
   * @param {HTMLElement} options.container
   * @param {import("./events.js").Emitter} options.emitter
   * @param {string} options.signalingUrl the session's websocket
   * @param {string} options.participantListUrl the server-rendered participant list of the session
   * @param {string} options.shareUrl the link the share button copies
   * @param {function(): void} options.onRejoin called when the person asks to join again
   */
  constructor({ sessionId, getToken, displayName, settings, requested = {}, container, emitter, signalingUrl, participantListUrl, shareUrl, onRejoin }) {
    this.sessionId = sessionId;
    this.settings = settings;
    this._requested = requested;
    this._getToken = getToken;
    this._displayName = displayName;
    this._signalingUrl = signalingUrl;
    this._participantListUrl = participantListUrl;
    this._callToken = "";
    this._shareUrl = shareUrl;
    this.participantId = "";
    this.state = "idle"; // idle → connecting → joined → left | failed
    this._container = container;
    this._emitter = emitter;
    this._onRejoin = onRejoin;
    // A voice call (no camera): the page asked for one, or the session is one (its token or the server says so).
    this._voice = settings.sessionType === SessionType.VOICE;
    this._participants = new ParticipantList();
    this._remoteTracks = new Map();
    this._joinWaiter = null;
    this._joinTimer = null;
    this._onPageHide = () => this._signaling && this._signaling.send("leave");
    this._stopPageHide = null;
    this._layout = settings.layout;
    // Who is featured on this screen: a participant's tile ("human") or their screen share, or nobody (pid "").
    this._pinned = { pid: "", type: ParticipantType.HUMAN };
    this._listOpen = false;
    this._idle = new IdleTimer({
      beforePrompt: settings.idleTimeoutPeriodBeforePrompt,
      afterPrompt: settings.idleTimeoutPeriodAfterPrompt,
      prompt: (ms) => this._view.showIdlePrompt(ms),
      dismiss: () => this._view.hideIdlePrompt(),
      timeOut: () => this._timedOut(),
    });
    this._signaling = null;
    this._peer = null;
    this._view = null;
    // Options the session locks (from `joined`): the server's values win over the page's.
    this._locked = new Set();
    this._router = new MessageRouter(() => this.state === "joined");
    this._routeServerMessages();
    const call = this._callContext();
    // What every action of a feature checks and does: in the call, allowed here, sent, shown, reported.
    const acting = ["inCall", "notInCall", "settings", "isLocked", "forbidden", "send", "on", "view", "emit"];
    this._localMedia = new LocalMediaControls(
      narrow(call, ["inCall", "voice", "settings", "localId", "participants", "peer", "send", "view", "emit", "listChanged"], {
        held: (kind) => this._moderation.held(kind),
        holdRefusal: (kind) => this._moderation.holdRefusal(kind),
      }),
    );
    this._hand = new HandRaising(
      narrow(call, [...acting, "localId", "participants", "listChanged"]),
      (participant) => this._moderation.asksToSpeak(participant),
    );
    this._chat = new ChatMessages(narrow(call, [...acting, "localId"]), () => this._listOpen && this.setParticipantListVisible(false));
    this._screenShare = new ScreenShare(
      narrow(call, [...acting, "voice", "localId", "participants", "remoteTracks", "peer", "listChanged"], {
        screenGone: (pid) => this._screenGone(pid),
      }),
    );
    this._speaker = new DominantSpeaker(narrow(call, ["participants", "on", "view", "emit"]));
    this._monitors = new MediaMonitors(narrow(call, ["voice", "settings", "localId", "participants", "peer", "send", "view", "emit"]));
    this._moderation = new Moderation(
      narrow(call, [...acting, "voice", "localId", "participants", "audioMuted", "videoPaused", "setAudioMuted", "setVideoPaused", "localMediaShown"]),
      this._hand,
    );
    this._recording = new Recording(narrow(call, [...acting, "localId", "participants"]));
    this._roster = new ParticipantRoster(
      narrow(call, ["inCall", "localId", "settings", "participants", "remoteTracks", "on", "view", "emit", "listChanged"], {
        screenTrack: (pid, track) => this._screenShare.remoteTrack(pid, track),
        applyHolds: (holds) => this._moderation.applyHolds(holds),
        speakerLeft: (pid) => this._speaker.participantLeft(pid),
        unpin: (pid) => this._unpinGone(pid),
        leaveBecause: (reason) => this._leaveBecause(reason),
      }),
    );
    this._recovery = new ConnectionRecovery(
      narrow(call, ["sessionId", "inCall", "localId", "view", "emit"], {
        openSignaling: () => this._openSignaling(),
        catchUp: (resumed) => this._resumed(resumed),
        leaveSeat: () => this._leaveSeat(),
        joinFields: () => this._joinFields(),
        takeSeat: (joined) => {
          this._takeSeat(joined);
          this._startFeatures();
        },
        callOver: (why, close) => this._callOver(why, close),
      }),
    );
  }

  /**
   * Everything a feature may use of this call: live views of its state (getters, since the view,
   * the peer connection and our participant ID change with each join) and the few actions features
   * take. Each feature is handed only the names it uses (`narrow`).
   */
  _callContext() {
    const session = this;
    return {
      sessionId: this.sessionId,
      participants: this._participants,
      remoteTracks: this._remoteTracks,
      get inCall() {
        return session.state === "joined";
      },
      // Live: a join that started as a video call becomes a voice call if the session is one.
      get voice() {
        return session._voice;
      },
      get localId() {
        return session.participantId;
      },
      get settings() {
        return session.settings;
      },
      get view() {
        return session._view;
      },
      get peer() {
        return session._peer;
      },
      get audioMuted() {
        return session._localMedia.audioMuted;
      },
      get videoPaused() {
        return session._localMedia.videoPaused;
      },
      isLocked: (name) => this._locked.has(name),
      send: (type, fields) => Boolean(this._signaling) && this._signaling.send(type, fields),
      on: (type, handler, options) => this._router.on(type, handler, options),
      emit: (name, ...args) => {
        this._emitter.emit(name, ...args);
        if (DEVICE_EVENTS.has(name)) this._refreshSettingsDialog();
      },
      listChanged: () => this._listChanged(),
      forbidden: (what) => this._forbidden(what),
      notInCall,
      setAudioMuted: (muted) => this.setAudioMuted(muted),
      setVideoPaused: (paused) => this.setVideoPaused(paused),
      localMediaShown: () => this._localMedia.shown(),
    };
  }

  /** The server messages the session handles itself; the features (and the roster) register theirs. */
  _routeServerMessages() {
    const on = (type, handler, options) => this._router.on(type, handler, options);
    on(
      "joined",
      (message) => {
        if (this.state === "connecting") this._enterCall(message);
      },
      { always: true },
    );
    on(
      "offer",
      (message) => {
        if (this._peer) this._peer.handleOffer(message);
      },
      { always: true },
    );
    on("error", (message) => this._serverError(message), { always: true });
    on("removed", (message) => {
      // Removed by a moderator, or "replaced": our call token joined again in another tab or device.
      const replaced = message.reason === LeaveReason.REPLACED;
      this._callOver(replaced ? LeaveReason.REPLACED : LeaveReason.REMOVED, { code: replaced ? CloseCode.REPLACED_BY_JOIN : CloseCode.REMOVED, reason: String(message.reason || "") });
    });
    on("session_ended", (message) => this._callOver(LeaveReason.ENDED, { code: CloseCode.SESSION_ENDED, reason: String(message.reason || "") }));
  }

  get hand() {
    return this._hand;
  }

  get chat() {
    return this._chat;
  }

  get screenShare() {
    return this._screenShare;
  }

  get moderation() {
    return this._moderation;
  }

  get recording() {
    return this._recording;
  }

  get active() {
    return this.state === "connecting" || this.state === "joined";
  }

  /** Join the call; resolves {data, error} and never rejects. */
  async join() {
    this.state = "connecting";
    this._buildView();
    this._view.showConnecting();
    try {
      const token = await this._getToken();
      this._callToken = token;
      this._checkNotCancelled();
      // The session's type, as the token was issued: a VOICE session never asks for the camera.
      if (sessionTypeFromToken(token) === SessionType.VOICE && !this._voice) {
        this._becomeVoice();
        this._buildView();
        this._view.showConnecting();
      }
      const problems = await this._localMedia.open();
      this._checkNotCancelled();
      const joined = new Promise((resolve, reject) => (this._joinWaiter = { resolve, reject }));
      joined.catch(() => {}); // Awaited below; this only keeps an early failure from being reported as unhandled.
      await this._openSignaling().open();
      this._checkNotCancelled();
      this._signaling.send("join", this._joinFields());
      this._joinTimer = setTimeout(
        () => this._rejectJoin(new CallsError(ErrorCode.ERROR_CONNECTION_FAILED, "The call server did not let us in.")),
        JOIN_TIMEOUT_MS,
      );
      await joined;
      for (const problem of problems) this._view.notify(problem.message);
      await this._localMedia.watchDevices();
      return success({
        sessionId: this.sessionId,
        participantId: this.participantId,
        participants: this._participants.snapshots(),
      });
    } catch (error) {
      return this._failJoin(error);
    } finally {
      clearTimeout(this._joinTimer);
      this._joinWaiter = null;
    }
  }

  /** A new signaling socket, made the current one; only the current one's messages and close count. */
  _openSignaling() {
    const channel = new SignalingChannel(this._signalingUrl, {
      onMessage: (message) => channel === this._signaling && this._receive(message),
      onClose: (close) => channel === this._signaling && this._closed(close),
    });
    this._signaling = channel;
    return channel;
  }

  /** What `join` says: the first time, and again after the server has let us go. */
  _joinFields() {
    return {
      token: this._callToken,
      ...(this._displayName ? { displayName: this._displayName } : {}),
      audioMuted: this._localMedia.audioMuted,
      videoPaused: this._localMedia.videoPaused,
      settings: this._requested,
    };
  }

  _buildView() {
    if (this._view) this._view.destroy();
    this._view = new CallView(this._container, {
      settings: this.settings,
      shareUrl: this._shareUrl,
      onAction: (action, pid) => this._handleAction(action, pid),
      loadParticipantRows: (params) => this._loadParticipantRows(params),
    });
  }

  /** The participant list's rows as the server renders them for this join (an htmx partial). */
  async _loadParticipantRows({ self, pinned, voice, menu }) {
    const url = new URL(this._participantListUrl);
    if (self) url.searchParams.set("self", self);
    if (pinned) url.searchParams.set("pinned", pinned);
    if (voice) url.searchParams.set("voice", "1");
    if (menu) url.searchParams.set("menu", "1");
    const response = await fetch(url, { headers: { "X-Call-Token": this._callToken, "HX-Request": "true" }, cache: "no-store" });
    return response.text(); // A refused token comes back as a row saying why.
  }

  /**
   * `joined` carries the effective settings: the session's (and app's) defaults with what this page
   * asked for merged over them, except the options the session locks. The page takes them all but
   * what is this device's own (session type, devices, camera facing: settled before the answer),
   * with one exception: a session that has become a VOICE call since our token was issued makes this
   * join one too (the camera closes). A host can force muting and a paused camera, never the opposite.
   */
  _applyServerSettings(message) {
    const server = message.settings && typeof message.settings === "object" ? message.settings : {};
    this._locked = new Set(Array.isArray(message.lockedSettings) ? message.lockedSettings.filter((n) => typeof n === "string") : []);
    const overrides = {};
    for (const [name, value] of Object.entries(server)) {
      if (DEVICE_SETTINGS.has(name) || !(name in this.settings)) continue;
      if (typeof value === typeof this.settings[name] && value !== this.settings[name]) overrides[name] = value;
    }
    if (overrides.layout && !parseLayout(overrides.layout)) delete overrides.layout;
    const becomesVoice = server.sessionType === SessionType.VOICE && !this._voice;
    if (!Object.keys(overrides).length && !becomesVoice) return;
    if (becomesVoice) this._becomeVoice();
    this.settings = Object.freeze({ ...this.settings, ...overrides });
    if ("layout" in overrides) this._layout = this.settings.layout;
    this._idle.setPeriods(this.settings.idleTimeoutPeriodBeforePrompt, this.settings.idleTimeoutPeriodAfterPrompt);
    this._localMedia.forceOff({ audio: overrides.startAudioMuted === true, video: overrides.startVideoPaused === true });
    this._buildView();
  }

  /**
   * Run this join as a voice call: the session is one (its call token, or the server's answer to
   * our join, says so) though the page asked for video. The camera closes for good; the view is
   * built again by the caller. (A page that asks for VOICE in a VIDEO session stays a voice call.)
   */
  _becomeVoice() {
    this._voice = true;
    this.settings = Object.freeze({ ...this.settings, sessionType: SessionType.VOICE });
    this._localMedia.becomeVoice();
  }

  /** Leave the call (or stop joining it). */
  async leave() {
    if (this.state === "connecting") {
      this.state = "left";
      this._rejectJoin(new CallsError(ErrorCode.ERROR_JOIN_CANCELLED, "Left before the join completed."));
      this._cleanup();
      this._view.showLeft("left");
      return success();
    }
    if (this.state !== "joined") return notInCall();
    this._leaveBecause("left");
    return success();
  }

  /** Leave the call on our side: `reason` is "left", "timedOut" or "peerLeft". */
  _leaveBecause(reason) {
    this.state = "left";
    this._signaling.send("leave");
    this._cleanup();
    this._view.showLeft(reason);
    if (reason === "timedOut") this._emitter.emit(Events.onSessionTimedOut, { sessionId: this.sessionId });
    this._emitter.emit(Events.onSessionLeft, { sessionId: this.sessionId, reason });
  }

  _timedOut() {
    if (this.state === "joined") this._leaveBecause("timedOut");
  }

  // In-call view actions (local to this screen).

  /** TILE, SIDEBAR or SPOTLIGHT; onCallLayoutChanged when it changes. */
  setLayout(layout) {
    if (this.state !== "joined") return notInCall();
    const parsed = typeof layout === "string" ? parseLayout(layout) : null;
    if (!parsed) return failure(new CallsError(ErrorCode.ERROR_JSON_EXCEPTION, "The layout must be TILE, SIDEBAR or SPOTLIGHT.", { field: "layout" }));
    if (parsed !== this._layout) {
      this._layout = parsed;
      this._view.setLayout(parsed);
      this._emitter.emit(Events.onCallLayoutChanged, parsed);
    }
    return success();
  }

  get layout() {
    return this._layout;
  }

  get participantListVisible() {
    return this._listOpen;
  }

  /**
   * Feature `pid` on this screen (nobody else sees it); "" unpins. `type` is CometChat's participant
   * type: "human" (their tile, the default) or "screen-share" (the screen they present).
   */
  pinParticipant(pid, type = ParticipantType.HUMAN) {
    if (this.state !== "joined") return notInCall();
    const kind = type ?? ParticipantType.HUMAN;
    if (!Object.values(ParticipantType).includes(kind)) {
      return failure(new CallsError(ErrorCode.ERROR_JSON_EXCEPTION, 'The participant type must be "human" or "screen-share".', { field: "type" }));
    }
    if (pid && !this._participants.has(pid)) return failure(unknownParticipant(pid));
    if (pid && kind === ParticipantType.SCREEN_SHARE && !this._participants.get(pid).isPresenting) {
      return failure(new CallsError(ErrorCode.ERR_NOT_FOUND, "That participant is not presenting a screen.", { participantId: pid, type: kind }));
    }
    this._setPinned(pid, pid ? kind : ParticipantType.HUMAN);
    return success();
  }

  /**
   * What this screen features. `isPinned` is a person's own tile: pinning their screen share
   * features the screen and leaves them unpinned.
   */
  _setPinned(pid, type) {
    const previous = this._pinned;
    if (previous.pid === pid && previous.type === type) return;
    this._pinned = { pid, type };
    const human = (pinned) => (pinned.type === ParticipantType.HUMAN ? pinned.pid : "");
    const [was, now] = [human(previous), human(this._pinned)];
    if (was && this._participants.has(was)) this._participants.update(was, { isPinned: false });
    if (now) this._participants.update(now, { isPinned: true });
    for (const changed of new Set([was, now])) {
      if (changed && this._participants.has(changed)) this._view.updateParticipant(snapshot(this._participants.get(changed)));
    }
    this._view.setPinned(pid, type);
    if (was || now) this._listChanged();
  }

  /** `pid` left the call: if they (or their screen share) were pinned, nobody is now. */
  _unpinGone(pid) {
    if (pid !== this._pinned.pid) return;
    this._pinned = { pid: "", type: ParticipantType.HUMAN };
    this._view.setPinned("");
  }

  /** `pid`'s screen share stopped: if it was pinned, nobody is now. */
  _screenGone(pid) {
    if (pid === this._pinned.pid && this._pinned.type === ParticipantType.SCREEN_SHARE) this._setPinned("", ParticipantType.HUMAN);
  }

  setParticipantListVisible(visible) {
    if (this.state !== "joined") return notInCall();
    if (visible && this._chat.isOpen) this._chat.setOpen(false);
    if (this._listOpen !== visible) {
      this._listOpen = visible;
      this._view.setParticipantListOpen(visible);
      this._emitter.emit(visible ? Events.onParticipantListVisible : Events.onParticipantListHidden);
    }
    return success();
  }

  /** The settings dialog (CometChat's showSettingsDialog / hideSettingsDialog): the devices in use, to change. */
  setSettingsDialogVisible(visible) {
    if (this.state !== "joined") return notInCall();
    if (visible) this._view.showSettings(this._deviceChoices());
    else this._view.hideSettings();
    return success();
  }

  /** Each kind's devices and the one in use, as the settings dialog shows them. */
  _deviceChoices() {
    const choices = {};
    for (const kind of Object.keys(DEVICE_SETTERS)) {
      choices[kind] = { list: this._localMedia.devices(kind), current: this._localMedia.currentDevice(kind) };
    }
    return choices;
  }

  _refreshSettingsDialog() {
    if (this.state === "joined" && this._view && this._view.settingsOpen) this._view.showSettings(this._deviceChoices());
  }

  /** A device picked in the settings dialog: used, or the dialog goes back to what is in use and says why. */
  async _chooseDevice({ kind, deviceId }) {
    const setter = DEVICE_SETTERS[kind];
    if (!setter) return null;
    const result = await this._localMedia[setter](deviceId);
    if (result.error) this._view.notify(result.error.message);
    this._refreshSettingsDialog();
    return result;
  }

  /**
   * Moderation (moderators only): ask the server to "mute" `pid`, "pause_video", "remove" them, or
   * lift a hold ("allow_audio", "allow_video"). Anyone else gets AUTH_ERR_NO_ACCESS and nothing is sent.
   */
  moderate(pid, action) {
    return this._moderation.moderate(pid, action);
  }

  // Our microphone, camera and speaker (local-media-controls.js).

  devices(kind) {
    return this._localMedia.devices(kind);
  }

  currentDevice(kind) {
    return this._localMedia.currentDevice(kind);
  }

  setAudioInputDevice(deviceId) {
    return this._localMedia.setAudioInputDevice(deviceId);
  }

  setVideoInputDevice(deviceId) {
    return this._localMedia.setVideoInputDevice(deviceId);
  }

  /** The next camera, or the other facing mode (front/rear) with only one camera. */
  switchCamera() {
    return this._localMedia.switchCamera();
  }

  /** Where the browser has setSinkId; elsewhere remote audio stays on the default speaker and this resolves ERROR_MEDIA_DEVICE. */
  setAudioOutputDevice(deviceId) {
    return this._localMedia.setAudioOutputDevice(deviceId);
  }

  setAudioMuted(muted) {
    return this._localMedia.setAudioMuted(muted);
  }

  setVideoPaused(paused) {
    return this._localMedia.setVideoPaused(paused);
  }

  get audioMuted() {
    return this._localMedia.audioMuted;
  }

  get videoPaused() {
    return this._localMedia.videoPaused;
  }

  // Signaling.

  _receive(message) {
    if (this._recovery.takeReply(message)) return;
    this._router.route(message);
  }

  _enterCall(message) {
    this.state = "joined";
    this._applyServerSettings(message);
    this._view.showCall();
    this._takeSeat(message);
    // The microphone follows the effective enableNoiseReduction (the session's may differ from the page's).
    this._localMedia.setNoiseReduction(this.settings.enableNoiseReduction);
    this._startFeatures();
    this._stopPageHide = listenToWindow("pagehide", this._onPageHide);
    this._emitter.emit(Events.onSessionJoined, { sessionId: this.sessionId, participant: snapshot(this._participants.get(this.participantId)) });
    if (this._joinWaiter) this._joinWaiter.resolve();
  }

  /**
   * Become the participant `joined` describes: its ID, a peer connection to the SFU, and the
   * others in the call. On the first join, and again when the server had let us go.
   */
  _takeSeat(message) {
    this.participantId = String(message.participantId || "");
    this._recovery.resumeToken = String(message.resumeToken || "");
    // The server's view of us carries the name, uid, role and any moderator's hold from the call token.
    const server = message.participant && typeof message.participant === "object" ? message.participant : {};
    // A held participant (re)joins muted, or with the camera off, whatever it asked for.
    this._localMedia.forceOff({ audio: server.audioMutedByModerator === true, video: server.videoPausedByModerator === true });
    this._peer = new PeerTransport({
      iceServers: Array.isArray(message.iceServers) ? message.iceServers : this.settings.iceServers,
      // The server's CALLS_ICE_TRANSPORT_POLICY: "relay" sends all media through its TURN servers.
      iceTransportPolicy: message.iceTransportPolicy,
      send: (type, fields) => this._signaling.send(type, fields),
      onRemoteTrack: (pid, kind, track) => this._roster.remoteTrack(pid, kind, track),
      onError: (error) => this._reportError(error),
      onConnectionState: (state) => this._connectionState(state),
    });
    this._peer.setLocalTracks(this._localMedia.tracks);
    const local = {
      ...server,
      pid: this.participantId,
      name: server.name || this._displayName,
      audioMuted: this._localMedia.audioMuted,
      videoPaused: this._localMedia.videoPaused,
      joinedAt: server.joinedAt || Date.now(),
    };
    this._roster.seat(local, message.participants);
    this._view.setTrack(this.participantId, "video", this._localMedia.tracks.video);
    this._moderation.showRole();
    this._recording.seat(message.recording);
    this._localMedia.shown();
  }

  /** The server no longer has us: drop the old participant, its peer connection and everyone we saw. */
  _leaveSeat() {
    if (this._peer) this._peer.close();
    this._peer = null;
    this._screenShare.reset();
    this._stopFeatures();
    this._roster.clear();
  }

  /**
   * Back on a new socket as the same participant: catch up with who came, went or changed
   * meanwhile, and tell the server our media state (changes made while away were not sent).
   */
  _resumed(message) {
    this._roster.catchUp(message);
    const me = message.participant && typeof message.participant === "object" ? message.participant : {};
    this._moderation.applyHolds({ audio: me.audioMutedByModerator, video: me.videoPausedByModerator });
    // A recording may have started or stopped while we were away (no event: we missed the moment).
    this._recording.seat(message.recording);
    this._signaling.send("media", { audioMuted: this._localMedia.audioMuted, videoPaused: this._localMedia.videoPaused });
    this._monitors.resumed();
  }

  _serverError(message) {
    const error = errorFromServer(message);
    if (this.state === "connecting") this._rejectJoin(error);
    else {
      // In the call: a refused action (a locked feature, a chat flood) is said on screen too.
      if (this.state === "joined" && !this._moderation.serverRefused(error)) this._view.notify(this._refusalText(error));
      this._reportError(error);
    }
  }

  /** What a toast says about an error the server sent during the call. */
  _refusalText(error) {
    if (error.errorCode !== ErrorCode.ERR_TOO_MANY_REQUESTS) return error.message;
    const { type, retryAfterMs } = error.details || {};
    const what = REFUSED_MESSAGE_TYPES[type] ? `${REFUSED_MESSAGE_TYPES[type]} ` : "";
    const seconds = Math.ceil(Number(retryAfterMs) / 1000);
    return `Too many ${what}messages: wait ${seconds > 0 ? `${seconds} s` : "a moment"} and try again.`;
  }

  _closed({ code, reason, byClient }) {
    if (byClient) return;
    if (this.state === "connecting") {
      this._rejectJoin(errorForCloseCode(code, reason) || new CallsError(ErrorCode.ERROR_CONNECTION_FAILED, "The call server closed the connection."));
      return;
    }
    if (this.state !== "joined") return;
    if (ConnectionRecovery.isRecoverable(code)) this._recovery.connectionLost({ code, reason });
    else this._callOver(LEFT_REASONS.get(code) || "disconnected", { code, reason });
  }

  /** The server ended the call, or the connection to it was lost. */
  _callOver(why, { code, reason }) {
    this.state = "left";
    this._cleanup();
    this._view.showLeft(why);
    this._emitter.emit(Events.onConnectionClosed, { code, reason });
    this._emitter.emit(Events.onSessionLeft, { sessionId: this.sessionId, reason: why });
  }

  /** After every join, leave or change: the panel, the idle timer and onParticipantListChanged. */
  _listChanged() {
    const everyone = this._participants.snapshots();
    this._view.setParticipants(everyone);
    this._idle.setAlone(everyone.length === 1);
    this._emitter.emit(Events.onParticipantListChanged, everyone);
  }

  /** The media connection's state: a blip shows "Reconnecting…" until ICE is back. */
  _connectionState(state) {
    if (this._recovery.reconnecting) return; // The signaling side already says so, and handles it.
    if (state === "disconnected") this._view.setConnectionState("reconnecting");
    else if (state === "connected") this._view.setConnectionState("connected");
    else if (state === "failed") {
      this._view.setConnectionState("connected");
      this._view.notify("The media connection failed.");
      this._emitter.emit(Events.onConnectionFailed, { sessionId: this.sessionId });
    }
  }

  /** A click in the call view; the button's event fires before its default action. */
  _handleAction(action, pid = "") {
    if (BUTTON_EVENTS[action]) this._emitter.emit(BUTTON_EVENTS[action]);
    switch (action) {
      case "toggle-audio":
        // Held by a moderator: the button asks to speak instead.
        if (this.audioMuted && this._moderation.held("audio")) return this._moderation.askToTurnOn("audio");
        return this.setAudioMuted(!this.audioMuted);
      case "toggle-video":
        if (this.videoPaused && this._moderation.held("video")) return this._moderation.askToTurnOn("video");
        return this.setVideoPaused(!this.videoPaused);
      case "switch-camera":
        return this.switchCamera();
      case "leave":
        return this.leave();
      case "share":
        return this._view.copyShareLink();
      case "change-layout":
        return this.setLayout(LAYOUT_ORDER[(LAYOUT_ORDER.indexOf(this._layout) + 1) % LAYOUT_ORDER.length]);
      case "participant-list":
        return this.setParticipantListVisible(!this._listOpen);
      case "close-participant-list":
        return this.setParticipantListVisible(false);
      case "pin":
        return this.pinParticipant(pid);
      case "unpin":
        return this.pinParticipant("");
      case "mute-participant":
      case "pause-participant-video":
      case "remove-participant":
      case "allow-participant-audio":
      case "allow-participant-video":
        return this.moderate(pid, ModerationAction[action]);
      case "raise-hand":
        return this._hand.setRaised(!this._hand.raised);
      case "screen-share":
        return this._screenShare.setSharing(!this._screenShare.sharing);
      case "end-for-all":
        return this._moderation.endForAll();
      case "toggle-recording":
        return this._recording.toggle();
      case "chat":
        return this._chat.setOpen(!this._chat.isOpen);
      case "close-chat":
        return this._chat.setOpen(false);
      case "settings":
        return this.setSettingsDialogVisible(!this._view.settingsOpen);
      case "close-settings":
        return this.setSettingsDialogVisible(false);
      case "choose-device":
        return this._chooseDevice(pid);
      case "send-chat":
        return this._chat.send(pid);
      case "stay":
        return this._idle.stay();
      case "rejoin":
        return this._onRejoin();
      default:
        return null;
    }
  }

  // Endings.

  _checkNotCancelled() {
    if (this.state !== "connecting") throw new CallsError(ErrorCode.ERROR_JOIN_CANCELLED, "Left before the join completed.");
  }

  _rejectJoin(error) {
    if (this._joinWaiter) this._joinWaiter.reject(error);
  }

  _failJoin(error) {
    const reported = asCallsError(error, ErrorCode.ERROR_CONNECTION_FAILED);
    // Also after leave() cancelled the join: devices that opened meanwhile must close.
    this._cleanup();
    if (this.state === "connecting") {
      this.state = "failed";
      this._view.showError(reported);
    }
    return failure(reported);
  }

  /** Once in the call, and again after joining anew on a new socket. */
  _startFeatures() {
    this._monitors.start();
    this._hand.start();
  }

  _stopFeatures() {
    this._monitors.stop();
    this._screenShare.stop();
  }

  /** A feature the session locks off: said on screen too, and refused with AUTH_ERR_NO_ACCESS. */
  _forbidden(what) {
    const error = new CallsError(ErrorCode.AUTH_ERR_NO_ACCESS, `${what} is not allowed in this call.`);
    this._view.notify(error.message);
    return failure(error);
  }

  _reportError(error) {
    console.warn(`[calls] ${error.errorCode}: ${error.message}`);
    this._emitter.emit(Events.onError, error);
  }

  _cleanup() {
    clearTimeout(this._joinTimer);
    this._recovery.stop();
    this._idle.cancel();
    this._stopFeatures();
    if (this._stopPageHide) this._stopPageHide();
    this._stopPageHide = null;
    if (this._peer) this._peer.close();
    if (this._signaling) this._signaling.close();
    this._localMedia.close();
    this._remoteTracks.clear();
  }
}
