/**
 * Access rules: the evaluation micro-user itself runs (`microuser.rules` in the Python SDK),
 * so that a service can decide locally exactly as the server would.
 *
 * A rule grants or denies one scope access to resources. For an account and a resource:
 * keep the rules whose type, name and endpoint each equal the resource's or are `*` (an
 * endpoint ending in `/*` matches by prefix: `/v1/orders/*` matches `/v1/orders/42` but not
 * `/v1/orders`; the name and endpoint of a `service` resource compare case-insensitively, ASCII
 * letters, so a denial of `Orders.Delete` also denies `Orders.DELETE`; `api` paths compare
 * exactly); order them by priority, highest first; the first rule whose scope applies
 * decides. Scope `""` applies to everyone, even without an account; `*` to any account of
 * the rules' namespace; `+` to an account of any namespace; any other scope to the
 * namespace's accounts holding it. When no rule applies, access is denied. Between rules
 * of equal priority a denial wins (then the lower id), so the outcome never depends on the
 * order the rules come in.
 *
 * `RuleSet` indexes the rules by type, name and endpoint once (folding the case of service
 * names and endpoints there), so a decision looks only at the few rules that can match: its
 * cost does not grow with the number of rules.
 */

const WILDCARD = "*";
const PREFIX_SUFFIX = "/*";
/** The type whose names and endpoints compare case-insensitively. */
const SERVICE = "service";
const NON_ASCII = /[^\x00-\x7f]/;
const UPPER_ALL = /[A-Z]/g;
const FOLDINGS_LIMIT = 4096;

/** ASCII letters lower-cased, anything else as it is: how service names and endpoints compare. */
function fold(text: string): string {
  // toLowerCase is native and fast, and on ASCII text it folds exactly A-Z.
  return NON_ASCII.test(text) ? text.replace(UPPER_ALL, (c) => c.toLowerCase()) : text.toLowerCase();
}

/** What a rule does when it decides. */
export type Access = "GRANTED" | "DENIED";
/** The two values of {@link Access}, by name. */
export const Access = Object.freeze({ GRANTED: "GRANTED", DENIED: "DENIED" } as const);

/** What is being accessed, e.g. `{ type: "service", name: "user", endpoint: "User.Create" }`. */
export interface Resource {
  readonly type: string;
  readonly name: string;
  readonly endpoint: string;
}

/** Grants or denies `scope` access to `resource` (whose parts may be `*`). */
export interface Rule {
  readonly id: string;
  readonly scope: string;
  readonly resource: Resource;
  readonly access: Access;
  /** Highest first; any integer. */
  readonly priority: number;
}

/** Who asks: an account's namespace (its issuer, a token's `iss`) and the scopes it holds. */
export interface Subject {
  readonly namespace: string;
  readonly scopes: ReadonlySet<string> | readonly string[];
}

/** The scope that may do everything in its namespace (API keys hold it). */
export const ADMIN_SCOPE = "admin";

/**
 * The rules micro-user adds to every namespace's own. Evaluate with them
 * (`new RuleSet(namespace, [...BUILTIN_RULES, ...rules])`) to decide as the server does.
 */
export const BUILTIN_RULES: readonly Rule[] = Object.freeze([
  // The admin scope may do everything in its namespace; no rule can outrank it.
  builtin("builtin-admin", ADMIN_SCOPE, "*", "*", "*", 2 ** 31 - 1),
  // Anyone may ask for a token: the id and secret in the request are the credential.
  builtin("builtin-token", "", "service", "auth", "Auth.Token", 0),
  // Any account of the namespace may inspect a token.
  builtin("builtin-inspect", "*", "service", "auth", "Auth.Inspect", 0),
]);

function builtin(
  id: string,
  scope: string,
  type: string,
  name: string,
  endpoint: string,
  priority: number,
): Rule {
  const resource = Object.freeze({ type, name, endpoint });
  return Object.freeze({ id, scope, resource, access: Access.GRANTED, priority });
}

/**
 * Read the command-line form `type:name:endpoint` (the endpoint may itself hold colons:
 * `api:shop:/v1/a:b`). Throws a `RangeError` when a part is missing or empty.
 */
export function parseResource(text: string): Resource {
  const first = text.indexOf(":");
  const second = first === -1 ? -1 : text.indexOf(":", first + 1);
  const resource =
    second === -1
      ? undefined
      : {
          type: text.slice(0, first),
          name: text.slice(first + 1, second),
          endpoint: text.slice(second + 1),
        };
  if (resource === undefined || !resource.type || !resource.name || !resource.endpoint) {
    throw new RangeError(`a resource is written type:name:endpoint, got ${JSON.stringify(text)}`);
  }
  return resource;
}

/** The command-line form of a resource, `type:name:endpoint`. */
export function formatResource(resource: Resource): string {
  return `${resource.type}:${resource.name}:${resource.endpoint}`;
}

/** Whether a rule of `namespace` with this scope applies to `subject` (null: nobody). */
export function scopeApplies(
  scope: string,
  subject: Subject | null | undefined,
  namespace: string,
): boolean {
  if (scope === "") return true;
  if (subject === null || subject === undefined) return false;
  if (scope === "+") return true;
  if (subject.namespace !== namespace) return false;
  if (scope === WILDCARD) return true;
  const scopes = subject.scopes;
  return isSet(scopes) ? scopes.has(scope) : scopes.includes(scope);
}

function isSet(scopes: ReadonlySet<string> | readonly string[]): scopes is ReadonlySet<string> {
  return !Array.isArray(scopes);
}

/** Strings in Unicode code point order, as Python (and Go) compare them; `<` compares UTF-16 units. */
function compareIds(a: string, b: string): number {
  if (a === b) return 0;
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    if (a.charCodeAt(i) !== b.charCodeAt(i)) {
      // At a surrogate pair, its whole code point decides; elsewhere, the unit is the point.
      return (a.codePointAt(i) as number) - (b.codePointAt(i) as number);
    }
  }
  return a.length - b.length;
}

/**
 * The order rules are tried in: highest priority first; at equal priority a denial first;
 * then by id, for a stable order. Negative when `a` comes first.
 */
function compareRules(a: Rule, b: Rule): number {
  if (a.priority !== b.priority) return a.priority > b.priority ? -1 : 1;
  if (a.access !== b.access) return a.access === Access.DENIED ? -1 : 1;
  return compareIds(a.id, b.id);
}

function checkRule(rule: Rule): void {
  const resource = rule?.resource;
  const what = `rule ${JSON.stringify(rule?.id)}`;
  if (typeof rule?.id !== "string" || typeof rule.scope !== "string") {
    throw new TypeError(`${what}: id and scope must be strings`);
  }
  if (
    typeof resource?.type !== "string" ||
    typeof resource.name !== "string" ||
    typeof resource.endpoint !== "string"
  ) {
    throw new TypeError(`${what}: resource needs a type, a name and an endpoint (strings)`);
  }
  if (rule.access !== Access.GRANTED && rule.access !== Access.DENIED) {
    throw new TypeError(`${what}: access is "GRANTED" or "DENIED", not ${JSON.stringify(rule.access)}`);
  }
  if (typeof rule.priority !== "number" || !Number.isFinite(rule.priority)) {
    throw new TypeError(`${what}: priority must be a finite number`);
  }
}

/** The rules of one (type, name) pair, by endpoint; each list sorted by {@link compareRules}. */
class Endpoints {
  readonly exact = new Map<string, Rule[]>();
  /** By the prefix before the `*`, which ends in `/`. */
  readonly prefixes = new Map<string, Rule[]>();
  readonly any: Rule[] = [];

  /** Index `rule` under `endpoint`: its own, or that folded. */
  add(endpoint: string, rule: Rule): void {
    if (endpoint === WILDCARD) {
      this.any.push(rule);
    } else if (endpoint.endsWith(PREFIX_SUFFIX)) {
      push(this.prefixes, endpoint.slice(0, -WILDCARD.length), rule);
    } else {
      push(this.exact, endpoint, rule);
    }
  }

  sort(): void {
    for (const rules of this.exact.values()) rules.sort(compareRules);
    for (const rules of this.prefixes.values()) rules.sort(compareRules);
    this.any.sort(compareRules);
  }

  /** The lists that can match `endpoint`, appended to `into`. */
  candidates(endpoint: string, into: Rule[][]): void {
    if (this.any.length > 0) into.push(this.any);
    const exact = this.exact.get(endpoint);
    if (exact !== undefined) into.push(exact);
    if (this.prefixes.size > 0) {
      let cut = endpoint.indexOf("/");
      while (cut !== -1) {
        const matched = this.prefixes.get(endpoint.slice(0, cut + 1));
        if (matched !== undefined) into.push(matched);
        cut = endpoint.indexOf("/", cut + 1);
      }
    }
  }
}

function indexed(index: Map<string, Map<string, Endpoints>>, type: string, name: string): Endpoints {
  let names = index.get(type);
  if (names === undefined) index.set(type, (names = new Map()));
  let endpoints = names.get(name);
  if (endpoints === undefined) names.set(name, (endpoints = new Endpoints()));
  return endpoints;
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}

/**
 * The rules of one namespace, indexed for evaluation. Build it once (it copies the list)
 * and decide many times.
 *
 * ```js
 * const rules = new RuleSet("micro", [...BUILTIN_RULES, ...(await auth.listRules())]);
 * rules.allows({ namespace: "micro", scopes: ["reader"] }, parseResource("service:user:User.Read"));
 * ```
 */
export class RuleSet {
  readonly namespace: string;
  readonly rules: readonly Rule[];
  /** type -> name -> endpoints: the rules of any type but `service`, exactly. */
  readonly #index = new Map<string, Map<string, Endpoints>>();
  /** The rules of type `service` or `*`, their name and endpoint folded. */
  readonly #folded = new Map<string, Map<string, Endpoints>>();
  /** Names and endpoints of service resources seen, folded (bounded): most are asked again and again. */
  #foldings = new Map<string, string>();

  constructor(namespace: string, rules: Iterable<Rule> = []) {
    if (typeof namespace !== "string") throw new TypeError("namespace must be a string");
    this.namespace = namespace;
    this.rules = Object.freeze([...rules]);
    for (const rule of this.rules) {
      checkRule(rule);
      const { type, name, endpoint } = rule.resource;
      if (type !== SERVICE) indexed(this.#index, type, name).add(endpoint, rule);
      // Folded once here, so that a decision folds only the resource.
      if (type === SERVICE || type === WILDCARD) indexed(this.#folded, type, fold(name)).add(fold(endpoint), rule);
    }
    for (const index of [this.#index, this.#folded]) {
      for (const names of index.values()) {
        for (const endpoints of names.values()) endpoints.sort();
      }
    }
  }

  /** The rule that decides, or null when no rule applies (which means denied). */
  decide(subject: Subject | null | undefined, resource: Resource): Rule | null {
    const lists: Rule[][] = [];
    const service = resource.type === SERVICE;
    const index = service ? this.#folded : this.#index;
    const name = service ? this.#fold(resource.name) : resource.name;
    const endpoint = service ? this.#fold(resource.endpoint) : resource.endpoint;
    for (const [type, n] of [
      [resource.type, name],
      [resource.type, WILDCARD],
      [WILDCARD, name],
      [WILDCARD, WILDCARD],
    ] as const) {
      index.get(type)?.get(n)?.candidates(endpoint, lists);
    }
    let best: Rule | null = null;
    const namespace = this.namespace;
    for (const rules of lists) {
      // Each list is sorted: its first applicable rule is its best one.
      for (const rule of rules) {
        if (best !== null && compareRules(rule, best) >= 0) break;
        if (scopeApplies(rule.scope, subject, namespace)) {
          best = rule;
          break;
        }
      }
    }
    return best;
  }

  #fold(text: string): string {
    let folded = this.#foldings.get(text);
    if (folded === undefined) {
      folded = fold(text);
      if (this.#foldings.size >= FOLDINGS_LIMIT) this.#foldings = new Map();
      this.#foldings.set(text, folded);
    }
    return folded;
  }

  /** Whether `subject` (null: nobody) may access `resource`. */
  allows(subject: Subject | null | undefined, resource: Resource): boolean {
    const rule = this.decide(subject, resource);
    return rule !== null && rule.access === Access.GRANTED;
  }
}

/** One-off evaluation; build a {@link RuleSet} once to evaluate many times. */
export function evaluate(
  rules: Iterable<Rule>,
  namespace: string,
  subject: Subject | null | undefined,
  resource: Resource,
): boolean {
  return new RuleSet(namespace, rules).allows(subject, resource);
}
