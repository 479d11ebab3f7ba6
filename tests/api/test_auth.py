"""The auth service over real HTTP: service accounts, tokens, rules, roles, and the standard endpoints."""

from __future__ import annotations

import base64
import json

import httpx
import jwt as pyjwt
import pytest

from conftest import unique
from tests.support.services import ADMIN_KEY


class Auth:
    """Calls /v1/auth/{Handler}/{Method} with the admin key (or another credential)."""

    def __init__(self, base_url: str, credential: str | None = ADMIN_KEY) -> None:
        headers = {"Authorization": f"Bearer {credential}"} if credential else {}
        self.http = httpx.Client(base_url=base_url, headers=headers, timeout=30)

    def __call__(self, name: str, /, **fields):
        return self.http.post(f"/v1/auth/{name.replace('.', '/')}", json=fields)

    def ok(self, name: str, /, **fields):
        response = self(name, **fields)
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture
def auth(server):
    client = Auth(server.base_url)
    yield client
    client.http.close()


@pytest.fixture
def anonymous(server):
    client = Auth(server.base_url, None)
    yield client
    client.http.close()


def service_account(auth, **fields):
    return auth.ok("Auth.Generate", id=unique("svc-"), **fields)["account"]


def tokens_for(anonymous, account):
    return anonymous.ok("Auth.Token", id=account["id"], secret=account["secret"])["token"]


def test_generate_shows_the_secret_once(auth):
    account = service_account(auth, name="billing", metadata={"team": "pay"})
    assert account["type"] == "service" and account["issuer"] == "micro"
    assert account["secret"].startswith("mus_") and len(account["secret"]) > 40
    listed = {a["id"]: a for a in auth.ok("Accounts.List")["accounts"]}
    assert listed[account["id"]]["secret"] == ""
    assert listed[account["id"]]["metadata"] == {"team": "pay"}
    duplicate = auth("Auth.Generate", id=account["id"])
    assert duplicate.status_code == 400


def test_client_credentials_give_a_jwt_that_a_standard_library_verifies(server, auth, anonymous):
    auth.ok("Roles.Create", name="billing-reader", description="reads invoices")
    account = service_account(auth, scopes=["billing-reader"])
    token = tokens_for(anonymous, account)
    assert int(token["expiry"]) - int(token["created"]) == 15 * 60
    # PyJWT, reading our JWKS over HTTP, with no micro-user code.
    signing_key = pyjwt.PyJWKClient(
        server.base_url + "/.well-known/jwks.json"
    ).get_signing_key_from_jwt(token["access_token"])
    claims = pyjwt.decode(
        token["access_token"], signing_key.key, algorithms=["EdDSA"], issuer=server.base_url
    )
    assert claims["sub"] == account["id"] and claims["type"] == "service"
    assert claims["iss"] == server.base_url and claims["namespace"] == "micro"
    assert claims["scopes"] == ["billing-reader"] and claims["exp"] - claims["iat"] == 900
    assert len(claims["jti"]) >= 32
    header = pyjwt.get_unverified_header(token["access_token"])
    assert header["alg"] == "EdDSA" and header["kid"]


def test_wrong_secret_is_401_and_looks_like_unknown_account(anonymous, auth):
    account = service_account(auth)
    wrong = anonymous("Auth.Token", id=account["id"], secret="mus_wrong")
    unknown = anonymous("Auth.Token", id=unique("nobody"), secret="mus_wrong")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert (
        anonymous(
            "Auth.Token", id=account["id"], secret=account["secret"], refresh_token="x"
        ).status_code
        == 400
    )


def test_refresh_tokens_rotate_and_reuse_revokes_the_family(anonymous, auth):
    first = tokens_for(anonymous, service_account(auth))
    second = anonymous.ok("Auth.Token", refresh_token=first["refresh_token"])["token"]
    assert second["refresh_token"] != first["refresh_token"]
    reused = anonymous("Auth.Token", refresh_token=first["refresh_token"])
    assert reused.status_code == 401 and "reused" in reused.json()["detail"]
    # The thief's copy is dead, and so is the legitimate holder's newer token.
    assert anonymous("Auth.Token", refresh_token=second["refresh_token"]).status_code == 401


def claims_of(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_token_expiry_shortens_the_access_token_but_never_lengthens_it(anonymous, auth):
    account = service_account(auth)
    short = anonymous.ok("Auth.Token", id=account["id"], secret=account["secret"], token_expiry=60)
    claims = claims_of(short["token"]["access_token"])
    assert claims["exp"] - claims["iat"] == 60
    assert int(short["token"]["expiry"]) - int(short["token"]["created"]) == 60
    # Refreshing asks again: without token_expiry the default lifetime (15 minutes).
    refreshed = anonymous.ok("Auth.Token", refresh_token=short["token"]["refresh_token"])
    claims = claims_of(refreshed["token"]["access_token"])
    assert claims["exp"] - claims["iat"] == 900
    # Longer than the configured lifetime is capped at it, as a string int64 too.
    long = anonymous.ok(
        "Auth.Token", id=account["id"], secret=account["secret"], token_expiry="86400"
    )
    claims = claims_of(long["token"]["access_token"])
    assert claims["exp"] - claims["iat"] == 900
    negative = anonymous(
        "Auth.Token",
        refresh_token=refreshed["token"]["refresh_token"],
        token_expiry=-5,
    )
    assert negative.status_code == 400 and "token_expiry" in negative.json()["detail"]
    # The 400 spent nothing: the refresh token still works.
    anonymous.ok("Auth.Token", refresh_token=refreshed["token"]["refresh_token"])


def test_a_session_exchanged_for_tokens_ends_them_when_it_ends(api, new_user, anonymous):
    account, password = new_user()
    session = api.ok("Login", username=account["username"], password=password)["session"]
    token = anonymous.ok("Auth.Token", session_id=session["id"])["token"]
    inspected = Auth(anonymous.http.base_url, token["access_token"]).ok(
        "Auth.Inspect", token=token["access_token"]
    )
    assert inspected["account"]["id"] == account["id"] and inspected["account"]["type"] == "user"
    api.ok("Logout", session_id=session["id"])
    assert anonymous("Auth.Token", refresh_token=token["refresh_token"]).status_code == 401
    assert anonymous("Auth.Token", session_id=session["id"]).status_code == 401


def forge(token: str, **changes) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims.update(changes)
    body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{body}.{signature}"


def test_tampered_and_unsigned_tokens_are_rejected(server, auth, anonymous):
    account = service_account(auth, scopes=["admin"])
    good = tokens_for(anonymous, account)["access_token"]
    assert Auth(server.base_url, good).ok("Accounts.List")  # an admin token works as a credential
    none_header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
    hs_header = (
        base64.urlsafe_b64encode(
            json.dumps({"alg": "HS256", "kid": pyjwt.get_unverified_header(good)["kid"]}).encode()
        )
        .rstrip(b"=")
        .decode()
    )
    _, payload, _ = good.split(".")
    bad = {
        "tampered": forge(good, scopes=["admin", "root"]),
        "alg none": f"{none_header}.{payload}.",
        "hs256 with our kid": f"{hs_header}.{payload}."
        + base64.urlsafe_b64encode(b"x" * 32).rstrip(b"=").decode(),
        "garbage": "eyJ.eyJ.sig",
    }
    for name, token in bad.items():
        assert Auth(server.base_url, token)("Accounts.List").status_code == 401, name
        assert auth("Auth.Inspect", token=token).status_code == 401, name
        gate = httpx.get(
            server.base_url + "/auth/forward",
            headers={"Authorization": f"Bearer {token}", "X-Original-URI": "/v1/user/Read"},
        )
        assert gate.status_code == 401, name


def test_a_token_of_another_namespace_is_not_an_account_here(server, auth, anonymous):
    namespace = unique("ns")
    key = server.cli("key", "create", "--namespace", namespace).stdout.strip()
    other = Auth(server.base_url, key)
    account = other.ok("Auth.Generate", id=unique("svc-"), scopes=["admin"])["account"]
    token = other.ok("Auth.Token", id=account["id"], secret=account["secret"])["token"][
        "access_token"
    ]
    # Admin of its own namespace, but the micro namespace's admin rule does not apply to it.
    assert Auth(server.base_url, token).ok("Accounts.List")["accounts"][0]["issuer"] == namespace
    verdict = auth.ok(
        "Auth.Verify",
        token=token,
        namespace="micro",
        resource={"type": "service", "name": "user", "endpoint": "User.Read"},
    )
    assert verdict["allowed"] is False
    # Its own namespace cannot get a token for a micro account either.
    assert anonymous("Auth.Token", id=account["id"], secret=account["secret"]).status_code == 401


def test_rules_decide_who_may_call_micro_user(server, auth, anonymous, new_user):
    auth.ok("Roles.Create", name=(role := unique("reader")))
    account = service_account(auth, scopes=[role])
    token = tokens_for(anonymous, account)["access_token"]
    caller = Auth(server.base_url, token)
    user, _ = new_user()
    read = lambda: caller.http.post("/v1/user/Read", json={"id": user["id"]})  # noqa: E731
    assert read().status_code == 403 and "service:user:User.Read" in read().json()["detail"]
    rule_id = unique("rule-")
    auth.ok(
        "Rules.Create",
        rule={
            "id": rule_id,
            "scope": role,
            "resource": {"type": "service", "name": "user", "endpoint": "User.Read"},
            "access": "GRANTED",
            "priority": 5,
        },
    )
    assert read().status_code == 200
    assert caller.http.post("/v1/user/Delete", json={"id": user["id"]}).status_code == 403
    listed = [r for r in auth.ok("Rules.List")["rules"] if r["id"] == rule_id]
    assert listed == [
        {
            "id": rule_id,
            "scope": role,
            "resource": {"type": "service", "name": "user", "endpoint": "User.Read"},
            "access": "GRANTED",
            "priority": 5,
        }
    ]
    auth.ok("Rules.Delete", id=rule_id)
    assert read().status_code == 403
    assert auth("Rules.Delete", id=rule_id).status_code == 404


def test_a_public_rule_opens_login_to_anyone(server, auth, new_user):
    account, password = new_user()

    def login():
        return httpx.post(
            server.base_url + "/v1/user/Login",
            json={"username": account["username"], "password": password},
        )

    assert login().status_code == 401
    rule_id = unique("public-login-")
    auth.ok(
        "Rules.Create",
        rule={
            "id": rule_id,
            "scope": "",
            "resource": {"type": "service", "name": "user", "endpoint": "User.Login"},
        },
    )
    try:
        assert login().status_code == 200
    finally:
        auth.ok("Rules.Delete", id=rule_id)
    assert login().status_code == 401


def test_a_user_may_read_and_change_their_own_account_only(server, api, new_user, anonymous):
    account, password = new_user()
    other, _ = new_user()
    session = api.ok("Login", username=account["username"], password=password)["session"]
    for credential in (
        session["id"],
        anonymous.ok("Auth.Token", session_id=session["id"])["token"]["access_token"],
    ):
        me = Auth(server.base_url, credential).http
        assert (
            me.post("/v1/user/Read", json={"id": account["id"]}).json()["account"]["id"]
            == account["id"]
        )
        assert (
            me.post(
                "/v1/user/Update", json={"id": account["id"], "profile": {"theme": "dark"}}
            ).status_code
            == 200
        )
        assert me.post("/v1/user/Read", json={"id": other["id"]}).status_code == 403
        assert (
            me.post("/v1/user/Update", json={"id": other["id"], "profile": {"x": "y"}}).status_code
            == 403
        )
        assert me.post("/v1/user/List", json={}).status_code == 403


def test_roles_are_granted_and_revoked_and_tokens_carry_them(auth, anonymous, new_user):
    role = unique("ops")
    auth.ok("Roles.Create", name=role, description="operators")
    assert {"name": role, "description": "operators"} in auth.ok("Roles.List")["roles"]
    user, password = new_user()
    auth.ok("Roles.Grant", role=role, account_type="user", account_id=user["id"])
    assert (
        auth(
            "Roles.Grant", role=unique("missing"), account_type="user", account_id=user["id"]
        ).status_code
        == 404
    )
    assert (
        auth("Roles.Grant", role=role, account_type="user", account_id="nobody").status_code == 404
    )
    account = service_account(auth)
    auth.ok("Roles.Grant", role=role, account_type="service", account_id=account["id"])
    claims = pyjwt.decode(
        tokens_for(anonymous, account)["access_token"], options={"verify_signature": False}
    )
    assert claims["scopes"] == [role]
    auth.ok("Roles.Revoke", role=role, account_type="service", account_id=account["id"])
    claims = pyjwt.decode(
        tokens_for(anonymous, account)["access_token"], options={"verify_signature": False}
    )
    assert claims["scopes"] == []
    auth.ok("Roles.Delete", name=role)
    assert auth("Roles.Delete", name=role).status_code == 404


def test_generate_takes_free_scope_strings_as_micro_does(server, auth, anonymous):
    """Micro's Auth.Generate takes any scopes and rules name them; roles are a layer on top:
    a scope not yet a role becomes one, and a rule for it applies to the account."""
    scope = unique("reader.")
    account = service_account(auth, scopes=[scope, scope])
    assert account["scopes"] == [scope]
    assert {"name": scope, "description": ""} in auth.ok("Roles.List")["roles"]
    token = tokens_for(anonymous, account)["access_token"]
    assert pyjwt.decode(token, options={"verify_signature": False})["scopes"] == [scope]
    auth.ok(
        "Rules.Create",
        rule={
            "id": unique("rule-"),
            "scope": scope,
            "resource": {"type": "service", "name": "user", "endpoint": "User.List"},
            "access": "GRANTED",
            "priority": 1,
        },
    )
    listed = httpx.post(
        server.base_url + "/v1/user/User/List",
        json={},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert listed.status_code == 200, listed.text
    # Still a name a rule can hold: a space or an empty scope is refused, and nothing is made.
    bad = auth("Auth.Generate", id=unique("svc-"), scopes=["has space"])
    assert bad.status_code == 400 and "scope" in bad.json()["detail"], bad.text
    assert "has space" not in {r["name"] for r in auth.ok("Roles.List")["roles"]}


def test_rule_priorities_span_32_bits_but_the_top_one(auth):
    def create(priority):
        return auth(
            "Rules.Create",
            rule={
                "id": unique("rule-"),
                "resource": {"type": "service", "name": "x", "endpoint": "Y.Z"},
                "priority": priority,
            },
        )

    assert create(-(2**31)).status_code == 200
    assert create(2**31 - 2).status_code == 200
    for refused in (2**31 - 1, 2**31, -(2**31) - 1):  # the top one is the built-in admin's
        assert create(refused).status_code == 400, refused


def test_resource_parts_longer_than_their_columns_are_a_400_not_a_503(auth):
    """Found by schemathesis: a 129-character resource name was a 503 on PostgreSQL."""

    def create(**resource):
        return auth(
            "Rules.Create",
            rule={"resource": {"type": "service", "name": "x", "endpoint": "Y.Z", **resource}},
        )

    for part, longest in (("type", 64), ("name", 128), ("endpoint", 512)):
        assert create(**{part: "a" * longest}).status_code == 200, part
        refused = create(**{part: "a" * (longest + 1)})
        assert refused.status_code == 400, (part, refused.text)
        assert f"resource {part} must be 1 to {longest} characters" in refused.json()["detail"]
    verify = auth("Auth.Verify", resource={"type": "a" * 65, "name": "x", "endpoint": "y"})
    assert verify.status_code == 400


def test_change_secret_and_delete_end_what_the_old_secret_got(auth, anonymous):
    account = service_account(auth)
    old_tokens = tokens_for(anonymous, account)
    changed = auth.ok("Accounts.ChangeSecret", id=account["id"])["account"]
    assert changed["secret"] and changed["secret"] != account["secret"]
    assert anonymous("Auth.Token", id=account["id"], secret=account["secret"]).status_code == 401
    assert anonymous("Auth.Token", refresh_token=old_tokens["refresh_token"]).status_code == 401
    new_tokens = anonymous.ok("Auth.Token", id=account["id"], secret=changed["secret"])["token"]
    auth.ok("Accounts.Delete", id=account["id"])
    assert anonymous("Auth.Token", refresh_token=new_tokens["refresh_token"]).status_code == 401
    assert auth("Accounts.Delete", id=account["id"]).status_code == 404


def test_jwks_and_discovery_publish_no_private_key(server):
    jwks = httpx.get(server.base_url + "/.well-known/jwks.json").json()
    assert jwks["keys"] and all(
        set(k) <= {"kty", "crv", "x", "y", "n", "e", "kid", "alg", "use"} for k in jwks["keys"]
    )
    discovery = httpx.get(server.base_url + "/.well-known/openid-configuration").json()
    assert discovery["jwks_uri"] == server.base_url + "/.well-known/jwks.json"
    assert discovery["token_endpoint"] == server.base_url + "/oauth/token"
    assert set(discovery["grant_types_supported"]) == {
        "authorization_code",
        "client_credentials",
        "refresh_token",
    }


def test_oauth_token_introspection_and_revocation(server, auth):
    account = service_account(auth)
    basic = httpx.BasicAuth(account["id"], account["secret"])
    issued = httpx.post(
        server.base_url + "/oauth/token", data={"grant_type": "client_credentials"}, auth=basic
    )
    assert issued.status_code == 200 and issued.headers["cache-control"] == "no-store"
    body = issued.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 900
    posted = httpx.post(
        server.base_url + "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": account["id"],
            "client_secret": account["secret"],
        },
    )
    assert posted.status_code == 200
    refreshed = httpx.post(
        server.base_url + "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": body["refresh_token"]},
    )
    assert refreshed.status_code == 200
    errors = {
        "invalid_client": httpx.post(
            server.base_url + "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=httpx.BasicAuth(account["id"], "wrong"),
        ),
        "unsupported_grant_type": httpx.post(
            server.base_url + "/oauth/token", data={"grant_type": "password"}, auth=basic
        ),
        "invalid_grant": httpx.post(
            server.base_url + "/oauth/token",
            data={"grant_type": "refresh_token", "refresh_token": body["refresh_token"]},
        ),
        "invalid_request": httpx.post(server.base_url + "/oauth/token", data={}),
    }
    for error, response in errors.items():
        assert response.status_code in (400, 401) and response.json()["error"] == error, (
            error,
            response.text,
        )
    # The reuse above revoked the whole family, the access tokens it minted included.
    assert httpx.post(
        server.base_url + "/oauth/introspect",
        data={"token": refreshed.json()["access_token"]},
        auth=basic,
    ).json() == {"active": False}
    access = posted.json()["access_token"]
    introspected = httpx.post(
        server.base_url + "/oauth/introspect", data={"token": access}, auth=basic
    ).json()
    assert introspected["active"] is True and introspected["sub"] == account["id"]
    assert httpx.post(
        server.base_url + "/oauth/introspect", data={"token": "nonsense"}, auth=basic
    ).json() == {"active": False}
    assert (
        httpx.post(server.base_url + "/oauth/introspect", data={"token": access}).status_code == 401
    )
    assert (
        httpx.post(
            server.base_url + "/oauth/revoke", data={"token": access}, auth=basic
        ).status_code
        == 200
    )
    assert httpx.post(
        server.base_url + "/oauth/introspect", data={"token": access}, auth=basic
    ).json() == {"active": False}
    gate = httpx.get(
        server.base_url + "/auth/forward",
        headers={"Authorization": f"Bearer {access}", "X-Original-URI": "/v1/user/Read"},
    )
    assert gate.status_code == 401
    refresh = refreshed.json()["refresh_token"]
    assert (
        httpx.post(
            server.base_url + "/oauth/revoke", data={"token": refresh}, auth=basic
        ).status_code
        == 200
    )
    assert (
        httpx.post(
            server.base_url + "/oauth/token",
            data={"grant_type": "refresh_token", "refresh_token": refresh},
        ).status_code
        == 400
    )


def test_verify_answers_for_tokens_and_for_nobody(auth, anonymous):
    account = service_account(auth, scopes=["admin"])
    token = tokens_for(anonymous, account)["access_token"]
    resource = {"type": "service", "name": "orders", "endpoint": "Orders.Create"}
    assert auth.ok("Auth.Verify", token=token, resource=resource)["allowed"] is True
    assert auth.ok("Auth.Verify", resource=resource)["allowed"] is False
    assert auth("Auth.Verify", token="not-a-token", resource=resource).status_code == 401
    assert auth("Auth.Verify", resource={"type": "service"}).status_code == 400


class TestForwardAuth:
    @pytest.fixture
    def reader_token(self, auth, anonymous):
        role = unique("viewer")
        auth.ok("Roles.Create", name=role)
        auth.ok(
            "Rules.Create",
            rule={
                "id": unique("r-"),
                "scope": role,
                "resource": {"type": "service", "name": "orders", "endpoint": "Orders.List"},
            },
        )
        account = service_account(auth, scopes=[role])
        return account, tokens_for(anonymous, account)["access_token"]

    @pytest.mark.parametrize(
        ("kind", "convention"),
        [
            (
                "nginx",
                lambda uri, method: (
                    "/auth/forward",
                    {"X-Original-URI": uri, "X-Original-Method": method},
                ),
            ),
            (
                "traefik",
                lambda uri, method: (
                    "/auth/forward",
                    {
                        "X-Forwarded-Uri": uri,
                        "X-Forwarded-Method": method,
                        "X-Forwarded-Host": "api.example.com",
                    },
                ),
            ),
            ("envoy", lambda uri, method: ("/auth/forward" + uri, {})),
        ],
        ids=["nginx", "traefik", "envoy"],
    )
    def test_each_gateway_convention(self, server, reader_token, tmp_path, kind, convention):
        # One kind per instance (MICRO_USER_GATEWAY_KIND; nginx is the default), on one database.
        instance = server
        if kind != "nginx":
            instance = server.sibling(tmp_path, {"MICRO_USER_GATEWAY_KIND": kind}).start()
        try:
            self.check_convention(instance, reader_token, convention)
        finally:
            if instance is not server:
                instance.stop()

    @staticmethod
    def check_convention(server, reader_token, convention):
        account, token = reader_token
        path, headers = convention("/v1/orders/list?page=2", "POST")
        allowed = httpx.post(
            server.base_url + path, headers={**headers, "Authorization": f"Bearer {token}"}
        )
        assert allowed.status_code == 200
        assert allowed.headers["x-micro-account-id"] == account["id"]
        assert allowed.headers["x-micro-namespace"] == "micro"
        path, headers = convention("/v1/orders/delete", "POST")
        assert (
            httpx.post(
                server.base_url + path, headers={**headers, "Authorization": f"Bearer {token}"}
            ).status_code
            == 403
        )
        denied = httpx.post(server.base_url + path, headers=headers)
        assert denied.status_code == 401 and denied.headers["www-authenticate"].startswith("Bearer")

    def test_api_keys_and_session_cookies_work_too(self, server, api, new_user):
        account, password = new_user()
        session = api.ok("Login", username=account["username"], password=password)["session"]
        headers = {"X-Original-URI": "/v1/user/Read"}
        assert (
            httpx.get(
                server.base_url + "/auth/forward",
                headers={**headers, "Authorization": f"Bearer {ADMIN_KEY}"},
            ).status_code
            == 200
        )
        by_cookie = httpx.get(
            server.base_url + "/auth/forward",
            headers=headers,
            cookies={"micro_session": session["id"]},
        )
        assert (
            by_cookie.status_code == 403
            and by_cookie.json()["detail"]
            == "service:user:User.Read is not allowed for this account"
        )
        assert (
            httpx.get(
                server.base_url + "/auth/forward",
                headers=headers,
                cookies={"micro_session": "stale"},
            ).status_code
            == 401
        )
