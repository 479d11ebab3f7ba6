// Compiled (never run) by `npm test` against the built declarations, imported by the
// package's own name as a user would: the public types say what the README says.

import {
  AmbiguousPathError,
  authorizeRequest,
  canonicalPath,
  resourceForPath,
  type Decision,
  AuthService,
  BUILTIN_RULES,
  InvalidTokenError,
  RuleSet,
  TokenVerifier,
  evaluate,
  parseResource,
  subjectOf,
  type AuthAccount,
  type FactorPolicy,
  type IdentityProvider,
  type OAuthClient,
  type AuthServiceOptions,
  type Claims,
  type Resource,
  type Role,
  type Rule,
  type Subject,
  type SubtleLike,
  type Token,
  type VerifyResult,
  MicroUserError,
  TransportError,
  UserService,
  type Account,
  type FetchLike,
  type ReadSessionResult,
  type Session,
  type UserServiceOptions,
  type VerifyTokenResult,
} from "micro-user-sdk";

export async function example(): Promise<void> {
  const options: UserServiceOptions = {
    address: "http://localhost:8080",
    key: "muk_...",
    timeoutMs: 5000,
    headers: { "X-Request-Id": "42" },
    fetch: globalThis.fetch, // the standard fetch fits the fetch option
  };
  const users = new UserService(options);
  new UserService();
  new UserService({ address: undefined, key: undefined });

  const account: Account = await users.create({ email: "e", password: "p", profile: { a: "b" } });
  const created: number = account.created;
  const verificationDate: number = account.verificationDate;
  const read: Account = await users.read({ username: "ada" });
  const listed: Account[] = await users.list();
  await users.list({ offset: 0, limit: 10 }, { timeoutMs: 100, signal: AbortSignal.timeout(1) });
  const nothing: void = await users.update({ id: account.id, email: "x" });
  await users.delete({ id: account.id });
  await users.updatePassword({ userId: "i", oldPassword: "o", newPassword: "n", confirmPassword: "n" });
  const session: Session = await users.login({ username: "ada", password: "p" });
  const userId: string = session.userId;
  const both: ReadSessionResult = await users.readSession({ sessionId: session.id });
  await users.logout({ sessionId: both.session.id });
  await users.logoutAll({ userId });
  await users.sendVerificationEmail({ email: "e", subject: "s", textContent: "$micro_verification_link" });
  await users.verifyEmail({ token: "t" });
  await users.sendPasswordResetEmail({ email: "e", subject: "s", textContent: "$code", expiration: 60 });
  await users.resetPassword({ email: "e", code: "c", newPassword: "n", confirmPassword: "n" });
  await users.sendMagicLink({ email: "e", subject: "s", textContent: "t", address: "a", endpoint: "e" });
  const verdict: VerifyTokenResult = await users.verifyToken({ token: "t" });
  const maybe: Session | null = verdict.session;
  void [created, verificationDate, read, listed, nothing, maybe];

  // @ts-expect-error fields are camel case
  await users.readSession({ session_id: "s" });
  // @ts-expect-error create needs a password
  await users.create({ email: "e" });
  // @ts-expect-error results are read-only
  account.email = "other";
  // @ts-expect-error times are numbers
  const wrong: string = session.expires;
  void wrong;

  const stub: FetchLike = async () => ({ status: 200, statusText: "OK", text: async () => "{}" });
  new UserService({ fetch: stub });

  try {
    await users.read({ id: "x" });
  } catch (error) {
    if (error instanceof MicroUserError) {
      const parts: [string, number, string, string] = [error.id, error.code, error.detail, error.status];
      void parts;
    } else if (error instanceof TransportError) {
      const why: [string, boolean, unknown] = [error.url, error.timedOut, error.cause];
      void why;
    }
  }
}

export async function auth(): Promise<void> {
  const options: AuthServiceOptions = { address: "http://localhost:8080", key: "muk_...", timeoutMs: 1 };
  const service = new AuthService(options);
  const robot: AuthAccount = await service.generate({ name: "n", scopes: ["reader"], metadata: { a: "b" } });
  await service.generate();
  const token: Token = await service.token({ id: robot.id, secret: robot.secret });
  const expiry: number = token.expiry;
  await service.token({ refreshToken: token.refreshToken });
  await service.token({ sessionId: "s" }, { timeoutMs: 5 });
  const inspected: AuthAccount = await service.inspect({ token: token.accessToken });
  const verdict: VerifyResult = await service.verify({ token: token.accessToken, resource: "service:user:User.Read" });
  const holder: AuthAccount | null = verdict.account;
  await service.verify({ resource: { type: "a", name: "b", endpoint: "c" }, namespace: "micro" });
  const accounts: AuthAccount[] = await service.listAccounts();
  await service.deleteAccount({ id: robot.id });
  await service.changeSecret({ id: robot.id, oldSecret: "o" });
  await service.createRule({ scope: "", resource: "service:user:User.Login", access: "DENIED", priority: 1 });
  await service.deleteRule({ id: "r" });
  const rules: Rule[] = await service.listRules();
  await service.createRole({ name: "reader" });
  await service.deleteRole({ name: "reader" });
  const roles: Role[] = await service.listRoles();
  await service.grantRole({ role: "reader", accountId: "u", accountType: "service" });
  await service.revokeRole({ role: "reader", accountId: "u" });
  const client: OAuthClient = await service.createClient({ name: "n", redirectUris: ["https://a.example/cb"] });
  await service.createClient({ name: "n", redirectUris: [], public: true, thirdParty: true, scopes: ["openid"] });
  const clients: OAuthClient[] = await service.listClients();
  await service.deleteClient({ id: client.id });
  const provider: IdentityProvider = await service.createProvider({
    id: "corp", kind: "oidc", name: "Corp", clientId: "c", clientSecret: "s", issuer: "https://id.example",
  });
  await service.createProvider({
    id: "gh", kind: "oauth2", name: "GitHub", clientId: "c", clientSecret: "s",
    authorizationEndpoint: "https://a.example/auth", tokenEndpoint: "https://a.example/token",
    userinfoEndpoint: "https://a.example/me", scopes: ["read:user"], subjectClaim: "id",
    emailClaim: "email", verifiedClaim: "verified", keepTokens: true,
  });
  const providers: IdentityProvider[] = await service.listProviders();
  await service.deleteProvider({ id: provider.id });
  const policy: FactorPolicy = await service.setFactorPolicy({ required: "roles", roles: ["admin"] });
  await service.setFactorPolicy({ required: "none" });
  const required: string = (await service.readFactorPolicy()).required;
  void [expiry, inspected, holder, accounts, roles, clients, providers, policy, required];

  // @ts-expect-error access is GRANTED or DENIED
  await service.createRule({ scope: "", resource: "a:b:c", access: "granted" });
  // @ts-expect-error a rule needs a scope
  await service.createRule({ resource: "a:b:c" });
  // @ts-expect-error a provider is oidc or oauth2
  await service.createProvider({ id: "x", kind: "saml", name: "X", clientId: "c", clientSecret: "s" });
  // @ts-expect-error the policy requires none, everyone or roles
  await service.setFactorPolicy({ required: "admins" });

  const resource: Resource = parseResource("service:user:User.Read");
  const set = new RuleSet("micro", [...BUILTIN_RULES, ...rules]);
  const nobody: boolean = set.allows(null, resource);
  const decider: Rule | null = set.decide({ namespace: "micro", scopes: ["reader"] }, resource);
  const subject: Subject = { namespace: "micro", scopes: new Set(["reader"]) };
  const once: boolean = evaluate(rules, "micro", subject, resource);
  void [nobody, decider, once];

  const verifier = new TokenVerifier({
    address: "http://localhost:8080",
    jwksTtlMs: 60_000,
    now: Date.now,
    fetch: globalThis.fetch,
    subtle: globalThis.crypto.subtle, // WebCrypto's own SubtleCrypto fits
  });
  const claims: Claims = await verifier.verify(token.accessToken);
  const fields: [string, string, string, readonly string[], number, number, string] = [
    claims.iss, claims.sub, claims.type, claims.scopes, claims.iat, claims.exp, claims.jti,
  ];
  const other: unknown = claims["scope"];
  const seen: Subject = subjectOf(claims);
  await verifier.refresh();
  const subtle: SubtleLike = globalThis.crypto.subtle;
  void [fields, other, seen, subtle];
  // @ts-expect-error claims are read-only
  claims.sub = "x";

  try {
    await verifier.verify("t");
  } catch (error) {
    if (error instanceof InvalidTokenError) {
      const why: [string, number, string] = [error.id, error.code, error.detail];
      void why;
    }
  }

  const sid: string | undefined = claims.sid;
  const path: string = canonicalPath("/a/../b");
  const mapped: Resource = resourceForPath(path, "shop");
  const decision: Decision = await authorizeRequest(
    { url: "/a", headers: { authorization: "Bearer t" } },
    { verifier, rules: set, host: "shop", publicPaths: ["/healthz"] },
  );
  const answer: [boolean, number, string | null, string] = [decision.allowed, decision.status, decision.path, decision.body];
  await authorizeRequest({ originalUrl: "/a", headers: new Headers() }, { verifier, rules: async () => set, host: "shop" });
  try {
    canonicalPath("http://x/");
  } catch (error) {
    if (error instanceof AmbiguousPathError) {
      const why: [string, number, string] = [error.id, error.code, error.target];
      void why;
    }
  }
  void [sid, mapped, answer];
}
