"""The shared SDK conformance scenario (sdk/conformance/user.json), run through this SDK.

The same file is run by the JavaScript and Go SDKs' own tests; see its README for the format.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import pytest
from conftest import unique
from sdk_testing import Users
from sdk_testing import anyio_backend_fixture as anyio_backend_fixture
from sdk_testing import flavour_fixture as flavour_fixture
from sdk_testing import users_fixture as users_fixture

from microuser import Account, APIError, Session

SCENARIO = Path(__file__).resolve().parents[2] / "conformance" / "user.json"
pytestmark = pytest.mark.anyio


def substitute(value: Any, variables: dict[str, Any]) -> Any:
    if isinstance(value, str):
        return re.sub(r"\$\{(\w+)\}", lambda m: str(variables[m.group(1)]), value)
    if isinstance(value, dict):
        return {k: substitute(v, variables) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, variables) for v in value]
    return value


def view(result: Any) -> Any:
    """The SDK's result as the scenario's snake-case JSON view."""
    if result is None:
        return {}
    if isinstance(result, Account):
        return {"account": dataclasses.asdict(result)}
    if isinstance(result, Session):
        return {"session": dataclasses.asdict(result)}
    if isinstance(result, tuple):
        session, account = result
        return {"session": dataclasses.asdict(session), "account": dataclasses.asdict(account)}
    if isinstance(result, list):
        return {"users": [dataclasses.asdict(a) for a in result]}
    raise AssertionError(f"unexpected result {result!r}")


def lookup(document: Any, path: str) -> Any:
    for part in path.split("."):
        if part == "length" and isinstance(document, list):
            document = len(document)
        elif isinstance(document, list):
            document = document[int(part)]
        else:
            document = document[part]
    return document


def matches(actual: Any, expected: Any) -> bool:
    if isinstance(expected, dict) and len(expected) == 1 and next(iter(expected)).startswith("$"):
        ((operator, operand),) = expected.items()
        if operator == "$nonempty":
            return isinstance(actual, str) and bool(actual) == operand
        if operator == "$gt":
            return isinstance(actual, int) and actual > operand
        if operator == "$ne":
            return actual != operand
        raise AssertionError(f"unknown matcher {operator}")
    return bool(actual == expected)


async def test_the_conformance_scenario(users: Users) -> None:
    steps = json.loads(SCENARIO.read_text())["steps"]
    variables: dict[str, Any] = {"run": unique("run")}
    for step in steps:
        name = step["name"]
        args = substitute(step.get("args", {}), variables)
        try:
            result = view(await getattr(users, step["call"])(**args))
        except APIError as error:
            expected_error = substitute(step.get("error"), variables)
            assert expected_error is not None, f"{name}: unexpected error {error!r}"
            assert (error.id, error.code) == (expected_error["id"], expected_error["code"]), name
            continue
        assert "error" not in step, f"{name}: expected {step['error']}, got {result}"
        for path, expected in substitute(step.get("expect", {}), variables).items():
            actual = lookup(result, path)
            assert matches(actual, expected), f"{name}: {path} is {actual!r}, expected {expected!r}"
        for variable, path in step.get("save", {}).items():
            variables[variable] = lookup(result, path)
