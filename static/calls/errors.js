/**
 * The SDK's one error vocabulary: CometChat's codes, the same strings the
 * server sends on the wire (sessions_app/errors.py; tests/test_errors.py holds the two together).
 *
 * Every failure the SDK reports is a CallsError, shaped as CometChat's web SDK
 * shapes its errors: a stable `errorCode`, an `errorDescription` for people, a
 * `name` saying what kind of failure it is (ErrorName), and our `details`.
 * Inside the SDK, features return results (`success`/`failure`); the public
 * object (calls.js) turns a failed result into a rejection.
 */

export const ErrorCode = Object.freeze({
  // Join (calls-api §7, from the seed).
  ERROR_COMETCHAT_CALLS_SDK_INIT: "ERROR_COMETCHAT_CALLS_SDK_INIT",
  ERROR_AUTH_TOKEN: "ERROR_AUTH_TOKEN",
  ERROR_CALL_SESSION_ID: "ERROR_CALL_SESSION_ID",
  ERROR_CALL_TOKEN: "ERROR_CALL_TOKEN",
  ERROR_CALLING_VIEW_REF_NULL: "ERROR_CALLING_VIEW_REF_NULL",
  ERROR_JSON_EXCEPTION: "ERROR_JSON_EXCEPTION",
  // Auth.
  ERROR_INVALID_UID: "ERROR_INVALID_UID",
  ERROR_UID_WITH_SPACE: "ERROR_UID_WITH_SPACE",
  ERROR_API_KEY_NOT_FOUND: "ERROR_API_KEY_NOT_FOUND",
  ERROR_BLANK_AUTHTOKEN: "ERROR_BLANK_AUTHTOKEN",
  ERROR_AUTHTOKEN_WITH_SPACE: "ERROR_AUTHTOKEN_WITH_SPACE",
  ERROR_LOGIN_IN_PROGRESS: "ERROR_LOGIN_IN_PROGRESS",
  ERROR_NO_USER_LOGGED_IN: "ERROR_NO_USER_LOGGED_IN",
  // Server.
  ERR_EMPTY_CALL_SESSION_ID: "ERR_EMPTY_CALL_SESSION_ID",
  ERR_CALL_SESSION_NOT_FOUND: "ERR_CALL_SESSION_NOT_FOUND",
  ERR_CALL_TERMINATED: "ERR_CALL_TERMINATED",
  ERR_CALL_USER_ALREADY_JOINED: "ERR_CALL_USER_ALREADY_JOINED",
  ERR_CALL_NOT_A_PART: "ERR_CALL_NOT_A_PART",
  // The session already has its maximum number of participants (details.maxParticipants).
  ERR_CALL_FULL: "ERR_CALL_FULL",
  AUTH_ERR_EMPTY_APIKEY: "AUTH_ERR_EMPTY_APIKEY",
  AUTH_ERR_APIKEY_NOT_FOUND: "AUTH_ERR_APIKEY_NOT_FOUND",
  AUTH_ERR_NO_ACCESS: "AUTH_ERR_NO_ACCESS",
  ERR_UID_NOT_FOUND: "ERR_UID_NOT_FOUND",
  ERR_UID_ALREADY_EXISTS: "ERR_UID_ALREADY_EXISTS",
  ERR_APP_NOT_FOUND: "ERR_APP_NOT_FOUND",
  ERR_GUESTS_NOT_ALLOWED: "ERR_GUESTS_NOT_ALLOWED",
  ERR_TOO_MANY_REQUESTS: "ERR_TOO_MANY_REQUESTS",
  ERR_BAD_REQUEST: "ERR_BAD_REQUEST",
  ERR_MEDIA_SERVER_UNAVAILABLE: "ERR_MEDIA_SERVER_UNAVAILABLE",
  // The server could not record the call (startRecording()).
  ERR_RECORDING_FAILED: "ERR_RECORDING_FAILED",
  ERR_NOT_FOUND: "ERR_NOT_FOUND",
  ERROR_MEDIA_NEGOTIATION: "ERROR_MEDIA_NEGOTIATION",
  // Raised by the browser SDK only (never on the wire).
  ERROR_CONNECTION_FAILED: "ERROR_CONNECTION_FAILED",
  ERROR_MEDIA_DEVICE: "ERROR_MEDIA_DEVICE",
  ERROR_JOIN_CANCELLED: "ERROR_JOIN_CANCELLED",
  // A call log request's fetchNext/fetchPrevious while its previous fetch is still under way.
  ERROR_REQUEST_IN_PROGRESS: "ERROR_REQUEST_IN_PROGRESS",
});

/** Websocket close codes the server sends (sessions_app/errors.py), and the error each means. */
export const CloseCode = Object.freeze({
  NORMAL_CLOSURE: 1000,
  REMOVED: 4003,
  SESSION_NOT_FOUND: 4004,
  SILENT: 4008,
  SESSION_ENDED: 4010,
  INVALID_SESSION_ID: 4011,
  REPLACED: 4012,
  MEDIA_MOVED: 4013,
  // The same call token joined again elsewhere (another tab or device): that join replaced this one.
  REPLACED_BY_JOIN: 4014,
  // Too many connections from this address, or a flood of messages (after an ERR_TOO_MANY_REQUESTS error).
  TOO_MANY_REQUESTS: 4029,
});

/** Why a participant left: the server's `participant_left` reasons (sessions_app/errors.py LEAVE_REASON_*). */
export const LeaveReason = Object.freeze({
  LEFT: "left",
  DISCONNECTED: "disconnected",
  REMOVED: "removed",
  ENDED: "ended",
  MEDIA_MOVED: "media_moved",
  REPLACED: "replaced",
  SERVER_STOPPED: "server_stopped",
});

/** Why the server refused an action: `AUTH_ERR_NO_ACCESS`'s `details.reason` (sessions_app/errors.py REFUSAL_*). */
export const Refusal = Object.freeze({
  ROLE: "role",
  LOCKED: "locked",
  HELD: "held",
  REMOVED: "removed",
});

const CLOSE_CODE_ERRORS = new Map([
  [CloseCode.SESSION_NOT_FOUND, [ErrorCode.ERR_CALL_SESSION_NOT_FOUND, "This call does not exist."]],
  [CloseCode.SESSION_ENDED, [ErrorCode.ERR_CALL_TERMINATED, "This call has ended."]],
  [CloseCode.INVALID_SESSION_ID, [ErrorCode.ERROR_CALL_SESSION_ID, "The session ID is not valid."]],
  [CloseCode.REMOVED, [ErrorCode.AUTH_ERR_NO_ACCESS, "You were removed from this call.", { reason: Refusal.REMOVED }]],
  [CloseCode.REPLACED_BY_JOIN, [ErrorCode.ERR_CALL_USER_ALREADY_JOINED, "You joined this call from another tab or device.", { reason: LeaveReason.REPLACED }]],
  [CloseCode.TOO_MANY_REQUESTS, [ErrorCode.ERR_TOO_MANY_REQUESTS, "Too many requests from this address: wait a minute."]],
]);

/**
 * What kind of failure an error is: CometChat's names (VALIDATION_ERROR for arguments and state the
 * SDK checks itself, COMET_CHAT_API_ERROR for a refusal from the server, NETWORK_ERROR when it cannot
 * be reached, BAD_RESPONSE for an answer it cannot read), and MEDIA_ERROR (an extension) for the
 * browser's camera, microphone or screen.
 */
export const ErrorName = Object.freeze({
  VALIDATION_ERROR: "VALIDATION_ERROR",
  COMET_CHAT_API_ERROR: "COMET_CHAT_API_ERROR",
  NETWORK_ERROR: "NETWORK_ERROR",
  BAD_RESPONSE: "BAD_RESPONSE",
  UNKNOWN_ERROR: "UNKNOWN_ERROR",
  MEDIA_ERROR: "MEDIA_ERROR",
});

// The kind of an error the SDK raises itself, where it is not VALIDATION_ERROR.
const NAME_OF_CODE = new Map([
  [ErrorCode.ERROR_CONNECTION_FAILED, ErrorName.NETWORK_ERROR],
  [ErrorCode.ERROR_MEDIA_DEVICE, ErrorName.MEDIA_ERROR],
  [ErrorCode.ERROR_MEDIA_NEGOTIATION, ErrorName.MEDIA_ERROR],
]);

export class CallsError extends Error {
  /**
   * @param {string} errorCode one of ErrorCode
   * @param {string} errorDescription for people (also the Error's `message`)
   * @param {object} [details] machine-readable extras (for example the offending field)
   * @param {string} [name] one of ErrorName; by default what the code says (VALIDATION_ERROR for most)
   */
  constructor(errorCode, errorDescription, details = {}, name = NAME_OF_CODE.get(errorCode) || ErrorName.VALIDATION_ERROR) {
    super(errorDescription);
    this.name = name;
    this.errorCode = errorCode;
    this.errorDescription = errorDescription;
    this.details = details;
    this.timestamp = Date.now();
  }

  /** CometChat v4's name for `errorCode` (its CometChatCallsException), kept for code written against v4. */
  get code() {
    return this.errorCode;
  }

  /** The plain form (JSON.stringify, postMessage): `{errorCode, errorDescription, name, details, timestamp}`. */
  toJSON() {
    return { errorCode: this.errorCode, errorDescription: this.errorDescription, name: this.name, details: this.details, timestamp: this.timestamp };
  }
}

/** Turn anything thrown into a CallsError, keeping a CallsError as it is. */
export function asCallsError(error, fallbackCode = ErrorCode.ERROR_JSON_EXCEPTION) {
  if (error instanceof CallsError) return error;
  const message = error && error.message ? error.message : String(error);
  return new CallsError(fallbackCode, message, {}, NAME_OF_CODE.get(fallbackCode) || ErrorName.UNKNOWN_ERROR);
}

/** A feature's result on success: `{data, error: null}` (joinSession resolves it as it is). */
export function success(data = null) {
  return { data, error: null };
}

/** A feature's result on failure: `{data: null, error}`, `error` a CallsError. */
export function failure(error, fallbackCode = ErrorCode.ERROR_JSON_EXCEPTION) {
  return { data: null, error: asCallsError(error, fallbackCode) };
}

/** What a result stands for in CometChat's style: its data (undefined for none), or a rejection with its error. */
export function unwrap(result) {
  if (result.error) throw result.error;
  return result.data === null ? undefined : result.data;
}

/** What a call method resolves outside a call: ERR_CALL_NOT_A_PART. */
export function notInCall() {
  return failure(new CallsError(ErrorCode.ERR_CALL_NOT_A_PART, "You are not in a call."));
}

/** The server's `error` message over signaling (`{code, message, details}` on the wire), as a CallsError. */
export function errorFromServer(message) {
  const details = message.details && typeof message.details === "object" ? message.details : {};
  const code = typeof message.code === "string" && message.code ? message.code : ErrorCode.ERROR_JSON_EXCEPTION;
  return new CallsError(code, String(message.message || "The server reported an error."), details, ErrorName.COMET_CHAT_API_ERROR);
}

/** The error a websocket close code stands for, or null for closes that are not errors. */
export function errorForCloseCode(code, reason = "") {
  const known = CLOSE_CODE_ERRORS.get(code);
  if (known) return new CallsError(known[0], reason || known[1], { ...known[2], closeCode: code }, ErrorName.COMET_CHAT_API_ERROR);
  if (code === CloseCode.NORMAL_CLOSURE) return null;
  return new CallsError(ErrorCode.ERROR_CONNECTION_FAILED, reason || "The connection to the call server was lost.", {
    closeCode: code,
  });
}
