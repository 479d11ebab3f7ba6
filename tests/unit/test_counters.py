"""Rate counters: each key's window opens at its first request, not at a shared wall-clock
boundary, so a burst cannot straddle a boundary and get the limit twice."""

from __future__ import annotations

import pytest

from micro_user.abuse.counters import DatabaseCounters


@pytest.mark.anyio
async def test_a_window_lasts_its_length_from_the_first_request(services, clock):
    counters = DatabaseCounters(services.db, clock)
    clock.now = 1_800_000_059  # one second before a wall-clock minute ends
    assert await counters.hit("k", 60) == (1, 60)
    clock.now += 2  # a wall-clock window would have started again here
    assert await counters.hit("k", 60) == (2, 58)
    clock.now += 57
    assert await counters.hit("k", 60) == (3, 1)
    clock.now += 1  # 60 s after the first request: a new window
    assert await counters.hit("k", 60) == (1, 60)


@pytest.mark.anyio
async def test_keys_count_apart_and_the_gate_reports_the_window_that_was_exceeded(services, clock):
    counters = DatabaseCounters(services.db, clock)
    await counters.hit("account", 60)
    clock.now += 30
    count, per_account, resets_in, locked, failures = await counters.gate(
        "address", 5, "account", 60, "pair"
    )
    assert (count, per_account, resets_in, locked, failures) == (1, 2, 30, 0, 0)
    for _ in range(5):
        await counters.hit("address", 60)
    clock.now += 10
    count, per_account, resets_in, _, _ = await counters.gate("address", 5, "account", 60, "pair")
    # The address is over its limit: the account is not counted, and the wait is the address's.
    assert (count, per_account, resets_in) == (7, 0, 50)


@pytest.mark.anyio
async def test_failures_count_lock_and_clear(services, clock):
    counters = DatabaseCounters(services.db, clock)
    assert await counters.fail("pair", keep=60) == 1
    clock.now += 59
    assert await counters.fail("pair", keep=60) == 2
    await counters.lock("pair", clock.now + 30)
    assert (await counters.gate("a", 5, "b", 60, "pair"))[3:] == (clock.now + 30, 2)
    clock.now += 61  # forgotten: the count starts again
    assert await counters.fail("pair", keep=60) == 1
    await counters.clear("pair")
    assert (await counters.gate("a", 5, "b", 60, "pair"))[3:] == (0, 0)
