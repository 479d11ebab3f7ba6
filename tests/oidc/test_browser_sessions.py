"""The browser's session on the hosted pages: signing in as someone else in the same
browser ends the earlier account's session (its cookie is replaced, so nobody should still
hold it); signing in again as the same account leaves the earlier one (and what
applications got from it) alone."""

from __future__ import annotations

import httpx

from tests.support.forms import Agent
from tests.support.services import ADMIN_KEY, ServerProcess


def read_session(server: ServerProcess, session_id: str) -> int:
    return httpx.post(
        f"{server.base_url}/v1/user/ReadSession",
        json={"session_id": session_id},
        headers={"Authorization": f"Bearer {ADMIN_KEY}"},
    ).status_code


def sign_in(agent: Agent, login: str, password: str) -> str:
    agent.go("/signin")
    page = agent.submit({"login": login, "password": password}, index=0)
    assert page.status_code == 200 and "Your account" in page.text, page.text
    return str(agent.http.cookies["mu_session_micro"])


def test_a_sign_in_as_someone_else_ends_the_earlier_session(server, new_user) -> None:
    alice, alice_password = new_user()
    bob, bob_password = new_user()
    agent = Agent(server.base_url)
    first = sign_in(agent, alice["username"], alice_password)
    again = sign_in(agent, alice["username"], alice_password)
    assert first != again and read_session(server, first) == 200  # the same account: kept
    other = sign_in(agent, bob["username"], bob_password)
    assert read_session(server, other) == 200
    assert read_session(server, again) == 401  # alice's, replaced by bob's: ended
    assert read_session(server, first) == 200  # not this browser's cookie any more
