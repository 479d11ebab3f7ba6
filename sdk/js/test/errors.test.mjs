// How failures reach the caller: every error answer as a MicroUserError carrying the
// server's {id, code, detail, status}, every missing answer as a TransportError, and a
// cancelled call as the caller's own abort reason.

import assert from "node:assert/strict";
import { createServer } from "node:http";
import { after, before, describe, it } from "node:test";

import { MicroUserError, TransportError, UserService } from "../dist/index.js";
import { freePort, startServer, unique } from "./support/server.mjs";

const PASSWORD = "correct horse 1";

/** A fetch that answers every call with this status, body and status text. */
function answering(status, body, statusText = "") {
  return async () => new Response(body, { status, statusText });
}

/** An HTTP server that accepts requests and never answers them. */
async function silentServer() {
  const pending = new Set();
  const server = createServer((request, response) => pending.add(response));
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    address: `http://127.0.0.1:${server.address().port}`,
    close: async () => {
      for (const response of pending) response.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** The error a promise rejects with (failing when it does not). */
async function rejection(promise) {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail("the call succeeded");
}

describe("errors from a live server", () => {
  let server;
  let users;
  before(async () => {
    server = await startServer();
    users = new UserService({ address: server.address, key: server.key });
  });
  after(async () => {
    await server?.stop();
  });

  it("a taken email, username or id is a 400 with a stable id", async () => {
    const name = unique();
    const account = await users.create({ email: `${name}@example.com`, password: PASSWORD, username: name });
    const taken = {
      "users-email-check": { email: account.email.toUpperCase(), username: unique() },
      "users-username-check": { email: `${unique()}@example.com`, username: account.username },
      "users-userId-check": { email: `${unique()}@example.com`, id: account.id },
    };
    for (const [id, fields] of Object.entries(taken)) {
      const error = await rejection(users.create({ password: PASSWORD, ...fields }));
      assert.ok(error instanceof MicroUserError, String(error));
      assert.ok(error instanceof Error);
      assert.ok(!(error instanceof TransportError));
      assert.deepEqual([error.id, error.code, error.status], [id, 400, "Bad Request"]);
      assert.equal(error.name, "MicroUserError");
      assert.ok(error.detail.length > 0);
      assert.equal(error.message, `${error.detail} (400 Bad Request, id '${id}')`);
    }
  });

  it("an unknown account is a 404", async () => {
    const error = await rejection(users.read({ email: `${unique("ghost")}@example.com` }));
    assert.ok(error instanceof MicroUserError);
    assert.deepEqual([error.id, error.code, error.status], ["user.read", 404, "Not Found"]);
    assert.equal(error.detail, "account not found");
  });

  it("a bad or missing key is a 401 with id 'auth'", async () => {
    for (const key of ["muk_not_a_real_key_at_all_0123456789", ""]) {
      const stranger = new UserService({ address: server.address, key });
      const error = await rejection(stranger.list());
      assert.ok(error instanceof MicroUserError);
      assert.deepEqual([error.id, error.code, error.status], ["auth", 401, "Unauthorized"]);
    }
  });

  it("wrong credentials and a dead session are 401s of their endpoints", async () => {
    let error = await rejection(users.login({ username: unique(), password: "wrong horse" }));
    assert.deepEqual([error.id, error.code], ["user.login", 401]);
    error = await rejection(users.readSession({ sessionId: "no-such-session" }));
    assert.deepEqual([error.id, error.code], ["user.readsession", 401]);
  });

  it("a body over the server's limit is a 413", async () => {
    const profile = Object.fromEntries(
      Array.from({ length: 700 }, (_, i) => [`field${i}`, "x".repeat(100)]),
    ); // about 75 KB; the limit is 64 KiB
    const error = await rejection(
      users.create({ email: `${unique()}@example.com`, password: PASSWORD, profile }),
    );
    assert.ok(error instanceof MicroUserError);
    assert.equal(error.code, 413);
  });
});

describe("no answer", () => {
  it("a closed port is a TransportError", async () => {
    const address = `http://127.0.0.1:${await freePort()}`;
    const users = new UserService({ address, key: "k" });
    const error = await rejection(users.read({ id: "x" }));
    assert.ok(error instanceof TransportError, String(error));
    assert.ok(!(error instanceof MicroUserError));
    assert.equal(error.name, "TransportError");
    assert.equal(error.timedOut, false);
    assert.equal(error.url, `${address}/v1/user/Read`);
    assert.ok(error.message.startsWith(`no answer from micro-user at ${address}/v1/user/Read: `));
    assert.ok(error.cause instanceof Error, "the fetch error is the cause");
  });

  it("a server that does not answer in time is a TransportError with timedOut", async () => {
    const silent = await silentServer();
    try {
      const users = new UserService({ address: silent.address, timeoutMs: 200 });
      const started = Date.now();
      const error = await rejection(users.list());
      const took = Date.now() - started;
      assert.ok(error instanceof TransportError, String(error));
      assert.equal(error.timedOut, true);
      assert.match(error.message, /within 200 ms$/);
      assert.ok(took >= 150 && took < 5000, `took ${took} ms`);

      // A call's own timeout wins over the client's.
      const patient = new UserService({ address: silent.address, timeoutMs: 60_000 });
      const quick = await rejection(patient.list({}, { timeoutMs: 100 }));
      assert.ok(quick instanceof TransportError && quick.timedOut);
    } finally {
      await silent.close();
    }
  });

  it("a cancelled call rejects with the caller's reason, not as a transport failure", async () => {
    const silent = await silentServer();
    try {
      const users = new UserService({ address: silent.address, timeoutMs: 0 });
      const controller = new AbortController();
      const call = users.list({}, { signal: controller.signal });
      setTimeout(() => controller.abort(), 50);
      const error = await rejection(call);
      assert.equal(error.name, "AbortError");
      assert.ok(!(error instanceof TransportError));

      const reason = new Error("not needed any more");
      const already = await rejection(users.list({}, { signal: AbortSignal.abort(reason) }));
      assert.equal(already, reason);
    } finally {
      await silent.close();
    }
  });

  it("a bad timeout is refused at once", () => {
    for (const timeoutMs of [-1, Number.NaN, "10"]) {
      assert.throws(() => new UserService({ timeoutMs }), RangeError);
    }
  });
});

describe("answers that are not micro-user's", () => {
  it("an error page that is not JSON is a MicroUserError with an empty id", async () => {
    const page = "<html><body>502 Bad Gateway</body></html>\n";
    const users = new UserService({ fetch: answering(502, page, "Bad Gateway") });
    const error = await rejection(users.read({ id: "x" }));
    assert.ok(error instanceof MicroUserError);
    assert.deepEqual(
      [error.id, error.code, error.detail, error.status],
      ["", 502, page.trim(), "Bad Gateway"],
    );
  });

  it("an empty error answer without a status text gets the standard one", async () => {
    const users = new UserService({ fetch: answering(503, "") });
    const error = await rejection(users.list());
    assert.deepEqual(
      [error.id, error.code, error.detail, error.status],
      ["", 503, "Service Unavailable", "Service Unavailable"],
    );
  });

  it("JSON that is not an error object keeps what it can", async () => {
    let users = new UserService({ fetch: answering(400, "[1, 2]") });
    let error = await rejection(users.list());
    assert.deepEqual([error.id, error.code, error.detail], ["", 400, "[1, 2]"]);

    users = new UserService({ fetch: answering(404, JSON.stringify({ id: 7, detail: "gone" })) });
    error = await rejection(users.list());
    assert.deepEqual([error.id, error.code, error.detail, error.status], ["", 404, "gone", "Not Found"]);
  });

  it("a long error page is cut to 500 characters", async () => {
    const users = new UserService({ fetch: answering(500, "x".repeat(2000)) });
    const error = await rejection(users.list());
    assert.equal(error.detail, "x".repeat(500));
  });

  it("a success that cannot be read is a MicroUserError saying so", async () => {
    for (const body of ["<html>hello</html>", "{}", '{"account": {"id": 1}}', "[]", ""]) {
      const users = new UserService({ address: "http://example.test", fetch: answering(200, body) });
      const error = await rejection(users.read({ id: "x" }));
      assert.ok(error instanceof MicroUserError, `${body}: ${error}`);
      assert.equal(error.id, "");
      assert.equal(error.code, 200);
      assert.match(error.detail, /^unreadable answer from http:\/\/example\.test\/v1\/user\/Read \(HTTP 200/);
      assert.match(error.detail, /is the address a micro-user server\?$/);
    }
  });
});
