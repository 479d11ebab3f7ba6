"""The login lockout throttles the attacker, never the owner (issue 8, finding 5), with a
clock the test controls: the issue's scenario, then a minute of continued attack."""

from __future__ import annotations

import pytest

from micro_user.abuse.protection import client_address
from micro_user.errors import TooManyRequests, Unauthorized

PASSWORD = "sturdy-pass-1"
ATTACKERS = [f"203.0.113.{i}" for i in range(1, 6)]
OWNER = "198.51.100.7"


@pytest.fixture
async def fast(make_services):
    services = make_services(argon2_memory_kib=8, argon2_time_cost=1)
    await services.accounts.create(
        "micro", username="alice", email="alice@example.com", password=PASSWORD
    )
    yield services
    await services.close()


async def attempt(services, address: str, password: str, **who: str) -> str:
    """'ok', 'wrong' (the password was checked) or 'refused' (429, not checked)."""
    client_address.set(address)
    who = who or {"username": "alice"}
    try:
        await services.sessions.login("micro", password=password, **who)
    except Unauthorized:
        return "wrong"
    except TooManyRequests:
        return "refused"
    return "ok"


@pytest.mark.anyio
async def test_the_owner_logs_in_from_a_new_address_during_an_attack_and_a_minute_later(
    fast, clock
):
    # 150 wrong logins from five addresses within 1.5 s, by username and by email.
    results = []
    for i in range(150):
        who = {"username": "alice"} if i % 2 else {"email": "alice@example.com"}
        results.append(await attempt(fast, ATTACKERS[i % 5], f"guess {i}", **who))
    assert set(results) == {"wrong", "refused"}
    assert await attempt(fast, OWNER, PASSWORD) == "ok"

    # The attack goes on, every address trying every second, for a minute.
    checked = results.count("wrong")
    for _ in range(60):
        clock.now += 1
        for address in ATTACKERS:
            for i in range(3):
                checked += await attempt(fast, address, f"again {i}") == "wrong"
    assert await attempt(fast, OWNER, PASSWORD) == "ok"
    assert await attempt(fast, OWNER, PASSWORD, email="alice@example.com") == "ok"
    # Each address: 5 failures before its lock, then locks of 2, 4, 8, 16, 32 s in the
    # minute: at most 5 + 6 checked guesses (the account came under attack within it).
    assert checked <= 5 * (5 + 6), checked


@pytest.mark.anyio
async def test_username_and_email_of_one_account_share_one_lock(fast):
    for i in range(5):
        who = {"username": "alice"} if i % 2 else {"email": "ALICE@example.com "}
        assert await attempt(fast, ATTACKERS[0], f"guess {i}", **who) == "wrong"
    assert await attempt(fast, ATTACKERS[0], PASSWORD, email="alice@example.com") == "refused"
    assert await attempt(fast, ATTACKERS[0], PASSWORD, username="Alice") == "refused"


@pytest.mark.anyio
async def test_an_unknown_name_is_throttled_exactly_like_a_known_one(fast):
    for who in ({"username": "alice"}, {"username": "nobody"}):
        outcomes = [await attempt(fast, ATTACKERS[1], f"guess {i}", **who) for i in range(7)]
        assert outcomes == ["wrong"] * 5 + ["refused"] * 2, (who, outcomes)


@pytest.mark.anyio
async def test_refused_attempts_never_lengthen_the_lock(fast, clock):
    for i in range(5):
        assert await attempt(fast, ATTACKERS[2], f"guess {i}") == "wrong"
    for _ in range(100):  # hammering a locked pair: all refused, none counted
        assert await attempt(fast, ATTACKERS[2], "hammer") == "refused"
    clock.now += 2
    assert await attempt(fast, ATTACKERS[2], "guess 6") == "wrong"
    client_address.set(ATTACKERS[2])
    with pytest.raises(TooManyRequests) as locked:
        await fast.sessions.login("micro", username="alice", password=PASSWORD)
    assert locked.value.retry_after == 4  # the sixth failure: 4 s, not 2**105


@pytest.mark.anyio
async def test_under_attack_each_address_gets_one_attempt_per_interval(fast, clock):
    # More than 60 failures a minute from many addresses: the account is under attack.
    for n in range(61):
        assert await attempt(fast, f"192.0.2.{n}", f"guess {n}") == "wrong"
    # A new address gets its attempt, and after a failure waits 2 s, then 4 s.
    assert await attempt(fast, "192.0.2.200", "wrong 1") == "wrong"
    assert await attempt(fast, "192.0.2.200", "wrong 2") == "refused"
    clock.now += 2
    assert await attempt(fast, "192.0.2.200", "wrong 3") == "wrong"
    clock.now += 2
    assert await attempt(fast, "192.0.2.200", PASSWORD) == "refused"
    clock.now += 2
    assert await attempt(fast, "192.0.2.200", PASSWORD) == "ok"
    # The owner elsewhere is untouched.
    assert await attempt(fast, OWNER, PASSWORD) == "ok"
