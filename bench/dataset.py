"""The accounts loaded before the request phases, as micro-user export lines.

Hashing 100,000 passwords would take the machine most of an hour, so every
account shares ONE argon2id hash, computed once with the server's parameters
(so no login re-hashes it). The file is in the form ``micro-user export``
writes (``micro_user.transfer.export_line``) and is loaded with
``micro-user import``.
"""

from __future__ import annotations

import random
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from bench.argon import make_hasher
from micro_user.accounts.models import Account
from micro_user.transfer import export_line

NAMESPACE = "micro"  # the server's default namespace, where the admin key works
PASSWORD = "correct horse battery staple"


@dataclass(frozen=True, slots=True)
class Dataset:
    """A written accounts file and what the phases need to know about it."""

    path: Path
    ids: list[str]  # every account id, in a shuffled order for Read to cycle through
    usernames: list[str]  # usernames in file order; the first few are used to log in
    password: str


def username_of(number: int) -> str:
    return f"user{number:07d}"


def account_of(number: int, now: int, rng: random.Random) -> Account:
    """Account ``number`` of the data set, with a random (version 4) UUID as its id."""
    name = username_of(number)
    return Account(
        namespace=NAMESPACE,
        id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        username=name,
        email=f"{name}@bench.example.com",
        created=now - number,
        updated=now - number,
        profile={"source": "bench"},
    )


def write_dataset(path: Path, count: int, seed: int = 1) -> Dataset:
    """Write ``count`` accounts to ``path`` as JSON lines sharing one argon2id hash."""
    hasher = make_hasher()
    try:
        password_hash = hasher.hash_sync(PASSWORD)
    finally:
        hasher.close()
    rng = random.Random(seed)
    now = int(time.time())
    ids: list[str] = []
    usernames: list[str] = []
    with path.open("wb") as out:
        for number in range(count):
            account = account_of(number, now, rng)
            ids.append(account.id)
            usernames.append(account.username)
            out.write(export_line(account, password_hash) + b"\n")
    rng.shuffle(ids)
    return Dataset(path, ids, usernames, PASSWORD)
