"""micro-user with the default abuse limits (the shared test servers lift them), its client
addresses taken from X-Forwarded-For, and helpers to call it as a given address."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from tests.support.services import ADMIN_KEY, RELAXED_LIMITS, ServerProcess

ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}


def strict_server(workdir: Path, extra_env: dict[str, str] | None = None) -> ServerProcess:
    """A started server on a fresh SQLite file with the default limits."""
    env = {"MICRO_USER_TRUSTED_PROXY_HEADER": "X-Forwarded-For", **(extra_env or {})}
    instance = ServerProcess(f"sqlite:///{workdir / 'strict.db'}", workdir, env)
    for name in RELAXED_LIMITS:
        if name not in (extra_env or {}):
            instance.env.pop(name)
    return instance.start()


@contextmanager
def running(workdir: Path, extra_env: dict[str, str] | None = None) -> Iterator[ServerProcess]:
    instance = strict_server(workdir, extra_env)
    try:
        yield instance
    finally:
        instance.stop()


def call(
    instance: ServerProcess,
    endpoint: str,
    address: str,
    *,
    headers: dict[str, str] | None = None,
    **fields: Any,
) -> httpx.Response:
    """POST /v1/user/{endpoint} as the client ``address`` (as our proxy reports it)."""
    return httpx.post(
        f"{instance.base_url}/v1/user/{endpoint}",
        json=fields,
        headers={**ADMIN, **(headers or {}), "X-Forwarded-For": f"10.9.8.7, {address}"},
        timeout=30,
    )


def create_account(instance: ServerProcess, name: str, password: str) -> dict[str, Any]:
    created = httpx.post(
        f"{instance.base_url}/v1/user/Create",
        json={"username": name, "email": f"{name}@example.com", "password": password},
        headers=ADMIN,
        timeout=30,
    )
    assert created.status_code == 200, created.text
    return dict(created.json()["account"])
