// Request paths: every case of ../conformance/paths.json (canonical path, or refusal, and
// the resource the rules see), and authorizeRequest in a Node http server, with the
// attacker's targets sent as they are on the request line.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import path from "node:path";
import { after, before, describe, it } from "node:test";

import {
  AmbiguousPathError,
  MicroUserError,
  RuleSet,
  TokenVerifier,
  authorizeRequest,
  canonicalPath,
  formatResource,
  resourceForPath,
} from "../dist/index.js";
import { claimsAt, jwksServer, makeKey } from "./support/jwt.mjs";
import { sdkDir } from "./support/server.mjs";

const { cases } = JSON.parse(readFileSync(path.resolve(sdkDir, "../conformance/paths.json"), "utf8"));

describe("the shared path cases (../conformance/paths.json)", () => {
  it("are there", () => assert.ok(cases.length >= 50, `${cases.length} cases`));

  for (const testCase of cases) {
    it(testCase.name, () => {
      if (testCase.path === null) {
        assert.throws(() => canonicalPath(testCase.target), AmbiguousPathError);
        assert.equal(testCase.resource, null);
        return;
      }
      const canonical = canonicalPath(testCase.target);
      assert.equal(canonical, testCase.path);
      if (testCase.resource === null) {
        assert.throws(() => resourceForPath(canonical, "app.example"), AmbiguousPathError);
      } else {
        assert.equal(formatResource(resourceForPath(canonical, "app.example")), testCase.resource);
      }
    });
  }

  it("refusals are 400 MicroUserErrors saying why", () => {
    for (const [target, reason] of [
      ["/a/..%2fb", /an encoded '\/'/],
      ["http://x/admin", /starting with '\/'/],
      ["/a;b", /';'/],
      ["/a/%zz", /two hex digits/],
      ["/v1/orders/delete.", /Micro endpoint name/],
    ]) {
      const error = (() => {
        try {
          resourceForPath(canonicalPath(target), "app.example");
        } catch (e) {
          return e;
        }
        return null;
      })();
      assert.ok(error instanceof AmbiguousPathError && error instanceof MicroUserError, String(error));
      assert.deepEqual([error.id, error.code, error.status], ["auth", 400, "Bad Request"]);
      assert.match(error.detail, reason);
    }
  });
});

/** Sends `GET target HTTP/1.1` exactly as given; resolves to the status and body. */
function rawGet(port, target, headers = {}) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    let data = "";
    socket.setEncoding("utf8");
    socket.on("data", (chunk) => (data += chunk));
    socket.on("error", reject);
    socket.on("end", () => {
      const [head, ...body] = data.split("\r\n\r\n");
      resolve({ status: Number(head.split(" ")[1]), body: body.join("\r\n\r\n") });
    });
    const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
    socket.write(`GET ${target} HTTP/1.0\r\nHost: x\r\nConnection: close\r\n${lines.join("")}\r\n`);
  });
}

describe("authorizeRequest in a Node http server", () => {
  const T0 = Math.floor(Date.now() / 1000);
  let server;
  let port;
  let key;
  let seen;
  before(async () => {
    key = await makeKey("EdDSA");
    const jwks = jwksServer([key]);
    const verifier = new TokenVerifier({ address: "http://micro-user.test", fetch: jwks.fetch });
    const rules = new RuleSet("micro", [
      { id: "public", scope: "", resource: { type: "api", name: "app.example", endpoint: "/public/*" }, access: "GRANTED", priority: 0 },
      { id: "orders", scope: "", resource: { type: "service", name: "orders", endpoint: "*" }, access: "GRANTED", priority: 0 },
      { id: "no-delete", scope: "", resource: { type: "service", name: "orders", endpoint: "Orders.Delete" }, access: "DENIED", priority: 10 },
      { id: "readers", scope: "reader", resource: { type: "api", name: "app.example", endpoint: "/admin/*" }, access: "GRANTED", priority: 0 },
    ]);
    seen = [];
    server = http.createServer(async (request, response) => {
      const decision = await authorizeRequest(request, { verifier, rules, host: "app.example", publicPaths: ["/docs/*"] });
      if (!decision.allowed) {
        response.writeHead(decision.status, { "content-type": "application/json", ...decision.headers });
        response.end(decision.body);
        return;
      }
      seen.push(decision.path);
      response.end(`ok ${decision.claims?.sub ?? "nobody"}`);
    });
    await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = server.address().port;
  });
  after(() => new Promise((resolve) => server.close(resolve)));

  it("judges the canonical path, and refuses what stays ambiguous with 400", async () => {
    for (const target of ["/public/page", "/public//page", "/public/./page", "/public/%70age", "/public/page?x=/../admin", "/docs/../public/x"]) {
      const answer = await rawGet(port, target);
      assert.equal(answer.status, 200, `${target}: ${answer.body}`);
    }
    // Climbing out of /public is a request for what it climbs to: anonymous, refused.
    for (const target of ["/public/../admin/secret", "/public/%2e%2e/admin/secret", "/public/%2E./admin/secret", "//x/public/../../admin/secret"]) {
      const answer = await rawGet(port, target);
      assert.equal(answer.status, 401, `${target}: ${answer.body}`);
      assert.match(JSON.parse(answer.body).detail, /^api:app\.example:\/admin\/secret needs credentials/);
    }
    for (const target of ["/public/..%2fadmin/secret", "/public%2F..%2Fadmin", "/public/..;/admin", "/public/..%5cadmin", "/public/%00/admin", "/public/%zz", "http://evil.example/public/page", "/docs/..%2fadmin"]) {
      const answer = await rawGet(port, target);
      assert.equal(answer.status, 400, `${target}: ${answer.body}`);
      const body = JSON.parse(answer.body);
      assert.deepEqual([body.id, body.code, body.status], ["auth", 400, "Bad Request"]);
      assert.match(body.detail, /ambiguous request path/);
    }
    // A token does not make an ambiguous path any less so.
    const token = await key.sign(claimsAt(T0, { scopes: ["reader"] }));
    assert.equal((await rawGet(port, "/public/..;/admin/x", { authorization: `Bearer ${token}` })).status, 400);
    assert.equal((await rawGet(port, "/public/../admin/x", { authorization: `Bearer ${token}` })).status, 200);
    assert.ok(seen.includes("/admin/x"), "the handler learns the path that was judged");
  });

  it("judges a Micro endpoint as one resource, whatever its case or decoration", async () => {
    assert.equal((await rawGet(port, "/v1/orders/list")).status, 200);
    for (const target of ["/v1/orders/delete", "/v1/orders/DELETE", "/v1/Orders/Delete/", "/v1/orders/del%65te", "/v1/orders/list/../delete"]) {
      const answer = await rawGet(port, target);
      assert.equal(answer.status, 401, `${target}: ${answer.body}`);
      assert.match(JSON.parse(answer.body).detail, /^service:orders:Orders\.De/i);
    }
    for (const target of ["/v1/orders/delete.", "/v1/orders/delete%20", "/v1/orders/delete;x", "/v1/orders/Orders.Delete"]) {
      assert.equal((await rawGet(port, target)).status, 400, target);
    }
  });

  it("public paths are matched against the canonical path", async () => {
    const verifier = new TokenVerifier({ address: "http://micro-user.test", fetch: jwksServer([key]).fetch });
    const options = { verifier, rules: new RuleSet("micro", []), host: "app", publicPaths: ["/public/*", "/healthz"] };
    const check = (url, headers = {}) => authorizeRequest({ url, headers }, options);
    assert.equal((await check("/public/page")).status, 200);
    assert.equal((await check("//healthz")).status, 200);
    for (const url of ["/public/../admin", "/public/%2e%2e/admin", "/public/a/../../admin", "/public/.."]) {
      const decision = await check(url);
      assert.equal(decision.status, 401, url);
      assert.equal(decision.headers["www-authenticate"], "Bearer");
    }
    assert.equal((await check("/public/..%2fadmin")).status, 400);
    // Express: originalUrl is the target as sent, url what a router left of it.
    assert.equal((await authorizeRequest({ originalUrl: "/public/../admin", url: "/page", headers: {} }, options)).status, 401);
    // A Headers object (fetch-style servers) works too; a bad token is a 401.
    const bad = await check("/admin", new Headers({ authorization: "Bearer not-a-token" }));
    assert.equal(bad.status, 401);
    assert.equal(bad.headers["www-authenticate"], 'Bearer error="invalid_token"');
    assert.equal((await check("/admin", { authorization: "Basic eDp5" })).status, 401);
  });

  it("fails closed (503) when the keys cannot be had", async () => {
    const verifier = new TokenVerifier({ address: "http://micro-user.test", fetch: async () => { throw new TypeError("fetch failed"); } });
    const token = await key.sign(claimsAt(T0));
    const decision = await authorizeRequest(
      { url: "/admin", headers: { authorization: `Bearer ${token}` } },
      { verifier, rules: () => new RuleSet("micro", []), host: "app" },
    );
    assert.equal(decision.status, 503);
    assert.equal(decision.headers["retry-after"], "1");
    assert.match(JSON.parse(decision.body).detail, /cannot be checked now/);
  });
});
