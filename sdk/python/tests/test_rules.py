"""Rule evaluation: the shared cases (sdk/conformance/rules.json) and the index's invariants."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from microuser.rules import Access, Resource, Rule, RuleSet, Subject, evaluate, scope_applies

CASES = json.loads(
    (Path(__file__).resolve().parents[2] / "conformance" / "rules.json").read_text()
)["cases"]


def rule_from(data: dict[str, Any], number: int) -> Rule:
    return Rule(
        id=f"r{number}",
        scope=data["scope"],
        resource=Resource.parse(data["resource"]),
        access=Access(data.get("access", "GRANTED")),
        priority=data.get("priority", 0),
    )


def subject_from(data: dict[str, Any] | None) -> Subject | None:
    return None if data is None else Subject(data["namespace"], frozenset(data["scopes"]))


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_shared_case(case: dict[str, Any]) -> None:
    rules = [rule_from(r, i) for i, r in enumerate(case["rules"])]
    # The outcome may not depend on the order the rules come in.
    for ordering in (rules, list(reversed(rules))):
        allowed = evaluate(
            ordering, "micro", subject_from(case["subject"]), Resource.parse(case["resource"])
        )
        assert allowed is case["allowed"]


def naive(rules: list[Rule], namespace: str, subject: Subject | None, resource: Resource) -> bool:
    """The definition, read literally: filter, sort, first that applies."""

    def matches(rule: Rule) -> bool:
        r = rule.resource
        # Service resources compare name and endpoint case-insensitively; the rest exactly.
        fold = str.lower if resource.type == "service" else str
        name, endpoint = fold(r.name), fold(r.endpoint)
        wanted_name, wanted_endpoint = fold(resource.name), fold(resource.endpoint)
        endpoint_ok = endpoint in ("*", wanted_endpoint) or (
            endpoint.endswith("/*") and wanted_endpoint.startswith(endpoint[:-1])
        )
        return r.type in ("*", resource.type) and name in ("*", wanted_name) and endpoint_ok

    ordered = sorted(
        (r for r in rules if matches(r)),
        key=lambda r: (-r.priority, r.access is not Access.DENIED, r.id),
    )
    for rule in ordered:
        if scope_applies(rule.scope, subject, namespace):
            return rule.access is Access.GRANTED
    return False


def test_the_index_agrees_with_the_definition_on_random_rules() -> None:
    generator = random.Random(7)
    pick = generator.choice
    types, names = ["service", "api", "*"], ["user", "orders", "Orders", "*"]
    endpoints = [
        "User.Read",
        "user.read",
        "User.Create",
        "*",
        "/v1/a/*",
        "/V1/a/*",
        "/v1/a/b/*",
        "/v1/a/b/c",
    ]
    scopes = ["", "*", "+", "admin", "reader"]
    for trial in range(300):
        rules = [
            Rule(
                f"r{i}",
                pick(scopes),
                Resource(pick(types), pick(names), pick(endpoints)),
                pick(list(Access)),
                generator.randint(-2, 2),
            )
            for i in range(generator.randint(0, 12))
        ]
        ruleset = RuleSet("micro", rules)
        for _ in range(10):
            subject = pick(
                [
                    None,
                    Subject("micro", frozenset({pick(scopes)})),
                    Subject("other", frozenset({"admin"})),
                ]
            )
            resource = Resource(
                pick(types[:2]),
                pick(names[:3]),
                pick(
                    ["User.Read", "USER.READ", "User.Create", "/v1/a/b/c", "/V1/a/b/c", "/v1/a/x"]
                ),
            )
            assert ruleset.allows(subject, resource) is naive(rules, "micro", subject, resource), (
                trial,
                rules,
                subject,
                resource,
            )


def test_resource_parsing() -> None:
    assert Resource.parse("service:user:User.Create") == Resource("service", "user", "User.Create")
    assert Resource.parse("api:shop:/v1/a:b") == Resource("api", "shop", "/v1/a:b")
    assert str(Resource("service", "user", "*")) == "service:user:*"
    with pytest.raises(ValueError, match="type:name:endpoint"):
        Resource.parse("service:user")
