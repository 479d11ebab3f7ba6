/**
 * Checking a request in a service (a Node `http` handler, Express, any framework): the
 * canonical path of the raw request target, the bearer token checked locally, and the
 * rules decide, as micro-user's gateway endpoint would. No Node API is used: the request
 * is read through its `url` (or `originalUrl`) and its headers.
 */

import { MicroUserError } from "./errors.js";
import { AmbiguousPathError, canonicalPath, resourceForPath } from "./paths.js";
import { type Resource, type RuleSet, formatResource } from "./rules.js";
import { type Claims, InvalidTokenError, type TokenVerifier, subjectOf } from "./verifier.js";

/** What {@link authorizeRequest} reads of a request: Node's `IncomingMessage`, Express's `Request`, or a plain object. */
export interface RequestLike {
  /** The request target as sent (Node's `request.url`). */
  readonly url?: string | undefined;
  /** Express: the target as sent, before routers cut their mount path off `url`. Preferred when present. */
  readonly originalUrl?: string | undefined;
  /** The headers, by lower-case name (Node), or a `Headers` object (fetch). */
  readonly headers:
    | Readonly<Record<string, string | readonly string[] | undefined>>
    | { get(name: string): string | null };
}

export interface AuthorizeOptions {
  /** Checks the bearer tokens: share one. */
  readonly verifier: TokenVerifier;
  /**
   * The rules that decide (with `BUILTIN_RULES`), or a function returning the current ones
   * (to refresh them from `listRules` now and then).
   */
  readonly rules: RuleSet | (() => RuleSet | Promise<RuleSet>);
  /** The API name of paths outside the Micro convention: `/x` is `api:{host}:/x`. */
  readonly host: string;
  /**
   * Paths let through unchecked, without an identity: exact, or a prefix when ending in
   * `/*`. Compared with the canonical path: `/public/../admin` is not under `/public/*`.
   */
  readonly publicPaths?: readonly string[] | undefined;
}

/** The outcome of {@link authorizeRequest}. */
export interface Decision {
  /** Whether the request may go on. */
  readonly allowed: boolean;
  /** 200 when allowed; else the status to answer: 400, 401, 403, or 503 (cannot be checked now). */
  readonly status: 200 | 400 | 401 | 403 | 503;
  /** The canonical path, which is what was judged (null when the target was refused). Route with it. */
  readonly path: string | null;
  /** The resource judged (null for a refused target, or a public path). */
  readonly resource: Resource | null;
  /** The verified claims of the caller's token (null without one). */
  readonly claims: Claims | null;
  /** When not allowed: the error to answer, micro-user's `{id, code, detail, status}`. */
  readonly error: MicroUserError | null;
  /** Headers to answer with (`www-authenticate`, `retry-after`). */
  readonly headers: Readonly<Record<string, string>>;
  /** The JSON body to answer with when not allowed (`""` when allowed). */
  readonly body: string;
}

function header(request: RequestLike, name: string): string | undefined {
  const headers = request.headers;
  if (typeof (headers as { get?: unknown }).get === "function") {
    return (headers as { get(name: string): string | null }).get(name) ?? undefined;
  }
  const value = (headers as Record<string, string | readonly string[] | undefined>)[name];
  return Array.isArray(value) ? value.join(", ") : (value as string | undefined);
}

function isPublic(path: string, publicPaths: readonly string[]): boolean {
  return publicPaths.some((p) => (p.endsWith("/*") ? path.startsWith(p.slice(0, -1)) : path === p));
}

function decision(
  status: Decision["status"],
  fields: Partial<Omit<Decision, "status" | "allowed" | "body">>,
): Decision {
  const error = fields.error ?? null;
  return {
    allowed: status === 200,
    status,
    path: fields.path ?? null,
    resource: fields.resource ?? null,
    claims: fields.claims ?? null,
    error,
    headers: fields.headers ?? {},
    body:
      error === null
        ? ""
        : JSON.stringify({ id: error.id, code: error.code, detail: error.detail, status: error.status }),
  };
}

function refusal(code: 401 | 403 | 503, detail: string): MicroUserError {
  const status = { 401: "Unauthorized", 403: "Forbidden", 503: "Service Unavailable" }[code];
  return new MicroUserError("auth", code, detail, status);
}

/**
 * Decide whether a request may reach the service, as micro-user's gateway endpoint would:
 *
 * 1. the canonical path of the raw request target ({@link canonicalPath}); an ambiguous
 *    target is a 400, whatever the rules say;
 * 2. a public path (`publicPaths`, matched against the canonical path) is allowed;
 * 3. the resource of the path ({@link resourceForPath}; a Micro path with broken names is a 400);
 * 4. the bearer token, checked by the verifier (401 when malformed, forged, expired or revoked);
 * 5. the rules: allowed, else 401 without a token or 403 with one.
 *
 * It never throws for a request: when the keys or rules cannot be had, the decision is a
 * 503 (it fails closed; the cause is the error's `cause`). Answer a refusal with its
 * `status`, `headers` and `body`:
 *
 * ```js
 * const decision = await authorizeRequest(request, { verifier, rules, host: "orders" });
 * if (!decision.allowed) {
 *   response.writeHead(decision.status, { "content-type": "application/json", ...decision.headers });
 *   return response.end(decision.body);
 * }
 * ```
 */
export async function authorizeRequest(request: RequestLike, options: AuthorizeOptions): Promise<Decision> {
  const target = typeof request.originalUrl === "string" ? request.originalUrl : request.url;
  let path: string;
  try {
    path = canonicalPath(target ?? "");
  } catch (error) {
    if (error instanceof AmbiguousPathError) return decision(400, { error });
    throw error;
  }
  if (isPublic(path, options.publicPaths ?? [])) return decision(200, { path });
  let resource: Resource;
  try {
    resource = resourceForPath(path, options.host);
  } catch (error) {
    if (error instanceof AmbiguousPathError) return decision(400, { path, error });
    throw error;
  }

  let claims: Claims | null = null;
  let rules: RuleSet;
  try {
    const authorization = header(request, "authorization");
    if (authorization !== undefined && authorization !== "") {
      const [scheme, token, ...rest] = authorization.trim().split(/\s+/);
      if (scheme?.toLowerCase() !== "bearer" || !token || rest.length > 0) {
        throw new InvalidTokenError("unsupported Authorization header: use 'Bearer <access token>'");
      }
      claims = await options.verifier.verify(token);
    }
    rules = typeof options.rules === "function" ? await options.rules() : options.rules;
  } catch (error) {
    if (error instanceof InvalidTokenError) {
      return decision(401, {
        path,
        resource,
        error,
        headers: { "www-authenticate": 'Bearer error="invalid_token"' },
      });
    }
    const failure = refusal(503, "access cannot be checked now");
    (failure as { cause?: unknown }).cause = error;
    return decision(503, { path, resource, error: failure, headers: { "retry-after": "1" } });
  }

  const text = formatResource(resource);
  if (rules.allows(claims === null ? null : subjectOf(claims), resource)) {
    return decision(200, { path, resource, claims });
  }
  if (claims === null) {
    return decision(401, {
      path,
      resource,
      error: refusal(401, `${text} needs credentials: send 'Authorization: Bearer <access token>'`),
      headers: { "www-authenticate": "Bearer" },
    });
  }
  return decision(403, { path, resource, claims, error: refusal(403, `${text} is not allowed for this account`) });
}
