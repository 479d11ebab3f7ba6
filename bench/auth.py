"""The auth service's measures: gateway checks with a bearer JWT, token grants, and rule
evaluation in-process as the number of rules grows."""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass

import orjson
from microuser.rules import Access, Resource, Rule, RuleSet, Subject

from bench.driver import (
    GRACE_SECONDS,
    Connection,
    Phase,
    PhaseResult,
    Target,
    Window,
    _sample_cpu,
)

ROLE = "bench-reader"
GUARDED_PATH = "/v1/orders/list"


@dataclass(frozen=True, slots=True)
class ServiceAccount:
    id: str
    secret: str
    access_token: str


async def setup(target: Target) -> ServiceAccount:
    """A role, a rule granting it Orders.List, and a service account holding it."""
    connection = Connection(target)
    try:

        async def call(path: str, body: object) -> dict[str, object]:
            status, answer = await connection.call("POST", path, orjson.dumps(body))
            if status != 200:
                raise RuntimeError(f"{path}: HTTP {status} {answer[:200]!r}")
            return dict(orjson.loads(answer))

        await call("/v1/auth/Roles/Create", {"name": ROLE})
        rule = {
            "scope": ROLE,
            "resource": {"type": "service", "name": "orders", "endpoint": "Orders.List"},
        }
        await call("/v1/auth/Rules/Create", {"rule": rule})
        account = (await call("/v1/auth/Auth/Generate", {"scopes": [ROLE]}))["account"]
        assert isinstance(account, dict)
        token = (
            await call("/v1/auth/Auth/Token", {"id": account["id"], "secret": account["secret"]})
        )["token"]
        assert isinstance(token, dict)
        return ServiceAccount(
            str(account["id"]), str(account["secret"]), str(token["access_token"])
        )
    finally:
        connection.close()


def forward_auth_phase(target: Target, account: ServiceAccount, concurrency: int) -> Phase:
    """What nginx asks for every request: GET /auth/forward with the caller's JWT."""
    head = (
        "GET /auth/forward HTTP/1.1\r\n"
        f"Host: {target.host}:{target.port}\r\n"
        f"Authorization: Bearer {account.access_token}\r\n"
        f"X-Original-URI: {GUARDED_PATH}\r\n"
        "X-Original-Method: GET\r\n"
        "Content-Length: "
    ).encode()
    return Phase("Forward-auth (JWT)", "/auth/forward", lambda n: b"", concurrency, head)


def client_credentials_phase(account: ServiceAccount, concurrency: int) -> Phase:
    body = orjson.dumps({"id": account.id, "secret": account.secret})
    return Phase("Client-credentials grant", "/v1/auth/Auth/Token", lambda n: body, concurrency)


async def refresh_chains(
    target: Target,
    account: ServiceAccount,
    concurrency: int,
    *,
    warmup: float,
    seconds: float,
    server_pid: int | None,
) -> PhaseResult:
    """Refresh-token grants: each worker spends its token and goes on with the new one."""
    result = PhaseResult("Refresh-token grant", concurrency, seconds)
    start = time.perf_counter() + warmup
    window = Window(start, start + seconds)
    credentials = orjson.dumps({"id": account.id, "secret": account.secret})
    head = target.request_head("POST", "/v1/auth/Auth/Token")

    async def worker() -> None:
        connection = Connection(target)
        try:
            _, answer = await connection.send(head, credentials)
            token = orjson.loads(answer)["token"]["refresh_token"]
            while time.perf_counter() < window.end:
                sent = time.perf_counter()
                status, answer = await connection.send(head, orjson.dumps({"refresh_token": token}))
                done = time.perf_counter()
                if status != 200:
                    result.record_error(status, answer)
                    _, answer = await connection.send(head, credentials)
                token = orjson.loads(answer)["token"]["refresh_token"]
                if done in window and status == 200:
                    result.latencies.append(done - sent)
        finally:
            connection.close()

    async with asyncio.timeout(warmup + seconds + GRACE_SECONDS), asyncio.TaskGroup() as group:
        for _ in range(concurrency):
            group.create_task(worker())
        group.create_task(_sample_cpu(window, server_pid, result))
    return result


@dataclass(frozen=True, slots=True)
class RuleTiming:
    rules: int
    p50_us: float
    p99_us: float


def rule_evaluation(
    counts: tuple[int, ...] = (100, 10_000, 100_000), samples: int = 20_000
) -> list[RuleTiming]:
    """p50 and p99 of one evaluation, in-process, with rules spread over many services."""
    generator = random.Random(11)
    timings = []
    for count in counts:
        rules = [
            Rule(
                f"r{i}",
                generator.choice(["reader", "writer", "*", ""]),
                Resource("service", f"svc{i % max(1, count // 20)}", f"Svc.Method{i % 20}"),
                generator.choice(list(Access)),
                generator.randint(0, 9),
            )
            for i in range(count)
        ]
        ruleset = RuleSet("micro", rules)
        subject = Subject("micro", frozenset({"reader"}))
        resources = [
            Resource(
                "service",
                f"svc{generator.randrange(max(1, count // 20))}",
                f"Svc.Method{generator.randrange(20)}",
            )
            for _ in range(256)
        ]
        durations = []
        for n in range(samples):
            resource = resources[n % 256]
            began = time.perf_counter_ns()
            ruleset.allows(subject, resource)
            durations.append(time.perf_counter_ns() - began)
        durations.sort()
        timings.append(
            RuleTiming(
                count,
                durations[len(durations) // 2] / 1000,
                durations[int(len(durations) * 0.99)] / 1000,
            )
        )
    return timings


def describe_rules(timings: list[RuleTiming]) -> str:
    return ", ".join(
        f"{t.rules:,} rules: p50 {t.p50_us:.1f} µs, p99 {t.p99_us:.1f} µs" for t in timings
    )
