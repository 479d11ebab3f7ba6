"""The hosted pages under the default abuse limits (the shared test servers lift them):
the sign-up page makes at most MICRO_USER_SIGNUPS_PER_ADDRESS_PER_HOUR accounts per
address, and password guessing on the sign-in page locks the guessing address out, as
User.Login does, while the owner signs in from elsewhere."""

from __future__ import annotations

import time

import httpx
import pytest

from conftest import unique
from tests.support.forms import Agent
from tests.support.strict import create_account, running


@pytest.fixture(scope="module")
def strict(tmp_path_factory):
    with running(tmp_path_factory.mktemp("strict-pages")) as instance:
        opened = instance.cli(
            "rule", "create", "--resource", "service:user:User.Create", "--scope", ""
        )
        assert opened.returncode == 0, opened.stderr
        # The rule reaches the server within its refresh interval.
        deadline = time.monotonic() + 10
        while httpx.get(f"{instance.base_url}/signup").status_code != 200:
            assert time.monotonic() < deadline, "sign-up never opened"
            time.sleep(0.05)
        yield instance


def agent_at(instance, address: str) -> Agent:
    return Agent(instance.base_url, headers={"X-Forwarded-For": f"10.9.8.7, {address}"})


def sign_up(agent: Agent) -> int:
    name = unique()
    agent.http.cookies.clear()
    page = agent.go("/signup")
    assert page.status_code == 200, page.text
    fields = {"username": name, "email": f"{name}@example.com"}
    password = {"password": "correct horse 1", "confirm": "correct horse 1"}
    return agent.submit({**fields, **password}).status_code


def test_sign_up_is_limited_per_address(strict) -> None:
    agent, other = agent_at(strict, "203.0.113.5"), agent_at(strict, "203.0.113.6")
    statuses = [sign_up(agent) for _ in range(10)]
    assert statuses == [200] * 10  # each lands on its account page
    refused = sign_up(agent)
    assert refused == 429
    assert int(agent.page.headers["retry-after"]) > 0
    assert "Too many attempts" in agent.page.text
    assert sign_up(other) == 200


def test_password_guessing_on_the_sign_in_page_locks_the_guesser_not_the_owner(strict):
    name, password = unique(), "correct horse 1"
    create_account(strict, name, password)
    guesser, owner = agent_at(strict, "198.51.100.7"), agent_at(strict, "198.51.100.8")
    guesser.go("/signin")
    statuses = []
    for attempt in range(8):
        statuses.append(guesser.submit({"login": name, "password": f"guess {attempt}"}).status_code)
        guesser.go("/signin")
    assert statuses[:5] == [401] * 5 and set(statuses[5:]) == {429}
    owner.go("/signin")
    assert owner.submit({"login": name, "password": password}).status_code == 200
