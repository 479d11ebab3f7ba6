"""Starting the service: settings are checked before anything is touched, and each way a
start can fail is one line on stderr saying what to fix, with its own exit code."""

from __future__ import annotations

import base64
import os
import secrets
import shutil
import socket
import subprocess
import sys
from pathlib import Path

from micro_user.cli.main import EXIT_ADDRESS, EXIT_CONFIG, EXIT_STORAGE
from tests.support.disks import read_only
from tests.support.services import free_port

ROOT = Path(__file__).resolve().parents[2]


def serve(tmp_path: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("MICRO_USER_")},
        "XDG_DATA_HOME": str(tmp_path / "xdg"),
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "micro_user", "serve", "--port", str(free_port()), *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def one_line(done: subprocess.CompletedProcess[str]) -> str:
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and not done.stdout, (done.stdout, done.stderr)
    return lines[0]


def test_an_invalid_setting_is_refused_before_the_data_directory_is_made(tmp_path):
    done = serve(tmp_path, {"MICRO_USER_ADMIN_KEY": "short"})
    assert done.returncode == EXIT_CONFIG
    assert one_line(done).startswith("error: invalid configuration: MICRO_USER_ADMIN_KEY:")
    assert "short" not in done.stderr  # a secret's value is never echoed
    assert not (tmp_path / "xdg").exists()


def test_a_data_directory_in_the_way_of_a_file(tmp_path):
    (tmp_path / "file").write_text("")
    done = serve(tmp_path, {"MICRO_USER_DATA_DIR": str(tmp_path / "file" / "data")})
    assert done.returncode == EXIT_STORAGE
    line = one_line(done)
    assert (
        line.startswith("error: cannot write the data directory (")
        and "MICRO_USER_DATA_DIR" in line
    )


def test_a_data_directory_that_cannot_be_written(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    with read_only(data):
        done = serve(tmp_path, {"MICRO_USER_DATA_DIR": str(data)})
    assert done.returncode == EXIT_STORAGE
    line = one_line(done)
    assert line.startswith(f"error: cannot write the data directory ({data}")
    assert "fix its permissions" in line


def test_a_read_only_database_is_one_line_that_says_so(tmp_path):
    """The first start makes the admin key: on a database that cannot be written, one line
    naming the cause and the file, never SQL or its parameters (the key's digest)."""
    env = {"MICRO_USER_DATA_DIR": str(tmp_path / "data")}
    migrated = subprocess.run(
        [sys.executable, "-m", "micro_user", "migrate"],
        env={**os.environ, **env, "XDG_DATA_HOME": str(tmp_path / "xdg")},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert migrated.returncode == 0, migrated.stderr
    database = tmp_path / "data" / "micro-user.db"
    with read_only(database):
        done = serve(tmp_path, env)
    assert done.returncode == EXIT_STORAGE
    # (Before it, the notice that a key-encryption key was made beside the database.)
    notice, line = done.stderr.splitlines()
    assert notice.startswith("made a key-encryption key in ") and not done.stdout
    assert line.startswith(
        "error: cannot write the database (the database file is read-only): "
        "free disk space or make it writable; SQLite database "
    ), line
    assert str(database) in line


def test_an_unreachable_postgresql(tmp_path):
    port = free_port()  # nothing listens there
    done = serve(
        tmp_path,
        {
            "MICRO_USER_DATABASE_URL": f"postgresql://postgres@127.0.0.1:{port}/micro",
            "MICRO_USER_KEY_ENCRYPTION_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        },
    )
    assert done.returncode == EXIT_STORAGE
    line = one_line(done)
    assert line.startswith("error: cannot use the database (") and f"port {port}" in line
    assert "MICRO_USER_DATABASE_URL" in line


def test_a_port_in_use_fails_before_anything_is_made_or_said(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = serve(tmp_path, {}, "--port", str(port))
    assert done.returncode == EXIT_ADDRESS
    assert one_line(done) == (
        f"error: port {port} on 127.0.0.1 is in use by another program: stop it, or choose "
        "another port with --port or MICRO_USER_PORT"
    )
    assert not (tmp_path / "xdg").exists()


def test_the_install_stamp_changes_with_what_is_asked_and_with_the_project_files(tmp_path):
    def stamp(folder: Path, *args: str) -> str:
        script = f'source "{ROOT}/scripts/_venv.sh" >/dev/null; cd "{folder}"; install_stamp "$@"'
        return subprocess.run(
            ["bash", "-c", script, "stamp", *args], capture_output=True, text=True, check=True
        ).stdout.strip()

    copy = tmp_path / "copy"
    (copy / "sdk" / "python").mkdir(parents=True)
    for name in ("pyproject.toml", "sdk/python/pyproject.toml"):
        shutil.copy(ROOT / name, copy / name)
    start = stamp(copy, "-e", "./sdk/python", "-e", ".")
    assert start == stamp(copy, "-e", "./sdk/python", "-e", ".")
    assert start != stamp(copy, "-e", "./sdk/python", "-e", ".[test]")
    (copy / "pyproject.toml").write_text((copy / "pyproject.toml").read_text() + "\n# changed\n")
    assert start != stamp(copy, "-e", "./sdk/python", "-e", ".")


def test_every_command_says_in_one_line_when_the_database_does_not_answer(tmp_path):
    port = free_port()  # nothing listens there
    done = subprocess.run(
        [sys.executable, "-m", "micro_user", "user", "list"],
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("MICRO_USER_")},
            "MICRO_USER_DATABASE_URL": f"postgresql://postgres@127.0.0.1:{port}/micro",
            "MICRO_USER_KEY_ENCRYPTION_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == EXIT_STORAGE
    line = one_line(done)
    assert line.startswith("error: cannot use the database (") and f"port {port}" in line
