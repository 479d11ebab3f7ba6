"""The raw argon2id verify rate: the ceiling for Login on this machine.

It runs the server's own ``PasswordHasher.verify_sync`` (the same parameters
and code path a Login uses) on one thread per core; argon2 releases the GIL,
so the threads verify in parallel.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from bench.cpu import CpuUsage, cpu_sample, cpu_usage
from micro_user.accounts.passwords import PasswordHasher
from micro_user.settings import Settings


@dataclass(frozen=True, slots=True)
class VerifyResult:
    threads: int
    verifies: int
    seconds: float
    cpu: CpuUsage

    @property
    def rate(self) -> float:
        return self.verifies / self.seconds


def make_hasher() -> PasswordHasher:
    """A hasher with the server's default argon2id parameters (19456 KiB, t=2, p=1)."""
    defaults = Settings.model_fields
    return PasswordHasher(
        memory_kib=defaults["argon2_memory_kib"].default,
        time_cost=defaults["argon2_time_cost"].default,
        parallelism=defaults["argon2_parallelism"].default,
    )


def _verify_until(
    hasher: PasswordHasher,
    stored: str,
    password: str,
    window: tuple[float, float],
    counts: list[int],
) -> None:
    """Verify back to back; count the verifies that finish inside the window."""
    start, end = window
    count = 0
    while True:
        now = time.perf_counter()
        if now >= end:
            break
        matches, _ = hasher.verify_sync(stored, password)
        if not matches:
            raise RuntimeError("argon2 verify failed on a correct password")
        if start <= time.perf_counter() <= end:
            count += 1
    counts.append(count)


def raw_verify_rate(threads: int, warmup: float, seconds: float) -> VerifyResult:
    """Verify one correct password on ``threads`` threads for ``warmup + seconds``."""
    hasher = make_hasher()
    try:
        password = "correct horse battery staple"
        stored = hasher.hash_sync(password)
        start = time.perf_counter() + warmup
        window = (start, start + seconds)
        counts: list[int] = []
        workers = [
            threading.Thread(target=_verify_until, args=(hasher, stored, password, window, counts))
            for _ in range(threads)
        ]
        for worker in workers:
            worker.start()
        time.sleep(max(0.0, start - time.perf_counter()))
        before = cpu_sample()
        time.sleep(max(0.0, window[1] - time.perf_counter()))
        after = cpu_sample()
        for worker in workers:
            worker.join()
    finally:
        hasher.close()
    if len(counts) != threads:
        raise RuntimeError("an argon2 verify thread failed")
    return VerifyResult(threads, sum(counts), seconds, cpu_usage(before, after))
