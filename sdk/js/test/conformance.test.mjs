// The shared conformance scenario (../conformance/user.json), run step by step against a
// live server exactly as ../conformance/README.md specifies. One test per step; after a
// failing step the rest are skipped, naming the step that failed.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { isDeepStrictEqual } from "node:util";

import { MicroUserError, UserService } from "../dist/index.js";
import { sdkDir, startServer, unique } from "./support/server.mjs";

const SCENARIO = path.resolve(sdkDir, "../conformance/user.json");
const { steps } = JSON.parse(readFileSync(SCENARIO, "utf8"));

/** snake_case -> camelCase: `read_session` -> `readSession`, `user_id` -> `userId`. */
const camel = (name) => name.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase());

// The SDK-neutral call names and argument names: those the README lists, and the rest of
// the user API's (for the emailed flows), so that a misspelt one fails loudly instead of
// being ignored.
const CALLS = new Set([
  "create", "read", "update", "delete", "list", "update_password",
  "login", "logout", "logout_all", "read_session",
  "send_verification_email", "verify_email", "send_password_reset_email", "reset_password",
  "send_magic_link", "verify_token",
]);
const ARGS = new Set([
  "id", "username", "email", "password", "profile", "offset", "limit", "user_id",
  "old_password", "new_password", "confirm_password", "session_id",
  "subject", "text_content", "redirect_url", "failure_redirect_url", "from_name",
  "expiration", "token", "code", "address", "endpoint",
]);

// The result as the README's JSON view: snake-case fields, integer times.
const accountView = (a) => ({
  id: a.id,
  username: a.username,
  email: a.email,
  created: a.created,
  updated: a.updated,
  verified: a.verified,
  verification_date: a.verificationDate,
  profile: { ...a.profile },
});
const sessionView = (s) => ({ id: s.id, user_id: s.userId, created: s.created, expires: s.expires });

function view(call, result) {
  switch (call) {
    case "create":
    case "read":
      return { account: accountView(result) };
    case "login":
      return { session: sessionView(result) };
    case "read_session":
      return { session: sessionView(result.session), account: accountView(result.account) };
    case "list":
      return { users: result.map(accountView) };
    case "verify_token":
      return {
        is_valid: result.isValid,
        message: result.message,
        session: result.session && sessionView(result.session),
      };
    default:
      assert.equal(result, undefined, `${call} should answer nothing`);
      return {};
  }
}

/** `${name}` in every string of `value` (deeply) replaced by the variable's value. */
function substitute(value, variables) {
  if (typeof value === "string") {
    return value.replace(/\$\{([^}]+)\}/g, (_, name) => {
      assert.ok(name in variables, `unknown variable \${${name}} (saved by no earlier step)`);
      return String(variables[name]);
    });
  }
  if (Array.isArray(value)) return value.map((item) => substitute(item, variables));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, substitute(item, variables)]),
    );
  }
  return value;
}

const MISSING = Symbol("missing");

/** The value at a dotted path: keys, list indexes, and `length` of a list. */
function lookup(data, dotted) {
  let current = data;
  for (const part of dotted.split(".")) {
    if (Array.isArray(current)) {
      if (part === "length") current = current.length;
      else if (/^\d+$/.test(part) && Number(part) < current.length) current = current[Number(part)];
      else return MISSING;
    } else if (current !== null && typeof current === "object" && Object.hasOwn(current, part)) {
      current = current[part];
    } else {
      return MISSING;
    }
  }
  return current;
}

const show = (value) => (value === MISSING ? "nothing (no such path)" : JSON.stringify(value));

/** Check one expected value (or matcher) against what is at the path; a message, or null. */
function mismatch(actual, expected) {
  const isMatcher =
    expected !== null &&
    typeof expected === "object" &&
    !Array.isArray(expected) &&
    Object.keys(expected).length === 1 &&
    Object.keys(expected)[0].startsWith("$");
  if (isMatcher) {
    const [[matcher, operand]] = Object.entries(expected);
    switch (matcher) {
      case "$nonempty": {
        const nonempty = typeof actual === "string" && actual.length > 0;
        return nonempty === operand ? null : `wanted a ${operand ? "non-" : ""}empty string`;
      }
      case "$gt":
        return typeof actual === "number" && actual > operand ? null : `wanted a number > ${operand}`;
      case "$ne":
        return actual !== MISSING && !isDeepStrictEqual(actual, operand)
          ? null
          : `wanted anything but ${JSON.stringify(operand)}`;
      default:
        assert.fail(`unknown matcher ${matcher} in the scenario`);
    }
  }
  return actual !== MISSING && isDeepStrictEqual(actual, expected)
    ? null
    : `wanted ${JSON.stringify(expected)}`;
}

describe("conformance scenario (sdk/conformance/user.json)", () => {
  let server;
  let users;
  const variables = { run: unique("") };
  let failed = null;

  before(async () => {
    server = await startServer();
    users = new UserService({ address: server.address, key: server.key });
  });
  after(async () => {
    await server?.stop();
  });

  it("is well formed", () => {
    assert.ok(Array.isArray(steps) && steps.length > 0, "no steps");
    for (const step of steps) {
      assert.equal(typeof step.name, "string", `a step without a name: ${JSON.stringify(step)}`);
      assert.ok(CALLS.has(step.call), `step '${step.name}': unknown call '${step.call}'`);
      assert.equal(typeof users[camel(step.call)], "function", `no method for ${step.call}`);
      for (const arg of Object.keys(step.args ?? {})) {
        assert.ok(ARGS.has(arg), `step '${step.name}': unknown argument '${arg}'`);
      }
      assert.ok(!("expect" in step && "error" in step), `step '${step.name}': expect and error`);
    }
  });

  steps.forEach((step, index) => {
    it(`step ${index + 1}: ${step.name}`, async (t) => {
      if (failed !== null) {
        t.skip(`an earlier step failed: '${failed}'`);
        return;
      }
      try {
        await run(step);
      } catch (error) {
        failed = step.name;
        throw error;
      }
    });
  });

  async function run(step) {
    const where = `step '${step.name}' (${step.call})`;
    const args = Object.fromEntries(
      Object.entries(substitute(step.args ?? {}, variables)).map(([k, v]) => [camel(k), v]),
    );
    let result;
    try {
      result = view(step.call, await users[camel(step.call)](args));
    } catch (error) {
      if (!step.error || !(error instanceof MicroUserError)) throw error;
      const wanted = substitute(step.error, variables);
      assert.deepEqual(
        { id: error.id, code: error.code },
        { id: wanted.id, code: wanted.code },
        `${where}: the wrong error: ${error.message}`,
      );
      return;
    }
    if (step.error) {
      const wanted = substitute(step.error, variables);
      assert.fail(
        `${where}: wanted error ${wanted.id} (${wanted.code}), got ${JSON.stringify(result)}`,
      );
    }
    const problems = [];
    for (const [dotted, expected] of Object.entries(substitute(step.expect ?? {}, variables))) {
      const actual = lookup(result, dotted);
      const problem = mismatch(actual, expected);
      if (problem) problems.push(`${dotted}: ${problem}, got ${show(actual)}`);
    }
    if (problems.length > 0) {
      assert.fail(`${where}:\n  ${problems.join("\n  ")}\nresult: ${JSON.stringify(result)}`);
    }
    for (const [name, dotted] of Object.entries(step.save ?? {})) {
      const value = lookup(result, dotted);
      assert.notEqual(value, MISSING, `${where}: nothing at '${dotted}' to save as ${name}`);
      variables[name] = value;
    }
  }
});
