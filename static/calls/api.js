/**
 * The calls server's REST API (/api/v1, sessions_app/api/openapi.py) on the
 * configured host. Authentication is by headers only (appid, authtoken),
 * never cookies, so the same calls work from an embedding site's origin.
 * A list answers a page at a time (apiRequestPage).
 */

import { apiUrl } from "./config.js";
import { CallsError, ErrorCode, ErrorName } from "./errors.js";

/**
 * Send one request; resolve the response's `data`, or throw a CallsError:
 * the code of the server's error body (COMET_CHAT_API_ERROR), ERROR_CONNECTION_FAILED
 * when the server cannot be reached (NETWORK_ERROR), ERROR_JSON_EXCEPTION when its
 * answer is unreadable (BAD_RESPONSE).
 *
 * @param {"GET"|"POST"} method
 * @param {string} path below /api/v1, e.g. "/tokens"
 * @param {{headers?: object, body?: object}} [options]
 */
export async function apiRequest(method, path, options = {}) {
  return (await send(method, path, options)).data;
}

/**
 * GET one page of a list (`?page=&perPage=` in `path`): resolve `{data, pagination}`, `data` the
 * page's items and `pagination` the server's `{total, count, perPage, currentPage, totalPages}`;
 * failures as apiRequest's.
 *
 * @param {string} path below /api/v1, with its query, e.g. "/calls?page=2&perPage=10"
 * @param {{headers?: object}} [options]
 */
export async function apiRequestPage(path, options = {}) {
  const payload = await send("GET", path, options);
  const pagination = payload.meta && payload.meta.pagination;
  if (!Array.isArray(payload.data) || !pagination || typeof pagination !== "object") {
    throw new CallsError(ErrorCode.ERROR_JSON_EXCEPTION, "The call server sent no page of a list.", {}, ErrorName.BAD_RESPONSE);
  }
  return { data: payload.data, pagination };
}

/** One request: the whole body of a successful answer (with its `data`), or a CallsError thrown as above. */
async function send(method, path, { headers = {}, body } = {}) {
  let response;
  try {
    response = await fetch(apiUrl(path), {
      method,
      headers: {
        Accept: "application/json",
        ...(body === undefined ? {} : { "Content-Type": "application/json" }),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit",
      cache: "no-store",
    });
  } catch {
    throw new CallsError(ErrorCode.ERROR_CONNECTION_FAILED, "Could not reach the call server.");
  }
  let payload = null;
  try {
    payload = await response.json();
  } catch {
    payload = null;
  }
  if (response.ok && payload && payload.data && typeof payload.data === "object") return payload;
  const error = payload && payload.error;
  if (error && typeof error.code === "string") {
    const details = error.details && typeof error.details === "object" ? error.details : {};
    throw new CallsError(error.code, String(error.message || ""), details, ErrorName.COMET_CHAT_API_ERROR);
  }
  throw new CallsError(
    ErrorCode.ERROR_JSON_EXCEPTION,
    `The call server answered ${response.status} without a readable body.`,
    { status: response.status },
    ErrorName.BAD_RESPONSE,
  );
}
