/**
 * The call log objects of CometChat's SDK (its typings' CallLog, CallUser, CallGroup, Participant
 * and Recording), made from this server's call-log JSON (GET /api/v1/calls and /calls/<sessionId>,
 * sessions_app/logs.py). They keep CometChat's property names, so JSON.stringify gives CometChat's
 * shape, and are read through CometChat's getters (the typings' setters are not kept).
 *
 * A call here is a meeting: people join a session, nobody rings anybody. Where CometChat's getters
 * describe a ringing call, they say what CometChat says of a meeting (docs/sdk.md, "Call logs"):
 * the category and mode are "meet", the receiver is the session itself as a group
 * (receiverType "group"), the message ID is "".
 */

const SECONDS_PER_MINUTE = 60;
// What a meeting is in CometChat's call logs (getCallCategory, getMode) and who receives it.
const MEETING = "meet";
const RECEIVER_TYPE_GROUP = "group";
// Our session types as CometChat's call types (CALL_TYPE: "audio" | "video").
const CALL_TYPE_OF = { VIDEO: "video", VOICE: "audio" };

const text = (value) => (typeof value === "string" ? value : "");
const count = (value) => (typeof value === "number" && Number.isFinite(value) ? value : 0);
// Unix seconds, as CometChat's; undefined for what has not happened (a call or a join still going on).
const seconds = (value) => (typeof value === "number" && Number.isFinite(value) ? value : undefined);

/** CometChat's totalDuration: "HH:MM:SS" ("00:00:19"), hours past 99 as they are. */
function hoursMinutesSeconds(totalSeconds) {
  const whole = Math.max(0, Math.round(totalSeconds));
  const pad = (value) => String(value).padStart(2, "0");
  return `${pad(Math.floor(whole / 3600))}:${pad(Math.floor((whole % 3600) / 60))}:${pad(whole % 60)}`;
}

/** A user in a call log (the initiator): uid, name and avatar. */
export class CallUser {
  constructor(object = {}) {
    this.uid = text(object.uid);
    this.name = text(object.name) || this.uid;
    this.avatar = text(object.avatar);
  }

  getUid() {
    return this.uid;
  }

  getName() {
    return this.name;
  }

  getAvatar() {
    return this.avatar;
  }

  toString() {
    return JSON.stringify(this);
  }

  static getUserFromJson(object) {
    return new CallUser(object);
  }
}

/** A group in a call log (a meeting's receiver): here the session itself, its ID as guid and its title as name. */
export class CallGroup {
  constructor(object = {}) {
    this.guid = text(object.guid);
    this.name = text(object.name);
    this.icon = text(object.icon);
  }

  getGuid() {
    return this.guid;
  }

  getName() {
    return this.name;
  }

  getIcon() {
    return this.icon;
  }

  toString() {
    return JSON.stringify(this);
  }

  static getGroupFromJson(object) {
    return new CallGroup(object);
  }
}

/**
 * One join of a call (the typings' Participant): a rejoin is another one, with its own times. Its
 * device ID is the join's participant ID (the `pid` of the call's events); its state is "ongoing"
 * until it leaves, then "ended".
 */
export class CallLogParticipant {
  constructor(join = {}) {
    this.uid = text(join.uid);
    this.name = text(join.name);
    this.avatar = text(join.avatar);
    this.totalAudioMinutes = count(join.audioMinutes);
    this.totalVideoMinutes = count(join.videoMinutes);
    this.totalDurationInMinutes = count(join.totalDurationSeconds) / SECONDS_PER_MINUTE;
    this.deviceID = text(join.participantId);
    this.hasJoined = true;
    this.joinedAt = seconds(join.joinedAt);
    this.leftAt = seconds(join.leftAt);
    this.mid = "";
    this.state = this.leftAt === undefined ? "ongoing" : "ended";
  }

  getUid() {
    return this.uid;
  }

  getName() {
    return this.name;
  }

  getAvatar() {
    return this.avatar;
  }

  getTotalAudioMinutes() {
    return this.totalAudioMinutes;
  }

  getTotalVideoMinutes() {
    return this.totalVideoMinutes;
  }

  getTotalDurationInMinutes() {
    return this.totalDurationInMinutes;
  }

  getDeviceID() {
    return this.deviceID;
  }

  getHasJoined() {
    return this.hasJoined;
  }

  getJoinedAt() {
    return this.joinedAt;
  }

  getLeftAt() {
    return this.leftAt;
  }

  getMid() {
    return this.mid;
  }

  getState() {
    return this.state;
  }

  static getParticipantFromJson(object) {
    return new CallLogParticipant(object);
  }
}

/** A recording of a call, from CometChat's JSON ({rid, recording_url, startTime, endTime, duration}). */
export class Recording {
  constructor(data = {}) {
    this.rid = text(data.rid);
    this.recording_url = text(data.recording_url || data.recordingURL);
    this.startTime = seconds(data.startTime);
    this.endTime = seconds(data.endTime);
    this.duration = count(data.duration);
  }

  getRid() {
    return this.rid;
  }

  getRecordingURL() {
    return this.recording_url;
  }

  getStartTime() {
    return this.startTime;
  }

  getEndTime() {
    return this.endTime;
  }

  getDuration() {
    return this.duration;
  }

  static getRecordingFromJson(data) {
    return new Recording(data);
  }
}

/** The initiator (the call log's uid) with the name and avatar of its first join, when the joins are known. */
function initiatorOf(log, participants) {
  if (typeof log.initiator !== "string" || !log.initiator) return undefined;
  const join = participants.find((participant) => participant.uid === log.initiator);
  return new CallUser(join ? { uid: join.uid, name: join.name, avatar: join.avatar } : { uid: log.initiator });
}

/**
 * One call's log: a session that started. Made by CallLog.callLogFromJson from this server's JSON;
 * getParticipants() is every join (in order), getTotalParticipants() the number of people.
 */
export class CallLog {
  constructor(log = {}) {
    const totalSeconds = count(log.totalDurationSeconds);
    this.sessionId = text(log.sessionId);
    this.totalAudioMinutes = count(log.totalAudioMinutes);
    this.totalVideoMinutes = count(log.totalVideoMinutes);
    this.totalDuration = hoursMinutesSeconds(totalSeconds);
    this.totalDurationInMinutes = totalSeconds / SECONDS_PER_MINUTE;
    this.hasRecording = log.hasRecording === true;
    // A meeting is initiated by its first join: that is when it started.
    this.initiatedAt = seconds(log.startedAt);
    this.startedAt = seconds(log.startedAt);
    this.endedAt = seconds(log.endedAt);
    this.callCategory = MEETING;
    this.mode = MEETING;
    this.participants = (Array.isArray(log.participants) ? log.participants : []).map(
      (join) => new CallLogParticipant(join),
    );
    this.initiator = initiatorOf(log, this.participants);
    this.receiver = new CallGroup({ guid: this.sessionId, name: text(log.title), icon: "" });
    this.receiverType = RECEIVER_TYPE_GROUP;
    this.status = text(log.status);
    this.totalParticipants = count(log.totalParticipants);
    this.type = CALL_TYPE_OF[log.type] || text(log.type).toLowerCase();
    this.mid = "";
    this.recordings = (Array.isArray(log.recordings) ? log.recordings : []).map((data) => new Recording(data));
    // Transcription is not built here: never any, and never undefined (as the typings promise).
    this.transcriptions = [];
  }

  getSessionID() {
    return this.sessionId;
  }

  getTotalAudioMinutes() {
    return this.totalAudioMinutes;
  }

  getTotalVideoMinutes() {
    return this.totalVideoMinutes;
  }

  /** "HH:MM:SS". */
  getTotalDuration() {
    return this.totalDuration;
  }

  getTotalDurationInMinutes() {
    return this.totalDurationInMinutes;
  }

  getHasRecording() {
    return this.hasRecording;
  }

  getInitiatedAt() {
    return this.initiatedAt;
  }

  getStartedAt() {
    return this.startedAt;
  }

  /** Unix seconds; undefined while the call goes on. */
  getEndedAt() {
    return this.endedAt;
  }

  /** "meet": every call here is a meeting. */
  getCallCategory() {
    return this.callCategory;
  }

  getMode() {
    return this.mode;
  }

  /** The CallUser who joined first. */
  getInitiator() {
    return this.initiator;
  }

  /** The session as a CallGroup (guid: the session ID, name: its title). */
  getReceiver() {
    return this.receiver;
  }

  getReceiverType() {
    return this.receiverType;
  }

  /** "ongoing" or "ended". */
  getStatus() {
    return this.status;
  }

  getTotalParticipants() {
    return this.totalParticipants;
  }

  /** "video" or "audio". */
  getType() {
    return this.type;
  }

  getMid() {
    return this.mid;
  }

  getParticipants() {
    return this.participants;
  }

  getRecordings() {
    return this.recordings;
  }

  getTranscriptions() {
    return this.transcriptions;
  }

  /** A CallLog from one item of GET /api/v1/calls (or the data of GET /api/v1/calls/<sessionId>). */
  static callLogFromJson(data) {
    return new CallLog(data && typeof data === "object" ? data : {});
  }
}
