"""The code flow with openid-client (Node; a certified OpenID Connect relying-party library)
as the application: tests/oidc/openid_client/relying_party.mjs discovers the issuer, sends
the user to sign in, exchanges the code with its own checks (state, nonce, issuer,
audience, and the ID token's signature from the published key set), reads userinfo,
refreshes and logs out. The user signs in on the hosted pages (tests/support/forms.py)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.oidc.test_authlib_relying_party import REDIRECT_URI, register, user_in_new_namespace
from tests.support.forms import Agent
from tests.support.services import REQUIRE, ServerProcess

FOLDER = Path(__file__).with_name("openid_client")
BACK = "https://app.example/signed-out"


def node_or_skip() -> str:
    node = shutil.which("node")
    reason = None
    if node is None:
        reason = "node is not installed"
    elif not (FOLDER / "node_modules" / "openid-client").is_dir():
        reason = f"openid-client is not installed (npm ci in {FOLDER}; scripts/test does it)"
    if reason is not None:
        if "js" in REQUIRE:
            pytest.fail(f"JavaScript is required (MICRO_USER_TEST_REQUIRE) but {reason}")
        pytest.skip(reason)
    assert node is not None
    return node


class RelyingParty:
    def __init__(self, settings: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [node_or_skip(), str(FOLDER / "relying_party.mjs"), json.dumps(settings)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "NODE_NO_WARNINGS": "1"},
        )

    def read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            self.process.wait(timeout=30)
            raise AssertionError(f"the relying party stopped: {self.process.stderr.read()}")  # type: ignore[union-attr]
        answer = json.loads(line)
        assert "error" not in answer, answer
        return answer

    def send(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=30)


def run_flow(
    server: ServerProcess, issuer: str, client: dict[str, Any], login: str, password: str
) -> tuple[dict[str, Any], Agent]:
    rp = RelyingParty(
        {
            "issuer": issuer,
            "client_id": client["id"],
            "client_secret": client["secret"],
            "redirect_uri": REDIRECT_URI,
            "post_logout_redirect_uri": BACK,
            "scope": "openid profile email offline_access",
        }
    )
    agent = Agent(server.base_url)
    try:
        url = rp.read()["authorization_url"]
        page = agent.go(url)
        assert page.status_code == 200, page.text
        back = agent.submit({"login": login, "password": password})
        assert back.status_code == 303, back.text
        rp.send(back.headers["location"])
        return rp.read(), agent
    finally:
        rp.close()


@pytest.mark.parametrize("kind", ["confidential", "public"])
def test_openid_client_runs_the_whole_flow(server: ServerProcess, new_user, kind: str) -> None:
    user, password = new_user()
    client = register(
        server,
        *(["--public"] if kind == "public" else []),
        "--post-logout-redirect-uri",
        BACK,
    )
    result, agent = run_flow(server, server.base_url, client, user["username"], password)
    try:
        claims = result["claims"]
        assert claims["iss"] == server.base_url
        assert claims["aud"] == client["id"]
        assert claims["sub"] == user["id"]
        assert result["userinfo"]["email"] == user["email"]
        assert result["userinfo"]["preferred_username"] == user["username"]
        assert result["rotated"]
        bearer = {"Authorization": f"Bearer {result['refreshed_access_token']}"}
        info = httpx.get(f"{server.base_url}/oauth/userinfo", headers=bearer)
        assert info.status_code == 200
        # The logout URL openid-client built: the session ends and the browser goes back.
        ended = agent.go(result["logout_url"])
        assert ended.status_code == 303
        assert ended.headers["location"] == f"{BACK}?state=bye"
        assert httpx.get(f"{server.base_url}/oauth/userinfo", headers=bearer).status_code == 401
    finally:
        agent.close()


def test_openid_client_signs_in_under_a_namespaces_issuer(server: ServerProcess) -> None:
    namespace, user, password = user_in_new_namespace(server)
    client = register(server, "--post-logout-redirect-uri", BACK, namespace=namespace)
    issuer = f"{server.base_url}/namespaces/{namespace}"
    result, agent = run_flow(server, issuer, client, user["username"], password)
    agent.close()
    assert result["claims"]["iss"] == issuer
    assert result["claims"]["sub"] == user["id"]
