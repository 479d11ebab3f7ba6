/**
 * Checking micro-user's access tokens locally, with WebCrypto (`crypto.subtle`: Node 18+,
 * Deno, Bun, browsers): no call to micro-user per token, only for its public keys.
 *
 * Access tokens are JWTs (compact JWS) signed with EdDSA (Ed25519), ES256 (ECDSA P-256) or
 * RS256 (RSASSA-PKCS1-v1_5 with SHA-256). The keys come from the server's
 * `/.well-known/jwks.json`; each key says its algorithm, and a token must use exactly that
 * one: `none`, HMAC (`HS256`...) and any mismatch are refused.
 */

import { MicroUserError } from "./errors.js";
import { ShapeError } from "./models.js";
import type { Subject } from "./rules.js";
import {
  Transport,
  type Body,
  type FetchLike,
  type FetchResponse,
} from "./transport.js";

/** The signature algorithms micro-user signs with, and the only ones accepted. */
export const ALGORITHMS: readonly SigningAlgorithm[] = Object.freeze(["EdDSA", "ES256", "RS256"]);
export type SigningAlgorithm = "EdDSA" | "ES256" | "RS256";

export const JWKS_PATH = "/.well-known/jwks.json";
/** Where micro-user publishes what is revoked, per issuer (`?iss=<the token's iss>`). */
export const REVOCATIONS_PATH = "/.well-known/revocations";
/** How long a revocations document is kept when the server gives it no max-age. */
export const DEFAULT_REVOCATIONS_TTL_MS = 5_000;
const ISSUERS_LIMIT = 1024;
/** How long fetched keys are trusted before they are fetched again, by default. */
export const DEFAULT_JWKS_TTL_MS = 300_000;
/** A token naming an unknown key id makes the keys be fetched again, at most this often per id. */
const UNKNOWN_KID_INTERVAL_MS = 10_000;
/** Whatever the reason, the keys are fetched at most this often. */
const MIN_FETCH_INTERVAL_MS = 1_000;
const TRIED_KIDS_LIMIT = 1024;
const MAX_TOKEN_LENGTH = 65_536;
const MIN_RSA_BITS = 2048;

/**
 * A token that is malformed, forged, expired, not valid yet, or signed by a key the server
 * does not publish. A `MicroUserError` with id `"auth"` and code 401, as the server would
 * answer; `detail` says which.
 */
export class InvalidTokenError extends MicroUserError {
  constructor(detail: string) {
    super("auth", 401, detail, "Unauthorized");
    this.name = "InvalidTokenError";
  }
}

/** What a valid access token says. Any other claims are kept too. */
export interface Claims {
  /** The issuer: the URL of the account's namespace at micro-user (its discovery document is under it). */
  readonly iss: string;
  /** The namespace of the account (tokens of before issuers were URLs: their `iss`). */
  readonly namespace: string;
  /** The account's id. */
  readonly sub: string;
  /** The account's type: "user" or "service". */
  readonly type: string;
  /** The roles it held when the token was issued. */
  readonly scopes: readonly string[];
  /** Unix seconds: when it was issued. */
  readonly iat: number;
  /** Unix seconds: when it expires. */
  readonly exp: number;
  /** The token's own id. */
  readonly jti: string;
  /** The public handle of the login session it was minted from (absent for client credentials). */
  readonly sid?: string;
  readonly [claim: string]: unknown;
}

/** The account of verified claims as rule evaluation sees it: `{ namespace, scopes }`. */
export function subjectOf(claims: Claims): Subject {
  return { namespace: claims.namespace, scopes: new Set(claims.scopes) };
}

/**
 * The part of WebCrypto's `SubtleCrypto` the verifier uses: `globalThis.crypto.subtle`, or
 * any object with these two methods. Its keys are opaque here.
 */
export interface SubtleLike {
  importKey(
    format: "jwk",
    keyData: object,
    algorithm: { name: string },
    extractable: boolean,
    keyUsages: readonly string[],
  ): Promise<unknown>;
  verify(
    algorithm: { name: string; hash?: string },
    key: unknown,
    signature: ArrayBufferView | ArrayBuffer,
    data: ArrayBufferView | ArrayBuffer,
  ): Promise<boolean>;
}

export interface TokenVerifierOptions {
  /** The server's base URL, as for `UserService` (default `$MICRO_USER_ADDRESS`, else localhost:8080). */
  address?: string | undefined;
  /** How long fetched keys are trusted (default 300000, 5 minutes). A token naming a key not seen yet makes them be fetched again sooner (at most once per 10 s per key id). */
  jwksTtlMs?: number | undefined;
  /** The clock, in milliseconds since 1970 (default `Date.now`): expiry and caching follow it. */
  now?: (() => number) | undefined;
  /** Timeout of a key fetch (default 10000). */
  timeoutMs?: number | undefined;
  /** Used instead of the global `fetch`. */
  fetch?: FetchLike | undefined;
  /** Added to every key fetch. No API key is sent: the keys are public. */
  headers?: Record<string, string> | undefined;
  /** WebCrypto to verify with (default `globalThis.crypto.subtle`); on Node 18 pass `(await import("node:crypto")).webcrypto.subtle`. */
  subtle?: SubtleLike | undefined;
}

/** One usable key of the JWKS: its algorithm, and its public part only. */
interface Key {
  readonly algorithm: SigningAlgorithm;
  readonly jwk: JsonWebKey;
  imported?: Promise<unknown> | undefined;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });
const ascii = new TextEncoder();
const BASE64URL = /^[A-Za-z0-9_-]*$/;

function base64urlDecode(text: string): Uint8Array | null {
  if (!BASE64URL.test(text) || text.length % 4 === 1) return null;
  const padded = text.replace(/-/g, "+").replace(/_/g, "/") + "==".slice(0, (4 - (text.length % 4)) % 4);
  const binary = atob(padded);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  // Only the one (canonical) spelling of these bytes: no spare bits set in the last character.
  if (base64urlEncode(bytes) !== text) return null;
  return bytes;
}

function base64urlEncode(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** The JSON object a token part encodes, or null. */
function jsonPart(text: string): Record<string, unknown> | null {
  const bytes = base64urlDecode(text);
  if (bytes === null) return null;
  try {
    const value: unknown = JSON.parse(utf8.decode(bytes));
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

function isAlgorithm(value: unknown): value is SigningAlgorithm {
  return value === "EdDSA" || value === "ES256" || value === "RS256";
}

function isBase64url(value: unknown): value is string {
  return typeof value === "string" && value.length > 0 && BASE64URL.test(value);
}

/**
 * The usable public keys of a JWKS document, by key id. Keys for other uses or algorithms,
 * or whose shape does not fit their algorithm, are left out; private members are never kept.
 */
function keysOf(body: Body): Map<string, Key> {
  const entries = body["keys"];
  if (!Array.isArray(entries)) throw new ShapeError("'keys' is not a list: not a JWKS");
  const keys = new Map<string, Key>();
  for (const entry of entries) {
    if (typeof entry !== "object" || entry === null) continue;
    const jwk = entry as Record<string, unknown>;
    const { kid, alg, kty, crv, x, y, n, e } = jwk;
    if (typeof kid !== "string" || !kid || !isAlgorithm(alg)) continue;
    if ((jwk["use"] ?? "sig") !== "sig") continue;
    let publicJwk: JsonWebKey;
    if (alg === "EdDSA" && kty === "OKP" && crv === "Ed25519" && isBase64url(x)) {
      publicJwk = { kty, crv, x };
    } else if (alg === "ES256" && kty === "EC" && crv === "P-256" && isBase64url(x) && isBase64url(y)) {
      publicJwk = { kty, crv, x, y };
    } else if (alg === "RS256" && kty === "RSA" && isBase64url(n) && isBase64url(e)) {
      if ((base64urlDecode(n)?.length ?? 0) * 8 < MIN_RSA_BITS) continue;
      publicJwk = { kty, n, e };
    } else {
      continue;
    }
    keys.set(kid, { algorithm: alg, jwk: publicJwk });
  }
  return keys;
}

const IMPORT: Record<SigningAlgorithm, { name: string; namedCurve?: string; hash?: string }> = {
  EdDSA: { name: "Ed25519" },
  ES256: { name: "ECDSA", namedCurve: "P-256" },
  RS256: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
};
const VERIFY: Record<SigningAlgorithm, { name: string; hash?: string }> = {
  EdDSA: { name: "Ed25519" },
  ES256: { name: "ECDSA", hash: "SHA-256" },
  RS256: { name: "RSASSA-PKCS1-v1_5" },
};
/** The signature's length where it is fixed: EdDSA and ES256 (raw r || s, as JWS writes it). */
const SIGNATURE_LENGTH: Partial<Record<SigningAlgorithm, number>> = { EdDSA: 64, ES256: 64 };

function defaultSubtle(): SubtleLike | undefined {
  const crypto = (globalThis as { crypto?: { subtle?: SubtleLike } }).crypto;
  return crypto?.subtle;
}

/**
 * Checks micro-user's access tokens without asking micro-user: the signature against the
 * server's published keys, then the expiry.
 *
 * ```js
 * const verifier = new TokenVerifier({ address: "http://localhost:8080" });
 * const claims = await verifier.verify(accessToken); // { iss, sub, type, scopes, exp, ... }
 * ```
 *
 * `verify` rejects with {@link InvalidTokenError} (a 401 `MicroUserError`) for a token that
 * is not valid, and with a `TransportError` or `MicroUserError` when the keys could never
 * be fetched. Keys are cached for `jwksTtlMs`, fetched again when a token names a key id
 * not seen yet (after a rotation; at most once per 10 s per id), and when a refresh fails
 * the last good keys are kept.
 *
 * Revocations are learnt from the server: for each issuer it sees, the verifier fetches
 * `/.well-known/revocations?iss=<issuer>` (token ids, session handles and deleted accounts
 * whose tokens are revoked), keeps it for its `Cache-Control` max-age (at least 1 s; 5 s
 * when it has none), one fetch at a time, keeping the last good document when a refresh
 * fails, and refuses the tokens it lists (`InvalidTokenError`, "token revoked"). A token
 * revoked at the server can still pass here for up to that max-age plus the server's own
 * refresh interval.
 */
export class TokenVerifier {
  /** The base URL the keys come from (without a trailing slash). */
  readonly address: string;
  readonly #transport: Transport;
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #subtle: SubtleLike;
  #keys: Map<string, Key> | null = null;
  #fetchedAt = -Infinity;
  #attemptedAt = -Infinity;
  #fetching: Promise<void> | null = null;
  readonly #tried = new Map<string, number>();
  #revocations = new Map<string, IssuerRevocations>();
  #warnedNoRevocations = false;

  constructor(options: TokenVerifierOptions = {}) {
    this.#transport = new Transport(
      {
        address: options.address,
        timeoutMs: options.timeoutMs,
        fetch: options.fetch,
        headers: options.headers,
      },
      true,
    );
    this.address = this.#transport.address;
    const ttl = options.jwksTtlMs ?? DEFAULT_JWKS_TTL_MS;
    if (typeof ttl !== "number" || Number.isNaN(ttl) || ttl < 0) {
      throw new RangeError(`jwksTtlMs must be a number of milliseconds >= 0, not ${String(ttl)}`);
    }
    this.#ttlMs = ttl;
    if (options.now !== undefined && typeof options.now !== "function") {
      throw new TypeError("now must be a function returning milliseconds");
    }
    this.#now = options.now ?? Date.now;
    const subtle = options.subtle ?? defaultSubtle();
    if (subtle === undefined) {
      throw new TypeError(
        "no WebCrypto here (globalThis.crypto.subtle): use Node 19+ or a browser, or pass " +
          'the subtle option (on Node 18: (await import("node:crypto")).webcrypto.subtle)',
      );
    }
    this.#subtle = subtle;
  }

  /** The claims of a valid access token; rejects with {@link InvalidTokenError} otherwise. */
  async verify(token: string): Promise<Claims> {
    if (typeof token !== "string" || token.length > MAX_TOKEN_LENGTH) {
      throw new InvalidTokenError("malformed token");
    }
    const parts = token.split(".");
    if (parts.length !== 3) throw new InvalidTokenError("malformed token: not a JWT");
    const [encodedHeader, encodedPayload, encodedSignature] = parts as [string, string, string];
    const header = jsonPart(encodedHeader);
    if (header === null) throw new InvalidTokenError("malformed token header");
    const { alg, kid } = header;
    if (!isAlgorithm(alg)) {
      throw new InvalidTokenError(
        `token algorithm ${JSON.stringify(alg)} not accepted (only ${ALGORITHMS.join(", ")})`,
      );
    }
    if (header["crit"] !== undefined) {
      throw new InvalidTokenError("token with critical header extensions");
    }
    if (typeof kid !== "string" || !kid) throw new InvalidTokenError("token without a key id");

    const key = await this.#key(kid);
    if (key === undefined) throw new InvalidTokenError("token signed by an unknown key");
    // The key decides the algorithm: a token cannot choose "none" or another family.
    if (alg !== key.algorithm) {
      throw new InvalidTokenError("token algorithm does not match its key");
    }
    const signature = base64urlDecode(encodedSignature);
    const length = SIGNATURE_LENGTH[alg];
    if (signature === null || (length !== undefined && signature.length !== length)) {
      throw new InvalidTokenError("malformed token signature");
    }
    const signed = ascii.encode(`${encodedHeader}.${encodedPayload}`);
    const cryptoKey = await this.#import(kid, key);
    let valid: boolean;
    try {
      valid = await this.#subtle.verify(VERIFY[alg], cryptoKey, signature, signed);
    } catch {
      valid = false; // a signature WebCrypto cannot even read
    }
    if (!valid) throw new InvalidTokenError("invalid token signature");

    const payload = jsonPart(encodedPayload);
    if (payload === null) throw new InvalidTokenError("malformed token claims");
    const claims = claimsOf(payload, this.#now() / 1000);
    const revoked = await this.#revocationsOf(claims.iss);
    if (isRevoked(revoked, claims)) throw new InvalidTokenError("token revoked");
    return claims;
  }

  /**
   * The revocations of `issuer`: fetched (and waited for) when there are none or they are
   * older than their max-age, at most once a second, one fetch at a time: while a fetch is
   * under way, a caller with a list uses it. A failed refresh keeps the last good list;
   * with none, it rejects with the fetch's error.
   */
  async #revocationsOf(issuer: string): Promise<Revocations> {
    let state = this.#revocations.get(issuer);
    if (state === undefined) {
      // Only signed tokens name issuers, so this takes many namespaces: start afresh.
      if (this.#revocations.size >= ISSUERS_LIMIT) this.#revocations = new Map();
      state = { list: null, fetchedAt: -Infinity, attemptedAt: -Infinity, fetching: null };
      this.#revocations.set(issuer, state);
    }
    const now = this.#now();
    const stale = state.list === null || now - state.fetchedAt >= state.list.ttlMs;
    if (!stale) return state.list as Revocations;
    if (state.fetching === null) {
      if (state.list !== null && now - state.attemptedAt < MIN_FETCH_INTERVAL_MS) return state.list;
      state.attemptedAt = now;
      const current = state;
      current.fetching = this.#fetchRevocations(issuer)
        .then((list) => {
          current.list = list;
          current.fetchedAt = now;
        })
        .finally(() => {
          current.fetching = null;
        });
    } else if (state.list !== null) {
      return state.list;
    }
    try {
      await state.fetching;
    } catch (error) {
      if (state.list === null) throw error;
    }
    return state.list as unknown as Revocations;
  }

  async #fetchRevocations(issuer: string): Promise<Revocations> {
    const path = `${REVOCATIONS_PATH}?iss=${encodeURIComponent(issuer)}`;
    try {
      return await this.#transport.get(path, (body, response) => revocationsOf(body, issuer, response), {}, true);
    } catch (error) {
      // A server older than this SDK publishes none: it revokes nothing (said once).
      if (error instanceof MicroUserError && error.code === 404) {
        if (!this.#warnedNoRevocations) {
          this.#warnedNoRevocations = true;
          console.warn(
            `micro-user: ${this.address}${path} answered 404: this server publishes no revocations, ` +
              "so revoked access tokens pass until they expire",
          );
        }
        return { jti: new Set(), sid: new Set(), sub: new Set(), ttlMs: DEFAULT_REVOCATIONS_TTL_MS };
      }
      throw error;
    }
  }

  /**
   * Fetch the server's keys now (at start, say, to fail early). Rejects when they cannot be
   * fetched (the keys there were are kept).
   */
  async refresh(): Promise<void> {
    const failure = await this.#refresh(true);
    if (failure !== null) throw failure;
  }

  /** The key with this id, fetching the keys when they are stale or the id is new. */
  async #key(kid: string): Promise<Key | undefined> {
    if (this.#keys === null || this.#now() - this.#fetchedAt >= this.#ttlMs) {
      const failure = await this.#refresh();
      // With no keys at all there is nothing to decide with: say why.
      if (failure !== null && this.#keys === null) throw failure;
    }
    let found = this.#keys?.get(kid);
    if (found === undefined && this.#mayRefetch(kid)) {
      await this.#refresh();
      found = this.#keys?.get(kid);
    }
    return found;
  }

  #mayRefetch(kid: string): boolean {
    const now = this.#now();
    if (now - (this.#tried.get(kid) ?? -Infinity) < UNKNOWN_KID_INTERVAL_MS) return false;
    if (now - this.#attemptedAt < Math.min(MIN_FETCH_INTERVAL_MS, this.#ttlMs)) return false;
    if (this.#tried.size >= TRIED_KIDS_LIMIT) {
      for (const [id, at] of this.#tried) {
        if (now - at >= UNKNOWN_KID_INTERVAL_MS) this.#tried.delete(id);
      }
      if (this.#tried.size >= TRIED_KIDS_LIMIT) this.#tried.clear();
    }
    this.#tried.set(kid, now);
    return true;
  }

  /**
   * Fetch the keys, or join the fetch under way (one for every caller, so it takes no
   * caller's signal: `timeoutMs` bounds it); unless `force`, at most one attempt per second
   * while there are keys. A failure keeps the keys there are, and is returned.
   */
  async #refresh(force = false): Promise<unknown> {
    if (this.#fetching === null) {
      const now = this.#now();
      const interval = Math.min(MIN_FETCH_INTERVAL_MS, this.#ttlMs);
      if (!force && this.#keys !== null && now - this.#attemptedAt < interval) return null;
      this.#attemptedAt = now;
      this.#fetching = this.#transport
        .get(JWKS_PATH, keysOf, {}, true)
        .then((keys) => {
          this.#keys = mergeImported(keys, this.#keys);
          this.#fetchedAt = now;
        })
        .finally(() => {
          this.#fetching = null;
        });
    }
    try {
      await this.#fetching;
      return null;
    } catch (error) {
      return error;
    }
  }

  /** The CryptoKey of a JWKS key, imported once. */
  #import(kid: string, key: Key): Promise<unknown> {
    key.imported ??= this.#subtle
      .importKey("jwk", key.jwk, IMPORT[key.algorithm], false, ["verify"])
      .catch((error: unknown) => {
        key.imported = undefined;
        throw importError(kid, key.algorithm, error);
      });
    return key.imported;
  }
}

/** The revocations document of one issuer, read. */
interface Revocations {
  readonly jti: ReadonlySet<string>;
  readonly sid: ReadonlySet<string>;
  readonly sub: ReadonlySet<string>;
  /** Its max-age. */
  readonly ttlMs: number;
}

interface IssuerRevocations {
  list: Revocations | null;
  fetchedAt: number;
  attemptedAt: number;
  fetching: Promise<void> | null;
}

function isRevoked(list: Revocations, claims: Claims): boolean {
  const listed = (set: ReadonlySet<string>, value: unknown): boolean =>
    typeof value === "string" && value !== "" && set.has(value);
  return listed(list.jti, claims.jti) || listed(list.sid, claims["sid"]) || listed(list.sub, claims.sub);
}

/** The max-age of a `Cache-Control` value, in ms: at least 1 s; 5 s when there is none. */
export function maxAgeMs(cacheControl: string | null | undefined): number {
  for (const directive of (cacheControl ?? "").split(",")) {
    const [name, value] = directive.trim().split("=", 2);
    if (name?.toLowerCase() !== "max-age") continue;
    const seconds = /^"?(\d+)"?$/.exec(value ?? "")?.[1];
    if (seconds === undefined) break;
    return Math.max(Number(seconds) * 1000, MIN_FETCH_INTERVAL_MS);
  }
  return DEFAULT_REVOCATIONS_TTL_MS;
}

function revocationsOf(body: Body, issuer: string, response: FetchResponse): Revocations {
  if (typeof body["iss"] !== "string") throw new ShapeError("no 'iss': not a revocations document");
  if (body["iss"] !== issuer) {
    throw new ShapeError(`the revocations of ${JSON.stringify(body["iss"])}, not of ${JSON.stringify(issuer)}`);
  }
  const set = (name: string): Set<string> => {
    const list = body[name] ?? [];
    if (!Array.isArray(list)) throw new ShapeError(`'${name}' is not a list: not a revocations document`);
    return new Set(list.filter((item): item is string => typeof item === "string"));
  };
  return {
    jti: set("jti"),
    sid: set("sid"),
    sub: set("sub"),
    ttlMs: maxAgeMs(response.headers?.get("cache-control")),
  };
}

/** New keys, keeping the imported form of those that did not change. */
function mergeImported(fresh: Map<string, Key>, old: Map<string, Key> | null): Map<string, Key> {
  if (old === null) return fresh;
  for (const [kid, key] of fresh) {
    const before = old.get(kid);
    if (
      before?.imported !== undefined &&
      before.algorithm === key.algorithm &&
      JSON.stringify(before.jwk) === JSON.stringify(key.jwk)
    ) {
      key.imported = before.imported;
    }
  }
  return fresh;
}

function importError(kid: string, algorithm: SigningAlgorithm, error: unknown): Error {
  const name = error instanceof Error ? error.name : "";
  const message = error instanceof Error ? error.message : String(error);
  if (name === "NotSupportedError" || /unrecognized|not supported|unsupported/i.test(message)) {
    const what = algorithm === "EdDSA" ? "EdDSA (Ed25519)" : algorithm;
    return new Error(
      `this runtime's WebCrypto cannot verify ${what} signatures (${message}): use a runtime ` +
        "that can (Node 18.4+, Chrome 137+, Firefox 129+, Safari 17+), pass one as the subtle " +
        "option, or have micro-user sign with another algorithm (MICRO_USER_JWT_ALGORITHM=ES256)",
      { cause: error },
    );
  }
  return new InvalidTokenError(`the server's key ${JSON.stringify(kid)} cannot be used (${message})`);
}

/** The claims of a verified payload, unless they expired or lack a subject or issuer. */
function claimsOf(payload: Record<string, unknown>, now: number): Claims {
  const { exp, nbf, iss, sub, scopes } = payload;
  if (typeof exp !== "number" || !Number.isInteger(exp)) {
    throw new InvalidTokenError("token without expiry");
  }
  if (exp <= now) throw new InvalidTokenError("token expired");
  if (nbf !== undefined && (typeof nbf !== "number" || nbf > now)) {
    throw new InvalidTokenError("token not valid yet");
  }
  if (typeof sub !== "string" || !sub || typeof iss !== "string" || !iss) {
    throw new InvalidTokenError("token without subject or issuer");
  }
  const type = payload["type"];
  const iat = payload["iat"];
  const jti = payload["jti"];
  const namespace = payload["namespace"];
  return {
    ...payload,
    iss,
    namespace: typeof namespace === "string" && namespace ? namespace : iss,
    sub,
    type: typeof type === "string" ? type : "",
    scopes: Array.isArray(scopes)
      ? scopes.filter((scope): scope is string => typeof scope === "string")
      : [],
    iat: typeof iat === "number" ? iat : 0,
    exp,
    jti: typeof jti === "string" ? jti : "",
  };
}
