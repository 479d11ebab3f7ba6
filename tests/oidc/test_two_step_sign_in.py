"""Two-step sign-in on a live server: set up on the account page (pyotp plays the
authenticator app), then every way in asks for the code: the hosted sign-in (and so the
code flow, whose ID token says amr pwd, otp, mfa) and the Micro API's Login, which old
clients see as a failed login with its own id and new ones complete with factor_code."""

from __future__ import annotations

import re
import time
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import jwt
import pyotp

from conftest import unique
from tests.oidc.test_authlib_relying_party import REDIRECT_URI, register, user_in_new_namespace
from tests.oidc.test_code_flow_refusals import Flow, pkce
from tests.support.forms import Agent
from tests.support.services import ADMIN_KEY, ServerProcess


def set_up(agent: Agent, login: str, password: str) -> tuple[pyotp.TOTP, list[str]]:
    agent.go("/signin")
    assert agent.submit({"login": login, "password": password}).status_code == 200
    page = agent.go("/account/factors")
    assert "Two-step sign-in is off" in page.text
    # Just signed in, no password is asked; one that is sent is checked all the same.
    refused = agent.submit({"password": "not the password"})
    assert refused.status_code == 400 and "password is not the account" in refused.text
    shown = agent.submit({"password": password})
    secret = re.search(r'<code id="secret">([A-Z2-7]+)</code>', shown.text).group(1)
    assert 'src="data:image/svg+xml' in shown.text  # the QR code
    app = pyotp.TOTP(secret)
    wrong = agent.submit({"code": "000000" if app.now() != "000000" else "111111"})
    assert wrong.status_code == 400
    agent.go("/account/factors")
    shown = agent.submit({"password": password})
    app = pyotp.TOTP(re.search(r'<code id="secret">([A-Z2-7]+)</code>', shown.text).group(1))
    done = agent.submit({"code": app.now()})
    codes = re.findall(r"<li><code>([A-Z0-9-]+)</code></li>", done.text)
    assert len(codes) == 10, done.text
    return app, codes


def login(server: ServerProcess, username: str, password: str, **extra: str) -> httpx.Response:
    return httpx.post(
        f"{server.base_url}/v1/user/Login",
        json={"username": username, "password": password, **extra},
        headers={"Authorization": f"Bearer {ADMIN_KEY}"},
    )


def test_every_way_in_asks_for_the_second_factor(server: ServerProcess, new_user) -> None:
    flow = Flow(server, *new_user())
    user, password = flow.user, flow.password
    app, codes = set_up(Agent(server.base_url), user["username"], password)

    # The Micro API: a failed login, with an id that says why; then with the factor.
    asked = login(server, user["username"], password)
    assert asked.status_code == 401
    assert asked.json()["id"] == "user.login.second_factor"
    assert "factor_code" in asked.json()["detail"]
    assert login(server, user["username"], password, factor_code="123456").status_code == 401
    signed_in = login(server, user["username"], password, factor_code=codes[0])
    assert signed_in.status_code == 200, signed_in.text
    assert login(server, user["username"], password, factor_code=codes[0]).status_code == 401

    # The hosted sign-in of the code flow: password, then the code, then the client.
    page = flow.sign_in()
    assert page.status_code == 200 and "Two-step sign-in" in page.text
    wrong = flow.agent.submit({"code": "000000" if app.now() != "000000" else "111111"})
    assert wrong.status_code == 401 and "not right" in wrong.text
    back = flow.agent.submit({"code": app.at(time.time() + 30)})
    assert back.status_code == 303, back.text
    code = back.headers["location"].split("code=")[1].split("&")[0]
    tokens = flow.exchange(code).json()
    claims = jwt.decode(tokens["id_token"], options={"verify_signature": False})
    assert claims["amr"] == ["pwd", "otp", "mfa"] and claims["acr"] == "2"


def test_turning_it_off_takes_a_code_and_the_operator_can_reset_it(
    server: ServerProcess, new_user
) -> None:
    user, password = new_user()
    agent = Agent(server.base_url)
    app, codes = set_up(agent, user["username"], password)
    page = agent.go("/account/factors")
    assert 'Recovery codes left: <strong id="codes-left">10</strong>' in page.text
    refused = agent.submit(
        {"code": "000000" if app.now() != "000000" else "111111"}, button="remove"
    )
    assert refused.status_code in (400, 401) and "is on" in refused.text
    removed = agent.submit({"code": codes[3]}, button="remove")
    assert "Two-step sign-in is off" in removed.text
    assert login(server, user["username"], password).status_code == 200

    # Lost phone and codes: the operator removes the factor (an audited event).
    app, codes = set_up(Agent(server.base_url), user["username"], password)
    assert login(server, user["username"], password).status_code == 401
    done = server.cli("user", "reset-factors", user["username"])
    assert done.returncode == 0, done.stderr
    assert login(server, user["username"], password).status_code == 200
    audit = server.cli("audit", "--account", user["id"])
    assert "factor.disabled" in audit.stdout and "operator" in audit.stdout


def test_a_namespace_that_requires_it_has_users_set_it_up_while_signing_in(
    server: ServerProcess,
) -> None:
    namespace, user, password = user_in_new_namespace(server)
    required = server.cli("factor-policy", "set", "--require", "everyone", "--namespace", namespace)
    assert required.returncode == 0, required.stderr
    client = register(server, namespace=namespace)
    issuer = f"{server.base_url}/namespaces/{namespace}"
    agent = Agent(server.base_url)
    verifier, challenge = pkce()
    query = urlencode(
        {
            "client_id": client["id"],
            "redirect_uri": REDIRECT_URI,
            "response_type": "code",
            "scope": "openid",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "prompt": "login",
        }
    )
    agent.go(f"{issuer}/oauth/authorize?{query}")
    setup = agent.submit({"login": user["username"], "password": password})
    assert setup.status_code == 200 and "Set up two-step sign-in" in setup.text
    app = pyotp.TOTP(re.search(r'<code id="secret">([A-Z2-7]+)</code>', setup.text).group(1))
    done = agent.submit({"code": app.now()})
    assert len(re.findall(r"<li><code>", done.text)) == 10
    going_on = re.search(r'<a href="([^"]+)">Continue</a>', done.text).group(1)
    back = agent.go(going_on.replace("&amp;", "&"))
    assert back.status_code == 303 and back.headers["location"].startswith(REDIRECT_URI)
    code = parse_qs(urlsplit(back.headers["location"]).query)["code"][0]
    tokens = httpx.post(
        f"{issuer}/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
        },
        auth=(client["id"], client["secret"]),
    ).json()
    claims = jwt.decode(tokens["id_token"], options={"verify_signature": False})
    assert claims["amr"] == ["pwd", "otp", "mfa"] and claims["acr"] == "2"
    # The API's Login of such a user without a factor: its own id.
    name = unique()
    key = server.cli("key", "create", "--namespace", namespace).stdout.strip()
    made = httpx.post(
        f"{server.base_url}/v1/user/Create",
        json={"username": name, "email": f"{name}@example.com", "password": password},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert made.status_code == 200
    refused = httpx.post(
        f"{server.base_url}/v1/user/Login",
        json={"username": name, "password": password},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert refused.status_code == 401
    assert refused.json()["id"] == "user.login.second_factor_setup"


def test_a_user_adds_an_authenticator_through_the_api_only_with_the_password(
    server: ServerProcess, new_user
) -> None:
    user, password = new_user()
    session = login(server, user["username"], password).json()["session"]["id"]
    own = {"Authorization": f"Bearer {session}"}
    url = f"{server.base_url}/v1/user/StartTotp"
    stolen = httpx.post(url, json={"user_id": user["id"]}, headers=own)
    assert stolen.status_code == 401 and stolen.json()["id"] == "user.starttotp"
    started = httpx.post(url, json={"user_id": user["id"], "password": password}, headers=own)
    assert started.status_code == 200, started.text
    assert started.json()["uri"].startswith("otpauth://totp/")


def test_changes_to_factors_ask_for_the_password_once_the_sign_in_is_old(
    server: ServerProcess, new_user, tmp_path
) -> None:
    """Step-up: within MICRO_USER_STEP_UP_SECONDS of signing in, setting up a factor asks
    nothing more; after it, the password (or signing in again). A session cookie stolen
    later cannot add the thief's authenticator."""
    user, password = new_user()
    fresh = Agent(server.base_url)
    fresh.go("/signin")
    fresh.submit({"login": user["username"], "password": password})
    page = fresh.go("/account/factors")
    assert 'id="password"' not in page.text and "a while ago" not in page.text
    started = fresh.submit({"action": "start"}, index=0)
    assert started.status_code == 200 and 'id="secret"' in started.text

    old = server.sibling(tmp_path, {"MICRO_USER_STEP_UP_SECONDS": "0"}).start()
    try:
        agent = Agent(old.base_url)
        agent.go("/signin")
        agent.submit({"login": user["username"], "password": password})
        page = agent.go("/account/factors")
        assert 'id="password"' in page.text and "a while ago" in page.text
        refused = agent.submit({"action": "start"}, index=0)
        assert refused.status_code == 400 and "password is not the account" in refused.text
        assert 'id="secret"' not in refused.text
        shown = agent.submit({"action": "start", "password": password}, index=0)
        assert shown.status_code == 200 and 'id="secret"' in shown.text
    finally:
        old.stop()
