// Revocations learnt by TokenVerifier from the stand-in's /.well-known/revocations: tokens
// listed by jti, sid or sub are refused; the document is kept for its max-age, fetched
// one at a time per issuer, and the last good one is kept when a refresh fails.

import assert from "node:assert/strict";
import { before, describe, it } from "node:test";

import { DEFAULT_REVOCATIONS_TTL_MS, InvalidTokenError, MicroUserError, TokenVerifier, TransportError } from "../dist/index.js";
import { claimsAt, jwksServer, makeKey } from "./support/jwt.mjs";

const T0 = 1_800_000_000;

function clock(startSeconds = T0) {
  let ms = startSeconds * 1000;
  return { now: () => ms, advance: (by) => (ms += by) };
}

async function revoked(promise) {
  const error = await promise.then(
    () => assert.fail("the revoked token was accepted"),
    (e) => e,
  );
  assert.ok(error instanceof InvalidTokenError, String(error?.stack ?? error));
  assert.deepEqual([error.id, error.code], ["auth", 401]);
  assert.match(error.detail, /token revoked/);
}

describe("TokenVerifier learns revocations", () => {
  let key;
  before(async () => {
    key = await makeKey("EdDSA");
  });

  function setUp() {
    const server = jwksServer([key]);
    const time = clock();
    const verifier = new TokenVerifier({ address: "http://micro-user.test", fetch: server.fetch, now: time.now });
    return { server, time, verifier };
  }

  it("refuses tokens listed by jti, sid or sub, per issuer", async () => {
    const { server, time, verifier } = setUp();
    server.revoked.micro = { jti: ["jti-revoked"], sid: ["sid-revoked", ""], sub: ["deleted-account"] };
    await revoked(verifier.verify(await key.sign(claimsAt(T0, { jti: "jti-revoked", sid: "s1" }))));
    await revoked(verifier.verify(await key.sign(claimsAt(T0, { jti: "j2", sid: "sid-revoked" }))));
    await revoked(verifier.verify(await key.sign(claimsAt(T0, { jti: "j3", sub: "deleted-account" }))));
    const claims = await verifier.verify(await key.sign(claimsAt(T0, { jti: "j4", sid: "s4" })));
    assert.equal(claims.sid, "s4");
    // Client credentials carry no sid: an empty sid listed revokes nothing.
    await verifier.verify(await key.sign(claimsAt(T0, { jti: "j5" })));
    assert.equal(server.revocationRequests.length, 1);
    const [request] = server.revocationRequests;
    assert.equal(request.url, "http://micro-user.test/.well-known/revocations?iss=micro");
    assert.equal(request.method, "GET");
    assert.equal(request.headers.authorization, undefined);

    // Another issuer has its own document: micro's list does not revoke shop's tokens.
    const shop = await key.sign(claimsAt(T0, { iss: "shop", jti: "jti-revoked" }));
    await verifier.verify(shop);
    server.revoked.shop = { sub: ["svc-test"] };
    time.advance(5000);
    await revoked(verifier.verify(shop));
    assert.deepEqual(
      server.revocationRequests.map((r) => new URL(r.url).searchParams.get("iss")),
      ["micro", "shop", "shop"],
    );
  });

  it("keeps the document for its max-age, and the last good one when a refresh fails", async () => {
    const { server, time, verifier } = setUp();
    server.cacheControl = "public, max-age=10";
    const token = await key.sign(claimsAt(T0, { jti: "later-revoked" }));
    await verifier.verify(token);
    server.revoked.micro = { jti: ["later-revoked"] };
    time.advance(9999);
    await verifier.verify(token); // the document kept says nothing of it yet
    assert.equal(server.revocationRequests.length, 1);
    time.advance(1);
    await revoked(verifier.verify(token));
    assert.equal(server.revocationRequests.length, 2);

    server.fail = true;
    for (let i = 0; i < 3; i++) {
      time.advance(11_000);
      await revoked(verifier.verify(token));
      await revoked(verifier.verify(token));
    }
    server.fail = false;
    server.revoked = {};
    time.advance(11_000);
    await verifier.verify(token);
  });

  it("takes max-age from Cache-Control: at least 1 s, 5 s when there is none", async () => {
    for (const [cacheControl, keptMs] of [
      [null, DEFAULT_REVOCATIONS_TTL_MS],
      ["public", 5000],
      ["public, max-age=0", 1000],
      ["no-cache, max-age=-3", 5000],
      ["public, MAX-AGE=2", 2000],
    ]) {
      const { server, time, verifier } = setUp();
      server.cacheControl = cacheControl;
      const token = await key.sign(claimsAt(T0));
      await verifier.verify(token);
      time.advance(keptMs - 1);
      await verifier.verify(token);
      assert.equal(server.revocationRequests.length, 1, `${cacheControl}: fetched again before ${keptMs} ms`);
      time.advance(1);
      await verifier.verify(token);
      assert.equal(server.revocationRequests.length, 2, `${cacheControl}: not fetched again after ${keptMs} ms`);
    }
  });

  it("fetches one at a time, and fails closed when it never had a document", async () => {
    const { server, verifier } = setUp();
    const token = await key.sign(claimsAt(T0));
    await Promise.all(Array.from({ length: 20 }, () => verifier.verify(token)));
    assert.equal(server.revocationRequests.length, 1);

    // A new issuer while the server cannot be reached: not a 401, the fetch's error (503).
    server.fail = true;
    const error = await verifier.verify(await key.sign(claimsAt(T0, { iss: "shop" }))).catch((e) => e);
    assert.ok(error instanceof TransportError, String(error));

    // A document of another issuer than asked for is not taken.
    const other = setUp();
    const fetch = other.server.fetch;
    other.server.fetch = async (url, init) => {
      const response = await fetch(url, init);
      if (!url.includes("revocations")) return response;
      return new Response(JSON.stringify({ ...(await response.json()), iss: "other" }), { status: 200 });
    };
    const v = new TokenVerifier({ address: "http://micro-user.test", fetch: other.server.fetch, now: other.time.now });
    const mismatch = await v.verify(token).catch((e) => e);
    assert.ok(mismatch instanceof MicroUserError && !(mismatch instanceof InvalidTokenError), String(mismatch));
    assert.match(mismatch.message, /not of "micro"/);
  });

  it("a server without revocations (404, older than the SDK) revokes nothing", async () => {
    const { server, time, verifier } = setUp();
    server.noRevocations = true;
    const token = await key.sign(claimsAt(T0));
    const warn = console.warn;
    const warnings = [];
    console.warn = (message) => warnings.push(message);
    try {
      for (let i = 0; i < 3; i++) {
        await verifier.verify(token);
        time.advance(DEFAULT_REVOCATIONS_TTL_MS);
      }
    } finally {
      console.warn = warn;
    }
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /publishes no revocations/);
  });
});
