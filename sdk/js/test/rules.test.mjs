// Rule evaluation: every shared case of ../conformance/rules.json (in both rule orders), a
// randomized cross-check of the index against the definition read literally, and the
// index's cost not growing with the number of rules.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";

import {
  ADMIN_SCOPE,
  Access,
  BUILTIN_RULES,
  RuleSet,
  evaluate,
  formatResource,
  parseResource,
  scopeApplies,
} from "../dist/index.js";
import { sdkDir } from "./support/server.mjs";

const { cases } = JSON.parse(readFileSync(path.resolve(sdkDir, "../conformance/rules.json"), "utf8"));

const ruleFrom = (data, number) => ({
  id: `r${number}`,
  scope: data.scope,
  resource: parseResource(data.resource),
  access: data.access ?? "GRANTED",
  priority: data.priority ?? 0,
});
const subjectFrom = (data) => (data === null ? null : { namespace: data.namespace, scopes: new Set(data.scopes) });

describe("the shared rule cases (../conformance/rules.json)", () => {
  it("are there", () => assert.ok(cases.length >= 20, `${cases.length} cases`));

  for (const testCase of cases) {
    it(testCase.name, () => {
      const rules = testCase.rules.map(ruleFrom);
      const resource = parseResource(testCase.resource);
      // The outcome may not depend on the order the rules come in.
      for (const ordering of [rules, [...rules].reverse()]) {
        assert.equal(evaluate(ordering, "micro", subjectFrom(testCase.subject), resource), testCase.allowed);
        // Scopes as an array work the same as a Set.
        const subject = testCase.subject && { ...testCase.subject, scopes: [...testCase.subject.scopes] };
        assert.equal(new RuleSet("micro", ordering).allows(subject, resource), testCase.allowed);
      }
    });
  }
});

/** Unicode code point order, as Python compares strings. */
function byCodePoint(a, b) {
  const x = [...a].map((c) => c.codePointAt(0));
  const y = [...b].map((c) => c.codePointAt(0));
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}

/** The definition, read literally: filter, sort, the first that applies decides. */
function naive(rules, namespace, subject, resource) {
  // Service resources compare their name and endpoint with ASCII letters in one case.
  const fold =
    resource.type === "service" ? (text) => text.replace(/[A-Z]/g, (c) => c.toLowerCase()) : (text) => text;
  const matches = ({ resource: r }) =>
    (r.type === "*" || r.type === resource.type) &&
    (r.name === "*" || fold(r.name) === fold(resource.name)) &&
    (r.endpoint === "*" ||
      fold(r.endpoint) === fold(resource.endpoint) ||
      (r.endpoint.endsWith("/*") && fold(resource.endpoint).startsWith(fold(r.endpoint.slice(0, -1)))));
  const applies = (scope) => {
    if (scope === "") return true;
    if (!subject) return false;
    if (scope === "+") return true;
    if (subject.namespace !== namespace) return false;
    return scope === "*" || [...subject.scopes].includes(scope);
  };
  const ordered = rules
    .filter(matches)
    .sort(
      (a, b) =>
        b.priority - a.priority ||
        (a.access === "DENIED" ? 0 : 1) - (b.access === "DENIED" ? 0 : 1) ||
        byCodePoint(a.id, b.id),
    );
  const decider = ordered.find((rule) => applies(rule.scope)) ?? null;
  return { allowed: decider?.access === "GRANTED", decider };
}

/** A small seeded generator (mulberry32), so that a failure can be replayed. */
function generator(seed) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  return {
    pick: (list) => list[Math.floor(next() * list.length)],
    int: (low, high) => low + Math.floor(next() * (high - low + 1)),
  };
}

describe("the index agrees with the definition", () => {
  it("on random rules, subjects and resources", () => {
    const { pick, int } = generator(7);
    const types = ["service", "api", "*"];
    const names = ["user", "orders", "*", "Orders", "ÉLAN", "élan"];
    const endpoints = ["User.Read", "User.Create", "*", "/*", "/v1/a/*", "/v1/a/b/*", "/v1/a/b/c", "/v1/ab/*", "user.READ", "/V1/A/*", "/v1/A/b/C"];
    const scopes = ["", "*", "+", "admin", "reader"];
    // Ids that sort differently by UTF-16 unit and by code point, and duplicates of priority.
    const ids = ["a", "b", "\uffef", "\u{1f600}", "r1", "r10", "r2"];
    let decided = 0;
    for (let trial = 0; trial < 1500; trial++) {
      const rules = Array.from({ length: int(0, 14) }, (_, i) => ({
        id: `${pick(ids)}${i}`,
        scope: pick(scopes),
        resource: { type: pick(types), name: pick(names), endpoint: pick(endpoints) },
        access: pick(["GRANTED", "DENIED"]),
        priority: int(-2, 2),
      }));
      const ruleset = new RuleSet("micro", rules);
      for (let probe = 0; probe < 10; probe++) {
        const subject = pick([
          null,
          { namespace: "micro", scopes: new Set([pick(scopes)]) },
          { namespace: "micro", scopes: ["admin", "reader"] },
          { namespace: "other", scopes: new Set(["admin"]) },
        ]);
        const resource = {
          type: pick(types.slice(0, 2)),
          name: pick(["user", "orders", "ORDERS", "Élan", "élan"]),
          endpoint: pick(["User.Read", "User.Create", "/v1/a/b/c", "/v1/a/x", "/v1/ab/c", "/", "v1/a/", "USER.read", "/V1/a/B/c"]),
        };
        const expected = naive(rules, "micro", subject, resource);
        const where = JSON.stringify({ trial, rules, subject: subject && [...subject.scopes], resource });
        assert.equal(ruleset.allows(subject, resource), expected.allowed, where);
        // Not only the outcome: the very rule that decides.
        assert.equal(ruleset.decide(subject, resource), expected.decider, where);
        if (expected.decider) decided++;
      }
    }
    assert.ok(decided > 2000, `only ${decided} probes were decided by a rule`);
  });

  it("with the built-in rules, as the server has them", () => {
    assert.deepEqual(
      BUILTIN_RULES.map((rule) => [rule.id, rule.scope, formatResource(rule.resource), rule.access, rule.priority]),
      [
        ["builtin-admin", ADMIN_SCOPE, "*:*:*", "GRANTED", 2147483647],
        ["builtin-token", "", "service:auth:Auth.Token", "GRANTED", 0],
        ["builtin-inspect", "*", "service:auth:Auth.Inspect", "GRANTED", 0],
      ],
    );
    assert.ok(Object.isFrozen(BUILTIN_RULES) && Object.isFrozen(BUILTIN_RULES[0]));
    const deny = { id: "no-tokens", scope: "", resource: parseResource("service:auth:*"), access: "DENIED", priority: 0 };
    const rules = new RuleSet("micro", [...BUILTIN_RULES, deny]);
    const admin = { namespace: "micro", scopes: ["admin"] };
    const nobody = null;
    const member = { namespace: "micro", scopes: [] };
    const token = parseResource("service:auth:Auth.Token");
    const inspect = parseResource("service:auth:Auth.Inspect");
    assert.equal(rules.allows(admin, parseResource("service:user:User.Delete")), true);
    assert.equal(rules.allows({ namespace: "other", scopes: ["admin"] }, token), false);
    // At equal priority the denial wins over the built-in grants; admin outranks it.
    assert.equal(rules.allows(nobody, token), false);
    assert.equal(rules.allows(member, inspect), false);
    assert.equal(rules.allows(admin, inspect), true);
    assert.equal(new RuleSet("micro", BUILTIN_RULES).allows(nobody, token), true);
    assert.equal(new RuleSet("micro", BUILTIN_RULES).allows(nobody, inspect), false);
    assert.equal(new RuleSet("micro", BUILTIN_RULES).allows(member, inspect), true);
  });
});

describe("the index's cost", () => {
  it("does not grow with the number of rules that cannot match", () => {
    let looked = 0;
    // A rule whose scope counts how often evaluation looks at it.
    const counted = (rule) => {
      const { scope, ...rest } = rule;
      return Object.defineProperty(rest, "scope", {
        get: () => {
          looked++;
          return scope;
        },
        enumerable: true,
      });
    };
    const relevant = [
      { id: "a", scope: "reader", resource: parseResource("service:orders:Orders.List"), access: "GRANTED", priority: 1 },
      { id: "b", scope: "*", resource: parseResource("service:orders:*"), access: "DENIED", priority: 0 },
    ];
    const subject = { namespace: "micro", scopes: ["reader"] };
    const resource = parseResource("service:orders:Orders.List");
    const lookedAt = (count) => {
      const noise = Array.from({ length: count }, (_, i) => ({
        id: `n${i}`,
        scope: "*",
        resource: { type: "service", name: `svc${i % 100}`, endpoint: `E.${i}` },
        access: "GRANTED",
        priority: i % 7,
      }));
      const rules = new RuleSet("micro", [...noise, ...relevant].map(counted));
      looked = 0;
      assert.equal(rules.allows(subject, resource), true);
      return looked;
    };
    const few = lookedAt(10);
    assert.ok(few <= 2, `looked at ${few} rules`);
    assert.equal(lookedAt(50_000), few);
  });
});

describe("resources", () => {
  it("parse from and format to type:name:endpoint", () => {
    assert.deepEqual(parseResource("service:user:User.Create"), {
      type: "service",
      name: "user",
      endpoint: "User.Create",
    });
    assert.deepEqual(parseResource("api:shop:/v1/a:b"), { type: "api", name: "shop", endpoint: "/v1/a:b" });
    assert.equal(formatResource({ type: "service", name: "user", endpoint: "*" }), "service:user:*");
    for (const bad of ["service:user", "service::x", ":user:x", "service:user:", "", "x"]) {
      assert.throws(() => parseResource(bad), { name: "RangeError", message: /type:name:endpoint/ });
    }
  });

  it("scopes apply as documented", () => {
    const member = { namespace: "micro", scopes: new Set(["reader"]) };
    const stranger = { namespace: "other", scopes: ["reader"] };
    assert.deepEqual(
      ["", "*", "+", "reader", "writer"].map((scope) => [
        scopeApplies(scope, null, "micro"),
        scopeApplies(scope, member, "micro"),
        scopeApplies(scope, stranger, "micro"),
      ]),
      [
        [true, true, true],
        [false, true, false],
        [false, true, true],
        [false, true, false],
        [false, false, false],
      ],
    );
  });

  it("a malformed rule is refused when the set is built", () => {
    const good = { id: "x", scope: "", resource: parseResource("a:b:c"), access: Access.GRANTED, priority: 0 };
    for (const bad of [
      { ...good, access: "granted" },
      { ...good, priority: "1" },
      { ...good, priority: Number.NaN },
      { ...good, resource: "a:b:c" },
      { ...good, scope: undefined },
    ]) {
      assert.throws(() => new RuleSet("micro", [bad]), TypeError, JSON.stringify(bad));
    }
  });
});
