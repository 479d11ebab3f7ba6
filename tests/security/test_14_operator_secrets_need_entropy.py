"""Finding 14 (operator-chosen secrets): ``MICRO_USER_ADMIN_KEY`` of 24 times ``a`` was
accepted. The attacker guesses the admin key an operator typed; a key that is long but
guessable must be refused at start, before anything is made on disk."""

from __future__ import annotations

import base64
import os
import secrets
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from micro_user.cli.main import EXIT_CONFIG
from micro_user.crypto import MIN_SECRET_BITS, estimated_bits
from tests.support.services import ServerProcess

WEAK_ADMIN_KEYS = {
    "one letter": "a" * 24,
    "a short pattern": "abc" * 16,
    "a dictionary phrase": "correcthorsebatterystaplecorrecthorsebatterystaple",
    "common words": "password letmein dragon monkey sunshine qwerty123",
    "a keyboard walk": "qwertyuiopasdfghjklzxcvbnm1234567890",
}


def start(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    xdg = tmp_path / "xdg"
    return subprocess.run(
        [sys.executable, "-m", "micro_user", "serve", "--port", "0"],
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("MICRO_USER_")},
            "XDG_DATA_HOME": str(xdg),
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )


def assert_refused_before_disk(
    result: subprocess.CompletedProcess[str], tmp_path: Path, setting: str, secret: str
) -> None:
    assert result.returncode == EXIT_CONFIG, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: invalid configuration: {setting}: ")
    assert "guessable" in lines[0] or "bytes" in lines[0] or "base64" in lines[0]
    assert secret not in result.stderr  # the refused secret is not echoed
    assert not (tmp_path / "xdg").exists()  # no data directory, no database


@pytest.mark.parametrize("name", WEAK_ADMIN_KEYS)
def test_a_guessable_admin_key_is_refused(name: str, tmp_path: Path) -> None:
    key = WEAK_ADMIN_KEYS[name]
    assert len(key) >= 24  # length alone would have let it in
    result = start(tmp_path, {"MICRO_USER_ADMIN_KEY": key})
    assert_refused_before_disk(result, tmp_path, "MICRO_USER_ADMIN_KEY", key)


def test_a_random_admin_key_is_accepted(tmp_path: Path) -> None:
    key = "muk_" + secrets.token_urlsafe(32)
    instance = ServerProcess("", tmp_path, {"MICRO_USER_ADMIN_KEY": key}).start()
    try:
        answer = httpx.post(
            f"{instance.base_url}/v1/user/List", json={}, headers={"Authorization": f"Bearer {key}"}
        )
        assert answer.status_code == 200, answer.text
    finally:
        instance.stop()


# Made in the test, named by their form: parallel test workers must collect the same ids.
RANDOM_KEYS = {
    "urlsafe": lambda: "muk_" + secrets.token_urlsafe(32),
    "hex": lambda: secrets.token_hex(32),
    "go sdk": lambda: "muk_gotest_" + secrets.token_hex(16),  # the Go SDK's tests: 128 bits
    "base64": lambda: base64.b64encode(secrets.token_bytes(32)).decode(),
}


@pytest.mark.parametrize("form", RANDOM_KEYS)
def test_random_keys_pass_the_estimate(form: str) -> None:
    for _ in range(20):
        key = RANDOM_KEYS[form]()
        assert estimated_bits(key) >= MIN_SECRET_BITS, key


WEAK_KEY_ENCRYPTION_KEYS = {
    "32 bytes of one value": lambda: base64.b64encode(b"a" * 32).decode(),
    "a repeated pattern": lambda: base64.b64encode(b"abcd" * 8).decode(),
    "16 random bytes": lambda: base64.b64encode(secrets.token_bytes(16)).decode(),
    "not base64": lambda: "not base64 at all!",
}


@pytest.mark.parametrize("form", WEAK_KEY_ENCRYPTION_KEYS)
def test_a_weak_or_malformed_key_encryption_key_is_refused(form: str, tmp_path: Path) -> None:
    key = WEAK_KEY_ENCRYPTION_KEYS[form]()
    result = start(tmp_path, {"MICRO_USER_KEY_ENCRYPTION_KEY": key})
    assert_refused_before_disk(result, tmp_path, "MICRO_USER_KEY_ENCRYPTION_KEY", key)
