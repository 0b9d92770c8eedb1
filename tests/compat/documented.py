"""
What CometChat documents for its Calls SDK for the web, in one place: the names an app may use, and apps
written the way its docs write them (the same calls, in the same order, with the same argument and result shapes).

The names come from CometChat's web docs (https://www.cometchat.com/docs/calls/javascript/, the v5 pages, and the
v4 pages v5 keeps) and from the type declarations of ``@cometchat/calls-sdk-javascript`` 5.0.5; the team's fact
sheet (``/work/notes/cometchat-js-v5.md``) cites the source of each. Names CometChat documents for features this
server does not build are in ``NOT_BUILT_HERE``, so the exclusion is visible; a name there is never required.
"""

from __future__ import annotations

# Features not built here: transcription, streaming, virtual backgrounds and picture-in-picture.
NOT_BUILT_HERE = frozenset(
    {
        # Transcription.
        "startTranscription",
        "stopTranscription",
        "TranscriptRequestBuilder",
        # Streaming.
        "startStreaming",
        "stopStreaming",
        "onStreamingStarted",
        "onStreamingStopped",
        "onParticipantStartedStreaming",
        "onParticipantStoppedStreaming",
        # Virtual backgrounds.
        "showVirtualBackgroundDialog",
        "hideVirtualBackgroundDialog",
        "clearVirtualBackground",
        "setVirtualBackgroundBlurLevel",
        "setVirtualBackgroundImage",
        "openVirtualBackground",
        "closeVirtualBackground",
        "setBackgroundBlur",
        "setBackgroundImage",
        "VirtualBackgroundBuilder",
        "showVirtualBackgroundSetting",
        "setVirtualBackground",
        "getVirtualBackground",
        "isVirtualBackgroundSettingEnabled",
        # Picture-in-picture.
        "enablePictureInPictureLayout",
        "disablePictureInPictureLayout",
        "enterPIPMode",
        "exitPIPMode",
    }
)

# v5: the methods of CometChatCalls (setup and auth, the session, actions, devices, events).
V5_METHODS = (
    "init",
    "initFromSettings",
    "login",
    "loginWithAuthToken",
    "logout",
    "getLoggedInUser",
    "getUserAuthToken",
    "isUserLoggedIn",
    "addLoginListener",
    "removeLoginListener",
    "generateToken",
    "joinSession",
    "leaveSession",
    "endSessionForAll",
    "muteAudio",
    "unMuteAudio",  # The spelling of the docs' actions page.
    "unmuteAudio",  # The spelling of the typings and the migration guide.
    "pauseVideo",
    "resumeVideo",
    "switchCamera",
    "startScreenSharing",
    "stopScreenSharing",
    "startRecording",
    "stopRecording",
    "toggleRecording",
    "muteParticipant",
    "pauseParticipantVideo",
    "pinParticipant",
    "unpinParticipant",
    "setLayout",
    "raiseHand",
    "lowerHand",
    "toggleAudio",
    "toggleVideo",
    "toggleHand",
    "showParticipantList",
    "hideParticipantList",
    "toggleParticipantList",
    "showSettingsDialog",
    "hideSettingsDialog",
    "setChatButtonUnreadCount",
    "getAudioInputDevices",
    "getAudioOutputDevices",
    "getVideoInputDevices",
    "getCurrentAudioInputDevice",
    "getCurrentAudioOutputDevice",
    "getCurrentVideoInputDevice",
    "setAudioInputDevice",
    "setAudioOutputDevice",
    "setVideoInputDevice",
    "addEventListener",
)

# v5: CometChatCalls.constants.
V5_CONSTANTS = {
    "LAYOUT": {"TILE": "TILE", "SIDEBAR": "SIDEBAR", "SPOTLIGHT": "SPOTLIGHT"},
    "TYPE": {"VOICE": "VOICE", "VIDEO": "VIDEO"},
    "CAMERA_FACING": {"FRONT": "FRONT", "REAR": "REAR"},
}

# v5: the event names addEventListener takes on the web (the docs' events page, and the typings' web events).
V5_EVENTS = (
    # Session.
    "onSessionJoined",
    "onSessionLeft",
    "onSessionTimedOut",
    "onConnectionLost",
    "onConnectionRestored",
    "onConnectionClosed",
    "onConnectionFailed",
    "onRemoteConnectionLost",
    "onRemoteConnectionRestored",
    # Participants.
    "onParticipantJoined",
    "onParticipantLeft",
    "onParticipantListChanged",
    "onParticipantAudioMuted",
    "onParticipantAudioUnmuted",
    "onParticipantVideoPaused",
    "onParticipantVideoResumed",
    "onParticipantHandRaised",
    "onParticipantHandLowered",
    "onParticipantStartedScreenShare",
    "onParticipantStoppedScreenShare",
    "onParticipantStartedRecording",
    "onParticipantStoppedRecording",
    "onDominantSpeakerChanged",
    # Local media.
    "onAudioMuted",
    "onAudioUnMuted",
    "onVideoPaused",
    "onVideoResumed",
    "onScreenShareStarted",
    "onScreenShareStopped",
    "onRecordingStarted",
    "onRecordingStopped",
    # Devices.
    "onAudioInputDeviceChanged",
    "onAudioOutputDeviceChanged",
    "onVideoInputDeviceChanged",
    "onAudioInputDevicesChanged",
    "onAudioOutputDevicesChanged",
    "onVideoInputDevicesChanged",
    # Buttons.
    "onLeaveSessionButtonClicked",
    "onToggleAudioButtonClicked",
    "onToggleVideoButtonClicked",
    "onRaiseHandButtonClicked",
    "onShareInviteButtonClicked",
    "onChangeLayoutButtonClicked",
    "onParticipantListButtonClicked",
    "onChatButtonClicked",
    "onScreenShareButtonClicked",
    "onRecordingToggleButtonClicked",
    # Layout.
    "onCallLayoutChanged",
    "onParticipantListVisible",
    "onParticipantListHidden",
)
# The typings' mobile-only events (onAudioModeChanged, onCameraFacingChanged, ...) are not web names.

# v5's call logs and its participant object: the typings' (5.0.5) non-deprecated classes. The newest call-logs
# page sends apps to the REST API instead; the typings and the older page still have these.
V5_CLASSES = ("CallLogRequestBuilder", "CallLog")

# v4, kept in v5 as deprecated: the statics of CometChatCalls.
V4_CLASSES = (
    "CallAppSettingsBuilder",
    "CallSettingsBuilder",
    "CallSettings",
    "OngoingCallListener",
    "MainVideoContainerSetting",
)
V4_METHODS = (
    "startSession",
    "endSession",
    "startScreenShare",
    "stopScreenShare",
    "setMode",
    "addCallEventListener",
    "removeCallEventListener",
    "switchToVideoCall",
    "getCallDetails",
)
# CometChatCalls.MODE (and the v4.1 alias CALL_MODE).
V4_MODE = {"DEFAULT": "DEFAULT", "SPOTLIGHT": "SPOTLIGHT", "GRID": "TILE"}
V4_APP_SETTINGS_BUILDER = ("setAppId", "setRegion", "setHost", "build")
V4_CALL_SETTINGS_BUILDER = (
    "enableDefaultLayout",
    "setIsAudioOnlyCall",
    "setMode",
    "showEndCallButton",
    "showMuteAudioButton",
    "showPauseVideoButton",
    "showScreenShareButton",
    "showModeButton",
    "showSwitchToVideoCallButton",
    "startWithAudioMuted",
    "startWithVideoMuted",
    "setIdleTimeoutPeriod",
    "setLocalizedStringObject",
    "setCustomCSS",
    "setMainVideoContainerSetting",
    "setCallListener",
    "build",
)
V4_CALL_SETTINGS_GETTERS = (
    "getCallListener",
    "getIdleTimeoutPeriod",
    "isAudioOnlyCall",
    "isDefaultLayoutEnabled",
    "getMode",
    "getStartWithAudioMuted",
    "getStartWithVideoMuted",
    "isEndCallButtonEnabled",
    "isMuteAudioButtonEnabled",
    "isPauseVideoButtonEnabled",
    "isScreenShareButtonEnabled",
    "isModeButtonEnabled",
    "getLocalizedStringObject",
    "isAudioToVideoButtonEnabled",
)
V4_MAIN_VIDEO_CONTAINER_SETTING = (
    "setMainVideoAspectRatio",
    "setFullScreenButtonParams",
    "setNameLabelParams",
    "setNetworkLabelParams",
)
# CallSettings' statics.
V4_POSITION = {
    "TOP_LEFT": "top-left",
    "TOP_RIGHT": "top-right",
    "BOTTOM_LEFT": "bottom-left",
    "BOTTOM_RIGHT": "bottom-right",
}
V4_ASPECT_RATIO = {"DEFAULT": "default", "CONTAIN": "contain", "COVER": "cover"}

# The apps. Each is an async function of one argument, run in a page of our site where the SDK is loaded
# (window.CometChatCalls, as `import { CometChatCalls } from "@cometchat/calls-sdk-javascript"` gives it) and the
# page has a #call_view_container. They keep what they hear in window.app.events as [name, argument].

# v5, up to joining: init, getLoggedInUser else login, the listeners (kept unsubscribe functions).
V5_INIT_LOGIN_LISTEN = """
async ({ appId, region, uid, authKey, authKeyInInit, events }) => {
  const CometChatCalls = window.CometChatCalls;
  const app = (window.app = { events: [], unsubscribe: [] });
  const jsonOf = (value) => (value === undefined ? null : JSON.parse(JSON.stringify(value)));
  const result = await CometChatCalls.init(authKeyInInit ? { appId, region, authKey } : { appId, region });
  if (!result.success) return { failed: "init", error: result.error };
  let user = CometChatCalls.getLoggedInUser();
  if (!user) {
    try {
      user = authKeyInInit ? await CometChatCalls.login(uid) : await CometChatCalls.login(uid, authKey);
    } catch (error) {
      return { failed: "login", error: { errorCode: error.errorCode, errorDescription: error.errorDescription } };
    }
  }
  for (const name of events) {
    const heard = (argument) => app.events.push([name, jsonOf(argument)]);
    app.unsubscribe.push(CometChatCalls.addEventListener(name, heard));
  }
  return { user, unsubscribe: app.unsubscribe.map((unsubscribe) => typeof unsubscribe) };
}
"""

# v5, joining: a call token for the session, then joinSession with the settings, in the container.
V5_JOIN = """
async ({ sessionId, sessionSettings }) => {
  const CometChatCalls = window.CometChatCalls;
  const { token } = await CometChatCalls.generateToken(sessionId);
  const container = document.getElementById("call_view_container");
  const result = await CometChatCalls.joinSession(token, sessionSettings, container);
  if (result.error) return { failed: "joinSession", error: result.error };
  return { joined: true, result };
}
"""

# v5, done: leave, then unsubscribe every listener.
V5_LEAVE_AND_UNSUBSCRIBE = """
async () => {
  await window.CometChatCalls.leaveSession();
  for (const unsubscribe of window.app.unsubscribe) unsubscribe();
}
"""

# A documented SessionSettings object with every key this server builds (recording, transcription and virtual
# background keys are not built here, and unknown keys are ignored, as CometChat's are). displayName "" is the
# documented default: the user's name (a logged-in user's other name applies only where the app allows renaming).
SESSION_SETTINGS = {
    "sessionType": "VIDEO",
    "layout": "TILE",
    "startAudioMuted": False,
    "startVideoPaused": False,
    "displayName": "",
    "title": "Weekly sync",
    "idleTimeoutPeriodBeforePrompt": 60_000,
    "idleTimeoutPeriodAfterPrompt": 180_000,
    "hideControlPanel": False,
    "hideHeaderPanel": False,
    "hideSessionTimer": False,
    "hideLeaveSessionButton": False,
    "hideToggleAudioButton": False,
    "hideToggleVideoButton": False,
    "hideSwitchCameraButton": False,
    "hideScreenSharingButton": False,
    "hideChangeLayoutButton": False,
    "hideRaiseHandButton": False,
    "hideParticipantListButton": False,
    "hideShareInviteButton": True,
    "hideChatButton": True,
    "hideNetworkIndicator": True,
    "hideRecordingButton": True,
    "hideRecordingStatusIndicator": False,
    "enableParticipantContextMenu": True,
    "enableNotifications": True,
    "isPeerCall": False,
}

# v4 (deprecated in v5, kept): the builders, generateToken with the user's auth token, the OngoingCallListener,
# startSession. Each callback is kept in window.app.events; the end-call button and onCallEnded end the session,
# as v4's docs have them do.
V4_START = """
async ({ appId, region, host, sessionId, authToken, audioOnly }) => {
  const CometChatCalls = window.CometChatCalls;
  const app = (window.app = { events: [] });
  const jsonOf = (value) => (value === undefined ? null : JSON.parse(JSON.stringify(value)));
  const heard = (name) => (argument) => app.events.push([name, jsonOf(argument)]);
  const callAppSetting = new CometChatCalls.CallAppSettingsBuilder()
    .setAppId(appId)
    .setRegion(region)
    .setHost(host)
    .build();
  await CometChatCalls.init(callAppSetting).then(
    () => app.events.push(["initialised", null]),
    (error) => app.events.push(["initFailed", error]),
  );
  const callToken = await CometChatCalls.generateToken(sessionId, authToken);
  const callListener = new CometChatCalls.OngoingCallListener({
    onUserJoined: heard("onUserJoined"),
    onUserLeft: heard("onUserLeft"),
    onUserListUpdated: heard("onUserListUpdated"),
    onUserMuted: heard("onUserMuted"),
    onCallEnded: () => {
      heard("onCallEnded")();
      CometChatCalls.endSession();
    },
    onCallEndButtonPressed: () => {
      heard("onCallEndButtonPressed")();
      CometChatCalls.endSession();
    },
    onError: heard("onError"),
  });
  const callSettings = new CometChatCalls.CallSettingsBuilder()
    .enableDefaultLayout(true)
    .setIsAudioOnlyCall(audioOnly)
    .setMode(CometChatCalls.MODE.SPOTLIGHT)
    .showEndCallButton(true)
    .showMuteAudioButton(true)
    .showPauseVideoButton(true)
    .showScreenShareButton(true)
    .showModeButton(true)
    .startWithAudioMuted(false)
    .startWithVideoMuted(false)
    .setCallListener(callListener)
    .build();
  const htmlElement = document.getElementById("call_view_container");
  CometChatCalls.startSession(callToken.token, callSettings, htmlElement);
}
"""

# v5's call logs (the typings, and the call-logs page of the docs before they sent apps to the REST API): the
# request's builder and the request, and the getters of what it gives (a CallLog, its CallUser initiator, its
# Participant joins, its Recordings).
CALL_LOG_REQUEST_BUILDER = (
    "setLimit",
    "setCallType",
    "setCallStatus",
    "setHasRecording",
    "setHasTranscriptions",
    "setCallCategory",
    "setCallDirection",
    "setUid",
    "setGuid",
    "setAuthToken",
    "build",
)
CALL_LOG_REQUEST = ("fetchNext", "fetchPrevious", "getCurrentPage", "getTotalPages")
CALL_LOG_GETTERS = (
    "getSessionID",
    "getMid",
    "getInitiatedAt",
    "getStartedAt",
    "getEndedAt",
    "getTotalAudioMinutes",
    "getTotalVideoMinutes",
    "getTotalDuration",
    "getTotalDurationInMinutes",
    "getMode",
    "getCallCategory",
    "getType",
    "getStatus",
    "getReceiverType",
    "getInitiator",
    "getReceiver",
    "getTotalParticipants",
    "getParticipants",
    "getHasRecording",
    "getRecordings",
    "getTranscriptions",
)
CALL_USER_GETTERS = ("getUid", "getName", "getAvatar")
CALL_LOG_PARTICIPANT_GETTERS = (
    "getUid",
    "getName",
    "getAvatar",
    "getTotalAudioMinutes",
    "getTotalVideoMinutes",
    "getTotalDurationInMinutes",
    "getDeviceID",
    "getHasJoined",
    "getJoinedAt",
    "getLeftAt",
    "getMid",
    "getState",
)
RECORDING_GETTERS = ("getRid", "getRecordingURL", "getStartTime", "getEndTime", "getDuration")

# Call logs as the docs fetch them: a request built once, then fetchNext (kept in window.app for a closer look).
V5_FETCH_CALL_LOGS = """
async ({ limit, callType }) => {
  const CometChatCalls = window.CometChatCalls;
  const callLogRequest = new CometChatCalls.CallLogRequestBuilder().setLimit(limit).setCallType(callType).build();
  const callLogs = await callLogRequest.fetchNext();
  window.app.callLogs = callLogs;
  return { count: callLogs.length, page: callLogRequest.getCurrentPage(), pages: callLogRequest.getTotalPages() };
}
"""

# v4's details of one call, as its call-logs page has it: getCallDetails(sessionID, authToken) resolves CallLog[].
V4_GET_CALL_DETAILS = """
async ({ sessionID }) => {
  const CometChatCalls = window.CometChatCalls;
  const authToken = CometChatCalls.getUserAuthToken();
  const callLogs = await CometChatCalls.getCallDetails(sessionID, authToken);
  window.app.callLogs = callLogs;
  return callLogs.length;
}
"""
