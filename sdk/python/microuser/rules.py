"""Access rules: the one evaluation that micro-user, its SDKs and its gateway check share.

A rule grants or denies one scope access to resources. For an account and a
resource: keep the rules whose type, name and endpoint each equal the
resource's or are ``*`` (an endpoint ending in ``/*`` matches by prefix);
order them by priority, highest first; the first rule whose scope applies to
the account decides. Scope ``""`` applies to everyone, even without an
account; ``*`` to any account of the rules' namespace; ``+`` to an account of
any namespace; any other scope to the namespace's accounts holding it. When
no rule applies, access is denied. Between rules of equal priority a denial
wins, so the outcome never depends on the order rules were made in. For
``service`` resources the name and endpoint compare case-insensitively
(``Orders.DELETE`` is ``Orders.Delete``, as Micro's routing treats them), so a
denial cannot be stepped around by case; ``api`` paths and every other type
compare exactly.

``RuleSet`` indexes the rules by type, name and endpoint once, so an
evaluation looks only at the few rules that can match: its cost does not grow
with the number of rules. Service rules are indexed by their lower-cased name
and endpoint, so the case-insensitive comparison costs two ``lower()`` calls.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from microuser.paths import AmbiguousPath

WILDCARD = "*"
PREFIX_SUFFIX = "/*"
SERVICE = "service"


class Access(StrEnum):
    GRANTED = "GRANTED"
    DENIED = "DENIED"


@dataclass(frozen=True, slots=True)
class Resource:
    """What is being accessed, e.g. ``Resource("service", "user", "User.Create")``."""

    type: str
    name: str
    endpoint: str

    @classmethod
    def parse(cls, text: str) -> Resource:
        """Read the command-line form ``type:name:endpoint``."""
        parts = text.split(":", 2)
        if len(parts) != 3 or not all(parts):
            raise ValueError(f"a resource is written type:name:endpoint, got {text!r}")
        return cls(*parts)

    def __str__(self) -> str:
        return f"{self.type}:{self.name}:{self.endpoint}"


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    scope: str
    resource: Resource
    access: Access = Access.GRANTED
    priority: int = 0


@dataclass(frozen=True, slots=True)
class Subject:
    """Who asks: an account's namespace (its issuer) and the scopes it holds."""

    namespace: str
    scopes: frozenset[str] = field(default_factory=frozenset)


ADMIN_SCOPE = "admin"
BUILTIN_RULES: tuple[Rule, ...] = (
    # The admin scope may do everything in its namespace; no rule can outrank it.
    Rule("builtin-admin", ADMIN_SCOPE, Resource("*", "*", "*"), Access.GRANTED, 2**31 - 1),
    # Anyone may ask for a token: the id and secret in the request are the credential.
    Rule("builtin-token", "", Resource("service", "auth", "Auth.Token"), Access.GRANTED, 0),
    # Any account of the namespace may inspect a token.
    Rule("builtin-inspect", "*", Resource("service", "auth", "Auth.Inspect"), Access.GRANTED, 0),
)
"""The rules micro-user adds to every namespace's own. Evaluate with them (``RuleSet(namespace,
[*BUILTIN_RULES, *rules])``) to decide as the server does."""


def scope_applies(scope: str, subject: Subject | None, namespace: str) -> bool:
    if scope == "":
        return True
    if subject is None:
        return False
    if scope == "+":
        return True
    if subject.namespace != namespace:
        return False
    return scope == WILDCARD or scope in subject.scopes


def _order(rule: Rule) -> tuple[int, int, str]:
    # Highest priority first; at equal priority a denial first; then by id, for a stable order.
    return (-rule.priority, 0 if rule.access is Access.DENIED else 1, rule.id)


class _Endpoints:
    """The rules of one (type, name) pair, by endpoint."""

    __slots__ = ("any", "exact", "prefixes")

    def __init__(self) -> None:
        self.exact: dict[str, list[Rule]] = {}
        self.prefixes: dict[str, list[Rule]] = {}
        self.any: list[Rule] = []

    def add(self, rule: Rule, endpoint: str) -> None:
        if endpoint == WILDCARD:
            self.any.append(rule)
        elif endpoint.endswith(PREFIX_SUFFIX):
            self.prefixes.setdefault(endpoint[: -len(WILDCARD)], []).append(rule)
        else:
            self.exact.setdefault(endpoint, []).append(rule)

    def sort(self) -> None:
        for rules in (*self.exact.values(), *self.prefixes.values(), self.any):
            rules.sort(key=_order)

    def candidates(self, endpoint: str, into: list[list[Rule]]) -> None:
        if self.any:
            into.append(self.any)
        exact = self.exact.get(endpoint)
        if exact:
            into.append(exact)
        if self.prefixes:
            cut = endpoint.find("/")
            while cut != -1:
                matched = self.prefixes.get(endpoint[: cut + 1])
                if matched:
                    into.append(matched)
                cut = endpoint.find("/", cut + 1)


class RuleSet:
    """The rules of one namespace, indexed for evaluation."""

    def __init__(self, namespace: str, rules: Iterable[Rule] = ()) -> None:
        self.namespace = namespace
        self.rules: tuple[Rule, ...] = tuple(rules)
        # Two indexes: exact keys for every type but service, lower-cased keys for the rules
        # that can match a service resource (type service or *).
        self._index: dict[tuple[str, str], _Endpoints] = {}
        self._folded: dict[tuple[str, str], _Endpoints] = {}
        for rule in self.rules:
            kind, name, endpoint = rule.resource.type, rule.resource.name, rule.resource.endpoint
            if kind != SERVICE:
                self._index.setdefault((kind, name), _Endpoints()).add(rule, endpoint)
            if kind in (SERVICE, WILDCARD):
                key = (kind, name.lower())
                self._folded.setdefault(key, _Endpoints()).add(rule, endpoint.lower())
        for endpoints in (*self._index.values(), *self._folded.values()):
            endpoints.sort()

    def decide(self, subject: Subject | None, resource: Resource) -> Rule | None:
        """The rule that decides, or None when no rule applies (which means denied)."""
        lists: list[list[Rule]] = []
        kind = resource.type
        if kind == SERVICE:
            index, name, endpoint = self._folded, resource.name.lower(), resource.endpoint.lower()
        else:
            index, name, endpoint = self._index, resource.name, resource.endpoint
        for key in ((kind, name), (kind, WILDCARD), (WILDCARD, name), (WILDCARD, WILDCARD)):
            endpoints = index.get(key)
            if endpoints is not None:
                endpoints.candidates(endpoint, lists)
        best: Rule | None = None
        best_order: tuple[int, int, str] | None = None
        namespace = self.namespace
        for rules in lists:
            # Each list is sorted: its first applicable rule is its best one.
            for rule in rules:
                if best_order is not None and _order(rule) >= best_order:
                    break
                if scope_applies(rule.scope, subject, namespace):
                    best, best_order = rule, _order(rule)
                    break
        return best

    def allows(self, subject: Subject | None, resource: Resource) -> bool:
        rule = self.decide(subject, resource)
        return rule is not None and rule.access is Access.GRANTED


def _title(segment: str) -> str:
    return segment[:1].upper() + segment[1:]


_MICRO_SERVICE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
_MICRO_ENDPOINT = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


def resource_for_path(path: str, name: str) -> Resource:
    """What the rules see a canonical request path (``microuser.paths.canonical_path``) as,
    at a gateway or in a middleware.

    The Micro convention first: ``/v1/{svc}/{endpoint}`` is ``service:{svc}:{Svc}.{Endpoint}``
    and ``/v1/{svc}/{handler}/{method}`` is ``service:{svc}:{Handler}.{Method}``; a Micro path
    whose service or endpoint segments are not plain names (``/v1/orders/delete.``) is refused
    with ``AmbiguousPath``, never judged as something else. Any other path is
    ``api:{name}:{path}``.
    """
    parts = [part for part in path.split("/") if part]
    if len(parts) in (3, 4) and parts[0] == "v1":
        service, rest = parts[1], parts[2:]
        if _MICRO_SERVICE.fullmatch(service) is None or not all(
            _MICRO_ENDPOINT.fullmatch(part) for part in rest
        ):
            raise AmbiguousPath(
                f"{path!r} follows the Micro convention /v1/{{service}}/{{endpoint}} but its"
                " segments are not plain names (letters, digits, '_'; '-' in the service)"
            )
        service = service.lower()
        handler = _title(service) if len(rest) == 1 else _title(rest[0])
        return Resource(SERVICE, service, f"{handler}.{_title(rest[-1])}")
    return Resource("api", name, path or "/")


def evaluate(
    rules: Sequence[Rule], namespace: str, subject: Subject | None, resource: Resource
) -> bool:
    """One-off evaluation; build a ``RuleSet`` once to evaluate many times."""
    return RuleSet(namespace, rules).allows(subject, resource)
