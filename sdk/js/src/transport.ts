/**
 * The one way the SDK talks to micro-user, shared by every client (`UserService`,
 * `AuthService`, `TokenVerifier`): where the server is, which key to send, the timeout,
 * the `fetch` to use, and how an answer becomes a value or an error.
 */

import { MicroUserError, TransportError, errorFromAnswer } from "./errors.js";
import { ShapeError, object } from "./models.js";

/** Where the SDK looks when neither `address` nor `$MICRO_USER_ADDRESS` is given. */
export const DEFAULT_ADDRESS = "http://localhost:8080";
/** Per call, unless `timeoutMs` says otherwise. */
export const DEFAULT_TIMEOUT_MS = 10_000;

const ADDRESS_ENV = "MICRO_USER_ADDRESS";
const KEY_ENV = "MICRO_USER_KEY";

/** What the SDK hands to `fetch`. `body` is absent for a GET (the JWKS). */
export interface FetchInit {
  method: string;
  headers: Record<string, string>;
  body?: string;
  signal: AbortSignal;
  /** Set for the JWKS and the revocations, so that a browser's HTTP cache cannot hide a change. */
  cache?: "no-cache";
}

/** The part of a `fetch` Response the SDK reads. */
export interface FetchResponse {
  readonly status: number;
  readonly statusText: string;
  /** Read for `Cache-Control` (the revocations' max-age); may be absent. */
  readonly headers?: { get(name: string): string | null } | undefined;
  text(): Promise<string>;
}

/** A `fetch`: the global one, or any function that answers like it. */
export type FetchLike = (url: string, init: FetchInit) => Promise<FetchResponse>;

/** The options every client takes. */
export interface ClientOptions {
  /**
   * The server's base URL; may carry a path prefix (`https://gateway.example.com/micro`).
   * Default: `$MICRO_USER_ADDRESS` (in Node), else `http://localhost:8080`. `""` sends
   * relative requests (`/v1/user/...`), for a page served from the same origin.
   */
  address?: string | undefined;
  /** An API key (or access token), sent as `Authorization: Bearer <key>`. Default: `$MICRO_USER_KEY` (in Node). */
  key?: string | undefined;
  /** Give up on a call after this many milliseconds (default 10000; 0 for never). */
  timeoutMs?: number | undefined;
  /** Used instead of the global `fetch`: for proxies, retries, logging or tests. */
  fetch?: FetchLike | undefined;
  /** Added to every request. */
  headers?: Record<string, string> | undefined;
}

/** The optional last argument of every method. */
export interface RequestOptions {
  /** Cancels the call; it then rejects with the signal's reason, as `fetch` does. */
  signal?: AbortSignal | undefined;
  /** This call's timeout, instead of the client's. */
  timeoutMs?: number | undefined;
}

export type Body = Record<string, unknown>;

/** The parser of an answer that carries nothing (`{}`). */
export function nothing(): void {
  return undefined;
}

/** `$NAME` where there is an environment (Node, Deno, Bun); undefined in a browser. */
function environment(name: string): string | undefined {
  try {
    const proc = (globalThis as { process?: { env?: Record<string, string | undefined> } })
      .process;
    const value = proc?.env?.[name];
    return typeof value === "string" ? value : undefined;
  } catch {
    return undefined; // an environment that forbids reading it (Deno without --allow-env)
  }
}

export function checkTimeout(timeoutMs: unknown): number {
  if (typeof timeoutMs !== "number" || Number.isNaN(timeoutMs) || timeoutMs < 0) {
    throw new RangeError(`timeoutMs must be a number of milliseconds >= 0, not ${String(timeoutMs)}`);
  }
  return timeoutMs;
}

/** Why fetch failed, in a few words: Node's "fetch failed" hides the reason in `cause`. */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as { cause?: unknown }).cause;
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code;
    return `${error.message} (${typeof code === "string" ? code : cause.message})`;
  }
  return error.message || error.name;
}

/** How a call is sent, besides its path and payload. */
interface Call {
  method: "GET" | "POST";
  /** Ask caches along the way to check with the server (the JWKS). */
  revalidate?: boolean;
}

/**
 * Sends calls to one micro-user server. Not part of the public API: each client holds one.
 */
export class Transport {
  /** The base URL calls go to (without a trailing slash). */
  readonly address: string;
  readonly #timeoutMs: number;
  readonly #fetch: FetchLike | undefined;
  readonly #headers: Record<string, string>;

  /** `anonymous`: never send a key (the JWKS is public), whatever the environment says. */
  constructor(options: ClientOptions = {}, anonymous = false) {
    const address = options.address ?? (environment(ADDRESS_ENV) || DEFAULT_ADDRESS);
    if (typeof address !== "string") throw new TypeError("address must be a string");
    this.address = address.replace(/\/+$/, "");
    const key = anonymous ? "" : options.key === undefined ? environment(KEY_ENV) : options.key;
    this.#timeoutMs = checkTimeout(options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    if (options.fetch !== undefined && typeof options.fetch !== "function") {
      throw new TypeError("fetch must be a function");
    }
    this.#fetch = options.fetch;
    // Header names are case-insensitive: keep one of each, the later one winning.
    const headers: Record<string, string> = { accept: "application/json" };
    for (const [name, value] of Object.entries(options.headers ?? {})) {
      headers[name.toLowerCase()] = value;
    }
    if (key) headers["authorization"] = `Bearer ${key}`;
    this.#headers = headers;
  }

  /** `POST {address}{path}` with a JSON body; the answer read by `parse`. */
  post<T>(path: string, payload: Body, parse: (body: Body) => T, options?: RequestOptions): Promise<T> {
    return this.#call({ method: "POST" }, path, payload, parse, options);
  }

  /** `GET {address}{path}`; the answer read by `parse` (which may read its headers too). */
  get<T>(
    path: string,
    parse: (body: Body, response: FetchResponse) => T,
    options?: RequestOptions,
    revalidate = false,
  ): Promise<T> {
    return this.#call({ method: "GET", revalidate }, path, undefined, parse, options);
  }

  async #call<T>(
    call: Call,
    path: string,
    payload: Body | undefined,
    parse: (body: Body, response: FetchResponse) => T,
    options: RequestOptions = {},
  ): Promise<T> {
    const url = `${this.address}${path}`;
    const timeoutMs = checkTimeout(options.timeoutMs ?? this.#timeoutMs);
    const caller = options.signal;
    caller?.throwIfAborted();
    // Looked up at each call, so that a fetch installed (or mocked) later is used.
    const fetch: FetchLike | undefined =
      this.#fetch ??
      (typeof globalThis.fetch === "function"
        ? (input, init) => globalThis.fetch(input, init)
        : undefined);
    if (fetch === undefined) {
      throw new TypeError("no global fetch here (Node 18+ has one): pass the fetch option");
    }

    const controller = new AbortController();
    let timedOut = false;
    const timer =
      timeoutMs > 0 && Number.isFinite(timeoutMs)
        ? setTimeout(() => {
            timedOut = true;
            controller.abort();
          }, timeoutMs)
        : undefined;
    const cancel = (): void => controller.abort(caller?.reason);
    caller?.addEventListener("abort", cancel, { once: true });

    const init: FetchInit = {
      method: call.method,
      headers: { ...this.#headers },
      signal: controller.signal,
    };
    if (payload !== undefined) {
      init.headers["content-type"] ??= "application/json";
      init.body = JSON.stringify(payload);
    }
    if (call.revalidate) init.cache = "no-cache";

    let response: FetchResponse;
    let text: string;
    try {
      response = await fetch(url, init);
      text = await response.text();
    } catch (error) {
      if (caller?.aborted) throw caller.reason;
      if (timedOut) {
        throw new TransportError(
          `no answer from micro-user at ${url} within ${timeoutMs} ms`,
          url,
          true,
          error,
        );
      }
      throw new TransportError(
        `no answer from micro-user at ${url}: ${describe(error)}`,
        url,
        false,
        error,
      );
    } finally {
      if (timer !== undefined) clearTimeout(timer);
      caller?.removeEventListener("abort", cancel);
    }

    if (response.status >= 400) {
      throw errorFromAnswer(response.status, response.statusText, text);
    }
    try {
      return parse(object(JSON.parse(text), "the answer"), response);
    } catch (error) {
      if (!(error instanceof SyntaxError || error instanceof ShapeError)) throw error;
      throw new MicroUserError(
        "",
        response.status,
        `unreadable answer from ${url} (HTTP ${response.status}: ${error.message}): ` +
          "is the address a micro-user server?",
        response.statusText,
      );
    }
  }
}
