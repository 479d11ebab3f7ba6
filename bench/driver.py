"""A small HTTP/1.1 keep-alive load driver on raw asyncio streams.

It is cheap per request on purpose: it shares the machine's cores with the
server under test, so every microsecond it spends is one the server does not
get. It talks to loopback addresses only, and every run is bounded both in
time and in number of requests.

A run keeps ``concurrency`` connections busy, each sending its next request as
soon as the previous answer arrived (a closed loop). Load starts at once; only
answers that arrive inside the measuring window, which opens after the
warm-up, are counted, so the figures describe a steady state.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

from bench.cpu import CpuUsage, cpu_sample, cpu_usage

T = TypeVar("T")
LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})
DEFAULT_MAX_REQUESTS = 1_000_000
GRACE_SECONDS = 30.0  # how long in-flight requests may take after the window closes

BodyFactory = Callable[[int], bytes]


class DriverError(RuntimeError):
    """The server answered something this driver does not understand, or not at all."""


@dataclass(frozen=True, slots=True)
class Target:
    """Where the server listens and the API key to present."""

    host: str
    port: int
    api_key: str

    def __post_init__(self) -> None:
        if self.host not in LOOPBACK:
            raise ValueError(f"the load driver talks to loopback only, not {self.host!r}")

    def request_head(self, method: str, path: str) -> bytes:
        """Everything of a request before its Content-Length value."""
        return (
            f"{method} {path} HTTP/1.1\r\n"
            f"Host: {self.host}:{self.port}\r\n"
            f"Authorization: Bearer {self.api_key}\r\n"
            "Content-Type: application/json\r\n"
            "Content-Length: "
        ).encode()


def _header_value(head: bytes, name: bytes) -> bytes | None:
    """The value of header ``name`` (lower case, with the colon) in a response head."""
    start = head.lower().find(b"\r\n" + name)
    if start < 0:
        return None
    start += 2 + len(name)
    end = head.find(b"\r\n", start)
    return head[start:end].strip()


class Connection:
    """One keep-alive connection; reconnects when the server closes it."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def _ensure_open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._reader is None or self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(
                self.target.host, self.target.port
            )
        return self._reader, self._writer

    async def send(self, head: bytes, body: bytes) -> tuple[int, bytes]:
        """Send one request (``head`` from ``Target.request_head``); return status and body."""
        reader, writer = await self._ensure_open()
        writer.write(b"%s%d\r\n\r\n%s" % (head, len(body), body))
        try:
            response_head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            self.close()
            raise DriverError(f"connection lost before the answer ({type(exc).__name__})") from None
        status = int(response_head[9:12])
        length = _header_value(response_head, b"content-length:")
        if length is None:
            self.close()
            raise DriverError("answer without Content-Length (chunked answers are not supported)")
        response_body = await reader.readexactly(int(length)) if length != b"0" else b""
        if (_header_value(response_head, b"connection:") or b"").lower() == b"close":
            self.close()
        return status, response_body

    async def call(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        """One request, building the head on the spot (for setup calls, not the hot loop)."""
        return await self.send(self.target.request_head(method, path), body)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None


@dataclass(frozen=True, slots=True)
class Phase:
    """A load to apply: POST ``path`` with bodies from ``body(sequence_number)``."""

    name: str
    path: str
    body: BodyFactory
    concurrency: int
    # A request head of its own (up to "Content-Length: "), e.g. a GET with other credentials.
    head: bytes | None = None


@dataclass
class PhaseResult:
    """What one phase measured inside its window."""

    name: str
    concurrency: int
    seconds: float
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    first_error: str | None = None
    cpu: CpuUsage | None = None

    @property
    def ok(self) -> int:
        return len(self.latencies)

    @property
    def rate(self) -> float:
        """Successful answers per second."""
        return self.ok / self.seconds if self.seconds else 0.0

    def percentile_ms(self, fraction: float) -> float:
        """Latency at ``fraction`` (0..1) of the successful answers, in milliseconds."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] * 1000

    def record_error(self, status: int, body: bytes) -> None:
        self.errors += 1
        if self.first_error is None:
            self.first_error = f"HTTP {status}: {body[:300].decode(errors='replace')}"


@dataclass(frozen=True, slots=True)
class Window:
    """The measuring window on the ``time.perf_counter`` clock."""

    start: float
    end: float

    def __contains__(self, moment: float) -> bool:
        return self.start <= moment <= self.end


async def _worker(
    target: Target,
    phase: Phase,
    window: Window,
    sequence: itertools.count[int],
    max_requests: int,
    result: PhaseResult,
) -> None:
    """Send requests back to back until the window closes or the count bound is reached."""
    connection = Connection(target)
    head = phase.head or target.request_head("POST", phase.path)
    latencies = result.latencies
    clock = time.perf_counter
    try:
        while True:
            sent = clock()
            if sent >= window.end:
                return
            number = next(sequence)
            if number >= max_requests:
                return
            status, body = await connection.send(head, phase.body(number))
            done = clock()
            if done not in window:
                continue
            if status == 200:
                latencies.append(done - sent)
            else:
                result.record_error(status, body)
    finally:
        connection.close()


async def _sample_cpu(window: Window, server_pid: int | None, result: PhaseResult) -> None:
    """Measure CPU use of the machine, this driver and the server over the window."""
    await asyncio.sleep(max(0.0, window.start - time.perf_counter()))
    before = cpu_sample(server_pid)
    await asyncio.sleep(max(0.0, window.end - time.perf_counter()))
    result.cpu = cpu_usage(before, cpu_sample(server_pid))


async def run_phase(
    target: Target,
    phase: Phase,
    *,
    warmup: float,
    seconds: float,
    server_pid: int | None = None,
    max_requests: int = DEFAULT_MAX_REQUESTS,
) -> PhaseResult:
    """Apply ``phase`` for ``warmup + seconds``; measure the last ``seconds``."""
    result = PhaseResult(phase.name, phase.concurrency, seconds)
    start = time.perf_counter() + warmup
    window = Window(start, start + seconds)
    sequence = itertools.count()
    async with asyncio.timeout(warmup + seconds + GRACE_SECONDS), asyncio.TaskGroup() as group:
        for _ in range(phase.concurrency):
            group.create_task(_worker(target, phase, window, sequence, max_requests, result))
        group.create_task(_sample_cpu(window, server_pid, result))
    return result


def run_async(work: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine on uvloop when it is installed (cheaper per request), else asyncio."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(work)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(work)
