"""The README's "Sign in with micro-user" example, run as written: its Authlib code, with
a client of its own and the test server's issuer filled in, signs a user in through the
hosted pages and checks the ID token."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.oidc.test_authlib_relying_party import register
from tests.support.forms import Agent
from tests.support.services import ServerProcess

README = Path(__file__).resolve().parents[2] / "README.md"


def example() -> str:
    text = README.read_text()
    section = text[text.index("## Sign in with micro-user") :]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_readme_example_signs_a_user_in(server: ServerProcess, new_user) -> None:
    user, password = new_user()
    redirect_uri = "http://localhost:3000/callback"
    code = example()
    assert f'REDIRECT_URI = "{redirect_uri}"' in code
    client = register(server, "--redirect-uri", redirect_uri)
    filled = (
        code.replace('"http://localhost:8080"', repr(server.base_url))
        .replace('"mcl_..."', repr(client["id"]))
        .replace('"mcs_..."', repr(client["secret"]))
    )
    namespace: dict[str, Any] = {}
    exec(compile(filled, "README.md", "exec"), namespace)  # noqa: S102 - the README's code

    session: dict[str, str] = {}
    agent = Agent(server.base_url)
    try:
        agent.go(namespace["start_sign_in"](session))
        back = agent.submit({"login": user["username"], "password": password})
        assert back.status_code == 303 and back.headers["location"].startswith(redirect_uri)
        signed_in = namespace["finish_sign_in"](session, back.headers["location"])
    finally:
        agent.close()
    assert signed_in["user"] == user["id"]
    assert signed_in["email"] == user["email"]
