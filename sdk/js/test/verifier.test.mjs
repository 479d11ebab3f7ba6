// TokenVerifier: tokens checked locally with WebCrypto. First with keys made here (each
// algorithm, forgeries, expiry on a fake clock, key fetching and its limits), then against
// a live server: its real tokens, key rotations across algorithms, and RuleSet decisions
// agreeing with the server's own.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";

import {
  AuthService,
  BUILTIN_RULES,
  InvalidTokenError,
  MicroUserError,
  RuleSet,
  TokenVerifier,
  TransportError,
  UserService,
  parseResource,
  subjectOf,
} from "../dist/index.js";
import { b64json, b64url, claimsAt, fromB64url, hmacToken, jwksServer, makeKey } from "./support/jwt.mjs";
import { freePort, startServer, unique } from "./support/server.mjs";

const T0 = 1_800_000_000; // unix seconds of the fake clock's start

/** A fake clock in milliseconds: read it with `now`, move it with `advance(ms)`. */
function clock(startSeconds = T0) {
  let ms = startSeconds * 1000;
  return { now: () => ms, advance: (by) => (ms += by), set: (seconds) => (ms = seconds * 1000) };
}

/** The InvalidTokenError a verification rejects with, its detail matching `pattern`. */
async function refused(promise, pattern) {
  const error = await promise.then(
    () => assert.fail("the token was accepted"),
    (e) => e,
  );
  assert.ok(error instanceof InvalidTokenError, `not an InvalidTokenError: ${error?.stack ?? error}`);
  assert.ok(error instanceof MicroUserError);
  assert.deepEqual([error.id, error.code, error.status], ["auth", 401, "Unauthorized"]);
  assert.match(error.detail, pattern);
  return error;
}

describe("TokenVerifier with keys made here", () => {
  const keys = {};
  before(async () => {
    for (const alg of ["EdDSA", "ES256", "RS256"]) keys[alg] = await makeKey(alg);
  });

  function setUp(published = Object.values(keys), options = {}) {
    const server = jwksServer(published);
    const time = clock();
    const verifier = new TokenVerifier({ address: "http://micro-user.test", fetch: server.fetch, now: time.now, ...options });
    return { server, time, verifier };
  }

  for (const alg of ["EdDSA", "ES256", "RS256"]) {
    it(`verifies ${alg} tokens, and their claims`, async () => {
      const { server, verifier } = setUp();
      // As micro-user issues them: iss the namespace's issuer URL, namespace its own claim.
      const made = claimsAt(T0, { iss: "http://micro-user.test/namespaces/shop", namespace: "shop", extra: { kept: true } });
      const claims = await verifier.verify(await keys[alg].sign(made));
      assert.deepEqual(claims, made);
      assert.deepEqual(subjectOf(claims), { namespace: "shop", scopes: new Set(["reader"]) });
      // A token of before issuers were URLs: its iss is the namespace.
      const old = await verifier.verify(await keys[alg].sign(claimsAt(T0)));
      assert.deepEqual([old.iss, old.namespace, subjectOf(old).namespace], ["micro", "micro", "micro"]);
      // One GET of the JWKS, public: no body, no key.
      assert.equal(server.requests.length, 1);
      const [request] = server.requests;
      assert.equal(request.url, "http://micro-user.test/.well-known/jwks.json");
      assert.equal(request.method, "GET");
      assert.equal(request.body, undefined);
      assert.equal(request.headers.authorization, undefined);
      assert.equal(request.cache, "no-cache");
      // Later tokens use the cached keys.
      await verifier.verify(await keys[alg].sign(claimsAt(T0, { sub: "other" })));
      assert.equal(server.requests.length, 1);
    });
  }

  it("refuses a token whose claims or signature were changed", async () => {
    const { verifier } = setUp();
    for (const key of Object.values(keys)) {
      const token = await key.sign(claimsAt(T0));
      const [header, payload, signature] = token.split(".");
      const forged = b64json({ ...claimsAt(T0), scopes: ["admin"] });
      await refused(verifier.verify(`${header}.${forged}.${signature}`), /invalid token signature/);
      const bytes = fromB64url(signature);
      bytes[5] ^= 1;
      await refused(verifier.verify(`${header}.${payload}.${b64url(bytes)}`), /invalid token signature/);
      // Another key of the same algorithm signed it, under this key's id.
      const impostor = await makeKey(key.alg, key.kid);
      await refused(verifier.verify(await impostor.sign(claimsAt(T0))), /invalid token signature/);
      await refused(verifier.verify(`${header}.${payload}.`), /malformed token signature|invalid token signature/);
    }
  });

  it("lets the key decide the algorithm: none, HMAC and mismatches are refused", async () => {
    const { verifier } = setUp();
    const claims = claimsAt(T0);
    const { kid } = keys.EdDSA;
    await refused(verifier.verify(`${b64json({ alg: "none", kid })}.${b64json(claims)}.`), /algorithm "none" not accepted/);
    await refused(verifier.verify(`${b64json({ kid })}.${b64json(claims)}.`), /algorithm undefined not accepted/);
    // The classic confusion: HMAC with the public key as the secret.
    for (const secret of [JSON.stringify(keys.EdDSA.jwk), fromB64url(keys.EdDSA.jwk.x)]) {
      await refused(verifier.verify(hmacToken({ alg: "HS256", kid }, claims, secret)), /"HS256" not accepted/);
    }
    // A token claiming ES256 under the EdDSA key, signed by an ES256 key.
    await refused(verifier.verify(await keys.ES256.sign(claims, { kid })), /does not match its key/);
    await refused(verifier.verify(await keys.EdDSA.sign(claims, { alg: "ES256" })), /does not match its key/);
  });

  it("refuses malformed tokens", async () => {
    const { verifier } = setUp();
    const good = await keys.EdDSA.sign(claimsAt(T0));
    const [header, payload, signature] = good.split(".");
    const cases = [
      ["", /not a JWT/],
      ["abc", /not a JWT/],
      [`${header}.${payload}`, /not a JWT/],
      [`${good}.x`, /not a JWT/],
      [`!!.${payload}.${signature}`, /malformed token header/],
      [`${b64url(Buffer.from("not json"))}.${payload}.${signature}`, /malformed token header/],
      [`${b64json(["EdDSA"])}.${payload}.${signature}`, /malformed token header/],
      [`${header}=.${payload}.${signature}`, /malformed token header/],
      [`${header}.${payload}.${signature}=`, /malformed token signature/],
      [`${b64json({ alg: "EdDSA" })}.${payload}.${signature}`, /without a key id/],
      [`${b64json({ alg: "EdDSA", kid: 7 })}.${payload}.${signature}`, /without a key id/],
      [`${b64json({ alg: "EdDSA", kid: keys.EdDSA.kid, crit: ["exp"] })}.${payload}.${signature}`, /critical/],
      ["x".repeat(70_000), /malformed token/],
    ];
    for (const [token, pattern] of cases) await refused(verifier.verify(token), pattern);
    await refused(verifier.verify(undefined), /malformed token/);
    // Signed, but its claims are not a JSON object.
    const input = `${header}.${b64url(Buffer.from("[1]"))}`;
    const signed = `${input}.${b64url(await keys.EdDSA.signBytes(Buffer.from(input)))}`;
    await refused(verifier.verify(signed), /malformed token claims/);
  });

  it("checks the expiry (and not-before) on its clock; subject and issuer are required", async () => {
    const { time, verifier } = setUp();
    const token = await keys.EdDSA.sign(claimsAt(T0));
    await verifier.verify(token);
    time.set(T0 + 900 - 0.001);
    await verifier.verify(token);
    time.set(T0 + 900); // the server's rule: expired once exp <= now
    await refused(verifier.verify(token), /token expired/);
    time.set(T0);
    await refused(verifier.verify(await keys.EdDSA.sign(claimsAt(T0, { nbf: T0 + 60 }))), /not valid yet/);
    await verifier.verify(await keys.EdDSA.sign(claimsAt(T0, { nbf: T0 })));
    await refused(verifier.verify(await keys.EdDSA.sign(claimsAt(T0, { exp: undefined }))), /without expiry/);
    await refused(verifier.verify(await keys.EdDSA.sign(claimsAt(T0, { exp: `${T0 + 900}` }))), /without expiry/);
    await refused(verifier.verify(await keys.EdDSA.sign(claimsAt(T0, { sub: "" }))), /subject or issuer/);
    await refused(verifier.verify(await keys.EdDSA.sign(claimsAt(T0, { iss: undefined }))), /subject or issuer/);
    const odd = await verifier.verify(await keys.EdDSA.sign(claimsAt(T0, { scopes: ["a", 1, null], type: 3, jti: undefined })));
    assert.deepEqual([odd.scopes, odd.type, odd.jti], [["a"], "", ""]);
  });

  it("fetches the keys again for an unknown key id, at most once per 10 s per id and once a second", async () => {
    const { server, time, verifier } = setUp([keys.EdDSA]);
    await verifier.verify(await keys.EdDSA.sign(claimsAt(T0)));
    assert.equal(server.requests.length, 1);

    // A rotation: the server publishes a new key, and signs with it.
    server.keys = [keys.EdDSA, keys.ES256];
    time.advance(1000);
    await verifier.verify(await keys.ES256.sign(claimsAt(T0)));
    assert.equal(server.requests.length, 2, "the new key id made the keys be fetched again");

    // Unknown ids: fetched for the first, not again within a second, nor for it within 10 s.
    const stranger = await makeKey("EdDSA", "unknown-1");
    const other = await makeKey("EdDSA", "unknown-2");
    time.advance(1000);
    await refused(verifier.verify(await stranger.sign(claimsAt(T0))), /unknown key/);
    assert.equal(server.requests.length, 3);
    await refused(verifier.verify(await stranger.sign(claimsAt(T0))), /unknown key/);
    await refused(verifier.verify(await other.sign(claimsAt(T0))), /unknown key/);
    assert.equal(server.requests.length, 3);
    time.advance(1000);
    await refused(verifier.verify(await other.sign(claimsAt(T0))), /unknown key/);
    await refused(verifier.verify(await stranger.sign(claimsAt(T0))), /unknown key/);
    assert.equal(server.requests.length, 4);
    time.advance(9000);
    server.keys = [keys.EdDSA, stranger];
    await verifier.verify(await stranger.sign(claimsAt(T0)));
    assert.equal(server.requests.length, 5);
    // Known keys never cause a fetch before the keys' time is up.
    for (let i = 0; i < 5; i++) await verifier.verify(await keys.EdDSA.sign(claimsAt(T0)));
    assert.equal(server.requests.length, 5);
  });

  it("keeps keys for jwksTtlMs, and the last good ones when a refresh fails", async () => {
    const { server, time, verifier } = setUp([keys.EdDSA], { jwksTtlMs: 60_000 });
    const token = await keys.EdDSA.sign(claimsAt(T0));
    await verifier.verify(token);
    time.advance(59_999);
    await verifier.verify(token);
    assert.equal(server.requests.length, 1);
    time.advance(1);
    await verifier.verify(token);
    assert.equal(server.requests.length, 2);

    // The key is gone from the server: after the TTL, tokens it signed are refused.
    server.keys = [keys.ES256];
    time.advance(60_000);
    await refused(verifier.verify(token), /unknown key/);
    assert.equal(server.requests.length, 3);

    // It is back, a second later: the unknown key id makes the keys be fetched again.
    server.keys = [keys.EdDSA];
    time.advance(1000);
    await verifier.verify(token);
    assert.equal(server.requests.length, 4);

    // The server cannot be reached: the keys there are stay in use.
    server.fail = true;
    time.advance(60_000);
    await verifier.verify(token);
    assert.equal(server.requests.length, 5);
    await assert.rejects(verifier.refresh(), TransportError);
  });

  it("without any keys, says why: the server could not be asked", async () => {
    const address = `http://127.0.0.1:${await freePort()}`;
    const token = await keys.EdDSA.sign(claimsAt(T0));
    const closed = new TokenVerifier({ address, now: clock().now });
    const error = await closed.verify(token).catch((e) => e);
    assert.ok(error instanceof TransportError, String(error));
    assert.equal(error.url, `${address}/.well-known/jwks.json`);

    const answering = (status, body) => async () => new Response(body, { status });
    for (const [status, body, pattern] of [
      [200, "<html>", /unreadable answer/],
      [200, '{"keys": 1}', /not a JWKS/],
      [503, "", /Service Unavailable/],
    ]) {
      const verifier = new TokenVerifier({ fetch: answering(status, body), now: clock().now });
      const failure = await verifier.verify(token).catch((e) => e);
      assert.ok(failure instanceof MicroUserError && !(failure instanceof InvalidTokenError), String(failure));
      assert.match(failure.message, pattern);
    }
  });

  it("uses only the usable keys of the JWKS, and only their public part", async () => {
    const weak = await crypto.subtle.generateKey(
      { name: "RSASSA-PKCS1-v1_5", modulusLength: 1024, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
      true,
      ["sign", "verify"],
    );
    const weakJwk = { ...(await crypto.subtle.exportKey("jwk", weak.publicKey)), kid: "weak", alg: "RS256" };
    const published = [
      { ...keys.EdDSA.jwk, d: "AAAA" }, // a private member never reaches importKey
      { ...keys.ES256.jwk, use: "enc" },
      { ...keys.RS256.jwk, alg: "ES256" },
      weakJwk,
      "not a key",
      { kid: "x", alg: "HS256", kty: "oct", k: "c2VjcmV0" },
    ];
    const imported = [];
    const subtle = {
      importKey: (format, jwk, ...rest) => {
        imported.push(jwk);
        return crypto.subtle.importKey(format, jwk, ...rest);
      },
      verify: (...args) => crypto.subtle.verify(...args),
    };
    const { verifier } = setUp(published, { subtle });
    await verifier.verify(await keys.EdDSA.sign(claimsAt(T0)));
    assert.deepEqual(imported, [{ kty: "OKP", crv: "Ed25519", x: keys.EdDSA.jwk.x }]);
    await refused(verifier.verify(await keys.ES256.sign(claimsAt(T0))), /unknown key/);
    await refused(verifier.verify(await keys.RS256.sign(claimsAt(T0))), /unknown key/);
    await refused(verifier.verify(hmacToken({ alg: "HS256", kid: "x" }, claimsAt(T0), "secret")), /not accepted/);
    // Imported once, however many tokens.
    await verifier.verify(await keys.EdDSA.sign(claimsAt(T0, { sub: "again" })));
    assert.equal(imported.length, 1);
  });

  it("shares one fetch between tokens checked at once", async () => {
    const { server, verifier } = setUp();
    const tokens = await Promise.all(Object.values(keys).map((key) => key.sign(claimsAt(T0))));
    await Promise.all(tokens.map((token) => verifier.verify(token)));
    assert.equal(server.requests.length, 1);
  });

  it("says clearly when the runtime cannot verify an algorithm, or has no WebCrypto", async () => {
    const subtle = {
      importKey: async (format, jwk, algorithm, ...rest) => {
        if (algorithm.name === "Ed25519") throw new DOMException("Unrecognized algorithm name", "NotSupportedError");
        return crypto.subtle.importKey(format, jwk, algorithm, ...rest);
      },
      verify: (...args) => crypto.subtle.verify(...args),
    };
    const { verifier } = setUp(undefined, { subtle });
    const error = await verifier.verify(await keys.EdDSA.sign(claimsAt(T0))).catch((e) => e);
    assert.ok(!(error instanceof MicroUserError), String(error));
    assert.match(error.message, /cannot verify EdDSA \(Ed25519\) signatures/);
    assert.equal(error.cause.name, "NotSupportedError");
    await verifier.verify(await keys.ES256.sign(claimsAt(T0))); // the others still work

    const saved = Object.getOwnPropertyDescriptor(globalThis, "crypto");
    Object.defineProperty(globalThis, "crypto", { value: undefined, configurable: true });
    try {
      assert.throws(() => new TokenVerifier(), { name: "TypeError", message: /no WebCrypto here/ });
      new TokenVerifier({ subtle: saved.get ? saved.get.call(globalThis).subtle : saved.value.subtle });
    } finally {
      Object.defineProperty(globalThis, "crypto", saved);
    }
  });

  it("checks its options", () => {
    assert.throws(() => new TokenVerifier({ jwksTtlMs: -1 }), RangeError);
    assert.throws(() => new TokenVerifier({ timeoutMs: "1" }), RangeError);
    assert.throws(() => new TokenVerifier({ now: 5 }), TypeError);
    assert.equal(new TokenVerifier({ address: "http://a.test/x/" }).address, "http://a.test/x");
  });
});

/** The (unverified) header of a JWT. */
const headerOf = (token) => JSON.parse(fromB64url(token.split(".")[0]).toString());

describe("TokenVerifier against a live server", () => {
  let server;
  let auth;
  let robot;
  let role;
  before(async () => {
    server = await startServer();
    auth = new AuthService({ address: server.address, key: server.key });
    role = unique("reader");
    await auth.createRole({ name: role, description: "reads" });
    robot = await auth.generate({ name: "verifier test", scopes: [role] });
  });
  after(async () => {
    await server?.stop();
  });

  const newToken = async () => (await auth.token({ id: robot.id, secret: robot.secret })).accessToken;

  it("verifies a real token, as the server inspects it", async () => {
    const verifier = new TokenVerifier({ address: server.address });
    const token = await newToken();
    assert.equal(headerOf(token).alg, "EdDSA");
    const claims = await verifier.verify(token);
    assert.deepEqual([claims.namespace, claims.sub, claims.type, claims.scopes], ["micro", robot.id, "service", [role]]);
    assert.equal(claims.iss, server.address); // the default namespace's issuer: the public URL
    assert.equal(claims.exp - claims.iat, 900);
    assert.match(claims.jti, /^[0-9a-f]{32}$/);
    const inspected = await auth.inspect({ token });
    assert.deepEqual([inspected.issuer, inspected.id, inspected.type, inspected.scopes], [claims.namespace, claims.sub, claims.type, [...claims.scopes]]);

    // Expired, on a clock past its expiry.
    const late = new TokenVerifier({ address: server.address, now: () => claims.exp * 1000 });
    await refused(late.verify(token), /token expired/);
  });

  it("refuses forged real tokens: tampered, alg none, unknown key id", async () => {
    const verifier = new TokenVerifier({ address: server.address });
    const token = await newToken();
    const [header, payload, signature] = token.split(".");
    const claims = JSON.parse(fromB64url(payload).toString());
    const escalated = b64json({ ...claims, scopes: ["admin"] });
    await refused(verifier.verify(`${header}.${escalated}.${signature}`), /invalid token signature/);
    const { kid } = headerOf(token);
    await refused(verifier.verify(`${b64json({ alg: "none", kid, typ: "JWT" })}.${escalated}.`), /not accepted/);
    await refused(verifier.verify(`${b64json({ ...headerOf(token), kid: "no-such-key" })}.${payload}.${signature}`), /unknown key/);
    // The server agrees.
    await assert.rejects(auth.inspect({ token: `${header}.${escalated}.${signature}` }), { code: 401 });
  });

  it("after key rotations (to ES256, then RS256), new tokens verify by refetching, old ones still do", async () => {
    let fetches = 0;
    let ahead = 0; // milliseconds the verifier's clock runs ahead of the wall clock
    const verifier = new TokenVerifier({
      address: server.address,
      now: () => Date.now() + ahead,
      fetch: (url, init) => {
        if (new URL(url).pathname === "/.well-known/jwks.json") fetches++; // the keys, not the revocations
        return fetch(url, init);
      },
    });
    const tokens = [await newToken()];
    await verifier.verify(tokens[0]);
    assert.equal(fetches, 1);

    for (const algorithm of ["ES256", "RS256"]) {
      const before = headerOf(tokens.at(-1)).kid;
      await server.cli(["keys", "rotate", "--now"], { MICRO_USER_JWT_ALGORITHM: algorithm });
      // The server takes up the new key within MICRO_USER_AUTH_REFRESH_SECONDS (1 s).
      let token;
      for (let tries = 0; ; tries++) {
        token = await newToken();
        if (headerOf(token).kid !== before) break;
        assert.ok(tries < 100, "the server did not sign with the new key");
        await sleep(100);
      }
      assert.equal(headerOf(token).alg, algorithm);
      ahead += 1000; // the verifier fetches at most once a second
      const fetched = fetches;
      const claims = await verifier.verify(token);
      assert.equal(claims.sub, robot.id);
      assert.equal(fetches, fetched + 1, "the new key id made the keys be fetched again");
      tokens.push(token);
      // Every token so far still verifies, without another fetch.
      for (const old of tokens) await verifier.verify(old);
      assert.equal(fetches, fetched + 1);
    }
    assert.deepEqual(tokens.map((token) => headerOf(token).alg), ["EdDSA", "ES256", "RS256"]);
    // A new verifier gets every key in one go.
    const fresh = new TokenVerifier({ address: server.address });
    for (const token of tokens) await fresh.verify(token);
  });

  it("RuleSet decisions with the server's rules agree with the server's Verify", async () => {
    const other = unique("writer");
    await auth.createRole({ name: other });
    const scope = (id) => `${id}-${unique("")}`;
    const rules = [
      { id: scope("open"), scope: "", resource: "service:shop:Shop.Browse" },
      { id: scope("members"), scope: "*", resource: "service:shop:*", priority: 1 },
      { id: scope("no-admin-page"), scope: "*", resource: "api:shop:/admin/*", access: "DENIED", priority: 10 },
      { id: scope("readers"), scope: role, resource: "api:shop:/admin/reports/*", priority: 10 },
      { id: scope("writers"), scope: other, resource: "*:shop:Shop.Write", priority: 2 },
      { id: scope("nobody-writes"), scope: "+", resource: "service:shop:Shop.Write", access: "DENIED", priority: 2 },
      { id: scope("no-tokens"), scope: "", resource: "service:auth:Auth.Token", access: "DENIED", priority: -1 },
      { id: scope("no-inspect"), scope: "", resource: "service:auth:Auth.Inspect", access: "DENIED", priority: 0 },
    ];
    for (const rule of rules) await auth.createRule(rule);
    const ruleset = new RuleSet("micro", [...BUILTIN_RULES, ...(await auth.listRules())]);

    const writer = await auth.generate({ scopes: [other] });
    const plain = await auth.generate({});
    const verifier = new TokenVerifier({ address: server.address });
    const callers = [[null, undefined]];
    for (const account of [robot, writer, plain]) {
      const { accessToken } = await auth.token({ id: account.id, secret: account.secret });
      callers.push([subjectOf(await verifier.verify(accessToken)), accessToken]);
    }
    callers.push([{ namespace: "micro", scopes: ["admin"] }, server.key]); // the API key holds admin

    const resources = [
      "service:shop:Shop.Browse", "service:shop:Shop.Buy", "service:shop:Shop.Write", "api:shop:Shop.Write",
      "api:shop:/admin/users", "api:shop:/admin/reports/2024", "api:shop:/admin", "service:user:User.Read",
      "service:auth:Auth.Token", "service:auth:Auth.Inspect", "service:auth:Rules.Create", "api:other:/admin/x",
    ];
    let allowed = 0;
    let checked = 0;
    for (const [subject, token] of callers) {
      for (const text of resources) {
        const resource = parseResource(text);
        const answer = await auth.verify({ token, resource });
        const where = `${subject ? [...subject.scopes].join(",") || "an account" : "nobody"} on ${text}`;
        assert.equal(ruleset.allows(subject, resource), answer.allowed, where);
        allowed += answer.allowed ? 1 : 0;
        checked++;
      }
    }
    assert.ok(allowed > 10 && allowed < checked - 10, `${allowed} of ${checked} allowed: too one-sided to tell`);
  });

  it("after logout, the session's access token is refused within the revocations' max-age", async (t) => {
    const probe = await fetch(`${server.address}/.well-known/revocations?iss=micro`);
    await probe.text();
    if (probe.status === 404) {
      t.skip("this micro-user publishes no revocations");
      return;
    }
    const users = new UserService({ address: server.address, key: server.key });
    const name = unique("revoked");
    await users.create({ username: name, email: `${name}@example.com`, password: "correct horse battery" });
    const session = await users.login({ username: name, password: "correct horse battery" });
    const { accessToken } = await auth.token({ sessionId: session.id });
    const verifier = new TokenVerifier({ address: server.address });
    const claims = await verifier.verify(accessToken);
    assert.ok(typeof claims.sid === "string" && claims.sid !== "" && claims.sid !== session.id, `sid ${claims.sid}`);
    await users.logout({ sessionId: session.id });
    const deadline = Date.now() + 10_000;
    let outcome;
    for (;;) {
      outcome = await verifier.verify(accessToken).then(() => null, (error) => error);
      if (outcome !== null || Date.now() > deadline) break;
      await sleep(200);
    }
    assert.ok(outcome instanceof InvalidTokenError, `after logout: ${outcome}`);
    assert.match(outcome.detail, /token revoked/);
  });
});
