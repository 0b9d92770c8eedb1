/**
 * Call logs in the SDK, as CometChat's: `new CallLogRequestBuilder()...build()` gives a
 * CallLogRequest whose fetchNext()/fetchPrevious() page through the calls the user took part in
 * (GET /api/v1/calls with the user's auth token), newest first, as CallLog objects (call-log.js);
 * v4's getCallDetails(sessionId, authToken) reads one call (GET /api/v1/calls/<sessionId>).
 *
 * Calls here are meetings (people join a session; nobody rings, so no call is missed, busy,
 * rejected or cancelled, and none is incoming or outgoing or made to a group). A status CometChat
 * documents that no meeting can have ("missed", "busy", ...) lists nothing, which is true; asking
 * for what a meeting is not (category "call", a direction, a group) is refused, naming the setting,
 * so an app ported from CometChat learns at once to ask for "meet" (or nothing) rather than showing
 * an empty list; so is a value CometChat does not document. Builder problems are reported where
 * CometChat's apps handle errors: fetchNext and fetchPrevious reject with them
 * (ERROR_JSON_EXCEPTION, details.field naming the setting, details.reason "unsupported" for what
 * a meeting is not).
 */

import { apiRequest, apiRequestPage } from "./api.js";
import { checkAuthToken, checkUid, getUserAuthToken } from "./auth.js";
import { CallLog } from "./call-log.js";
import { requireConfig } from "./config.js";
import { CallsError, ErrorCode } from "./errors.js";
import { checkSessionId } from "./tokens.js";

const DEFAULT_LIMIT = 30;
// The REST API's largest page (sessions_app/api/support.py MAX_PAGE_SIZE).
const MAX_LIMIT = 100;
// CometChat's call types as our session types (the REST API's `type`).
const SESSION_TYPE_OF_CALL_TYPE = { video: "VIDEO", audio: "VOICE" };
// CometChat's statuses that are ours too (the REST API's `status`).
const STATUSES_HERE = new Set(["initiated", "ongoing", "ended"]);
// CometChat's statuses of ringing calls: no meeting ever has one.
const RINGING_STATUSES = new Set(["busy", "rejected", "cancelled", "missed", "unanswered"]);
// CometChat's call categories: every call here is a meeting ("meet"); none is a ringing "call".
const CATEGORY_MEETING = "meet";
const CATEGORY_RINGING = "call";

function invalid(field, message) {
  return new CallsError(ErrorCode.ERROR_JSON_EXCEPTION, message, { field });
}

/** A meeting has no such thing: the filter is refused, naming it. */
function unsupported(field, message) {
  return new CallsError(ErrorCode.ERROR_JSON_EXCEPTION, message, { field, reason: "unsupported" });
}

/** The auth token to send: `authToken` if given (checked), else the logged-in user's; throws when there is none. */
function credentialsOf(authToken) {
  const token = authToken === undefined || authToken === null ? getUserAuthToken() : checkAuthToken(authToken);
  if (!token) {
    throw new CallsError(ErrorCode.ERROR_NO_USER_LOGGED_IN, "No user is logged in: call login() first, or give an auth token.");
  }
  return { appid: requireConfig().appId, authtoken: token };
}

/**
 * CometChat's CallLogRequestBuilder: each setter narrows the calls listed and returns the builder.
 * A setting that cannot be honoured is kept as the request's error (the first one wins).
 */
export class CallLogRequestBuilder {
  constructor() {
    this.limit = DEFAULT_LIMIT;
    this.query = {};
    this.authToken = undefined;
    // Why no call can match (a documented filter no meeting meets), or null.
    this.matchesNothing = null;
    this.error = null;
  }

  _refuse(error) {
    if (!this.error) this.error = error;
    return this;
  }

  _nothing(why) {
    if (!this.matchesNothing) this.matchesNothing = why;
    return this;
  }

  /** Call logs a page: 1 to 100, 30 by default. */
  setLimit(limit) {
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
      return this._refuse(invalid("limit", `The limit is a whole number from 1 to ${MAX_LIMIT}.`));
    }
    this.limit = limit;
    return this;
  }

  /** "video" or "audio" (a VOICE session). */
  setCallType(callType) {
    const type = SESSION_TYPE_OF_CALL_TYPE[callType];
    if (!type) return this._refuse(invalid("callType", 'The call type is "video" or "audio".'));
    this.query.type = type;
    return this;
  }

  /** "ongoing" or "ended"; CometChat's ringing statuses ("missed", "busy", ...) match no meeting. */
  setCallStatus(callStatus) {
    if (STATUSES_HERE.has(callStatus)) {
      this.query.status = callStatus;
      return this;
    }
    if (RINGING_STATUSES.has(callStatus)) return this._nothing(`no meeting is ever ${callStatus}`);
    return this._refuse(
      invalid("callStatus", 'The call status is one of "ongoing", "ended", "busy", "rejected", "cancelled", "missed".'),
    );
  }

  /** true: only calls with a composed recording; false: only calls without one. */
  setHasRecording(hasRecording) {
    if (typeof hasRecording !== "boolean") return this._refuse(invalid("hasRecording", "hasRecording is true or false."));
    this.query.hasRecording = String(hasRecording);
    return this;
  }

  /** true: only calls with transcripts (none: transcription is not built here); false: every call. */
  setHasTranscriptions(hasTranscriptions) {
    if (typeof hasTranscriptions !== "boolean") {
      return this._refuse(invalid("hasTranscriptions", "hasTranscriptions is true or false."));
    }
    return hasTranscriptions ? this._nothing("no call has transcripts here") : this;
  }

  /** "meet" is every call here (each is a meeting); "call" (a ringing call) is refused: there are none here. */
  setCallCategory(callCategory) {
    if (callCategory === CATEGORY_MEETING) return this;
    if (callCategory === CATEGORY_RINGING) {
      return this._refuse(
        unsupported("callCategory", 'Calls here are meetings, never ringing calls: ask for "meet" or set no category.'),
      );
    }
    return this._refuse(invalid("callCategory", 'The call category is "meet" (every call here).'));
  }

  /** Refused: a meeting is neither incoming nor outgoing. */
  setCallDirection() {
    return this._refuse(
      unsupported("callDirection", "Calls here are meetings: none is incoming or outgoing (setCallDirection)."),
    );
  }

  /** Calls this user took part in too (besides the user whose call logs these are). */
  setUid(uid) {
    try {
      this.query.uid = checkUid(uid);
    } catch (error) {
      return this._refuse(error);
    }
    return this;
  }

  /** Refused: there are no groups here (a meeting is its own room). */
  setGuid() {
    return this._refuse(unsupported("guid", "Calls here are meetings, not group calls: there are no groups (setGuid)."));
  }

  /** Whose call logs: by default (or given null) the logged-in user's when the request first fetches. */
  setAuthToken(authToken) {
    if (authToken === undefined || authToken === null) {
      this.authToken = undefined;
      return this;
    }
    try {
      this.authToken = checkAuthToken(authToken);
    } catch (error) {
      return this._refuse(error);
    }
    return this;
  }

  build() {
    return new CallLogRequest(this);
  }
}

/**
 * CometChat's CallLogRequest: pages of call logs, newest first. fetchNext() gives the next page,
 * fetchPrevious() the one before the current; each resolves [] when there is none, and rejects with
 * ERROR_REQUEST_IN_PROGRESS while the request's previous fetch is under way.
 */
export class CallLogRequest {
  constructor(builder) {
    this._limit = builder.limit;
    this._query = { ...builder.query };
    this._authToken = builder.authToken;
    this._matchesNothing = builder.matchesNothing;
    this._error = builder.error;
    this._currentPage = 0;
    this._totalPages = 0;
    this._fetched = false;
    this._inProgress = false;
    this._credentials = null;
  }

  /** The next page of call logs (the first, at first); [] past the last. */
  fetchNext() {
    return this._fetch(1);
  }

  /** The page before the current one; [] before the first. */
  fetchPrevious() {
    return this._fetch(-1);
  }

  /** The page last fetched (1 for the first), 0 before any. */
  getCurrentPage() {
    return this._currentPage;
  }

  /** The number of pages the server reported at the last fetch, 0 before any (and when there are no call logs). */
  getTotalPages() {
    return this._totalPages;
  }

  async _fetch(step) {
    if (this._inProgress) {
      throw new CallsError(ErrorCode.ERROR_REQUEST_IN_PROGRESS, "This call log request is already fetching: wait for it.");
    }
    this._inProgress = true;
    try {
      if (this._error) throw this._error;
      requireConfig();
      // The request is one user's from its first fetch on, whoever logs in later.
      if (!this._credentials) this._credentials = credentialsOf(this._authToken);
      if (this._matchesNothing) return [];
      const page = this._currentPage + step;
      if (page < 1 || (this._fetched && page > this._totalPages)) return [];
      const query = new URLSearchParams({ ...this._query, withParticipants: "true", perPage: this._limit, page });
      const { data, pagination } = await apiRequestPage(`/calls?${query}`, { headers: this._credentials });
      this._fetched = true;
      this._totalPages = Number(pagination.total) > 0 ? Number(pagination.totalPages) || 0 : 0;
      if (data.length) this._currentPage = page;
      return data.map((log) => CallLog.callLogFromJson(log));
    } finally {
      this._inProgress = false;
    }
  }
}

/**
 * v4's getCallDetails(sessionId, authToken): the call log of one call the user took part in, as
 * [CallLog] (v4 resolved an array). `authToken` defaults to the logged-in user's. A call the user
 * took no part in rejects with AUTH_ERR_NO_ACCESS, an unknown one with ERR_CALL_SESSION_NOT_FOUND.
 */
export async function getCallDetails(sessionId, authToken) {
  requireConfig();
  const id = checkSessionId(sessionId);
  const headers = credentialsOf(authToken);
  return [CallLog.callLogFromJson(await apiRequest("GET", `/calls/${encodeURIComponent(id)}`, { headers }))];
}

/** What call logs add to CometChatCalls (merged by calls.js). */
export const callLogApi = Object.freeze({ CallLogRequestBuilder, CallLogRequest, CallLog, getCallDetails });
