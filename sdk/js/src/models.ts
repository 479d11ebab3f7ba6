/**
 * What the user service answers with, as typed values.
 *
 * The wire writes int64 fields as JSON strings (`"created": "1623677579"`); here they are
 * numbers. Times are unix seconds.
 */

import { Access, type Rule } from "./rules.js";

/** A user account. `verificationDate` is 0 until the email address is verified. */
export interface Account {
  readonly id: string;
  readonly username: string;
  readonly email: string;
  /** Unix seconds. */
  readonly created: number;
  /** Unix seconds. */
  readonly updated: number;
  readonly verified: boolean;
  /** Unix seconds; 0 while the address is not verified. */
  readonly verificationDate: number;
  readonly profile: Readonly<Record<string, string>>;
}

/** A login session of the account `userId`, valid until `expires`. */
export interface Session {
  readonly id: string;
  readonly userId: string;
  /** Unix seconds. */
  readonly created: number;
  /** Unix seconds. */
  readonly expires: number;
}

/** What `readSession` answers: the live session and its account. */
export interface ReadSessionResult {
  readonly session: Session;
  readonly account: Account;
}

/**
 * The answer to a magic-link token: a new session when `isValid`; else `message` says why
 * not, and `session` is null.
 */
export interface VerifyTokenResult {
  readonly isValid: boolean;
  readonly message: string;
  readonly session: Session | null;
}

/** Thrown by the parsers below when an answer does not have the expected shape. */
export class ShapeError extends Error {}

type Json = Record<string, unknown>;

export function object(value: unknown, what: string): Json {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ShapeError(`${what} is not an object`);
  }
  return value as Json;
}

function text(data: Json, field: string): string {
  const value = data[field];
  if (typeof value !== "string") throw new ShapeError(`'${field}' is not a string`);
  return value;
}

/** An int64 (a decimal string on the wire; a number is accepted too) as a number. */
function int(data: Json, field: string): number {
  const value = data[field];
  const number =
    typeof value === "string" && /^-?[0-9]+$/.test(value)
      ? Number(value)
      : typeof value === "number"
        ? value
        : Number.NaN;
  if (!Number.isSafeInteger(number)) throw new ShapeError(`'${field}' is not an integer`);
  return number;
}

function flag(data: Json, field: string): boolean {
  const value = data[field];
  if (typeof value !== "boolean") throw new ShapeError(`'${field}' is not a boolean`);
  return value;
}

function profileOf(value: unknown): Record<string, string> {
  if (value === undefined || value === null) return {};
  const profile: Record<string, string> = {};
  for (const [key, entry] of Object.entries(object(value, "'profile'"))) {
    profile[key] = String(entry);
  }
  return profile;
}

export function parseAccount(value: unknown): Account {
  const data = object(value, "'account'");
  return {
    id: text(data, "id"),
    username: text(data, "username"),
    email: text(data, "email"),
    created: int(data, "created"),
    updated: int(data, "updated"),
    verified: flag(data, "verified"),
    verificationDate: int(data, "verification_date"),
    profile: profileOf(data["profile"]),
  };
}

export function parseSession(value: unknown): Session {
  const data = object(value, "'session'");
  return {
    id: text(data, "id"),
    // The proto field really is named userId.
    userId: text(data, "userId"),
    created: int(data, "created"),
    expires: int(data, "expires"),
  };
}

export function parseVerifyToken(body: Json): VerifyTokenResult {
  const session = body["session"];
  const message = body["message"];
  return {
    isValid: flag(body, "is_valid"),
    message: typeof message === "string" ? message : "",
    // The wire always carries a session; an empty id means there is none.
    session:
      session !== undefined && session !== null && object(session, "'session'")["id"]
        ? parseSession(session)
        : null,
  };
}

// The auth service ---------------------------------------------------------------------------

/**
 * An account of the Micro auth model: a service account (`type` "service") made by
 * `generate`, or whoever a token belongs to (`inspect`, `verify`). `issuer` is its
 * namespace; `scopes` are the roles it holds. `secret` is shown once, by `generate` and
 * `changeSecret`, and is "" everywhere else.
 */
export interface AuthAccount {
  readonly id: string;
  readonly type: string;
  readonly issuer: string;
  readonly metadata: Readonly<Record<string, string>>;
  readonly scopes: readonly string[];
  readonly secret: string;
  readonly name: string;
}

/**
 * An application that signs its users in through micro-user (the authorization code flow).
 * `secret` is shown only by `createClient`, and never for a public client.
 */
export interface OAuthClient {
  readonly id: string;
  readonly name: string;
  readonly public: boolean;
  readonly firstParty: boolean;
  readonly redirectUris: readonly string[];
  readonly postLogoutRedirectUris: readonly string[];
  readonly scopes: readonly string[];
  readonly created: number;
  readonly secret: string;
}

/**
 * An external identity provider that users sign in with on the hosted pages: OpenID Connect
 * (`kind` "oidc", its endpoints found from its `issuer`) or plain OAuth 2.0 ("oauth2", who
 * signed in read from `userinfoEndpoint`). Its client secret is never shown, not even by
 * `createProvider`.
 */
export interface IdentityProvider {
  readonly id: string;
  readonly kind: string;
  readonly name: string;
  readonly issuer: string;
  readonly authorizationEndpoint: string;
  readonly tokenEndpoint: string;
  readonly userinfoEndpoint: string;
  readonly clientId: string;
  readonly scopes: readonly string[];
  readonly subjectClaim: string;
  readonly emailClaim: string;
  readonly verifiedClaim: string;
  readonly keepTokens: boolean;
  /** Unix seconds. */
  readonly created: number;
}

/**
 * Who in the namespace must have a second factor: `required` is "none" (each user's
 * choice), "everyone", or "roles" (the holders of `roles`).
 */
export interface FactorPolicy {
  readonly required: string;
  readonly roles: readonly string[];
}

/**
 * What `token` answers: a short-lived JWT access token (checked anywhere with
 * `TokenVerifier`), and an opaque refresh token that works once.
 */
export interface Token {
  readonly accessToken: string;
  readonly refreshToken: string;
  /** Unix seconds. */
  readonly created: number;
  /** Unix seconds: when the access token expires. */
  readonly expiry: number;
}

/** A role: a named scope that accounts are granted. */
export interface Role {
  readonly name: string;
  readonly description: string;
}

/**
 * What `verify` answers: whether the token (or nobody) may access the resource, and the
 * account the token belongs to (null when no token was given).
 */
export interface VerifyResult {
  readonly allowed: boolean;
  readonly account: AuthAccount | null;
}

function strings(data: Json, field: string): string[] {
  const value = data[field];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || !value.every((item) => typeof item === "string")) {
    throw new ShapeError(`'${field}' is not a list of strings`);
  }
  return value as string[];
}

export function parseAuthAccount(value: unknown): AuthAccount {
  const data = object(value, "'account'");
  return {
    id: text(data, "id"),
    type: text(data, "type"),
    issuer: text(data, "issuer"),
    metadata: profileOf(data["metadata"]),
    scopes: strings(data, "scopes"),
    secret: text(data, "secret"),
    name: text(data, "name"),
  };
}

export function parseOAuthClient(value: unknown): OAuthClient {
  const data = object(value, "'client'");
  return {
    id: text(data, "id"),
    name: text(data, "name"),
    public: flag(data, "public"),
    firstParty: flag(data, "first_party"),
    redirectUris: strings(data, "redirect_uris"),
    postLogoutRedirectUris: strings(data, "post_logout_redirect_uris"),
    scopes: strings(data, "scopes"),
    created: int(data, "created"),
    secret: text(data, "secret"),
  };
}

export function parseIdentityProvider(value: unknown): IdentityProvider {
  const data = object(value, "'provider'");
  return {
    id: text(data, "id"),
    kind: text(data, "kind"),
    name: text(data, "name"),
    issuer: text(data, "issuer"),
    authorizationEndpoint: text(data, "authorization_endpoint"),
    tokenEndpoint: text(data, "token_endpoint"),
    userinfoEndpoint: text(data, "userinfo_endpoint"),
    clientId: text(data, "client_id"),
    scopes: strings(data, "scopes"),
    subjectClaim: text(data, "subject_claim"),
    emailClaim: text(data, "email_claim"),
    verifiedClaim: text(data, "verified_claim"),
    keepTokens: flag(data, "keep_tokens"),
    created: int(data, "created"),
  };
}

export function parseFactorPolicy(value: unknown): FactorPolicy {
  const data = object(value, "'policy'");
  return { required: text(data, "required"), roles: strings(data, "roles") };
}

export function parseToken(value: unknown): Token {
  const data = object(value, "'token'");
  return {
    accessToken: text(data, "access_token"),
    refreshToken: text(data, "refresh_token"),
    created: int(data, "created"),
    expiry: int(data, "expiry"),
  };
}

export function parseRole(value: unknown): Role {
  const data = object(value, "a role");
  return { name: text(data, "name"), description: text(data, "description") };
}

export function parseVerify(body: Json): VerifyResult {
  const account = body["account"];
  return {
    allowed: flag(body, "allowed"),
    // The wire always carries an account; an empty id means there is none.
    account:
      account !== undefined && account !== null && object(account, "'account'")["id"]
        ? parseAuthAccount(account)
        : null,
  };
}

export function parseRule(value: unknown): Rule {
  const data = object(value, "a rule");
  const resource = object(data["resource"], "'resource'");
  const access = data["access"];
  if (access !== Access.GRANTED && access !== Access.DENIED) {
    throw new ShapeError("'access' is neither GRANTED nor DENIED");
  }
  return {
    id: text(data, "id"),
    scope: text(data, "scope"),
    resource: {
      type: text(resource, "type"),
      name: text(resource, "name"),
      endpoint: text(resource, "endpoint"),
    },
    access,
    priority: int(data, "priority"),
  };
}

/** The list in `body[field]` (absent: empty), each item read by `parse`. */
export function listOf<T>(body: Json, field: string, parse: (value: unknown) => T): T[] {
  const items = body[field];
  if (items === undefined || items === null) return [];
  if (!Array.isArray(items)) throw new ShapeError(`'${field}' is not a list`);
  return items.map(parse);
}
