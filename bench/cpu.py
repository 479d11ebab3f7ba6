"""CPU time of the machine, the server, PostgreSQL and this process (the load driver).

Read from /proc, they say whether a phase saturated the machine, how much of
it the driver took from the server, and whether something else was running
(which makes every figure lower). On systems without /proc they are left out.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
PROC = Path("/proc")


@dataclass(frozen=True, slots=True)
class CpuSample:
    """Cumulative CPU seconds at one moment (None where unreadable)."""

    wall: float
    machine_busy: float | None
    driver: float
    server: float | None  # the server process and its workers
    postgres: float | None  # every process named postgres


@dataclass(frozen=True, slots=True)
class CpuUsage:
    """Average cores in use over an interval."""

    machine: float | None
    driver: float
    server: float | None
    postgres: float | None

    @property
    def other(self) -> float | None:
        """Cores used by everything else: other programs competing for the machine."""
        if self.machine is None:
            return None
        ours = self.driver + (self.server or 0.0) + (self.postgres or 0.0)
        return max(0.0, self.machine - ours)


def _machine_busy() -> float | None:
    """Busy CPU seconds of all cores since boot (everything but idle and iowait)."""
    try:
        fields = (PROC / "stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return None
    ticks = [int(value) for value in fields[:8]]
    return (sum(ticks) - ticks[3] - ticks[4]) / TICKS


class Process(NamedTuple):
    pid: int
    name: str
    parent: int
    cpu: float  # user plus system seconds, all threads


def _process(pid: str) -> Process | None:
    try:
        stat = (PROC / pid / "stat").read_text()
    except OSError:  # it ended meanwhile
        return None
    # The command name is in parentheses and may hold spaces; the fields after it are fixed.
    name = stat[stat.index("(") + 1 : stat.rindex(")")]
    fields = stat[stat.rindex(")") + 2 :].split()
    return Process(int(pid), name, int(fields[1]), (int(fields[11]) + int(fields[12])) / TICKS)


def _processes() -> list[Process]:
    """Every process that can be read (none without /proc)."""
    if not PROC.is_dir():
        return []
    found = (_process(entry.name) for entry in PROC.iterdir() if entry.name.isdigit())
    return [process for process in found if process is not None]


def _tree_cpu(processes: list[Process], root: int | None) -> float | None:
    """CPU seconds of ``root`` and its descendants (``micro-user serve --workers N``)."""
    children: dict[int, list[Process]] = {}
    for process in processes:
        children.setdefault(process.parent, []).append(process)
    top = [process for process in processes if process.pid == root]
    if not top:
        return None
    total, pending = 0.0, top
    while pending:
        process = pending.pop()
        total += process.cpu
        pending.extend(children.get(process.pid, []))
    return total


def _postgres_cpu(processes: list[Process]) -> float | None:
    """CPU seconds of every PostgreSQL process (server and backends)."""
    if not processes:
        return None
    return sum(process.cpu for process in processes if process.name == "postgres")


def cpu_sample(server_pid: int | None = None) -> CpuSample:
    times = os.times()
    processes = _processes()
    return CpuSample(
        wall=time.perf_counter(),
        machine_busy=_machine_busy(),
        driver=times.user + times.system,
        server=_tree_cpu(processes, server_pid),
        postgres=_postgres_cpu(processes),
    )


def _rate(before: float | None, after: float | None, wall: float) -> float | None:
    if before is None or after is None or wall <= 0:
        return None
    return max(0.0, after - before) / wall


def cpu_usage(before: CpuSample, after: CpuSample) -> CpuUsage:
    wall = after.wall - before.wall
    return CpuUsage(
        machine=_rate(before.machine_busy, after.machine_busy, wall),
        driver=_rate(before.driver, after.driver, wall) or 0.0,
        server=_rate(before.server, after.server, wall),
        postgres=_rate(before.postgres, after.postgres, wall),
    )
