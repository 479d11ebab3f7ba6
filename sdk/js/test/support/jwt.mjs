// Signing keys and tokens made here, with WebCrypto, to test TokenVerifier without a server:
// keys of each algorithm micro-user uses, a JWKS of them, and JWTs signed (or forged) at will.

import { createHmac, webcrypto } from "node:crypto";

const { subtle } = webcrypto;

export const b64url = (bytes) => Buffer.from(bytes).toString("base64url");
export const b64json = (value) => b64url(Buffer.from(JSON.stringify(value)));
export const fromB64url = (text) => Buffer.from(text, "base64url");

const PARAMS = {
  EdDSA: { generate: { name: "Ed25519" }, sign: { name: "Ed25519" } },
  ES256: { generate: { name: "ECDSA", namedCurve: "P-256" }, sign: { name: "ECDSA", hash: "SHA-256" } },
  RS256: {
    generate: { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
    sign: { name: "RSASSA-PKCS1-v1_5" },
  },
};

/** A new key pair: { kid, alg, jwk (public, as micro-user publishes it), sign(claims, header) }. */
export async function makeKey(alg, kid = `${alg.toLowerCase()}-${Math.random().toString(16).slice(2, 10)}`) {
  const pair = await subtle.generateKey(PARAMS[alg].generate, true, ["sign", "verify"]);
  const exported = await subtle.exportKey("jwk", pair.publicKey);
  const { key_ops: _ops, ext: _ext, alg: _alg, ...bare } = exported;
  const jwk = { ...bare, kid, alg, use: "sig" };
  const signBytes = async (bytes) => new Uint8Array(await subtle.sign(PARAMS[alg].sign, pair.privateKey, bytes));
  return {
    kid,
    alg,
    jwk,
    signBytes,
    /** A JWT of these claims, signed with this key; `header` adds to or overrides the header. */
    async sign(claims, header = {}) {
      const input = `${b64json({ typ: "JWT", alg, kid, ...header })}.${b64json(claims)}`;
      return `${input}.${b64url(await signBytes(Buffer.from(input)))}`;
    },
  };
}

/** Claims as micro-user writes them, valid for 900 s from `nowSeconds`. */
export function claimsAt(nowSeconds, extra = {}) {
  return {
    iss: "micro",
    sub: "svc-test",
    type: "service",
    scopes: ["reader"],
    scope: "reader",
    iat: nowSeconds,
    exp: nowSeconds + 900,
    jti: "0123456789abcdef",
    ...extra,
  };
}

/** A JWT with any header and claims, and an HMAC-SHA256 "signature" under `secret`. */
export function hmacToken(header, claims, secret) {
  const input = `${b64json(header)}.${b64json(claims)}`;
  return `${input}.${createHmac("sha256", secret).update(input).digest("base64url")}`;
}

/**
 * A stand-in server for the JWKS and the revocations: `keys` is what it publishes now
 * (change it at will); `requests` counts and records what was asked of the JWKS.
 * `/.well-known/revocations?iss=` answers `revoked[iss]` (`{jti, sid, sub}` lists, none by
 * default) with `cacheControl` (`null`: no header); `revocationRequests` records those
 * requests; `noRevocations` makes it answer 404 there, as a server older than the SDK.
 */
export function jwksServer(keys = []) {
  const state = {
    keys,
    requests: [],
    fail: false,
    revoked: {},
    cacheControl: "public, max-age=5",
    noRevocations: false,
    revocationRequests: [],
  };
  state.fetch = async (url, init) => {
    const parsed = new URL(url);
    if (parsed.pathname === "/.well-known/revocations") {
      state.revocationRequests.push({ url, ...init });
      if (state.fail) throw new TypeError("fetch failed");
      if (state.noRevocations) {
        return new Response('{"id": "not-found", "code": 404, "detail": "no such page", "status": "Not Found"}', { status: 404 });
      }
      const iss = parsed.searchParams.get("iss");
      const lists = state.revoked[iss] ?? {};
      const headers = state.cacheControl === null ? {} : { "cache-control": state.cacheControl };
      const body = { iss, jti: lists.jti ?? [], sid: lists.sid ?? [], sub: lists.sub ?? [] };
      return new Response(JSON.stringify(body), { status: 200, headers });
    }
    state.requests.push({ url, ...init });
    if (state.fail) throw new TypeError("fetch failed");
    return new Response(JSON.stringify({ keys: state.keys.map((key) => key.jwk ?? key) }), { status: 200 });
  };
  return state;
}
