"""The wire contract: paths, field names, encodings, errors and limits."""

from __future__ import annotations

import base64
import json

import httpx
import jsonschema
import pytest

from conftest import unique


@pytest.fixture
def raw(server, admin_key):
    with httpx.Client(
        base_url=server.base_url, headers={"Authorization": f"Bearer {admin_key}"}, timeout=30
    ) as client:
        yield client


@pytest.mark.parametrize(
    "path",
    ["/v1/user/Read", "/v1/user/read", "/v1/user/READ", "/v1/user/User/Read", "/v1/User/user/read"],
)
def test_endpoint_names_are_case_insensitive(raw, new_user, path):
    account, _ = new_user()
    response = raw.post(path, json={"id": account["id"]})
    assert response.status_code == 200, response.text
    assert response.json()["account"]["id"] == account["id"]


def test_lower_camel_field_names_are_accepted(api, new_user):
    account, password = new_user()
    session = api.ok("Login", username=account["username"], password=password)["session"]
    assert api.ok("ReadSession", sessionId=session["id"])["session"]["id"] == session["id"]
    api.ok(
        "UpdatePassword",
        userId=account["id"],
        oldPassword=password,
        newPassword="new password 1",
        confirmPassword="new password 1",
    )
    api.ok("LogoutAll", userId=account["id"])


def test_query_parameters_merge_into_the_payload(raw, new_user):
    account, _ = new_user()
    response = raw.post("/v1/user/Read", params={"id": account["id"]})
    assert response.status_code == 200 and response.json()["account"]["id"] == account["id"]
    listed = raw.post("/v1/user/List", params={"limit": "1"})
    assert len(listed.json()["users"]) == 1


def test_int64_inputs_may_be_strings_and_wrong_types_are_400(api):
    assert api("List", limit="2").status_code == 200
    response = api("List", limit="lots")
    assert response.status_code == 400 and "limit" in response.json()["detail"]
    response = api("Read", id=123)
    assert response.status_code == 400 and "'id'" in response.json()["detail"]
    assert api("List", limit=-1).status_code == 400
    # protobuf JSON has no boolean integers (found by schemathesis: false was read as 0).
    for flag in (False, True):
        response = api("List", limit=flag)
        assert response.status_code == 400, response.text
        assert (
            response.json()["detail"] == "field 'limit': an integer is expected, not true or false"
        )


def test_unknown_fields_are_rejected_by_name(api):
    response = api("Read", id="x", nickname="y")
    assert response.status_code == 400
    assert response.json()["detail"] == "unknown field 'nickname'"


def test_malformed_json_and_non_objects_are_400(raw):
    for body in (b"{", b"[1,2]", b'"text"', b"\xff\xfe"):
        response = raw.post(
            "/v1/user/Read", content=body, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 400, (body, response.text)
        assert response.json()["id"] == "user.read"


def test_oversized_body_is_413_and_loses_nothing(raw):
    response = raw.post("/v1/user/Create", content=b'{"email":"' + b"a" * 70_000 + b'"}')
    assert response.status_code == 413
    body = response.json()
    assert (body["id"], body["code"], body["detail"]) == (
        "user.create",
        413,
        "the body is larger than 65536 bytes",
    )
    assert body["status"] in (
        "Request Entity Too Large",
        "Content Too Large",
    )  # the phrase varies by Python


def test_over_long_strings_are_400_naming_the_field(api):
    response = api(
        "Create", username="u" * 2000, email=f"{unique()}@example.com", password="sturdy-pass-1"
    )
    assert response.status_code == 400 and "username" in response.json()["detail"]
    response = api(
        "Create",
        profile={"k" * 200: "v"},
        email=f"{unique()}@example.com",
        password="sturdy-pass-1",
    )
    assert response.status_code == 400 and "profile" in response.json()["detail"]


def test_unknown_endpoints_and_methods_answer_in_the_error_shape(raw):
    response = raw.post("/v1/user/Frobnicate", json={})
    assert response.status_code == 404
    assert set(response.json()) == {"id", "code", "detail", "status"}
    response = raw.delete("/v1/user/Read")
    assert response.status_code == 405 and response.json()["code"] == 405


def test_errors_carry_status_equal_to_code(api):
    response = api("Read", id="nobody")
    body = response.json()
    assert response.status_code == body["code"] == 404
    assert body["status"] == "Not Found"


def test_responses_match_the_published_openapi_schemas(server, api, new_user):
    document = httpx.get(server.base_url + "/openapi.json").json()
    account, password = new_user()
    session = api.ok("Login", username=account["username"], password=password)["session"]
    calls = {
        "/v1/user/Read": {"id": account["id"]},
        "/v1/user/List": {"limit": 2},
        "/v1/user/ReadSession": {"session_id": session["id"]},
        "/v1/user/VerifyToken": {"token": "nope"},
        "/v1/user/Update": {"id": account["id"], "profile": {"x": "y"}},
    }
    for path, payload in calls.items():
        schema_ref = document["paths"][path]["post"]["responses"]["200"]["content"][
            "application/json"
        ]["schema"]
        schema = {**schema_ref, "components": document["components"]}
        body = api(path.rsplit("/", 1)[1], **payload).json()
        jsonschema.validate(body, schema)
    error_schema = {"$ref": "#/components/schemas/Error", "components": document["components"]}
    jsonschema.validate(api("Read", id="nobody").json(), error_schema)


def test_openapi_describes_every_endpoint_and_docs_page_lists_them(server):
    document = httpx.get(server.base_url + "/openapi.json").json()
    user = {p.rsplit("/", 1)[1] for p in document["paths"] if p.startswith("/v1/user/")}
    assert user == {
        "Create",
        "Read",
        "Update",
        "Delete",
        "List",
        "UpdatePassword",
        "Login",
        "Logout",
        "LogoutAll",
        "ReadSession",
        "SendVerificationEmail",
        "VerifyEmail",
        "SendPasswordResetEmail",
        "ResetPassword",
        "SendMagicLink",
        "VerifyToken",
        "StartTotp",
        "ConfirmTotp",
        "RegenerateRecoveryCodes",
        "RemoveFactors",
    }
    auth = {p.removeprefix("/v1/auth/") for p in document["paths"] if p.startswith("/v1/auth/")}
    assert auth == {
        "Auth/Generate",
        "Auth/Inspect",
        "Auth/Token",
        "Auth/Verify",
        "Accounts/List",
        "Accounts/Delete",
        "Accounts/ChangeSecret",
        "Rules/Create",
        "Rules/Delete",
        "Rules/List",
        "Roles/Create",
        "Roles/Delete",
        "Roles/List",
        "Roles/Grant",
        "Roles/Revoke",
        "Clients/Create",
        "Clients/List",
        "Clients/Delete",
        "Providers/Create",
        "Providers/List",
        "Providers/Delete",
        "FactorPolicy/Read",
        "FactorPolicy/Set",
    }
    create = document["paths"]["/v1/user/Create"]["post"]
    assert {"400", "401"} <= set(create["responses"])
    page = httpx.get(server.base_url + "/docs")
    assert page.status_code == 200 and "swagger-ui" in page.text


def test_health_and_ready(server):
    assert httpx.get(server.base_url + "/health").json() == {"status": "ok"}
    assert httpx.get(server.base_url + "/ready").json() == {"status": "ready"}


class TestAccess:
    def test_no_credentials_is_401(self, server):
        response = httpx.post(server.base_url + "/v1/user/List", json={})
        assert response.status_code == 401 and response.json()["id"] == "auth"

    def test_wrong_key_is_401(self, server):
        response = httpx.post(
            server.base_url + "/v1/user/List",
            json={},
            headers={"Authorization": "Bearer muk_wrong"},
        )
        assert response.status_code == 401

    def test_basic_auth_with_the_key_as_password(self, server, admin_key):
        token = base64.b64encode(f"x:{admin_key}".encode()).decode()
        response = httpx.post(
            server.base_url + "/v1/user/List", json={}, headers={"Authorization": f"Basic {token}"}
        )
        assert response.status_code == 200

    def test_keys_are_made_listed_and_revoked_with_the_cli(self, server):
        created = server.cli("key", "create", "--name", "ci")
        assert created.returncode == 0, created.stderr
        key = created.stdout.strip()
        assert key.startswith("muk_")
        headers = {"Authorization": f"Bearer {key}"}
        assert (
            httpx.post(server.base_url + "/v1/user/List", json={}, headers=headers).status_code
            == 200
        )
        listed = server.cli("key", "list")
        assert key not in listed.stdout
        key_id = next(k["id"] for k in json.loads(listed.stdout) if k["hint"] == key[:12] + "...")
        assert server.cli("key", "revoke", key_id).returncode == 0
        assert key_id not in {k["id"] for k in json.loads(server.cli("key", "list").stdout)}
        assert key_id in {k["id"] for k in json.loads(server.cli("key", "list", "--all").stdout)}
        assert server.cli("key", "revoke", key_id).returncode == 3
        # The test server caches key lookups for 0 seconds, so revocation is immediate.
        assert (
            httpx.post(server.base_url + "/v1/user/List", json={}, headers=headers).status_code
            == 401
        )

    def test_namespaces_see_nothing_of_each_other(self, server, api, new_user):
        account, password = new_user()
        namespace = unique("tenant")
        key = server.cli("key", "create", "--namespace", namespace).stdout.strip()
        other = httpx.Client(base_url=server.base_url, headers={"Authorization": f"Bearer {key}"})
        assert other.post("/v1/user/Read", json={"id": account["id"]}).status_code == 404
        assert other.post("/v1/user/List", json={}).json() == {"users": []}
        assert (
            other.post(
                "/v1/user/Login", json={"username": account["username"], "password": password}
            ).status_code
            == 401
        )
        session = api.ok("Login", username=account["username"], password=password)["session"]
        assert (
            other.post("/v1/user/ReadSession", json={"session_id": session["id"]}).status_code
            == 401
        )
        # The same username and email can exist in another namespace.
        created = other.post(
            "/v1/user/Create",
            json={
                "username": account["username"],
                "email": account["email"],
                "password": "sturdy-pass-1",
            },
        )
        assert created.status_code == 200, created.text
        assert created.json()["account"]["id"] != account["id"]
        other.close()


def test_get_serves_only_endpoints_that_change_nothing(raw, new_user):
    account, password = new_user()
    assert raw.get("/v1/user/Read", params={"id": account["id"]}).json()["account"] == account
    assert len(raw.get("/v1/user/List", params={"limit": 1}).json()["users"]) == 1
    refused = raw.get("/v1/user/Delete", params={"id": account["id"]})
    assert (
        refused.status_code == 405 and refused.json()["detail"] == "Delete changes data: use POST"
    )
    assert refused.headers["allow"] == "POST"
    # HEAD is a GET without the body: it changes nothing either, whatever it carries.
    for method in ("HEAD", "PUT", "DELETE", "PATCH"):
        refused = raw.request(method, "/v1/user/Delete", params={"id": account["id"]})
        assert refused.status_code == 405 and refused.headers["allow"] == "POST", method
    assert raw.get("/v1/user/Read", params={"id": account["id"]}).status_code == 200
    assert raw.request("HEAD", "/v1/user/Read", params={"id": account["id"]}).status_code == 200
    assert raw.post("/v1/user/Read", json={"id": account["id"]}).status_code == 200
