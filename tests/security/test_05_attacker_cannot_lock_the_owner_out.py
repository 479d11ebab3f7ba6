"""Finding 5: an attacker could lock the owner out. 150 wrong logins from five addresses in
1.5 s made the owner's correct login from a sixth address a 429 for a minute, again every
minute: refused attempts still counted, and username and email counted apart.

The minute of continued attack runs with a fake clock in tests/unit/test_lockout.py; here
the attack runs against a real server, twice, by username and by email."""

from __future__ import annotations

import concurrent.futures

import pytest

from conftest import unique
from tests.support.strict import call, create_account, running

ATTACKERS = [f"203.0.113.{i}" for i in range(1, 6)]
OWNER = "198.51.100.7"
PASSWORD = "correct horse 1"


def attack(server, name: str) -> list[int]:
    def one(i: int) -> int:
        who = {"username": name} if i % 2 else {"email": f"{name}@example.com"}
        return call(server, "Login", ATTACKERS[i % 5], password=f"guess {i}", **who).status_code

    with concurrent.futures.ThreadPoolExecutor(max_workers=10) as pool:
        return list(pool.map(one, range(150)))


@pytest.mark.parametrize("store", ["database", "redis"])
def test_150_wrong_logins_from_five_addresses_do_not_lock_the_owner_out(store, tmp_path, request):
    env = {}
    if store == "redis":
        env["MICRO_USER_REDIS_URL"] = request.getfixturevalue("redis_server").url
    with running(tmp_path, env) as server:
        name = unique()
        create_account(server, name, PASSWORD)
        first = attack(server, name)
        assert set(first) <= {401, 429} and 429 in first, first
        owner = call(server, "Login", OWNER, username=name, password=PASSWORD)
        assert owner.status_code == 200, owner.text
        # The attack goes on; the owner logs in again, by email this time.
        second = attack(server, name)
        assert set(second) <= {401, 429}, second
        owner = call(server, "Login", OWNER, email=f"{name}@example.com", password=PASSWORD)
        assert owner.status_code == 200, owner.text
