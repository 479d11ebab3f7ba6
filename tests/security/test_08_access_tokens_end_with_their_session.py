"""Finding 8: access tokens outlived their session.

The attacker holds an access token minted from a victim's session (or steals a
refresh token). The victim logs out, logs out everywhere, resets the password,
the account is deleted, or the refresh family is revoked: the token must be
refused at once by the instance that ended it, and within about a second by
every other instance on the same database, for every way a token is used.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

import anyio
import httpx
import jwt
import pytest
from microuser.middleware import AuthMiddleware
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from conftest import unique
from tests.support.services import ADMIN_KEY, ServerProcess

ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
# The other instance polls every MICRO_USER_AUTH_REFRESH_SECONDS (1 s) and then reloads.
OTHER_INSTANCE_WITHIN = 2.5
PASSWORD = "correct horse 1"


@pytest.fixture(scope="module")
def second(server: ServerProcess, tmp_path_factory: pytest.TempPathFactory):
    """Another micro-user on the first one's database."""
    other = server.sibling(tmp_path_factory.mktemp("second")).start()
    yield other
    other.stop()


def call(
    instance: ServerProcess, path: str, bearer: str = ADMIN_KEY, **body: Any
) -> httpx.Response:
    return httpx.post(
        f"{instance.base_url}{path}",
        json=body,
        headers={"Authorization": f"Bearer {bearer}"},
        timeout=30,
    )


def ok(instance: ServerProcess, path: str, **body: Any) -> dict[str, Any]:
    response = call(instance, path, **body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


@dataclass
class Victim:
    id: str
    email: str
    session: str
    access: str
    refresh: str


def victim(server: ServerProcess) -> Victim:
    name = unique()
    email = f"{name}@example.com"
    account = ok(server, "/v1/user/Create", username=name, email=email, password=PASSWORD)
    session = ok(server, "/v1/user/Login", username=name, password=PASSWORD)["session"]["id"]
    pair = ok(server, "/v1/auth/Auth/Token", session_id=session)["token"]
    return Victim(
        account["account"]["id"], email, session, pair["access_token"], pair["refresh_token"]
    )


def uses(instance: ServerProcess, token: str, account_id: str) -> dict[str, bool]:
    """Each way a token is used: True where the instance took it as valid."""
    update = call(instance, "/v1/user/Update", token, id=account_id, profile={"seen": "yes"})
    inspect = call(instance, "/v1/auth/Auth/Inspect", token=token)
    introspect = httpx.post(
        f"{instance.base_url}/oauth/introspect", data={"token": token}, headers=ADMIN
    )
    forward = httpx.get(
        f"{instance.base_url}/auth/forward",
        headers={"Authorization": f"Bearer {token}", "X-Original-URI": "/v1/user/Read"},
    )
    resource = {"type": "service", "name": "user", "endpoint": "User.Read"}
    verify = call(instance, "/v1/auth/Auth/Verify", token=token, resource=resource)
    # (404: the token was taken, the account is gone; what counts is that it is not a 401.)
    assert update.status_code in (200, 401, 403, 404), update.text
    assert introspect.status_code == 200, introspect.text
    return {
        "User.Update": update.status_code != 401,
        "Auth.Inspect": inspect.status_code == 200,
        "/oauth/introspect": introspect.json()["active"] is True,
        "/auth/forward": forward.status_code != 401,
        "Auth.Verify": verify.status_code == 200,
    }


def live(instance: ServerProcess, token: str, account_id: str) -> None:
    assert all(uses(instance, token, account_id).values()), uses(instance, token, account_id)


def refused(
    ending: ServerProcess | None,
    other: ServerProcess,
    token: str,
    account_id: str,
    subject: str = "",
) -> None:
    """Refused for every use at once by the instance that ended it (if one did), and by the
    other instance as soon as it polled (waited for with a deadline)."""
    if ending is not None:
        assert not any(uses(ending, token, account_id).values()), uses(ending, token, account_id)
    deadline = time.monotonic() + OTHER_INSTANCE_WITHIN
    seen = uses(other, token, account_id)
    while any(seen.values()) and time.monotonic() < deadline:
        time.sleep(0.05)
        seen = uses(other, token, account_id)
    assert not any(seen.values()), (subject, seen)


def claims(server: ServerProcess, token: str) -> dict[str, Any]:
    """The token's claims, checked by PyJWT against the published keys (an outside oracle)."""
    key = jwt.PyJWKClient(f"{server.base_url}/.well-known/jwks.json").get_signing_key_from_jwt(
        token
    )
    decoded: dict[str, Any] = jwt.decode(token, key.key, algorithms=["EdDSA", "ES256", "RS256"])
    return decoded


def test_session_tokens_carry_a_public_sid_and_client_tokens_none(server: ServerProcess) -> None:
    v = victim(server)
    first = claims(server, v.access)
    assert re.fullmatch(r"[0-9a-f]{32}", first["sid"]), first
    assert first["sid"] != v.session and first["sid"] not in v.session
    refreshed = ok(server, "/v1/auth/Auth/Token", refresh_token=v.refresh)["token"]
    assert claims(server, refreshed["access_token"])["sid"] == first["sid"]
    account = ok(server, "/v1/auth/Auth/Generate", id=unique("svc-"))["account"]
    pair = ok(server, "/v1/auth/Auth/Token", id=account["id"], secret=account["secret"])["token"]
    assert "sid" not in claims(server, pair["access_token"])


def test_logout_refuses_the_sessions_tokens_everywhere(server, second) -> None:
    v = victim(server)
    other_session = ok(server, "/v1/user/Login", email=v.email, password=PASSWORD)["session"]
    kept = ok(server, "/v1/auth/Auth/Token", session_id=other_session["id"])["token"]
    live(second, v.access, v.id)
    ok(server, "/v1/user/Logout", session_id=v.session)
    refused(server, second, v.access, v.id, "Logout")
    # Only that session: the account's other session keeps working.
    live(second, kept["access_token"], v.id)
    document = httpx.get(f"{server.base_url}/.well-known/revocations", params={"iss": "micro"})
    assert document.headers["cache-control"] == "public, max-age=1"
    assert claims(server, v.access)["sid"] in document.json()["sid"]


def test_logout_all_refuses_every_session_token(server, second) -> None:
    v = victim(server)
    live(second, v.access, v.id)
    ok(server, "/v1/user/LogoutAll", user_id=v.id)
    refused(server, second, v.access, v.id, "LogoutAll")


def test_an_operators_session_revoke_refuses_its_tokens(server, second) -> None:
    v = victim(server)
    live(second, v.access, v.id)
    # "--": a session id may start with "-" (base64url), which would read as an option.
    revoked = server.cli("session", "revoke", "--", v.session)
    assert revoked.returncode == 0, revoked.stderr
    # Ended by another process (the CLI): both instances learn it by polling.
    for instance in (server, second):
        refused(None, instance, v.access, v.id, "session revoke")


def test_a_password_reset_refuses_the_tokens_of_before(server, second, mailbox) -> None:
    v = victim(server)
    live(second, v.access, v.id)
    ok(
        server,
        "/v1/user/SendPasswordResetEmail",
        email=v.email,
        subject="Reset",
        text_content="Your code: $code",
    )
    message = mailbox.wait_for(v.email)[0]
    code = re.search(r"code: (\S+)", message.get_payload(decode=True).decode()).group(1)
    new = {"new_password": "a brand new pass", "confirm_password": "a brand new pass"}
    ok(server, "/v1/user/ResetPassword", email=v.email, code=code, **new)
    refused(server, second, v.access, v.id, "ResetPassword")


def test_a_deleted_accounts_tokens_are_refused(server, second) -> None:
    v = victim(server)
    live(second, v.access, v.id)
    ok(server, "/v1/user/Delete", id=v.id)
    refused(server, second, v.access, v.id, "User.Delete")
    assert v.id in httpx.get(f"{server.base_url}/.well-known/revocations").json()["sub"]


def test_a_deleted_service_accounts_tokens_are_refused(server, second) -> None:
    account = ok(server, "/v1/auth/Auth/Generate", id=unique("svc-"))["account"]
    pair = ok(server, "/v1/auth/Auth/Token", id=account["id"], secret=account["secret"])["token"]
    assert call(second, "/v1/auth/Auth/Inspect", token=pair["access_token"]).status_code == 200
    ok(server, "/v1/auth/Accounts/Delete", id=account["id"])
    refused(server, second, pair["access_token"], account["id"], "Accounts.Delete")


def test_refresh_token_reuse_refuses_the_familys_access_tokens(server, second) -> None:
    v = victim(server)
    rotated = ok(server, "/v1/auth/Auth/Token", refresh_token=v.refresh)["token"]
    live(second, rotated["access_token"], v.id)
    # The attacker's copy of the spent refresh token comes back: the family ends.
    assert call(server, "/v1/auth/Auth/Token", refresh_token=v.refresh).status_code == 401
    for token in (v.access, rotated["access_token"]):
        refused(server, second, token, v.id, "refresh reuse")
    # The session itself lives on, and mints tokens that work.
    fresh = ok(server, "/v1/auth/Auth/Token", session_id=v.session)["token"]
    live(second, fresh["access_token"], v.id)


def test_revoking_a_refresh_token_refuses_its_access_tokens(server, second) -> None:
    v = victim(server)
    live(second, v.access, v.id)
    revoked = httpx.post(
        f"{server.base_url}/oauth/revoke", data={"token": v.refresh}, headers=ADMIN
    )
    assert revoked.status_code == 200, revoked.text
    refused(server, second, v.access, v.id, "/oauth/revoke")


def test_the_revocation_list_is_per_issuer_and_checked(server) -> None:
    v = victim(server)
    ok(server, "/v1/user/LogoutAll", user_id=v.id)
    sid = claims(server, v.access)["sid"]
    default = httpx.get(f"{server.base_url}/.well-known/revocations").json()
    assert default["iss"] == server.base_url and sid in default["sid"]
    assert set(default) == {"iss", "jti", "sid", "sub"}
    other = httpx.get(f"{server.base_url}/.well-known/revocations", params={"iss": unique("ns")})
    assert other.status_code == 200 and sid not in other.json()["sid"]
    bad = httpx.get(f"{server.base_url}/.well-known/revocations", params={"iss": "no such/ns"})
    assert bad.status_code == 400 and bad.json()["id"] == "oauth.revocations"


async def echo(request: Request) -> JSONResponse:
    return JSONResponse({"ok": True})


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_the_python_middleware_refuses_a_revoked_token(server, anyio_backend) -> None:
    role = unique("mw-")
    ok(server, "/v1/auth/Roles/Create", name=role)
    resource = {"type": "api", "name": "orders", "endpoint": "/orders"}
    rule = {"id": unique("r-"), "scope": role, "resource": resource, "access": "GRANTED"}
    ok(server, "/v1/auth/Rules/Create", rule=rule)
    v = victim(server)
    ok(server, "/v1/auth/Roles/Grant", role=role, account_type="user", account_id=v.id)
    token = ok(server, "/v1/auth/Auth/Token", session_id=v.session)["token"]["access_token"]
    middleware = AuthMiddleware(
        Starlette(routes=[Route("/orders", echo)]),
        address=server.base_url,
        key=ADMIN_KEY,
        service="orders",
        rules_ttl=1.0,
    )
    transport = httpx.ASGITransport(app=middleware)
    headers = {"Authorization": f"Bearer {token}"}
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://orders.test") as app:
            assert (await app.get("/orders", headers=headers)).status_code == 200
            ok(server, "/v1/user/Logout", session_id=v.session)
            # The documented window: the list's max-age (1 s) plus the server's refresh (1 s).
            deadline = time.monotonic() + 2.5
            while (status := (await app.get("/orders", headers=headers)).status_code) == 200:
                if time.monotonic() > deadline:
                    break
                await anyio.sleep(0.05)
            assert status == 401
    finally:
        await middleware.aclose()
