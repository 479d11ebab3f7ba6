// The SDK against micro-user's OpenAPI document (fetched from a live server): every method
// sends only fields the document describes for its endpoint, and every required one; and it
// reads its answer when the answer holds exactly the documented fields (the SDK's parsers
// refuse a missing field, so a field the document lacks would fail here).

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import { AuthService, UserService } from "../dist/index.js";
import { startServer } from "./support/server.mjs";

const RESOURCE = { type: "service", name: "orders", endpoint: "Orders.Read" };

// Each method with every argument it takes, so that every field it can send is sent.
const USER_CALLS = [
  ["create", { email: "e", password: "p", username: "u", id: "i", profile: { a: "b" } }],
  ["read", { id: "i", username: "u", email: "e" }],
  ["update", { id: "i", username: "u", email: "e", profile: { a: "b" }, password: "p" }],
  ["delete", { id: "i" }],
  ["list", { offset: 1, limit: 2 }],
  ["updatePassword", { userId: "i", oldPassword: "o", newPassword: "n", confirmPassword: "n" }],
  ["login", { username: "u", email: "e", password: "p", factorCode: "123456" }],
  ["logout", { sessionId: "s" }],
  ["logoutAll", { userId: "i" }],
  ["readSession", { sessionId: "s" }],
  ["sendVerificationEmail",
    { email: "e", subject: "s", textContent: "t", redirectUrl: "r", failureRedirectUrl: "f", fromName: "n" }],
  ["verifyEmail", { token: "t" }],
  ["sendPasswordResetEmail", { email: "e", subject: "s", textContent: "t", fromName: "n", expiration: 60 }],
  ["resetPassword", { email: "e", code: "c", newPassword: "n", confirmPassword: "n" }],
  ["sendMagicLink",
    { email: "e", subject: "s", textContent: "t", address: "a.example", endpoint: "login", fromName: "n" }],
  ["verifyToken", { token: "t" }],
  ["startTotp", { userId: "i" }],
  ["confirmTotp", { userId: "i", code: "1" }],
  ["regenerateRecoveryCodes", { userId: "i", code: "1" }],
  ["removeFactors", { userId: "i", code: "1" }],
];
const AUTH_CALLS = [
  ["generate", { id: "i", name: "n", secret: "s", metadata: { a: "b" }, scopes: ["reader"] }],
  ["inspect", { token: "t" }],
  ["token", { id: "i", secret: "s", tokenExpiry: 60 }],
  ["token", { refreshToken: "r" }],
  ["token", { sessionId: "s" }],
  ["verify", { token: "t", resource: RESOURCE, namespace: "ns" }],
  ["listAccounts", undefined],
  ["deleteAccount", { id: "i" }],
  ["changeSecret", { id: "i", oldSecret: "o", newSecret: "n" }],
  ["createRule", { id: "r", scope: "reader", resource: RESOURCE, access: "DENIED", priority: 1 }],
  ["deleteRule", { id: "r" }],
  ["listRules", undefined],
  ["createRole", { name: "reader", description: "d" }],
  ["deleteRole", { name: "reader" }],
  ["listRoles", undefined],
  ["grantRole", { role: "reader", accountId: "i", accountType: "service" }],
  ["revokeRole", { role: "reader", accountId: "i", accountType: "service" }],
  ["createClient",
    { name: "n", redirectUris: ["https://n.example/cb"], postLogoutRedirectUris: ["https://n.example/"],
      public: true, thirdParty: true, scopes: ["openid"] }],
  ["listClients", undefined],
  ["deleteClient", { id: "i" }],
  ["createProvider",
    { id: "i", kind: "oidc", name: "n", clientId: "c", clientSecret: "s", issuer: "https://i.example",
      authorizationEndpoint: "https://i.example/a", tokenEndpoint: "https://i.example/t",
      userinfoEndpoint: "https://i.example/u", scopes: ["openid"], subjectClaim: "sub",
      emailClaim: "email", verifiedClaim: "email_verified", keepTokens: true }],
  ["listProviders", undefined],
  ["deleteProvider", { id: "i" }],
  ["readFactorPolicy", undefined],
  ["setFactorPolicy", { required: "roles", roles: ["admin"] }],
];

let server;
let document;

before(async () => {
  server = await startServer();
  document = await (await fetch(`${server.address}/openapi.json`)).json();
});
after(async () => {
  await server?.stop();
});

function resolve(schema) {
  while (schema && schema.$ref) schema = document.components.schemas[schema.$ref.split("/").pop()];
  return schema ?? {};
}

/** A value the schema allows, with every described field. */
function sample(schema) {
  schema = resolve(schema);
  switch (schema.type) {
    case "object":
      return Object.fromEntries(
        Object.entries(schema.properties ?? {}).map(([name, field]) => [name, sample(field)]),
      );
    case "array":
      return [sample(schema.items)];
    case "string":
      return schema.pattern === "^-?[0-9]+$" ? "1" : "GRANTED";
    case "integer":
      return 1;
    case "boolean":
      return true;
    default:
      return null;
  }
}

/** Fields of `sent` the schema does not describe (maps, whose keys are the caller's, aside). */
function undescribed(sent, schema, where) {
  schema = resolve(schema);
  if (typeof sent !== "object" || sent === null || Array.isArray(sent) || !schema.properties) {
    return [];
  }
  return Object.entries(sent).flatMap(([name, value]) =>
    name in schema.properties
      ? undescribed(value, schema.properties[name], `${where}.${name}`)
      : [`${where}.${name}`],
  );
}

function check(Service, calls, service) {
  describe(`${Service.name} speaks the documented contract`, () => {
    for (const [method, params] of calls) {
      it(`${method}(${JSON.stringify(params) ?? ""})`, async () => {
        let sent;
        const stub = async (url, init) => {
          const path = new URL(url).pathname;
          const operation = document.paths[path]?.post;
          assert.ok(operation, `${path} is not in the document`);
          sent = { path, body: JSON.parse(init.body), operation };
          const answer = operation.responses["200"].content["application/json"].schema;
          return new Response(JSON.stringify(sample(answer)), { status: 200 });
        };
        const client = new Service({ address: "http://sdk.invalid", key: "k", fetch: stub });
        await client[method](params);
        assert.ok(sent.path.startsWith(`/v1/${service}/`));
        const request = sent.operation.requestBody.content["application/json"].schema;
        assert.deepEqual(undescribed(sent.body, request, "body"), []);
        const missing = (resolve(request).required ?? []).filter((name) => !(name in sent.body));
        assert.deepEqual(missing, [], "required fields left out");
      });
    }
  });
}

check(UserService, USER_CALLS, "user");
check(AuthService, AUTH_CALLS, "auth");

describe("every endpoint of the user and auth services has a method", () => {
  it("covers the document", async () => {
    const covered = new Set();
    const stub = async (url) => {
      covered.add(new URL(url).pathname);
      return new Response("{}", { status: 200 });
    };
    for (const [Service, calls] of [[UserService, USER_CALLS], [AuthService, AUTH_CALLS]]) {
      const client = new Service({ address: "http://sdk.invalid", key: "k", fetch: stub });
      for (const [method, params] of calls) await client[method](params).catch(() => {});
    }
    const documented = Object.keys(document.paths).filter(
      (path) => path.startsWith("/v1/user/") || path.startsWith("/v1/auth/"),
    );
    assert.deepEqual(documented.filter((path) => !covered.has(path)), []);
  });
});
