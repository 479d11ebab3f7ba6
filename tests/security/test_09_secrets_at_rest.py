"""Finding 9: secrets at rest.

The attacker has a copy of the database (a backup, a dump, a read-only injection) or a
shell as another user on the host. A copy of the database must hold no key that signs
tokens, and the SQLite file, its folder and an export must not be readable by others.
"""

from __future__ import annotations

import base64
import binascii
import os
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from joserfc.jwk import OKPKey
from sqlalchemy import create_engine, text

from micro_user.auth.key_encryption import key_id, new_key
from micro_user.cli.main import EXIT_CONFIG
from micro_user.storage.migrate import upgrade
from tests.support.services import ADMIN_KEY, ServerProcess

HEADERS = {"Authorization": f"Bearer {ADMIN_KEY}"}


def stored_private_keys(url: str) -> list[Any]:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as conn:
            return list(conn.execute(text("SELECT kid, kek_id, private_jwk FROM signing_keys")))
    finally:
        engine.dispose()


def looks_like_a_key(value: str) -> bool:
    """Whether a stored value parses as a JWK or PEM, as it is or base64-decoded."""
    candidates = [value.encode()]
    try:
        candidates.append(base64.b64decode(value, validate=True))
    except (binascii.Error, ValueError):
        pass
    for candidate in candidates:
        if b"-----BEGIN" in candidate or b'"d"' in candidate or b'"kty"' in candidate:
            return True
        try:
            parsed = orjson.loads(candidate)
        except orjson.JSONDecodeError:
            continue
        if isinstance(parsed, dict):
            return True
    return False


def serve(env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``micro-user serve`` expected to stop at start: its exit code and output."""
    return subprocess.run(
        [sys.executable, "-m", "micro_user", "serve", "--port", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def assert_one_clear_line(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode == EXIT_CONFIG, result.stderr  # the key is a setting
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for word in words:
        assert word in lines[0], lines[0]


def test_a_copy_of_the_database_holds_no_private_key(server: ServerProcess) -> None:
    url = server.env["MICRO_USER_DATABASE_URL"]
    rows = stored_private_keys(url)
    assert rows
    for row in rows:
        assert row.kek_id, f"signing key {row.kid} is stored in plaintext"
        assert not looks_like_a_key(row.private_jwk), row.kid
    # ... and the service still signs: a service account gets a token that verifies.
    made = httpx.post(
        f"{server.base_url}/v1/auth/Auth/Generate",
        json={"id": "sealed-check-" + os.urandom(4).hex(), "scopes": []},
        headers=HEADERS,
    )
    assert made.status_code == 200, made.text
    account = made.json()["account"]
    token = httpx.post(
        f"{server.base_url}/v1/auth/Auth/Token",
        json={"id": account["id"], "secret": account["secret"]},
    )
    assert token.status_code == 200, token.text
    inspected = httpx.post(
        f"{server.base_url}/v1/auth/Auth/Inspect",
        json={"token": token.json()["token"]["access_token"]},
        headers=HEADERS,
    )
    assert inspected.status_code == 200 and inspected.json()["account"]["id"] == account["id"]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_default_sqlite_files_and_exports_are_private(tmp_path: Path) -> None:
    os.umask(0o022)  # as on most hosts: what is not made private is readable by all
    instance = ServerProcess("", tmp_path).start()  # no URL: the default SQLite file
    try:
        created = httpx.post(
            f"{instance.base_url}/v1/user/Create",
            json={"username": "modes", "email": "modes@example.com", "password": "sturdy-pass-9"},
            headers=HEADERS,
        )
        assert created.status_code == 200, created.text
        data_dir = tmp_path / "xdg" / "micro-user"
        database = data_dir / "micro-user.db"
        assert mode(data_dir) == 0o700
        for name in ("micro-user.db", "micro-user.db-wal", "micro-user.db-shm"):
            assert (data_dir / name).exists(), name
            assert mode(data_dir / name) == 0o600, name
        # The generated key-encryption key: next to the database, not in it, private.
        key_file = data_dir / "key-encryption.key"
        assert mode(key_file) == 0o600
        with sqlite3.connect(database) as conn:
            (kek_id,) = conn.execute("SELECT kek_id FROM signing_keys").fetchone()
        assert kek_id == key_id(base64.b64decode(key_file.read_text().strip()))

        dump = tmp_path / "accounts.jsonl"
        dump.write_text("")
        dump.chmod(0o644)  # an existing file keeps no wider mode either
        for target in (tmp_path / "fresh.jsonl", dump):
            exported = instance.cli("export", "-o", str(target))
            assert exported.returncode == 0, exported.stderr
            assert "$argon2id$" in target.read_text()
            assert mode(target) == 0o600, target
    finally:
        instance.stop()


def test_rotating_the_key_encryption_key_with_rewrap(tmp_path: Path) -> None:
    old, new = new_key(), new_key()
    url = f"sqlite:///{tmp_path / 'rotate.db'}"
    first = ServerProcess(url, tmp_path, {"MICRO_USER_KEY_ENCRYPTION_KEY": old}).start()
    first.stop()
    assert not (tmp_path / "key-encryption.key").exists()  # a configured key: no file made
    assert {row.kek_id for row in stored_private_keys(url)} == {key_id(base64.b64decode(old))}

    # The new key first, the old one still accepted: rewrap seals everything with the new one.
    both = ServerProcess(url, tmp_path, {"MICRO_USER_KEY_ENCRYPTION_KEY": f"{new},{old}"})
    rotated = both.cli("keys", "rotate", "--now")
    assert rotated.returncode == 0, rotated.stderr
    rewrapped = both.cli("keys", "rewrap")
    assert rewrapped.returncode == 0, rewrapped.stderr
    assert "sealed 2 signing key(s)" in rewrapped.stderr
    rows = stored_private_keys(url)
    assert len(rows) == 2
    assert {row.kek_id for row in rows} == {key_id(base64.b64decode(new))}
    assert not any(looks_like_a_key(row.private_jwk) for row in rows)

    # The old key can go: the service starts and signs with the new one alone.
    only_new = ServerProcess(url, tmp_path, {"MICRO_USER_KEY_ENCRYPTION_KEY": new}).start()
    try:
        assert only_new.cli("account", "create", "--id", "rotation-check").returncode == 0
        issued = only_new.cli("token", "issue", "--account", "rotation-check")
        assert issued.returncode == 0, issued.stderr
    finally:
        only_new.stop()

    # ... and the old one alone no longer opens them: one clear line, no traceback.
    env = {**only_new.env, "MICRO_USER_KEY_ENCRYPTION_KEY": old}
    assert_one_clear_line(serve(env), "is not configured", "MICRO_USER_KEY_ENCRYPTION_KEY")


def test_a_wrong_key_encryption_key_is_one_clear_start_failure(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'wrong.db'}"
    first = ServerProcess(url, tmp_path).start()  # the generated key file
    first.stop()
    key_file = tmp_path / "key-encryption.key"
    key_file.write_text("not a key\n")
    assert_one_clear_line(serve(first.env), str(key_file), "not base64")
    key_file.write_text(new_key() + "\n")  # the key was lost, and another put in its place
    assert_one_clear_line(serve(first.env), "is not configured", "keys rotate --now")
    # The way out: a new signing key at once; the old one's public part still verifies.
    replaced = first.cli("keys", "rotate", "--now")
    assert replaced.returncode == 0, replaced.stderr
    ServerProcess(url, tmp_path).start().stop()


def test_postgresql_needs_a_configured_key_encryption_key(
    postgres_url: str, tmp_path: Path
) -> None:
    instance = ServerProcess(postgres_url, tmp_path)
    env = {k: v for k, v in instance.env.items() if not k.startswith("MICRO_USER_KEY_ENCRYPTION")}
    assert_one_clear_line(serve(env), "MICRO_USER_KEY_ENCRYPTION_KEY", "PostgreSQL")
    # Nothing was migrated or made before the refusal.
    engine = create_engine(postgres_url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as conn:
            tables = conn.execute(text("SELECT count(*) FROM pg_tables WHERE schemaname='public'"))
            assert tables.scalar() == 0
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_plaintext_keys_from_before_are_sealed_at_the_next_start(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    from conftest import new_postgres_database

    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'old.db'}"
    else:
        url = new_postgres_database(request)
    upgrade(url, "0007")  # the schema before keys were sealed, with a key as it stored them
    key = OKPKey.generate_key("Ed25519", parameters={"kid": "oldkey", "alg": "EdDSA"})
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO signing_keys (kid, algorithm, private_jwk, public_jwk, created) "
                    "VALUES ('oldkey', 'EdDSA', :private, :public, :created)"
                ),
                {
                    "private": orjson.dumps(key.as_dict(private=True)).decode(),
                    "public": orjson.dumps(key.as_dict(private=False)).decode(),
                    "created": int(time.time()),
                },
            )
    finally:
        engine.dispose()
    assert looks_like_a_key(stored_private_keys_before_0008(url)[0])

    instance = ServerProcess(url, tmp_path).start()
    try:
        (row,) = stored_private_keys(url)
        assert row.kid == "oldkey" and row.kek_id and not looks_like_a_key(row.private_jwk)
        # The sealed key still signs: its kid is in the JWKS, and a token it signs verifies.
        jwks = httpx.get(f"{instance.base_url}/.well-known/jwks.json").json()
        assert [k["kid"] for k in jwks["keys"]] == ["oldkey"]
        assert instance.cli("account", "create", "--id", "old-key-check").returncode == 0
        issued = instance.cli("token", "issue", "--account", "old-key-check")
        assert issued.returncode == 0, issued.stderr
        token = orjson.loads(issued.stdout)["access_token"]
        header = orjson.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
        assert header["kid"] == "oldkey"
    finally:
        instance.stop()


def stored_private_keys_before_0008(url: str) -> list[str]:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as conn:
            return [r[0] for r in conn.execute(text("SELECT private_jwk FROM signing_keys"))]
    finally:
        engine.dispose()
