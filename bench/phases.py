"""The request mixes: which endpoint each phase calls and with what bodies."""

from __future__ import annotations

import secrets

import orjson

from bench.dataset import Dataset
from bench.driver import Connection, Phase, Target

LOGIN_ACCOUNTS = 16  # "a handful" of accounts that Login cycles through
SESSION_ACCOUNTS = 8  # accounts logged in once to give ReadSession real sessions


def _cycle(values: list[str]) -> list[str]:
    if not values:
        raise ValueError("nothing to cycle through")
    return values


def login_phase(dataset: Dataset, concurrency: int) -> Phase:
    """Login with the correct password, cycling through the first accounts."""
    password = dataset.password
    bodies = [
        orjson.dumps({"username": name, "password": password})
        for name in _cycle(dataset.usernames[:LOGIN_ACCOUNTS])
    ]
    return Phase("Login", "/v1/user/Login", lambda n: bodies[n % len(bodies)], concurrency)


def create_phase(concurrency: int, password: str) -> Phase:
    """Create accounts with usernames and emails no other request of the run uses."""
    tag = secrets.token_hex(3)

    def body(number: int) -> bytes:
        name = f"new{tag}{number:08d}"
        return orjson.dumps(
            {"username": name, "email": f"{name}@bench.example.com", "password": password}
        )

    return Phase("Create", "/v1/user/Create", body, concurrency)


def read_phase(dataset: Dataset, concurrency: int) -> Phase:
    """Read by id, cycling through every loaded account (in shuffled order)."""
    ids = _cycle(dataset.ids)
    return Phase(
        "Read", "/v1/user/Read", lambda n: orjson.dumps({"id": ids[n % len(ids)]}), concurrency
    )


def read_session_phase(session_ids: list[str], concurrency: int) -> Phase:
    """ReadSession, cycling through real sessions."""
    bodies = [orjson.dumps({"session_id": sid}) for sid in _cycle(session_ids)]
    return Phase(
        "ReadSession", "/v1/user/ReadSession", lambda n: bodies[n % len(bodies)], concurrency
    )


async def open_sessions(
    target: Target, dataset: Dataset, count: int = SESSION_ACCOUNTS
) -> list[str]:
    """Log in ``count`` accounts (from the end of the data set) and return their session ids."""
    connection = Connection(target)
    try:
        session_ids = []
        for name in dataset.usernames[-count:]:
            body = orjson.dumps({"username": name, "password": dataset.password})
            status, answer = await connection.call("POST", "/v1/user/Login", body)
            if status != 200:
                raise RuntimeError(f"Login of {name} failed: HTTP {status} {answer[:200]!r}")
            session_ids.append(orjson.loads(answer)["session"]["id"])
        return session_ids
    finally:
        connection.close()
