/**
 * What the SDK throws:
 *
 * - {@link MicroUserError}: the server answered with an error, `{id, code, detail, status}`.
 *   Branch on `id` (stable, e.g. `"users-email-check"`) or `code` (the HTTP status), never
 *   on `detail` (text for people).
 * - {@link TransportError}: no answer (connection refused, DNS failure, timeout, a broken
 *   connection). The underlying error is its `cause`.
 *
 * A call cancelled through your own `AbortSignal` rejects with that signal's reason, as
 * `fetch` does, not with either of these.
 */

const DETAIL_MAX = 500;

/** Standard reason phrases, for answers that carry none (HTTP/2, a proxy's bare error). */
const STATUS_TEXT: Readonly<Record<number, string>> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  409: "Conflict",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  422: "Unprocessable Content",
  429: "Too Many Requests",
  500: "Internal Server Error",
  501: "Not Implemented",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

/** The standard text of an HTTP status code ("Not Found"), or "" for an unusual one. */
export function statusText(code: number): string {
  return STATUS_TEXT[code] ?? "";
}

/**
 * The server answered with an error.
 *
 * - `id` names what failed and is stable: `"user.read"`, `"users-email-check"`, `"auth"`...
 *   It is `""` when the answer was not a micro-user error body (a proxy's HTML page, say).
 * - `code` is the HTTP status (400, 401, 404, 413, 503...).
 * - `detail` explains for people what went wrong or what to fix.
 * - `status` is the status text (`"Not Found"`).
 */
export class MicroUserError extends Error {
  readonly id: string;
  readonly code: number;
  readonly detail: string;
  readonly status: string;

  constructor(id: string, code: number, detail: string, status: string) {
    super(`${detail} (${code} ${status}, id '${id}')`);
    this.name = "MicroUserError";
    this.id = id;
    this.code = code;
    this.detail = detail;
    this.status = status;
  }
}

/**
 * The request got no answer: the server could not be reached, the connection broke, or
 * the call took longer than `timeoutMs` (then `timedOut` is true). `url` is where the
 * request went; `cause` is the error `fetch` threw.
 */
export class TransportError extends Error {
  readonly url: string;
  readonly timedOut: boolean;

  constructor(message: string, url: string, timedOut: boolean, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = "TransportError";
    this.url = url;
    this.timedOut = timedOut;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * The error for an HTTP error answer. A body that is not the `{id, code, detail, status}`
 * object (not JSON, or some other JSON) still makes a `MicroUserError`: `id` is then "" and
 * `detail` is the start of the body, or the status text when the body is empty.
 */
export function errorFromAnswer(code: number, reason: string, text: string): MicroUserError {
  let body: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (isRecord(parsed)) body = parsed;
  } catch {
    // not JSON: a proxy's page, a crash; described by its text below
  }
  const fallbackStatus = reason || statusText(code);
  const detail =
    typeof body["detail"] === "string"
      ? body["detail"]
      : text.trim().slice(0, DETAIL_MAX) || fallbackStatus;
  return new MicroUserError(
    typeof body["id"] === "string" ? body["id"] : "",
    code,
    detail,
    typeof body["status"] === "string" ? body["status"] : fallbackStatus,
  );
}
