/**
 * The one canonical form of a request path, and the resource the rules judge it as: the
 * steps of `sdk/conformance/paths.json`, which micro-user's gateway endpoint and every
 * SDK follow, so that `/public/../admin` or `/public/%2e%2e/admin` is judged as the
 * `/admin` it reaches, and what stays ambiguous (`/public/..%2fadmin`) is refused.
 */

import { MicroUserError } from "./errors.js";
import type { Resource } from "./rules.js";

/**
 * A request target that has no one meaning (an encoded `/` or `\`, a `;` parameter, a
 * control character, a target that is not a path...) or a Micro-style path whose names
 * break the identifier patterns. A `MicroUserError` with id `"auth"` and code 400: refuse
 * the request, whatever the rules say. `detail` says why.
 */
export class AmbiguousPathError extends MicroUserError {
  /** The target (or path) refused. */
  readonly target: string;

  constructor(target: string, reason: string) {
    super("auth", 400, `ambiguous request path ${JSON.stringify(target)}: ${reason}`, "Bad Request");
    this.name = "AmbiguousPathError";
    this.target = target;
  }
}

const utf8 = new TextDecoder("utf-8", { fatal: true });
// Raw: anything outside printable ASCII, a backslash, a ';'.
const RAW_REFUSED = /[^!-~]|[\\;]/;
const SERVICE_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;
const ENDPOINT_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;

function hex(code: number): number {
  if (code >= 48 && code <= 57) return code - 48; // 0-9
  if (code >= 97 && code <= 102) return code - 87; // a-f
  if (code >= 65 && code <= 70) return code - 55; // A-F
  return -1;
}

/** One segment percent-decoded once; the reason it is refused, as an Error, otherwise. */
function decodeSegment(target: string, segment: string): string {
  if (!segment.includes("%")) return segment; // printable ASCII without '\' or ';' (checked)
  const bytes = new Uint8Array(segment.length);
  let length = 0;
  for (let i = 0; i < segment.length; i++) {
    let byte = segment.charCodeAt(i);
    if (byte === 37) {
      const high = i + 2 < segment.length ? hex(segment.charCodeAt(i + 1)) : -1;
      const low = high === -1 ? -1 : hex(segment.charCodeAt(i + 2));
      if (low === -1) throw new AmbiguousPathError(target, "a '%' not followed by two hex digits");
      byte = high * 16 + low;
      i += 2;
    }
    bytes[length++] = byte;
  }
  let decoded: string;
  try {
    decoded = utf8.decode(bytes.subarray(0, length));
  } catch {
    throw new AmbiguousPathError(target, "an encoded byte sequence that is not UTF-8");
  }
  for (let i = 0; i < decoded.length; i++) {
    const code = decoded.charCodeAt(i);
    if (code === 47) throw new AmbiguousPathError(target, "an encoded '/'");
    if (code === 92) throw new AmbiguousPathError(target, "an encoded backslash");
    if (code === 59) throw new AmbiguousPathError(target, "an encoded ';'");
    if (code < 0x20 || (code >= 0x7f && code <= 0x9f)) {
      throw new AmbiguousPathError(target, "a control character");
    }
  }
  return decoded;
}

/**
 * The canonical path of a request target exactly as it was sent on the request line (in
 * Node, `request.url`; in Express, `request.originalUrl`): never an already-decoded path.
 * Throws {@link AmbiguousPathError} when it is refused.
 *
 * The target must start with `/`; the path ends at the first `?` or `#`; a raw character
 * outside printable ASCII, a raw `\` and a raw `;` are refused. Each segment is
 * percent-decoded once (valid escapes and UTF-8 only), and a decoded `/`, `\` or `;` or a
 * control character is refused. Empty segments (`//`) are dropped, a trailing `/` kept,
 * and dot segments removed as RFC 3986 section 5.2.4 says (`..` never climbs above the
 * root; a path ending in `.` or `..` ends in `/`). The result is `/` and the decoded
 * segments joined by `/`, not re-encoded.
 *
 * ```js
 * canonicalPath("/public/%2e%2e/admin?x=1"); // "/admin"
 * canonicalPath("/public/..%2fadmin");       // throws AmbiguousPathError
 * ```
 */
export function canonicalPath(target: string): string {
  if (typeof target !== "string" || !target.startsWith("/")) {
    throw new AmbiguousPathError(
      String(target),
      "the target must be a path starting with '/' (no absolute, authority or '*' form)",
    );
  }
  let path = target;
  const cut = path.search(/[?#]/);
  if (cut !== -1) path = path.slice(0, cut);
  const refused = RAW_REFUSED.exec(path);
  if (refused !== null) {
    const reason =
      refused[0] === "\\"
        ? "a backslash"
        : refused[0] === ";"
          ? "a ';' parameter"
          : "a raw character outside printable ASCII (encode it)";
    throw new AmbiguousPathError(target, reason);
  }
  const raw = path.slice(1).split("/");
  const out: string[] = [];
  let trailing = path.endsWith("/");
  raw.forEach((segment, index) => {
    const decoded = decodeSegment(target, segment);
    if (decoded === "") return;
    if (decoded === "." || decoded === "..") {
      if (decoded === "..") out.pop();
      if (index === raw.length - 1) trailing = true; // a path ending in "." or ".." ends in "/"
      return;
    }
    out.push(decoded);
  });
  return "/" + out.join("/") + (trailing && out.length > 0 ? "/" : "");
}

/** The first letter of an ASCII identifier upper-cased. */
function upperFirst(name: string): string {
  return name.charAt(0).toUpperCase() + name.slice(1);
}

/**
 * The resource the rules judge a canonical path (from {@link canonicalPath}) as, for the
 * API named `host`. The Micro convention: a path of 3 or 4 segments starting with `v1` is
 * `/v1/{service}/{endpoint}`, the resource `service:{service lower-cased}:{Service}.{Endpoint}`,
 * or `/v1/{service}/{handler}/{method}`, `service:{service}:{Handler}.{Method}` (first
 * letter upper-cased, the rest as sent: `/v1/orders/list` is `service:orders:Orders.List`).
 * Its service must match `[A-Za-z0-9][A-Za-z0-9_-]*` and each endpoint segment
 * `[A-Za-z][A-Za-z0-9_]*`, or it throws {@link AmbiguousPathError}: `/v1/orders/delete.` is
 * never judged as an api path. Any other path is `api:{host}:{path}`.
 */
export function resourceForPath(path: string, host: string): Resource {
  if (path === "") path = "/";
  if (path.startsWith("/v1/")) {
    const parts = path.replace(/^\/+|\/+$/g, "").split("/");
    if (parts.length === 3 || parts.length === 4) {
      const service = parts[1] as string;
      const rest = parts.slice(2);
      if (!SERVICE_NAME.test(service)) {
        throw new AmbiguousPathError(path, "a Micro service name is [A-Za-z0-9][A-Za-z0-9_-]*");
      }
      if (!rest.every((name) => ENDPOINT_NAME.test(name))) {
        throw new AmbiguousPathError(path, "a Micro endpoint name is [A-Za-z][A-Za-z0-9_]*");
      }
      const handler = rest.length === 2 ? (rest[0] as string) : service;
      return {
        type: "service",
        name: service.toLowerCase(),
        endpoint: `${upperFirst(handler)}.${upperFirst(rest[rest.length - 1] as string)}`,
      };
    }
  }
  return { type: "api", name: host, endpoint: path };
}
