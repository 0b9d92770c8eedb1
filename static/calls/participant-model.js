/**
 * Participant objects (calls-api §6) and the list of who is in the call.
 *
 * Listeners get frozen copies, so an app cannot change the SDK's state by
 * writing to an event's participant.
 */

import { CallsError, ErrorCode } from "./errors.js";

const DEFAULTS = {
  pid: "",
  uid: "",
  name: "",
  avatar: "",
  role: "none",
  isGuest: false,
  isLocal: false,
  type: "human",
  audioMuted: false,
  videoPaused: false,
  isPinned: false,
  isPresenting: false,
  raisedHandTimestamp: 0,
  joinedAt: 0,
  // Extensions: a moderator's hold on their microphone or camera (they cannot turn it back on themselves).
  audioMutedByModerator: false,
  videoPausedByModerator: false,
};

/**
 * CometChat's participant roles: "moderator", or "none" for everyone else (guests always). The server
 * (its REST API, call logs and webhooks) names the second one "participant".
 */
export const Role = Object.freeze({ MODERATOR: "moderator", NONE: "none" });

/** CometChat's participant types: a person, or the screen a person presents (a tile of its own). */
export const ParticipantType = Object.freeze({ HUMAN: "human", SCREEN_SHARE: "screen-share" });

export function isModerator(participant) {
  return Boolean(participant && participant.role === Role.MODERATOR);
}

/** A Participant from the server's wire form, with every §6 field present. */
export function makeParticipant(wire, isLocal) {
  const participant = { ...DEFAULTS };
  for (const key of Object.keys(DEFAULTS)) {
    if (wire[key] !== undefined && typeof wire[key] === typeof DEFAULTS[key]) participant[key] = wire[key];
  }
  // The server says "moderator" or "participant" (or, from before roles, "guest": now a flag);
  // CometChat's roles are "moderator" and "none".
  participant.role = wire.role === Role.MODERATOR ? Role.MODERATOR : Role.NONE;
  if (wire.role === "guest") participant.isGuest = true;
  participant.avatar = webUrl(participant.avatar);
  participant.isLocal = isLocal;
  return participant;
}

/** `value` if it is an absolute http(s) URL (an avatar the view may show), else "": never javascript:, data: or a relative path. */
export function webUrl(value) {
  if (typeof value !== "string" || !value) return "";
  try {
    const url = new URL(value);
    return url.protocol === "https:" || url.protocol === "http:" ? url.href : "";
  } catch {
    return "";
  }
}

/** The error for a participant ID nobody in the call has (ERR_NOT_FOUND). */
export function unknownParticipant(pid) {
  return new CallsError(ErrorCode.ERR_NOT_FOUND, "Nobody in this call has that participant ID.", { participantId: String(pid) });
}

export function snapshot(participant) {
  return Object.freeze({ ...participant });
}

export class ParticipantList {
  constructor() {
    this._byId = new Map();
  }

  get size() {
    return this._byId.size;
  }

  has(pid) {
    return this._byId.has(pid);
  }

  get(pid) {
    return this._byId.get(pid) || null;
  }

  /** Add or replace a participant; returns it. */
  put(participant) {
    this._byId.set(participant.pid, participant);
    return participant;
  }

  /** Remove and return a participant (null if absent). */
  remove(pid) {
    const participant = this.get(pid);
    this._byId.delete(pid);
    return participant;
  }

  /** Apply `changes`; returns the names of the fields that really changed. */
  update(pid, changes) {
    const participant = this.get(pid);
    if (!participant) return [];
    const changed = Object.keys(changes).filter((key) => participant[key] !== changes[key]);
    Object.assign(participant, changes);
    return changed;
  }

  /** Frozen copies, local participant first, then in order of joining. */
  snapshots() {
    return [...this._byId.values()]
      .sort((a, b) => Number(b.isLocal) - Number(a.isLocal) || a.joinedAt - b.joinedAt)
      .map(snapshot);
  }
}
