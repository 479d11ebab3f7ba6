// Every method: what it sends on the wire (to a stand-in fetch), what it reads back from a
// live server, the emailed flows end to end, and where the client takes its settings.

import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { after, before, describe, it } from "node:test";

import { DEFAULT_ADDRESS, MicroUserError, UserService } from "../dist/index.js";
import { startServer, unique } from "./support/server.mjs";

const PASSWORD = "correct horse 1";

/** RFC 6238 (SHA-1, 30 s, 6 digits) from a base32 key, `skew` seconds from now: the app. */
function totp(secret, skew = 0) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const c of secret.replace(/=+$/, "")) bits += alphabet.indexOf(c).toString(2).padStart(5, "0");
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor((Date.now() / 1000 + skew) / 30)));
  const mac = createHmac("sha1", key).update(counter).digest();
  const offset = mac[mac.length - 1] & 0xf;
  const value = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return String(value).padStart(6, "0");
}

/** A fetch that records each request and answers `body` (JSON) with 200. */
function recorder(body = {}) {
  const requests = [];
  const fetch = async (url, init) => {
    requests.push({ url, ...init, json: JSON.parse(init.body) });
    return new Response(JSON.stringify(body), { status: 200 });
  };
  return { fetch, requests };
}

const WIRE_ACCOUNT = {
  id: "a1",
  username: "ada",
  email: "ada@example.com",
  created: "1623677579",
  updated: "1623677600",
  verified: true,
  verification_date: "1623677590",
  profile: { team: "compilers" },
};
const WIRE_SESSION = { id: "s1", userId: "a1", created: "1623677579", expires: "1624282379" };
const ACCOUNT = {
  id: "a1",
  username: "ada",
  email: "ada@example.com",
  created: 1623677579,
  updated: 1623677600,
  verified: true,
  verificationDate: 1623677590,
  profile: { team: "compilers" },
};
const SESSION = { id: "s1", userId: "a1", created: 1623677579, expires: 1624282379 };

// method, its argument, the endpoint, the body on the wire, the answer, and what it returns.
const CALLS = [
  ["create", { email: "e", password: "p", username: "u", id: "i", profile: { a: "b" } }, "Create",
    { id: "i", username: "u", email: "e", password: "p", profile: { a: "b" } },
    { account: WIRE_ACCOUNT }, ACCOUNT],
  ["create", { email: "e", password: "p" }, "Create",
    { id: "", username: "", email: "e", password: "p", profile: {} },
    { account: WIRE_ACCOUNT }, ACCOUNT],
  ["read", { username: "u" }, "Read", { id: "", username: "u", email: "" },
    { account: WIRE_ACCOUNT }, ACCOUNT],
  ["update", { id: "i", email: "e" }, "Update", { id: "i", username: "", email: "e", profile: {} },
    {}, undefined],
  ["delete", { id: "i" }, "Delete", { id: "i" }, {}, undefined],
  ["list", { offset: 5, limit: 10 }, "List", { offset: 5, limit: 10 },
    { users: [WIRE_ACCOUNT, WIRE_ACCOUNT] }, [ACCOUNT, ACCOUNT]],
  ["list", undefined, "List", { offset: 0, limit: 0 }, { users: [] }, []],
  ["updatePassword", { userId: "i", oldPassword: "o", newPassword: "n", confirmPassword: "c" },
    "UpdatePassword", { userId: "i", old_password: "o", new_password: "n", confirm_password: "c" },
    {}, undefined],
  ["login", { email: "e", password: "p" }, "Login", { username: "", email: "e", password: "p" },
    { session: WIRE_SESSION }, SESSION],
  ["login", { username: "u", password: "p", factorCode: "123456" }, "Login",
    { username: "u", email: "", password: "p", factor_code: "123456" },
    { session: WIRE_SESSION }, SESSION],
  ["logout", { sessionId: "s" }, "Logout", { session_id: "s" }, {}, undefined],
  ["logoutAll", { userId: "i" }, "LogoutAll", { user_id: "i" }, {}, undefined],
  ["readSession", { sessionId: "s" }, "ReadSession", { session_id: "s" },
    { session: WIRE_SESSION, account: WIRE_ACCOUNT }, { session: SESSION, account: ACCOUNT }],
  ["sendVerificationEmail",
    { email: "e", subject: "s", textContent: "t", redirectUrl: "r", failureRedirectUrl: "f", fromName: "n" },
    "SendVerificationEmail",
    { email: "e", subject: "s", text_content: "t", redirect_url: "r", failure_redirect_url: "f", from_name: "n" },
    {}, undefined],
  ["verifyEmail", { token: "t" }, "VerifyEmail", { token: "t" }, {}, undefined],
  ["sendPasswordResetEmail", { email: "e", subject: "s", textContent: "t", expiration: 60 },
    "SendPasswordResetEmail",
    { email: "e", subject: "s", text_content: "t", from_name: "", expiration: 60 }, {}, undefined],
  ["resetPassword", { email: "e", code: "c", newPassword: "n", confirmPassword: "m" },
    "ResetPassword", { email: "e", code: "c", new_password: "n", confirm_password: "m" },
    {}, undefined],
  ["sendMagicLink",
    { email: "e", subject: "s", textContent: "t", address: "a.example", endpoint: "login", fromName: "n" },
    "SendMagicLink",
    { email: "e", subject: "s", text_content: "t", from_name: "n", address: "a.example", endpoint: "login" },
    {}, undefined],
  ["startTotp", { userId: "i" }, "StartTotp", { user_id: "i" },
    { secret: "S", uri: "otpauth://totp/x" }, { secret: "S", uri: "otpauth://totp/x" }],
  ["confirmTotp", { userId: "i", code: "1" }, "ConfirmTotp", { user_id: "i", code: "1" },
    { recovery_codes: ["A", "B"] }, ["A", "B"]],
  ["regenerateRecoveryCodes", { userId: "i", code: "1" }, "RegenerateRecoveryCodes",
    { user_id: "i", code: "1" }, { recovery_codes: ["C"] }, ["C"]],
  ["removeFactors", { userId: "i", code: "1" }, "RemoveFactors", { user_id: "i", code: "1" },
    {}, undefined],
  ["verifyToken", { token: "t" }, "VerifyToken", { token: "t" },
    { is_valid: true, message: "", session: WIRE_SESSION },
    { isValid: true, message: "", session: SESSION }],
  ["verifyToken", { token: "t" }, "VerifyToken", { token: "t" },
    { is_valid: false, message: "token expired", session: { id: "", userId: "", created: "0", expires: "0" } },
    { isValid: false, message: "token expired", session: null }],
];

describe("on the wire", () => {
  it("there is one method per endpoint of the user service", () => {
    const methods = Object.getOwnPropertyNames(UserService.prototype).filter((n) => n !== "constructor");
    assert.deepEqual(new Set(methods), new Set(CALLS.map(([method]) => method)));
    assert.equal(methods.length, 20);
  });

  for (const [method, params, endpoint, wire, answer, result] of CALLS) {
    it(`${method}(${JSON.stringify(params) ?? ""}) -> POST /v1/user/${endpoint}`, async () => {
      const { fetch, requests } = recorder(answer);
      const users = new UserService({ address: "http://micro-user.test", key: "k", fetch });
      assert.deepEqual(await users[method](params), result);
      assert.equal(requests.length, 1);
      const [request] = requests;
      assert.equal(request.url, `http://micro-user.test/v1/user/${endpoint}`);
      assert.equal(request.method, "POST");
      assert.deepEqual(request.json, wire);
      assert.equal(request.headers["authorization"], "Bearer k");
      assert.equal(request.headers["content-type"], "application/json");
    });
  }
});

describe("settings", () => {
  const saved = { address: process.env.MICRO_USER_ADDRESS, key: process.env.MICRO_USER_KEY };
  const restore = () => {
    for (const [name, value] of [["MICRO_USER_ADDRESS", saved.address], ["MICRO_USER_KEY", saved.key]]) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
  after(restore);

  it("address and key default to the environment, then to localhost:8080 and no key", async () => {
    process.env.MICRO_USER_ADDRESS = "http://from-env.test:1234/";
    process.env.MICRO_USER_KEY = "env-key";
    let { fetch, requests } = recorder({ users: [] });
    await new UserService({ fetch }).list();
    assert.equal(requests[0].url, "http://from-env.test:1234/v1/user/List");
    assert.equal(requests[0].headers["authorization"], "Bearer env-key");

    delete process.env.MICRO_USER_ADDRESS;
    delete process.env.MICRO_USER_KEY;
    ({ fetch, requests } = recorder({ users: [] }));
    await new UserService({ fetch }).list();
    assert.equal(DEFAULT_ADDRESS, "http://localhost:8080");
    assert.equal(requests[0].url, "http://localhost:8080/v1/user/List");
    assert.equal(requests[0].headers["authorization"], undefined);
    restore();
  });

  it("arguments win over the environment; an empty key sends none", async () => {
    process.env.MICRO_USER_ADDRESS = "http://from-env.test";
    process.env.MICRO_USER_KEY = "env-key";
    const { fetch, requests } = recorder({ users: [] });
    await new UserService({ address: "http://given.test", key: "", fetch }).list();
    assert.equal(requests[0].url, "http://given.test/v1/user/List");
    assert.equal(requests[0].headers["authorization"], undefined);
    restore();
  });

  it("an address may carry a path prefix, or be empty for same-origin requests", async () => {
    let { fetch, requests } = recorder({ users: [] });
    await new UserService({ address: "https://gateway.test/micro//", fetch }).list();
    assert.equal(requests[0].url, "https://gateway.test/micro/v1/user/List");
    ({ fetch, requests } = recorder({ users: [] }));
    const sameOrigin = new UserService({ address: "", fetch });
    assert.equal(sameOrigin.address, "");
    await sameOrigin.list();
    assert.equal(requests[0].url, "/v1/user/List");
  });

  it("headers are added to every request; the key's Authorization wins", async () => {
    const { fetch, requests } = recorder({ users: [] });
    const headers = { "X-Request-Id": "checkout-42", Authorization: "Basic nope" };
    await new UserService({ address: "http://h.test", key: "k", headers, fetch }).list();
    assert.deepEqual(requests[0].headers, {
      accept: "application/json",
      "content-type": "application/json",
      "x-request-id": "checkout-42",
      authorization: "Bearer k",
    });
  });

  it("the global fetch is looked up at each call", async () => {
    const original = globalThis.fetch;
    const { fetch, requests } = recorder({ users: [] });
    const users = new UserService({ address: "http://late.test" });
    globalThis.fetch = fetch;
    try {
      await users.list();
    } finally {
      globalThis.fetch = original;
    }
    assert.equal(requests[0].url, "http://late.test/v1/user/List");
  });
});

describe("against a live server", () => {
  let server;
  let users;
  before(async () => {
    server = await startServer();
    users = new UserService({ address: server.address, key: server.key });
  });
  after(async () => {
    await server?.stop();
  });

  async function newAccount(fields = {}) {
    const name = unique("sdk");
    return users.create({ email: `${name}@example.com`, password: PASSWORD, username: name, ...fields });
  }

  it("accounts: create, read, update, list, delete", async () => {
    const now = Math.floor(Date.now() / 1000);
    const account = await newAccount({ profile: { team: "compilers" } });
    assert.equal(typeof account.created, "number");
    assert.ok(Math.abs(account.created - now) < 60);
    assert.equal(account.updated, account.created);
    assert.equal(account.verified, false);
    assert.equal(account.verificationDate, 0);
    assert.deepEqual(account.profile, { team: "compilers" });
    assert.deepEqual(await users.read({ email: account.email.toUpperCase() }), account);

    await users.update({ id: account.id, profile: { team: "engines", role: "lead" } });
    const updated = await users.read({ id: account.id });
    assert.deepEqual(updated.profile, { team: "engines", role: "lead" });
    assert.equal(updated.username, account.username);

    const everyone = await users.list({ limit: 1000 });
    assert.ok(everyone.some((a) => a.id === account.id));
    assert.deepEqual(await users.list({ offset: 1, limit: 1 }), everyone.slice(1, 2));

    await users.delete({ id: account.id });
    const error = await users.read({ id: account.id }).catch((e) => e);
    assert.ok(error instanceof MicroUserError && error.code === 404);
  });

  it("sessions: login, readSession, updatePassword, logout, logoutAll", async () => {
    const account = await newAccount();
    const session = await users.login({ email: account.email, password: PASSWORD });
    assert.equal(session.userId, account.id);
    assert.equal(session.expires - session.created, 7 * 86400);
    const { session: same, account: owner } = await users.readSession({ sessionId: session.id });
    assert.deepEqual(same, session);
    assert.deepEqual(owner, account);

    await users.updatePassword({
      userId: account.id,
      oldPassword: PASSWORD,
      newPassword: "a new horse 1",
      confirmPassword: "a new horse 1",
    });
    const second = await users.login({ username: account.username, password: "a new horse 1" });
    await users.logout({ sessionId: session.id });
    await assert.rejects(users.readSession({ sessionId: session.id }), { id: "user.readsession", code: 401 });
    await users.readSession({ sessionId: second.id });
    await users.logoutAll({ userId: account.id });
    await assert.rejects(users.readSession({ sessionId: second.id }), { id: "user.readsession", code: 401 });
  });

  it("two-step sign-in: startTotp, confirmTotp, login with factorCode, regenerateRecoveryCodes, removeFactors", async () => {
    const account = await newAccount();
    const { secret, uri } = await users.startTotp({ userId: account.id });
    assert.ok(uri.startsWith("otpauth://totp/") && uri.includes(`secret=${secret}`), uri);
    const codes = await users.confirmTotp({ userId: account.id, code: totp(secret) });
    assert.equal(codes.length, 10);
    await assert.rejects(users.login({ username: account.username, password: PASSWORD }), {
      id: "user.login.second_factor",
      code: 401,
    });
    const session = await users.login({ username: account.username, password: PASSWORD, factorCode: codes[0] });
    assert.equal(session.userId, account.id);
    const renewed = await users.regenerateRecoveryCodes({ userId: account.id, code: codes[1] });
    assert.ok(renewed.every((code) => !codes.includes(code)));
    await users.removeFactors({ userId: account.id, code: totp(secret, 30) });
    await users.login({ username: account.username, password: PASSWORD });
  });

  it("verification mail: sendVerificationEmail, verifyEmail (once)", async () => {
    const account = await newAccount();
    await users.sendVerificationEmail({
      email: account.email,
      subject: "Verify",
      textContent: "Open $micro_verification_link",
      redirectUrl: "https://app.example.com/ok",
      failureRedirectUrl: "https://app.example.com/failed",
      fromName: "The app",
    });
    const mail = await server.mailTo(account.email, "Verify");
    const link = /https?:\/\/\S+/.exec(mail)?.[0];
    assert.ok(link, mail);
    const token = new URL(link).searchParams.get("token");
    assert.ok(token, link);

    await users.verifyEmail({ token });
    const verified = await users.read({ id: account.id });
    assert.equal(verified.verified, true);
    assert.ok(verified.verificationDate >= account.created);
    await assert.rejects(users.verifyEmail({ token }), { id: "user.verifyemail", code: 400 });
  });

  it("password reset: sendPasswordResetEmail, resetPassword (ends the sessions)", async () => {
    const account = await newAccount();
    const session = await users.login({ username: account.username, password: PASSWORD });
    await users.sendPasswordResetEmail({
      email: account.email,
      subject: "Reset",
      textContent: "Your code: $code",
      expiration: 600,
    });
    const code = /Your code: (\S+)/.exec(await server.mailTo(account.email, "Reset"))?.[1];
    assert.ok(code);
    const fresh = "a fresh horse 1";
    await assert.rejects(
      users.resetPassword({ email: account.email, code, newPassword: fresh, confirmPassword: "other" }),
      { code: 400 },
    );
    await users.resetPassword({ email: account.email, code, newPassword: fresh, confirmPassword: fresh });
    await assert.rejects(users.readSession({ sessionId: session.id }), { code: 401 });
    await users.login({ username: account.username, password: fresh });
    await assert.rejects(
      users.resetPassword({ email: account.email, code, newPassword: fresh, confirmPassword: fresh }),
      { code: 400 },
    );
  });

  it("magic link: sendMagicLink, verifyToken (once)", async () => {
    const account = await newAccount();
    await users.sendMagicLink({
      email: account.email,
      subject: "Log in",
      textContent: "Log in: $micro_verification_link",
      address: "app.example.com",
      endpoint: "magic",
    });
    const mail = await server.mailTo(account.email, "Log in");
    const token = /https:\/\/app\.example\.com\/magic\/(\S+)/.exec(mail)?.[1];
    assert.ok(token, mail);

    const result = await users.verifyToken({ token });
    assert.equal(result.isValid, true);
    assert.equal(result.session?.userId, account.id);
    await users.readSession({ sessionId: result.session.id });

    const again = await users.verifyToken({ token });
    assert.equal(again.isValid, false);
    assert.equal(again.session, null);
    assert.ok(again.message.length > 0);
    const empty = await users.verifyToken({ token: "" });
    assert.deepEqual([empty.isValid, empty.session], [false, null]);
  });

  it("a mail about an unknown address answers as for a known one", async () => {
    const email = `${unique("nobody")}@example.com`;
    await users.sendPasswordResetEmail({ email, subject: "Reset", textContent: "$code" });
    await users.sendMagicLink({
      email,
      subject: "Log in",
      textContent: "$micro_verification_link",
      address: "app.example.com",
      endpoint: "magic",
    });
  });
});
