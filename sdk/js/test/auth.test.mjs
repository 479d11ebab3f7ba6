// AuthService: what each method sends on the wire (to a stand-in fetch) and reads back, and
// every method against a live server.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import { AuthService, MicroUserError, TransportError, UserService } from "../dist/index.js";
import { freePort, startServer, unique } from "./support/server.mjs";

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
  id: "svc-1",
  type: "service",
  issuer: "micro",
  metadata: { team: "billing" },
  scopes: ["billing"],
  secret: "mus_shown_once",
  name: "billing robot",
};
const ACCOUNT = { ...WIRE_ACCOUNT };
const EMPTY_ACCOUNT = { id: "", type: "", issuer: "", metadata: {}, scopes: [], secret: "", name: "" };
const WIRE_RULE = {
  id: "r1",
  scope: "reader",
  resource: { type: "service", name: "user", endpoint: "User.Read" },
  access: "DENIED",
  priority: -3,
};
const RESOURCE = { type: "service", name: "user", endpoint: "User.Read" };
const WIRE_CLIENT = {
  id: "mcl_1", name: "Notes", public: false, first_party: false,
  redirect_uris: ["https://n.example/cb"], post_logout_redirect_uris: [],
  scopes: ["openid"], created: "1623677579", secret: "mcs_s",
};
const CLIENT = {
  id: "mcl_1", name: "Notes", public: false, firstParty: false,
  redirectUris: ["https://n.example/cb"], postLogoutRedirectUris: [],
  scopes: ["openid"], created: 1623677579, secret: "mcs_s",
};
const WIRE_PROVIDER = {
  id: "corp", kind: "oauth2", name: "Corp", issuer: "",
  authorization_endpoint: "https://id.example.com/auth", token_endpoint: "https://id.example.com/token",
  userinfo_endpoint: "https://id.example.com/me", client_id: "c", scopes: ["read:user"],
  subject_claim: "id", email_claim: "email", verified_claim: "", keep_tokens: true, created: "1623677579",
};
const PROVIDER = {
  id: "corp", kind: "oauth2", name: "Corp", issuer: "",
  authorizationEndpoint: "https://id.example.com/auth", tokenEndpoint: "https://id.example.com/token",
  userinfoEndpoint: "https://id.example.com/me", clientId: "c", scopes: ["read:user"],
  subjectClaim: "id", emailClaim: "email", verifiedClaim: "", keepTokens: true, created: 1623677579,
};

// method, its argument, the endpoint, the body on the wire, the answer, and what it returns.
const CALLS = [
  ["generate", { name: "n", scopes: ["a"], metadata: { k: "v" }, secret: "s", id: "i", type: "service", provider: "p" },
    "Auth/Generate",
    { id: "i", metadata: { k: "v" }, scopes: ["a"], secret: "s", type: "service", provider: "p", name: "n" },
    { account: WIRE_ACCOUNT }, ACCOUNT],
  ["generate", undefined, "Auth/Generate",
    { id: "", metadata: {}, scopes: [], secret: "", type: "", provider: "", name: "" },
    { account: WIRE_ACCOUNT }, ACCOUNT],
  ["inspect", { token: "t" }, "Auth/Inspect", { token: "t" }, { account: WIRE_ACCOUNT }, ACCOUNT],
  ["token", { id: "i", secret: "s" }, "Auth/Token",
    { id: "i", secret: "s", refresh_token: "", token_expiry: 0, session_id: "" },
    { token: { access_token: "a", refresh_token: "r", created: "1623677579", expiry: "1623678479" } },
    { accessToken: "a", refreshToken: "r", created: 1623677579, expiry: 1623678479 }],
  ["token", { refreshToken: "r", tokenExpiry: 60 }, "Auth/Token",
    { id: "", secret: "", refresh_token: "r", token_expiry: 60, session_id: "" },
    { token: { access_token: "a", refresh_token: "r2", created: "1", expiry: "2" } },
    { accessToken: "a", refreshToken: "r2", created: 1, expiry: 2 }],
  ["token", { sessionId: "s" }, "Auth/Token",
    { id: "", secret: "", refresh_token: "", token_expiry: 0, session_id: "s" },
    { token: { access_token: "a", refresh_token: "r", created: "1", expiry: "2" } },
    { accessToken: "a", refreshToken: "r", created: 1, expiry: 2 }],
  ["verify", { token: "t", resource: RESOURCE, namespace: "ns" }, "Auth/Verify",
    { token: "t", resource: RESOURCE, namespace: "ns" },
    { allowed: true, account: WIRE_ACCOUNT }, { allowed: true, account: ACCOUNT }],
  ["verify", { resource: "service:user:User.Read" }, "Auth/Verify",
    { token: "", resource: RESOURCE, namespace: "" },
    { allowed: false, account: EMPTY_ACCOUNT }, { allowed: false, account: null }],
  ["listAccounts", undefined, "Accounts/List", {}, { accounts: [WIRE_ACCOUNT] }, [ACCOUNT]],
  ["listAccounts", undefined, "Accounts/List", {}, { accounts: [] }, []],
  ["deleteAccount", { id: "i" }, "Accounts/Delete", { id: "i" }, {}, undefined],
  ["changeSecret", { id: "i", oldSecret: "o", newSecret: "n" }, "Accounts/ChangeSecret",
    { id: "i", old_secret: "o", new_secret: "n" }, { account: WIRE_ACCOUNT }, ACCOUNT],
  ["createRule", { id: "r1", scope: "reader", resource: RESOURCE, access: "DENIED", priority: -3 },
    "Rules/Create", { rule: WIRE_RULE }, {}, undefined],
  ["createRule", { scope: "", resource: "api:shop:/v1/a:b" }, "Rules/Create",
    { rule: { id: "", scope: "", resource: { type: "api", name: "shop", endpoint: "/v1/a:b" }, access: "GRANTED", priority: 0 } },
    {}, undefined],
  ["deleteRule", { id: "r1" }, "Rules/Delete", { id: "r1" }, {}, undefined],
  ["listRules", undefined, "Rules/List", {}, { rules: [WIRE_RULE] }, [WIRE_RULE]],
  ["createRole", { name: "reader", description: "reads" }, "Roles/Create",
    { name: "reader", description: "reads" }, {}, undefined],
  ["createRole", { name: "reader" }, "Roles/Create", { name: "reader", description: "" }, {}, undefined],
  ["deleteRole", { name: "reader" }, "Roles/Delete", { name: "reader", description: "" }, {}, undefined],
  ["listRoles", undefined, "Roles/List", {}, { roles: [{ name: "admin", description: "built in" }] },
    [{ name: "admin", description: "built in" }]],
  ["grantRole", { role: "reader", accountId: "u1" }, "Roles/Grant",
    { role: "reader", account_type: "user", account_id: "u1" }, {}, undefined],
  ["revokeRole", { role: "reader", accountId: "svc-1", accountType: "service" }, "Roles/Revoke",
    { role: "reader", account_type: "service", account_id: "svc-1" }, {}, undefined],
  ["createClient", { name: "Notes", redirectUris: ["https://n.example/cb"], thirdParty: true },
    "Clients/Create",
    { name: "Notes", redirect_uris: ["https://n.example/cb"], post_logout_redirect_uris: [], public: false, third_party: true, scopes: [] },
    { client: WIRE_CLIENT }, CLIENT],
  ["listClients", undefined, "Clients/List", {}, { clients: [WIRE_CLIENT] }, [CLIENT]],
  ["deleteClient", { id: "mcl_1" }, "Clients/Delete", { id: "mcl_1" }, {}, undefined],
  ["createProvider",
    { id: "corp", kind: "oauth2", name: "Corp", clientId: "c", clientSecret: "s",
      authorizationEndpoint: "https://id.example.com/auth", tokenEndpoint: "https://id.example.com/token",
      userinfoEndpoint: "https://id.example.com/me", scopes: ["read:user"], keepTokens: true },
    "Providers/Create",
    { id: "corp", kind: "oauth2", name: "Corp", client_id: "c", client_secret: "s", issuer: "",
      authorization_endpoint: "https://id.example.com/auth", token_endpoint: "https://id.example.com/token",
      userinfo_endpoint: "https://id.example.com/me", scopes: ["read:user"], subject_claim: "",
      email_claim: "", verified_claim: "", keep_tokens: true },
    { provider: WIRE_PROVIDER }, PROVIDER],
  ["listProviders", undefined, "Providers/List", {}, { providers: [WIRE_PROVIDER] }, [PROVIDER]],
  ["deleteProvider", { id: "corp" }, "Providers/Delete", { id: "corp" }, {}, undefined],
  ["readFactorPolicy", undefined, "FactorPolicy/Read", {}, { policy: { required: "none", roles: [] } },
    { required: "none", roles: [] }],
  ["setFactorPolicy", { required: "roles", roles: ["admin"] }, "FactorPolicy/Set",
    { required: "roles", roles: ["admin"] }, { policy: { required: "roles", roles: ["admin"] } },
    { required: "roles", roles: ["admin"] }],
  ["setFactorPolicy", { required: "everyone" }, "FactorPolicy/Set", { required: "everyone", roles: [] },
    { policy: { required: "everyone" } }, { required: "everyone", roles: [] }],
];

describe("AuthService on the wire", () => {
  it("there is one method per endpoint of the auth service", () => {
    const methods = Object.getOwnPropertyNames(AuthService.prototype).filter((n) => n !== "constructor");
    assert.deepEqual(new Set(methods), new Set(CALLS.map(([method]) => method)));
    assert.equal(methods.length, 23);
  });

  for (const [method, params, endpoint, wire, answer, result] of CALLS) {
    it(`${method}(${JSON.stringify(params) ?? ""}) -> POST /v1/auth/${endpoint}`, async () => {
      const { fetch, requests } = recorder(answer);
      const auth = new AuthService({ address: "http://micro-user.test/", key: "k", fetch });
      const args = params === undefined ? [] : [params];
      assert.deepEqual(await auth[method](...args), result);
      assert.equal(requests.length, 1);
      const [request] = requests;
      assert.equal(request.url, `http://micro-user.test/v1/auth/${endpoint}`);
      assert.equal(request.method, "POST");
      assert.deepEqual(request.json, wire);
      assert.equal(request.headers["authorization"], "Bearer k");
      assert.equal(request.headers["content-type"], "application/json");
    });
  }

  it("shares UserService's options, errors and answer checks", async () => {
    const answering = (status, body) => async () => new Response(body, { status });
    let auth = new AuthService({ fetch: answering(404, '{"id":"auth.rules.delete","code":404,"detail":"no rule","status":"Not Found"}') });
    await assert.rejects(auth.deleteRule({ id: "x" }), (error) => {
      assert.ok(error instanceof MicroUserError);
      assert.deepEqual([error.id, error.code, error.detail], ["auth.rules.delete", 404, "no rule"]);
      return true;
    });
    auth = new AuthService({ address: "http://a.test", fetch: answering(200, '{"token": {"access_token": 1}}') });
    await assert.rejects(auth.token({ id: "i", secret: "s" }), {
      name: "MicroUserError",
      id: "",
      message: /^unreadable answer from http:\/\/a\.test\/v1\/auth\/Auth\/Token/,
    });
    auth = new AuthService({ fetch: answering(200, '{"rules": [{"id": "r", "scope": "", "resource": {"type": "a", "name": "b", "endpoint": "c"}, "access": "MAYBE", "priority": 0}]}') });
    await assert.rejects(auth.listRules(), { id: "", message: /GRANTED nor DENIED/ });
    const closed = new AuthService({ address: `http://127.0.0.1:${await freePort()}` });
    await assert.rejects(closed.listRoles(), TransportError);
    assert.throws(() => new AuthService({ timeoutMs: -1 }), RangeError);
    await assert.rejects(
      new AuthService({ fetch: recorder().fetch }).verify({ resource: "no-colons" }),
      RangeError,
    );
  });
});

describe("AuthService against a live server", () => {
  let server;
  let auth;
  before(async () => {
    server = await startServer();
    auth = new AuthService({ address: server.address, key: server.key });
  });
  after(async () => {
    await server?.stop();
  });

  it("roles: createRole, listRoles, deleteRole", async () => {
    const name = unique("role");
    await auth.createRole({ name, description: "reads things" });
    const roles = await auth.listRoles();
    assert.deepEqual(roles.find((role) => role.name === name), { name, description: "reads things" });
    assert.ok(roles.some((role) => role.name === "admin"));
    await assert.rejects(auth.createRole({ name }), { id: "auth.roles.create", code: 400 });
    await auth.deleteRole({ name });
    assert.ok(!(await auth.listRoles()).some((role) => role.name === name));
    await assert.rejects(auth.deleteRole({ name }), { id: "auth.roles.delete", code: 404 });
  });

  it("OAuth clients: createClient, listClients, deleteClient", async () => {
    const notes = await auth.createClient({
      name: "Notes",
      redirectUris: ["https://notes.example/callback"],
      postLogoutRedirectUris: ["https://notes.example/"],
      thirdParty: true,
      scopes: ["openid", "email"],
    });
    assert.match(notes.id, /^mcl_/);
    assert.match(notes.secret, /^mcs_/);
    assert.deepEqual(
      [notes.public, notes.firstParty, notes.scopes, notes.postLogoutRedirectUris],
      [false, false, ["openid", "email"], ["https://notes.example/"]],
    );
    const spa = await auth.createClient({ name: "Board", redirectUris: ["http://127.0.0.1:3000/cb"], public: true });
    assert.equal(spa.secret, "");
    const listed = await auth.listClients();
    assert.deepEqual(listed.find((client) => client.id === notes.id), { ...notes, secret: "" });
    assert.deepEqual(listed.find((client) => client.id === spa.id).scopes, ["openid", "profile", "email", "offline_access"]);
    await assert.rejects(
      auth.createClient({ name: "Evil", redirectUris: ["https://evil.example/*"] }),
      { id: "auth.clients.create", code: 400 },
    );
    await auth.deleteClient({ id: notes.id });
    await assert.rejects(auth.deleteClient({ id: notes.id }), { id: "auth.clients.delete", code: 404 });
  });

  it("identity providers: createProvider, listProviders, deleteProvider", async () => {
    // Plain OAuth 2.0: the server fetches nothing from the provider when it is added.
    const endpoints = {
      authorizationEndpoint: "https://id.example.com/auth",
      tokenEndpoint: "https://id.example.com/token",
      userinfoEndpoint: "https://id.example.com/me",
    };
    const secret = unique("provider-secret-");
    const corp = await auth.createProvider({
      id: unique("corp-"), kind: "oauth2", name: "Corp", clientId: "micro-user", clientSecret: secret,
      scopes: ["read:user"], ...endpoints,
    });
    assert.deepEqual(corp, {
      id: corp.id, kind: "oauth2", name: "Corp", issuer: "", ...endpoints, clientId: "micro-user",
      scopes: ["read:user"], subjectClaim: "id", emailClaim: "email", verifiedClaim: "",
      keepTokens: false, created: corp.created,
    });
    assert.ok(corp.created > 0 && !JSON.stringify(corp).includes(secret));
    const listed = await auth.listProviders();
    assert.deepEqual(listed.find((provider) => provider.id === corp.id), corp);
    await assert.rejects(
      auth.createProvider({
        id: unique("plain-"), kind: "oauth2", name: "Plain", clientId: "c", clientSecret: "s",
        ...endpoints, authorizationEndpoint: "http://id.example.com/auth",
      }),
      (error) => error.id === "auth.providers.create" && error.code === 400 && /https/.test(error.detail),
    );
    await auth.deleteProvider({ id: corp.id });
    assert.ok(!(await auth.listProviders()).some((provider) => provider.id === corp.id));
    await assert.rejects(auth.deleteProvider({ id: corp.id }), { id: "auth.providers.delete", code: 404 });
  });

  it("the factor policy: setFactorPolicy, readFactorPolicy", async () => {
    try {
      const admins = { required: "roles", roles: ["admin"] };
      assert.deepEqual(await auth.setFactorPolicy(admins), admins);
      assert.deepEqual(await auth.readFactorPolicy(), admins);
      await assert.rejects(auth.setFactorPolicy({ required: "roles" }), { id: "factors.policy", code: 400 });
      assert.deepEqual(await auth.readFactorPolicy(), admins);
    } finally {
      assert.deepEqual(await auth.setFactorPolicy({ required: "none" }), { required: "none", roles: [] });
    }
    assert.deepEqual(await auth.readFactorPolicy(), { required: "none", roles: [] });
  });

  it("service accounts: generate, token, inspect, listAccounts, changeSecret, deleteAccount", async () => {
    const role = unique("billing");
    await auth.createRole({ name: role });
    const robot = await auth.generate({ name: "billing robot", scopes: [role], metadata: { team: "billing" } });
    assert.match(robot.id, /^svc-/);
    assert.equal(robot.type, "service");
    assert.equal(robot.issuer, "micro");
    assert.deepEqual(robot.scopes, [role]);
    assert.deepEqual(robot.metadata, { team: "billing" });
    assert.match(robot.secret, /^mus_/);

    const anyone = new AuthService({ address: server.address, key: "" });
    const token = await anyone.token({ id: robot.id, secret: robot.secret });
    const now = Math.floor(Date.now() / 1000);
    assert.ok(Math.abs(token.created - now) < 60);
    assert.equal(token.expiry - token.created, 900);
    assert.equal(token.accessToken.split(".").length, 3);
    await assert.rejects(anyone.token({ id: robot.id, secret: "wrong" }), { id: "auth.token", code: 401 });

    const inspected = await auth.inspect({ token: token.accessToken });
    assert.deepEqual([inspected.id, inspected.type, inspected.issuer, inspected.scopes], [robot.id, "service", "micro", [role]]);
    assert.equal(inspected.secret, "");
    await assert.rejects(auth.inspect({ token: "not.a.token" }), { id: "auth.inspect", code: 401 });

    // A refresh token works once, and gives a new pair.
    const refreshed = await anyone.token({ refreshToken: token.refreshToken });
    assert.notEqual(refreshed.refreshToken, token.refreshToken);

    const listed = (await auth.listAccounts()).find((account) => account.id === robot.id);
    assert.deepEqual(listed, { ...robot, secret: "" });

    const changed = await auth.changeSecret({ id: robot.id, oldSecret: robot.secret });
    assert.match(changed.secret, /^mus_/);
    assert.notEqual(changed.secret, robot.secret);
    await assert.rejects(anyone.token({ id: robot.id, secret: robot.secret }), { code: 401 });
    await anyone.token({ id: robot.id, secret: changed.secret });

    await auth.deleteAccount({ id: robot.id });
    assert.ok(!(await auth.listAccounts()).some((account) => account.id === robot.id));
    await assert.rejects(auth.deleteAccount({ id: robot.id }), { id: "auth.accounts.delete", code: 404 });
  });

  it("a login session becomes tokens; roles are granted and revoked", async () => {
    const users = new UserService({ address: server.address, key: server.key });
    const name = unique("u");
    const user = await users.create({ email: `${name}@example.com`, password: "correct horse 1", username: name });
    const session = await users.login({ username: name, password: "correct horse 1" });
    const role = unique("editor");
    await auth.createRole({ name: role });
    await auth.grantRole({ role, accountId: user.id });
    const token = await auth.token({ sessionId: session.id });
    const account = await auth.inspect({ token: token.accessToken });
    assert.deepEqual([account.id, account.type, account.scopes], [user.id, "user", [role]]);
    await auth.revokeRole({ role, accountId: user.id });
    const after = await auth.inspect({ token: (await auth.token({ sessionId: session.id })).accessToken });
    assert.deepEqual(after.scopes, []);
    await assert.rejects(auth.revokeRole({ role, accountId: user.id }), { id: "auth.roles.revoke", code: 404 });
    await assert.rejects(auth.grantRole({ role: unique("nope"), accountId: user.id }), { code: 404 });
  });

  it("rules: createRule, listRules, verify, deleteRule", async () => {
    const role = unique("reader");
    await auth.createRole({ name: role });
    const robot = await auth.generate({ scopes: [role] });
    const { accessToken } = await auth.token({ id: robot.id, secret: robot.secret });
    const endpoint = `Things.${unique("Read")}`;
    const resource = { type: "service", name: "things", endpoint };

    assert.deepEqual(await auth.verify({ token: accessToken, resource }), {
      allowed: false,
      account: { id: robot.id, type: "service", issuer: "micro", metadata: {}, scopes: [role], secret: "", name: "" },
    });
    const id = unique("rule");
    await auth.createRule({ id, scope: role, resource: `service:things:${endpoint}`, priority: 5 });
    const rule = (await auth.listRules()).find((r) => r.id === id);
    assert.deepEqual(rule, { id, scope: role, resource, access: "GRANTED", priority: 5 });
    assert.equal((await auth.verify({ token: accessToken, resource })).allowed, true);
    assert.deepEqual(await auth.verify({ resource }), { allowed: false, account: null });
    await assert.rejects(auth.createRule({ id, scope: "", resource }), { id: "auth.rules.create", code: 400 });
    await assert.rejects(auth.verify({ token: "bogus", resource }), { id: "auth.verify", code: 401 });

    await auth.deleteRule({ id });
    assert.ok(!(await auth.listRules()).some((r) => r.id === id));
    assert.equal((await auth.verify({ token: accessToken, resource })).allowed, false);
    await assert.rejects(auth.deleteRule({ id }), { id: "auth.rules.delete", code: 404 });
  });

  it("a service account's token is a key for the API, within its rules", async () => {
    const robot = await auth.generate({ scopes: [] });
    const { accessToken } = await auth.token({ id: robot.id, secret: robot.secret });
    const asRobot = new AuthService({ address: server.address, key: accessToken });
    await assert.rejects(asRobot.listRules(), { code: 403 });
    assert.equal((await asRobot.inspect({ token: accessToken })).id, robot.id);
  });
});
