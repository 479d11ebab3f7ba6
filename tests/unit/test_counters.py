"""Rate counters: each key's window opens at its first request, not at a shared wall-clock
boundary, so a burst cannot straddle a boundary and get the limit twice."""

from __future__ import annotations

import pytest

from micro_user.abuse.counters import DatabaseCounters, Gate


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
async def test_the_gate_counts_its_key_and_reads_the_pair_in_one_go(services, clock):
    counters = DatabaseCounters(services.db, clock)
    await counters.hit("address", 60)
    clock.now += 30
    assert await counters.gate("address", 60, "pair") == Gate(2, 30, 0, 0)
    await counters.fail("pair", keep=60)
    await counters.lock("pair", clock.now + 5)
    # Without a key, or while the pair is locked, nothing is counted: the pair is read.
    assert await counters.gate(None, 60, "pair") == Gate(0, 0, clock.now + 5, 1)
    assert await counters.gate("address", 60, "pair") == Gate(0, 0, clock.now + 5, 1)
    assert await counters.hit("address", 60) == (3, 30)


@pytest.mark.anyio
async def test_failures_count_lock_and_clear(services, clock):
    counters = DatabaseCounters(services.db, clock)
    assert await counters.fail("pair", keep=60) == 1
    clock.now += 59
    assert await counters.fail("pair", keep=60) == 2
    await counters.lock("pair", clock.now + 30)
    gate = await counters.gate("a", 60, "pair")
    assert (gate.locked_until, gate.failures) == (clock.now + 30, 2)
    clock.now += 61  # forgotten: the count starts again
    assert await counters.fail("pair", keep=60) == 1
    await counters.clear("pair")
    gate = await counters.gate("a", 60, "pair")
    assert (gate.locked_until, gate.failures) == (0, 0)
