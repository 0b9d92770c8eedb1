/**
 * Event names (calls-api §6) and the tiny emitter behind
 * `CometChatCalls.addEventListener(name, callback)`.
 */

export const Events = Object.freeze({
  // Session.
  onSessionJoined: "onSessionJoined",
  onSessionLeft: "onSessionLeft",
  onSessionTimedOut: "onSessionTimedOut",
  // The signaling connection dropped and the SDK is getting back into the call; and it is back.
  onConnectionLost: "onConnectionLost",
  onConnectionRestored: "onConnectionRestored",
  onConnectionClosed: "onConnectionClosed",
  onConnectionFailed: "onConnectionFailed",
  // A peer call's other participant: nothing of the media they have on has reached us for 10 s
  // (argument: that participant; CometChat passes none), and it reaches us again (remote-connection.js).
  onRemoteConnectionLost: "onRemoteConnectionLost",
  onRemoteConnectionRestored: "onRemoteConnectionRestored",
  onError: "onError",
  // A moderator (another participant or an operator) muted us or turned our camera off ({action: "mute" |
  // "pause_video", by}), or allowed us to turn it back on ({action: "allow_audio" | "allow_video", by}).
  onModeratedByParticipant: "onModeratedByParticipant",
  // Participants.
  onParticipantJoined: "onParticipantJoined",
  onParticipantLeft: "onParticipantLeft",
  onParticipantListChanged: "onParticipantListChanged",
  onParticipantAudioMuted: "onParticipantAudioMuted",
  onParticipantAudioUnmuted: "onParticipantAudioUnmuted",
  onParticipantVideoPaused: "onParticipantVideoPaused",
  onParticipantVideoResumed: "onParticipantVideoResumed",
  onParticipantHandRaised: "onParticipantHandRaised",
  onParticipantHandLowered: "onParticipantHandLowered",
  onParticipantStartedScreenShare: "onParticipantStartedScreenShare",
  onParticipantStoppedScreenShare: "onParticipantStoppedScreenShare",
  // Someone else started or stopped recording the call (argument: that participant; recording.js).
  onParticipantStartedRecording: "onParticipantStartedRecording",
  onParticipantStoppedRecording: "onParticipantStoppedRecording",
  onDominantSpeakerChanged: "onDominantSpeakerChanged",
  // Extension: an in-call chat message ({id, participantId, name, isGuest, text, sentAt, isLocal}).
  onChatMessageReceived: "onChatMessageReceived",
  // Local media.
  onAudioMuted: "onAudioMuted",
  onAudioUnMuted: "onAudioUnMuted",
  onVideoPaused: "onVideoPaused",
  onVideoResumed: "onVideoResumed",
  onScreenShareStarted: "onScreenShareStarted",
  onScreenShareStopped: "onScreenShareStopped",
  // You started or stopped recording the call (or the call started itself: autoStartRecording).
  onRecordingStarted: "onRecordingStarted",
  onRecordingStopped: "onRecordingStopped",
  // Devices: the one in use changed (argument: the device), or the list of a kind changed (argument: the list).
  onAudioInputDeviceChanged: "onAudioInputDeviceChanged",
  onAudioOutputDeviceChanged: "onAudioOutputDeviceChanged",
  onVideoInputDeviceChanged: "onVideoInputDeviceChanged",
  onAudioInputDevicesChanged: "onAudioInputDevicesChanged",
  onAudioOutputDevicesChanged: "onAudioOutputDevicesChanged",
  onVideoInputDevicesChanged: "onVideoInputDevicesChanged",
  // Layout.
  onCallLayoutChanged: "onCallLayoutChanged",
  onParticipantListVisible: "onParticipantListVisible",
  onParticipantListHidden: "onParticipantListHidden",
  // Buttons: fired before the button's default action.
  onLeaveSessionButtonClicked: "onLeaveSessionButtonClicked",
  onToggleAudioButtonClicked: "onToggleAudioButtonClicked",
  onToggleVideoButtonClicked: "onToggleVideoButtonClicked",
  onShareInviteButtonClicked: "onShareInviteButtonClicked",
  onChangeLayoutButtonClicked: "onChangeLayoutButtonClicked",
  onParticipantListButtonClicked: "onParticipantListButtonClicked",
  onRaiseHandButtonClicked: "onRaiseHandButtonClicked",
  onChatButtonClicked: "onChatButtonClicked",
  onScreenShareButtonClicked: "onScreenShareButtonClicked",
  onRecordingToggleButtonClicked: "onRecordingToggleButtonClicked",
  // Extension: the switch-camera button (CometChat has no event for it).
  onSwitchCameraButtonClicked: "onSwitchCameraButtonClicked",
});

export class Emitter {
  constructor() {
    this._listeners = new Map();
  }

  /**
   * Register `callback` for `name`; returns a function that unregisters it. With
   * `options.signal` (an AbortSignal, as DOM listeners take) aborting it unregisters it too.
   */
  addEventListener(name, callback, options = {}) {
    if (typeof name !== "string" || !name) throw new TypeError("Event name must be a non-empty string.");
    if (typeof callback !== "function") throw new TypeError("Event callback must be a function.");
    const signal = options && options.signal;
    if (signal !== undefined && !(signal instanceof AbortSignal)) throw new TypeError("options.signal must be an AbortSignal.");
    if (!(name in Events)) console.warn(`[calls] "${name}" is not an event this SDK emits.`);
    // Wrap so the same function registered twice is two registrations, each removable on its own.
    const entry = { callback };
    const remove = () => {
      const set = this._listeners.get(name);
      if (set) set.delete(entry);
    };
    if (signal && signal.aborted) return remove;
    if (!this._listeners.has(name)) this._listeners.set(name, new Set());
    this._listeners.get(name).add(entry);
    if (signal) signal.addEventListener("abort", remove, { once: true });
    return remove;
  }

  /** Call every listener of `name`; a listener that throws does not stop the others. */
  emit(name, ...args) {
    const set = this._listeners.get(name);
    if (!set) return;
    for (const { callback } of [...set]) {
      try {
        callback(...args);
      } catch (error) {
        console.error(`[calls] ${name} listener failed:`, error);
      }
    }
  }
}
