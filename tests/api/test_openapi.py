"""/openapi.json describes every route the server answers, no more and no less, and the
answers of a running server are valid against it."""

from __future__ import annotations

import base64
import re

import httpx
import jsonschema
from starlette.routing import Route

from micro_user.http.app import create_app
from micro_user.http.endpoints import registry
from micro_user.http.openapi import openapi_document
from micro_user.settings import Settings

OPERATIONS = {"get", "post", "put", "patch", "delete", "options", "head"}


def routes_of(tmp_path) -> dict[str, set[str]]:
    """Each route of a real app (HEAD, which Starlette adds to every GET, left out)."""
    app = create_app(Settings(data_dir=tmp_path))
    found = {}
    for route in app.routes:
        assert isinstance(route, Route)
        path = re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path)
        found[path] = {method.lower() for method in route.methods or ()} - {"head"}
    return found


def test_every_route_is_described_and_nothing_else(tmp_path):
    document = openapi_document()
    described = {
        path: {method for method in item if method in OPERATIONS} - {"head"}
        for path, item in document["paths"].items()
    }
    routes = routes_of(tmp_path)
    # The Micro API is one route dispatching to the registry: each endpoint is described,
    # POST always and GET where the endpoint changes nothing (or is the mailed link).
    # (It takes every method, and answers 405 naming each endpoint's own.)
    assert {"get", "post"} <= routes.pop("/v1/{path}")
    for endpoint in registry:
        expected = {"post"} | (
            {"get"} if endpoint.safe or endpoint.name == "VerifyEmail" else set()
        )
        assert described.pop(endpoint.path) == expected, endpoint.path
    assert described == routes


def test_component_names_are_unique_and_each_endpoint_has_its_own_models():
    schemas = openapi_document()["components"]["schemas"]
    generate = openapi_document()["paths"]["/v1/auth/Auth/Generate"]["post"]
    read = openapi_document()["paths"]["/v1/user/Read"]["post"]
    ref = "content", "application/json", "schema", "$ref"

    def target(operation):
        value = operation["responses"]["200"]
        for key in ref:
            value = value[key]
        return value.rsplit("/", 1)[1]

    assert (target(generate), target(read)) == ("AuthAccountResponse", "AccountResponse")
    account = schemas["AuthAccountResponse"]["properties"]["account"]["$ref"]
    assert account.endswith("/AuthAccountOut") and "AccountOut" in schemas
    # Every message has one name: no two classes share one (pydantic would then qualify
    # them by module).
    assert not [name for name in schemas if "__" in name]


def test_servers_are_this_server_and_the_configured_public_address():
    assert openapi_document()["servers"] == [{"url": "/", "description": "this server"}]
    servers = openapi_document("https://id.example.com/")["servers"]
    assert [server["url"] for server in servers] == ["https://id.example.com", "/"]


def validate(document, path, method, status, body):
    content = document["paths"][path][method]["responses"][str(status)]["content"]
    schema = {**content["application/json"]["schema"], "components": document["components"]}
    jsonschema.validate(body, schema)


def test_real_answers_are_valid_against_the_document(server, api, admin_key, new_user):
    admin_headers = {"Authorization": f"Bearer {admin_key}"}
    document = httpx.get(server.base_url + "/openapi.json").json()
    assert document["servers"][-1]["url"] == "/"
    account, password = new_user()
    session = api.ok("Login", username=account["username"], password=password)["session"]

    def call(path, body):
        answer = httpx.post(server.base_url + path, json=body, headers=admin_headers)
        return answer.status_code, answer.json()

    calls = {
        "/v1/user/Read": {"id": account["id"]},
        "/v1/user/List": {"limit": 2},
        "/v1/user/ReadSession": {"session_id": session["id"]},
        "/v1/auth/Auth/Generate": {"id": f"svc-{account['id'][:8]}", "type": "service"},
        "/v1/auth/Auth/Token": lambda: {
            "id": answers["/v1/auth/Auth/Generate"]["account"]["id"],
            "secret": answers["/v1/auth/Auth/Generate"]["account"]["secret"],
        },
        "/v1/auth/Auth/Inspect": lambda: {
            "token": answers["/v1/auth/Auth/Token"]["token"]["access_token"]
        },
        "/v1/auth/Accounts/List": {},
        "/v1/auth/Rules/List": {},
        "/v1/auth/Roles/List": {},
    }
    answers: dict[str, dict] = {}
    for path, body in calls.items():
        status, answer = call(path, body() if callable(body) else body)
        assert status == 200, (path, answer)
        validate(document, path, "post", 200, answer)
        answers[path] = answer
    # An error, as declared.
    status, answer = call("/v1/user/Read", {"id": "nobody"})
    validate(document, "/v1/user/Read", "post", status, answer)
    # The token endpoint, with the service account just made.
    generated = answers["/v1/auth/Auth/Generate"]["account"]
    basic = base64.b64encode(f"{generated['id']}:{generated['secret']}".encode()).decode()
    token = httpx.post(
        server.base_url + "/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert token.status_code == 200, token.text
    validate(document, "/oauth/token", "post", 200, token.json())
    refused = httpx.post(server.base_url + "/oauth/token", data={"grant_type": "nope"})
    validate(document, "/oauth/token", "post", refused.status_code, refused.json())


def test_an_undeclared_method_is_405_naming_the_allowed_ones(server):
    document = httpx.get(server.base_url + "/openapi.json").json()
    for path, item in document["paths"].items():
        declared = {method.upper() for method in item if method in OPERATIONS}
        url = server.base_url + re.sub(r"\{\w+\}", "x", path)
        for method in sorted({"GET", "POST", "PUT", "DELETE", "PATCH", "TRACE"} - declared):
            answer = httpx.request(method, url)
            assert answer.status_code == 405, (method, path, answer.status_code)
            allowed = {m.strip() for m in answer.headers["allow"].split(",")}
            assert allowed - {"HEAD"} == declared - {"HEAD"}, (method, path, allowed)
            assert answer.json()["code"] == 405


def test_what_the_document_calls_required_the_server_requires(server, admin_key):
    document = httpx.get(server.base_url + "/openapi.json").json()
    headers = {"Authorization": f"Bearer {admin_key}"}
    checked = 0
    for endpoint in registry:
        body = document["paths"][endpoint.path]["post"]["requestBody"]
        if not body["required"]:
            continue
        empty = httpx.post(server.base_url + endpoint.path, json={}, headers=headers)
        assert empty.status_code == 400, (endpoint.path, empty.text)
        checked += 1
    assert checked >= 20


def test_what_the_document_calls_open_is_open_and_the_rest_needs_credentials(server):
    document = httpx.get(server.base_url + "/openapi.json").json()
    opened = set()
    for endpoint in registry:
        operation = document["paths"][endpoint.path]["post"]
        anonymous = httpx.post(server.base_url + endpoint.path, json={})
        if {} in operation.get("security", document["security"]):
            opened.add(endpoint.path)
            assert anonymous.status_code != 401, endpoint.path
        else:
            assert anonymous.status_code == 401, (endpoint.path, anonymous.text)
    assert opened == {"/v1/auth/Auth/Token"}


def test_every_schema_speaks_json_schema():
    """Constraints are JSON Schema keywords (minimum, maxLength, ...), never pydantic's own
    names, which a client's validator would silently ignore."""
    from jsonschema import Draft202012Validator

    foreign = {"ge", "le", "gt", "lt", "min_length", "max_length", "multiple_of"}

    def walk(node, where):
        if isinstance(node, dict):
            assert not foreign & set(node), (where, node)
            for key, value in node.items():
                walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, f"{where}/{index}")

    document = openapi_document()
    walk(document, "#")
    for schema in document["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)
