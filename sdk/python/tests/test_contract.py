"""The Python SDK against micro-user's OpenAPI document: every call sends only fields the
document describes for its endpoint (all the required ones), and reads only fields the
document says the answer has. The document is the server's own (``/openapi.json``), made
from the same types the server answers with, so this holds the SDK to the server."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
from micro_user.http import app as _app  # noqa: F401  (registers every endpoint)
from micro_user.http.openapi import openapi_document

from microuser import _auth_calls, _calls
from microuser._calls import Call
from microuser.rules import Access

DOCUMENT = openapi_document()
SCHEMAS = DOCUMENT["components"]["schemas"]
INT64 = "^-?[0-9]+$"


def resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = SCHEMAS[schema["$ref"].rsplit("/", 1)[1]]
    return schema


class Recorder(dict[str, Any]):
    """An answer that remembers which of its fields were read (``where`` names it)."""

    def __init__(self, where: str, fields: dict[str, Any], read: set[str]) -> None:
        super().__init__(fields)
        self.where, self.read = where, read

    def __getitem__(self, key: str) -> Any:
        self.read.add(f"{self.where}.{key}")
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        self.read.add(f"{self.where}.{key}")
        return super().get(key, default)


def sample(schema: dict[str, Any], where: str, read: set[str]) -> Any:
    """A value the document allows, every described field filled in."""
    schema = resolve(schema)
    kind = schema.get("type")
    if kind == "object" and "properties" in schema:
        fields = {
            name: sample(field, f"{where}.{name}", read)
            for name, field in schema["properties"].items()
        }
        return Recorder(where, fields, read)
    if kind == "object":
        return Recorder(where, {}, read)
    if kind == "array":
        return [sample(schema.get("items", {}), f"{where}[]", read)]
    if kind == "string":
        return "1" if schema.get("pattern") == INT64 else "GRANTED"
    if kind == "integer":
        return 1
    if kind == "boolean":
        return True
    return None


def described(schema: dict[str, Any], where: str) -> set[str]:
    """Every field path the document describes below ``where``."""
    schema = resolve(schema)
    found: set[str] = set()
    if schema.get("type") == "array":
        return described(schema.get("items", {}), f"{where}[]")
    for name, field in schema.get("properties", {}).items():
        found.add(f"{where}.{name}")
        found |= described(field, f"{where}.{name}")
    return found


PLACEHOLDERS: dict[str, Any] = {
    "str": "x",
    "int": 1,
    "bool": True,
    "Mapping[str, str] | None": {"k": "v"},
    "Iterable[str]": ["reader"],
    "Resource | str": "service:x:Y.Z",
    "Access | str": Access.GRANTED,
}


def calls() -> list[tuple[str, Callable[..., Call[Any]]]]:
    found = []
    module: ModuleType
    for module in (_calls, _auth_calls):
        for name, function in vars(module).items():
            returns = getattr(function, "__annotations__", {}).get("return", "")
            if not name.startswith("_") and str(returns).startswith("Call["):
                found.append((f"{module.__name__}.{name}", function))
    return found


def make(function: Callable[..., Call[Any]]) -> Call[Any]:
    arguments = {
        name: PLACEHOLDERS[str(parameter.annotation)]
        for name, parameter in inspect.signature(function).parameters.items()
    }
    return function(**arguments)


def check_fields(sent: Any, schema: dict[str, Any], where: str) -> None:
    schema = resolve(schema)
    if not isinstance(sent, dict) or "properties" not in schema:
        return  # a value, or a map (profile, metadata) whose keys are the caller's
    properties = schema["properties"]
    unknown = set(sent) - set(properties)
    assert not unknown, f"{where} sends fields the document does not describe: {unknown}"
    for name, value in sent.items():
        check_fields(value, properties[name], f"{where}.{name}")


@pytest.mark.parametrize(("name", "function"), calls(), ids=[name for name, _ in calls()])
def test_each_call_speaks_the_documented_contract(
    name: str, function: Callable[..., Call[Any]]
) -> None:
    call = make(function)
    operation = DOCUMENT["paths"][f"/v1/{call.service}/{call.endpoint}"]["post"]
    request = operation["requestBody"]["content"]["application/json"]["schema"]
    check_fields(call.payload, request, name)
    missing = set(resolve(request).get("required", ())) - set(call.payload)
    assert not missing, f"{name} leaves out required fields {missing}"

    answer = operation["responses"]["200"]["content"]["application/json"]["schema"]
    read: set[str] = set()
    call.parse(sample(answer, "answer", read))
    undescribed = read - described(answer, "answer")
    assert not undescribed, f"{name} reads fields the answer does not have: {undescribed}"


def test_every_endpoint_of_the_user_and_auth_services_has_a_call() -> None:
    covered = {f"/v1/{call.service}/{call.endpoint}" for call in (make(f) for _, f in calls())}
    documented = {path for path in DOCUMENT["paths"] if path.startswith(("/v1/user/", "/v1/auth/"))}
    assert documented - covered == set()


def test_placeholders_cover_every_argument_type() -> None:
    for name, function in calls():
        for parameter in inspect.signature(function).parameters.values():
            assert str(parameter.annotation) in PLACEHOLDERS, (name, parameter)
