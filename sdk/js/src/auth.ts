/**
 * `AuthService`: one async method per endpoint of micro-user's auth service (Micro's
 * `Auth`, `Accounts` and `Rules` handlers, plus `Auth.Verify`, `Roles`, `Clients`: the
 * OAuth clients of the authorization code flow, `Providers`: the external identity
 * providers of the hosted sign-in, and `FactorPolicy`: who must have a second factor).
 *
 * Every method sends `POST {address}/v1/auth/{Handler}/{Method}` (`/v1/auth/Rules/Create`)
 * with a JSON body of the proto's field names and `Authorization: Bearer <key>`, through
 * the same transport as `UserService`: the same options, the same errors.
 */

import {
  listOf,
  parseAuthAccount,
  parseFactorPolicy,
  parseIdentityProvider,
  parseOAuthClient,
  parseRole,
  parseRule,
  parseToken,
  parseVerify,
  type AuthAccount,
  type FactorPolicy,
  type IdentityProvider,
  type OAuthClient,
  type Role,
  type Token,
  type VerifyResult,
} from "./models.js";
import { Access, parseResource, type Resource, type Rule } from "./rules.js";
import {
  Transport,
  nothing,
  type Body,
  type ClientOptions,
  type RequestOptions,
} from "./transport.js";

/** The options of `AuthService`: those of every client. */
export type AuthServiceOptions = ClientOptions;

// Arguments of each method: the fields of the Micro auth API, in camel case.

export interface GenerateParams {
  /** Generated (`svc-...`) when empty. */
  id?: string | undefined;
  /** A label for people. */
  name?: string | undefined;
  /** Only "service" (the default): people register with the user service. */
  type?: string | undefined;
  /** Generated (and shown once) when empty; else at least 24 characters. */
  secret?: string | undefined;
  metadata?: Record<string, string> | undefined;
  /** Scopes (roles) to grant it: free strings, as in Micro; a role not yet made is made. */
  scopes?: readonly string[] | undefined;
  provider?: string | undefined;
}

export interface InspectParams {
  token: string;
}

/**
 * One grant: `id` and `secret` of a service account, or a `refreshToken` (which works once),
 * or a login session's `sessionId` (micro-user's addition: the tokens end with the session).
 */
export interface TokenParams {
  id?: string | undefined;
  secret?: string | undefined;
  refreshToken?: string | undefined;
  /** Seconds the access token lives, fewer than the server's configured lifetime (never more; 0 or unset takes it). */
  tokenExpiry?: number | undefined;
  sessionId?: string | undefined;
}

export interface VerifyParams {
  /** An access token, API key or session id; left out, the question is about nobody. */
  token?: string | undefined;
  /** A resource, or its command-line form `type:name:endpoint`. */
  resource: Resource | string;
  /** Whose rules decide: by default the token's namespace (or the caller's). */
  namespace?: string | undefined;
}

export interface DeleteAccountParams {
  id: string;
}

export interface ChangeSecretParams {
  id: string;
  /** When given, it must be the current secret. */
  oldSecret?: string | undefined;
  /** Generated (and shown once) when empty; else at least 24 characters. */
  newSecret?: string | undefined;
}

export interface CreateRuleParams {
  /** Generated (`rule-...`) when empty. */
  id?: string | undefined;
  /** `""` everyone, `*` any account of the namespace, `+` any account, else a role. */
  scope: string;
  /** A resource, or its command-line form `type:name:endpoint`; parts may be `*`. */
  resource: Resource | string;
  /** "GRANTED" (the default) or "DENIED". */
  access?: Access | undefined;
  /** Highest first (default 0); 32 bits, the highest value is reserved for admin. */
  priority?: number | undefined;
}

export interface DeleteRuleParams {
  id: string;
}

export interface CreateRoleParams {
  name: string;
  description?: string | undefined;
}

export interface DeleteRoleParams {
  name: string;
}

export interface GrantParams {
  role: string;
  accountId: string;
  /** "user" (the default) or "service". */
  accountType?: string | undefined;
}

export interface CreateClientParams {
  /** Shown to its users (on the consent page). */
  name: string;
  /** Where users come back with a code, matched exactly: https, or http on loopback. */
  redirectUris: readonly string[];
  /** Where RP-initiated logout may send users back to, matched exactly. */
  postLogoutRedirectUris?: readonly string[] | undefined;
  /** A single-page or native app: no secret, PKCE proves each code. */
  public?: boolean | undefined;
  /** Its users are asked to consent. */
  thirdParty?: boolean | undefined;
  /** What it may ask for (default: openid, profile, email, offline_access). */
  scopes?: readonly string[] | undefined;
}

export interface DeleteClientParams {
  id: string;
}

export interface CreateProviderParams {
  /** Names it in URLs and links: 1 to 63 lower-case letters, digits and hyphens. */
  id: string;
  /**
   * "oidc" (OpenID Connect: `issuer` alone, its discovery document fetched now) or
   * "oauth2" (plain OAuth 2.0: the three endpoints).
   */
  kind: "oidc" | "oauth2";
  /** The sign-in page's button says "Sign in with <name>". */
  name: string;
  clientId: string;
  /** Kept sealed, and never shown again. */
  clientSecret: string;
  issuer?: string | undefined;
  /** https (http only on loopback), as are the other endpoints. */
  authorizationEndpoint?: string | undefined;
  tokenEndpoint?: string | undefined;
  /** Where an "oauth2" provider says who signed in. */
  userinfoEndpoint?: string | undefined;
  /** What to ask for (default for "oidc": openid, email, profile; it must hold openid). */
  scopes?: readonly string[] | undefined;
  /** The userinfo field of the user's id ("oauth2"; default `id`). */
  subjectClaim?: string | undefined;
  /** The userinfo field of the email address (default `email`). */
  emailClaim?: string | undefined;
  /** The userinfo field saying the address is verified ("oauth2"; none by default). */
  verifiedClaim?: string | undefined;
  /** Keep the provider's tokens (sealed) after each sign-in. */
  keepTokens?: boolean | undefined;
}

export interface DeleteProviderParams {
  id: string;
}

export interface SetFactorPolicyParams {
  /** "none" (each user's choice), "everyone", or "roles" (the holders of `roles`). */
  required: "none" | "everyone" | "roles";
  /** Given with "roles", and only with it. */
  roles?: readonly string[] | undefined;
}

function resourceOf(resource: Resource | string): Body {
  const { type, name, endpoint } = typeof resource === "string" ? parseResource(resource) : resource;
  return { type, name, endpoint };
}

function account(body: Body): AuthAccount {
  return parseAuthAccount(body["account"]);
}

function policy(body: Body): FactorPolicy {
  return parseFactorPolicy(body["policy"]);
}

/**
 * A client of micro-user's auth service: service accounts, tokens, rules and roles.
 *
 * ```js
 * const auth = new AuthService({ address: "http://localhost:8080", key: "muk_..." });
 * const robot = await auth.generate({ name: "billing", scopes: ["billing"] });
 * const token = await auth.token({ id: robot.id, secret: robot.secret });
 * ```
 *
 * Errors are those of `UserService`: {@link MicroUserError} for an error answer (branch on
 * `error.id`, such as `"auth.token"`), {@link TransportError} for no answer.
 */
export class AuthService {
  /** The base URL calls go to (without a trailing slash). */
  readonly address: string;
  readonly #transport: Transport;

  constructor(options: AuthServiceOptions = {}) {
    this.#transport = new Transport(options);
    this.address = this.#transport.address;
  }

  #send<T>(
    endpoint: string,
    payload: Body,
    parse: (body: Body) => T,
    options?: RequestOptions,
  ): Promise<T> {
    return this.#transport.post(`/v1/auth/${endpoint}`, payload, parse, options);
  }

  // Auth -------------------------------------------------------------------

  /**
   * Make a service account holding `scopes`. Its `secret` is in the answer, and never
   * again: keep it.
   */
  generate(params: GenerateParams = {}, options?: RequestOptions): Promise<AuthAccount> {
    const payload = {
      id: params.id ?? "",
      metadata: { ...params.metadata },
      scopes: [...(params.scopes ?? [])],
      secret: params.secret ?? "",
      type: params.type ?? "",
      provider: params.provider ?? "",
      name: params.name ?? "",
    };
    return this.#send("Auth/Generate", payload, account, options);
  }

  /** The account an access token belongs to. 401 (`auth.inspect`) when it is not valid now. */
  inspect(params: InspectParams, options?: RequestOptions): Promise<AuthAccount> {
    return this.#send("Auth/Inspect", { token: params.token }, account, options);
  }

  /**
   * Tokens for one grant: a service account's `id` and `secret`, a `refreshToken`, or a
   * `sessionId`. Anyone may call it (the grant is the credential); a bad one is a 401
   * with id `auth.token`.
   */
  token(params: TokenParams, options?: RequestOptions): Promise<Token> {
    const payload = {
      id: params.id ?? "",
      secret: params.secret ?? "",
      refresh_token: params.refreshToken ?? "",
      token_expiry: params.tokenExpiry ?? 0,
      session_id: params.sessionId ?? "",
    };
    return this.#send("Auth/Token", payload, (body) => parseToken(body["token"]), options);
  }

  /**
   * Whether `token` (or nobody, without one) may access `resource`, by the server's rules.
   * A token that is not valid is a 401 (`auth.verify`).
   */
  async verify(params: VerifyParams, options?: RequestOptions): Promise<VerifyResult> {
    const payload = {
      token: params.token ?? "",
      resource: resourceOf(params.resource),
      namespace: params.namespace ?? "",
    };
    return this.#send("Auth/Verify", payload, parseVerify, options);
  }

  // Accounts ---------------------------------------------------------------

  /** The namespace's service accounts (without their secrets). */
  listAccounts(options?: RequestOptions): Promise<AuthAccount[]> {
    return this.#send(
      "Accounts/List",
      {},
      (body) => listOf(body, "accounts", parseAuthAccount),
      options,
    );
  }

  /** Delete a service account: its grants go, and its refresh tokens stop working. */
  async deleteAccount(params: DeleteAccountParams, options?: RequestOptions): Promise<void> {
    await this.#send("Accounts/Delete", { id: params.id }, nothing, options);
  }

  /**
   * Give a service account a new secret (shown once, in the answer); the refresh tokens
   * the old one obtained stop working.
   */
  changeSecret(params: ChangeSecretParams, options?: RequestOptions): Promise<AuthAccount> {
    const payload = {
      id: params.id,
      old_secret: params.oldSecret ?? "",
      new_secret: params.newSecret ?? "",
    };
    return this.#send("Accounts/ChangeSecret", payload, account, options);
  }

  // Rules ------------------------------------------------------------------

  /** Add a rule to the namespace. A taken id is a 400 (`auth.rules.create`). */
  async createRule(params: CreateRuleParams, options?: RequestOptions): Promise<void> {
    const rule = {
      id: params.id ?? "",
      scope: params.scope,
      resource: resourceOf(params.resource),
      access: params.access ?? Access.GRANTED,
      priority: params.priority ?? 0,
    };
    await this.#send("Rules/Create", { rule }, nothing, options);
  }

  /** Remove a rule. 404 when there is none with this id. */
  async deleteRule(params: DeleteRuleParams, options?: RequestOptions): Promise<void> {
    await this.#send("Rules/Delete", { id: params.id }, nothing, options);
  }

  /**
   * The namespace's own rules (not the built-in ones: add `BUILTIN_RULES` to decide as the
   * server does), ready for a `RuleSet`.
   */
  listRules(options?: RequestOptions): Promise<Rule[]> {
    return this.#send("Rules/List", {}, (body) => listOf(body, "rules", parseRule), options);
  }

  // Roles ------------------------------------------------------------------

  /** Make a role (a named scope). A taken name is a 400 (`auth.roles.create`). */
  async createRole(params: CreateRoleParams, options?: RequestOptions): Promise<void> {
    const payload = { name: params.name, description: params.description ?? "" };
    await this.#send("Roles/Create", payload, nothing, options);
  }

  /** Delete a role and every grant of it. The built-in `admin` cannot be deleted. */
  async deleteRole(params: DeleteRoleParams, options?: RequestOptions): Promise<void> {
    await this.#send("Roles/Delete", { name: params.name, description: "" }, nothing, options);
  }

  /** The namespace's roles, `admin` (built in) included. */
  listRoles(options?: RequestOptions): Promise<Role[]> {
    return this.#send("Roles/List", {}, (body) => listOf(body, "roles", parseRole), options);
  }

  /**
   * Grant a role to a user (the default) or service account. Tokens issued from now on
   * carry it in their `scopes`.
   */
  async grantRole(params: GrantParams, options?: RequestOptions): Promise<void> {
    await this.#send("Roles/Grant", grant(params), nothing, options);
  }

  /** Take a role back. 404 when the account does not hold it. */
  async revokeRole(params: GrantParams, options?: RequestOptions): Promise<void> {
    await this.#send("Roles/Revoke", grant(params), nothing, options);
  }

  // Clients ----------------------------------------------------------------

  /**
   * Register an application that signs its users in through micro-user (the authorization
   * code flow with PKCE). A confidential client's secret is in the answer, only now.
   */
  createClient(params: CreateClientParams, options?: RequestOptions): Promise<OAuthClient> {
    const payload = {
      name: params.name,
      redirect_uris: [...params.redirectUris],
      post_logout_redirect_uris: [...(params.postLogoutRedirectUris ?? [])],
      public: params.public ?? false,
      third_party: params.thirdParty ?? false,
      scopes: [...(params.scopes ?? [])],
    };
    return this.#send(
      "Clients/Create",
      payload,
      (body) => parseOAuthClient(body["client"]),
      options,
    );
  }

  /** The namespace's OAuth clients (without their secrets). */
  listClients(options?: RequestOptions): Promise<OAuthClient[]> {
    return this.#send(
      "Clients/List",
      {},
      (body) => listOf(body, "clients", parseOAuthClient),
      options,
    );
  }

  /** Delete an OAuth client. 404 when there is none with this id. */
  async deleteClient(params: DeleteClientParams, options?: RequestOptions): Promise<void> {
    await this.#send("Clients/Delete", { id: params.id }, nothing, options);
  }

  // Providers --------------------------------------------------------------

  /**
   * Add an external identity provider; the hosted sign-in page shows a button for it. Its
   * secret is never sent back. A bad field, an unreachable or lying issuer, or a taken id
   * is a 400 (`auth.providers.create`).
   */
  createProvider(params: CreateProviderParams, options?: RequestOptions): Promise<IdentityProvider> {
    const payload = {
      id: params.id,
      kind: params.kind,
      name: params.name,
      client_id: params.clientId,
      client_secret: params.clientSecret,
      issuer: params.issuer ?? "",
      authorization_endpoint: params.authorizationEndpoint ?? "",
      token_endpoint: params.tokenEndpoint ?? "",
      userinfo_endpoint: params.userinfoEndpoint ?? "",
      scopes: [...(params.scopes ?? [])],
      subject_claim: params.subjectClaim ?? "",
      email_claim: params.emailClaim ?? "",
      verified_claim: params.verifiedClaim ?? "",
      keep_tokens: params.keepTokens ?? false,
    };
    return this.#send(
      "Providers/Create",
      payload,
      (body) => parseIdentityProvider(body["provider"]),
      options,
    );
  }

  /** The namespace's identity providers (without their secrets). */
  listProviders(options?: RequestOptions): Promise<IdentityProvider[]> {
    return this.#send(
      "Providers/List",
      {},
      (body) => listOf(body, "providers", parseIdentityProvider),
      options,
    );
  }

  /**
   * Remove an identity provider and the links of accounts to it. 404 when there is none
   * with this id.
   */
  async deleteProvider(params: DeleteProviderParams, options?: RequestOptions): Promise<void> {
    await this.#send("Providers/Delete", { id: params.id }, nothing, options);
  }

  // FactorPolicy -----------------------------------------------------------

  /** Who in the namespace must have a second factor. */
  readFactorPolicy(options?: RequestOptions): Promise<FactorPolicy> {
    return this.#send("FactorPolicy/Read", {}, policy, options);
  }

  /**
   * Require a second factor of nobody, everyone, or the holders of some roles (who then
   * set one up inside their next sign-in). "roles" without roles, or roles with another
   * choice, is a 400 (`factors.policy`).
   */
  setFactorPolicy(params: SetFactorPolicyParams, options?: RequestOptions): Promise<FactorPolicy> {
    const payload = { required: params.required, roles: [...(params.roles ?? [])] };
    return this.#send("FactorPolicy/Set", payload, policy, options);
  }
}

function grant(params: GrantParams): Body {
  return {
    role: params.role,
    account_type: params.accountType ?? "user",
    account_id: params.accountId,
  };
}
