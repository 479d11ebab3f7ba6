"""Two-step sign-in on a live server: set up on the account page (pyotp plays the
authenticator app), then every way in asks for the code: the hosted sign-in (and so the
code flow, whose ID token says amr pwd, otp, mfa) and the Micro API's Login, which old
clients see as a failed login with its own id and new ones complete with factor_code."""

from __future__ import annotations

import re
import time

import httpx
import jwt
import pyotp

from tests.oidc.test_code_flow_refusals import Flow
from tests.support.forms import Agent
from tests.support.services import ADMIN_KEY, ServerProcess


def set_up(agent: Agent, login: str, password: str) -> tuple[pyotp.TOTP, list[str]]:
    agent.go("/signin")
    assert agent.submit({"login": login, "password": password}).status_code == 200
    page = agent.go("/account/factors")
    assert "Two-step sign-in is off" in page.text
    shown = agent.submit()
    secret = re.search(r'<code id="secret">([A-Z2-7]+)</code>', shown.text).group(1)
    assert 'src="data:image/svg+xml' in shown.text  # the QR code
    app = pyotp.TOTP(secret)
    wrong = agent.submit({"code": "000000" if app.now() != "000000" else "111111"})
    assert wrong.status_code == 400
    agent.go("/account/factors")
    shown = agent.submit()
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
    assert claims["amr"] == ["pwd", "otp", "mfa"]


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
