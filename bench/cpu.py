"""CPU time of the machine, of this process (the load driver) and of the server, from /proc.

The figures say whether a phase saturated the machine and how much of it the
driver took from the server. On systems without /proc they are left out.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass(frozen=True, slots=True)
class CpuSample:
    """Cumulative CPU seconds at one moment (None where unreadable)."""

    wall: float
    machine_busy: float | None
    driver: float
    server: float | None


@dataclass(frozen=True, slots=True)
class CpuUsage:
    """Average cores in use over an interval."""

    machine: float | None
    driver: float
    server: float | None

    @property
    def other(self) -> float | None:
        """Cores used by everything else: the database server, and any other load."""
        if self.machine is None:
            return None
        return max(0.0, self.machine - self.driver - (self.server or 0.0))


def _machine_busy() -> float | None:
    """Busy CPU seconds of all cores since boot (everything but idle and iowait)."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return None
    ticks = [int(value) for value in fields[:8]]
    return (sum(ticks) - ticks[3] - ticks[4]) / TICKS


def _process_cpu(pid: int | None) -> float | None:
    """User plus system CPU seconds of process ``pid`` (all its threads)."""
    if pid is None:
        return None
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name may hold spaces; the fields after it are fixed.
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def cpu_sample(server_pid: int | None = None) -> CpuSample:
    times = os.times()
    return CpuSample(
        wall=time.perf_counter(),
        machine_busy=_machine_busy(),
        driver=times.user + times.system,
        server=_process_cpu(server_pid),
    )


def _rate(before: float | None, after: float | None, wall: float) -> float | None:
    if before is None or after is None or wall <= 0:
        return None
    return (after - before) / wall


def cpu_usage(before: CpuSample, after: CpuSample) -> CpuUsage:
    wall = after.wall - before.wall
    return CpuUsage(
        machine=_rate(before.machine_busy, after.machine_busy, wall),
        driver=_rate(before.driver, after.driver, wall) or 0.0,
        server=_rate(before.server, after.server, wall),
    )
