"""The micro-user command on a real database: in the test process (typer's runner, the
command's own code), and the lifecycle once more as its own process, as a terminal runs it."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess

import pytest

from micro_user.services import Services
from micro_user.settings import Settings
from tests.support.cli import run_command, run_process


def cli_runner(url: str, tmp_path, runner=run_command):
    env = {**os.environ, "MICRO_USER_DATABASE_URL": url, "XDG_DATA_HOME": str(tmp_path / "xdg")}

    def run(*args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        return runner(args, env, input)

    return run


@pytest.fixture
def cli(tmp_path):
    return cli_runner(f"sqlite:///{tmp_path / 'cli.db'}", tmp_path)


@pytest.fixture(params=["in-process", "process"])
def cli_either(request, tmp_path):
    """The command both ways: exit codes and output are the process's own."""
    runner = run_command if request.param == "in-process" else run_process
    return cli_runner(f"sqlite:///{tmp_path / 'cli.db'}", tmp_path, runner)


def login(url: str, **credentials: str):
    async def work():
        services = Services.build(Settings(database_url=url))
        try:
            return await services.sessions.login("micro", **credentials)
        finally:
            await services.close()

    return asyncio.run(work())


def all_commands(group, path=()):
    yield list(path)
    for name, command in getattr(group, "commands", {}).items():
        yield from all_commands(command, (*path, name))


def test_every_command_has_help():
    import typer.main
    from typer.testing import CliRunner

    from micro_user.cli.main import app

    commands = list(all_commands(typer.main.get_command(app)))
    assert ["keys", "rotate"] in commands and ["user", "set-password"] in commands
    for command in commands:
        result = CliRunner().invoke(app, [*command, "--help"])
        assert result.exit_code == 0, (command, result.output)
        assert "Usage" in result.output and len(result.output) > 100, command
        # A flag takes no value: no help screen may suggest one (typer 0.29 wrote "<bool>").
        assert "<bool>" not in result.output, (command, result.output)
    # Prompted when left out, so not "required".
    create = CliRunner().invoke(app, ["user", "create", "--help"], terminal_width=200).output
    password = next(line for line in create.splitlines() if "--password" in line)
    assert "asked for" in password and "required" not in password, create


def test_user_lifecycle_and_exit_codes(cli_either):
    cli = cli_either
    created = cli(
        "user",
        "create",
        "--email",
        "Ann@Example.com",
        "--username",
        "ann",
        "--password",
        "sturdy-pass-1",
    )
    assert created.returncode == 0, created.stderr
    account = json.loads(created.stdout)
    assert account["email"] == "ann@example.com"
    assert json.loads(cli("user", "read", "--username", "ANN").stdout)["id"] == account["id"]
    duplicate = cli("user", "create", "--email", "ann@example.com", "--password", "sturdy-pass-1")
    assert duplicate.returncode == 1 and "already exists" in duplicate.stderr
    updated = cli(
        "user", "update", "--id", account["id"], "--profile", "team=blue", "--profile", "role=dev"
    )
    assert json.loads(updated.stdout)["profile"] == {"team": "blue", "role": "dev"}
    assert [u["id"] for u in json.loads(cli("user", "list").stdout)] == [account["id"]]
    assert cli("user", "update", "--id", account["id"], "--profile", "novalue").returncode == 2
    assert cli("user", "read", "--id", "nobody").returncode == 3
    assert cli("user", "delete", "--id", account["id"]).returncode == 0
    assert cli("user", "delete", "--id", account["id"]).returncode == 3
    assert cli("user", "create", "--email", "bad", "--password", "sturdy-pass-1").returncode == 1


def test_password_is_prompted_when_left_out(cli):
    result = cli(
        "user", "create", "--email", "p@example.com", input="sturdy-pass-1\nsturdy-pass-1\n"
    )
    assert result.returncode == 0, result.stderr
    assert "sturdy-pass-1" not in result.stdout


def test_set_password_ends_sessions_and_session_commands(cli, tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    account = json.loads(
        cli("user", "create", "--email", "s@example.com", "--password", "sturdy-pass-1").stdout
    )
    session = login(url, email="s@example.com", password="sturdy-pass-1")
    listed = json.loads(cli("session", "list", "--user-id", account["id"]).stdout)
    assert len(listed) == 1 and session.id not in json.dumps(listed)
    assert cli("session", "revoke", listed[0]["handle"]).returncode == 0
    assert json.loads(cli("session", "list").stdout) == []
    assert cli("session", "revoke", listed[0]["handle"]).returncode == 3
    login(url, email="s@example.com", password="sturdy-pass-1")
    assert (
        cli("user", "set-password", "--id", account["id"], "--password", "sturdy-pass-2").returncode
        == 0
    )
    assert json.loads(cli("session", "list").stdout) == []
    login(url, email="s@example.com", password="sturdy-pass-2")


def test_export_from_sqlite_and_import_into_postgresql(cli, tmp_path, postgres_url):
    for i in range(3):
        cli(
            "user",
            "create",
            "--email",
            f"m{i}@example.com",
            "--username",
            f"m{i}",
            "--password",
            f"password{i}x",
        )
    dump = tmp_path / "accounts.jsonl"
    exported = cli("export", "-o", str(dump))
    assert exported.returncode == 0 and "exported 3" in exported.stderr
    lines = dump.read_text().splitlines()
    assert len(lines) == 3 and all(
        json.loads(line)["password_hash"].startswith("$argon2id$") for line in lines
    )
    to_pg = cli_runner(postgres_url, tmp_path)
    imported = to_pg("import", str(dump))
    assert imported.returncode == 0, imported.stderr
    assert "imported 3" in imported.stderr
    m1 = next(json.loads(line) for line in lines if json.loads(line)["username"] == "m1")
    assert login(postgres_url, username="m1", password="password1x").account_id == m1["id"]
    again = to_pg("import", str(dump))
    assert again.returncode == 1 and "--skip-existing" in again.stderr
    skipped = to_pg("import", str(dump), "--skip-existing")
    assert skipped.returncode == 0 and "skipped 3" in skipped.stderr


def test_import_names_the_bad_line(cli, tmp_path):
    dump = tmp_path / "bad.jsonl"
    dump.write_text(
        '{"id": "a", "email": "a@example.com", "password_hash": "$argon2id$x"}\n{"id": "b"}\n'
    )
    result = cli("import", str(dump))
    assert result.returncode == 1 and "line 2" in result.stderr
    assert json.loads(cli("user", "list").stdout) == []  # nothing half-imported
    assert cli("import", str(tmp_path / "missing.jsonl")).returncode == 2


def test_migrate_reports_the_revision(cli):
    from micro_user.storage.migrate import head_revision

    result = cli("migrate")
    assert result.returncode == 0 and f"schema at revision {head_revision()}" in result.stdout


def test_an_account_is_named_as_a_person_types_it(cli, tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    made = cli(
        "user",
        "create",
        "--email",
        "Bo@example.com",
        "--username",
        "bo",
        "--password",
        "sturdy-pass-1",
    )
    account = json.loads(made.stdout)
    for name in ("bo", "BO", "bo@example.com", account["id"]):
        read = cli("user", "read", name)
        assert read.returncode == 0 and json.loads(read.stdout)["id"] == account["id"], read.stderr
    assert cli("user", "read", "nobody").returncode == 3
    assert cli("user", "read").returncode == 2  # nothing named
    assert cli("user", "read", "bo", "--id", account["id"]).returncode == 2  # two names
    updated = cli("user", "update", "bo", "--profile", "team=red")
    assert json.loads(updated.stdout)["profile"] == {"team": "red"}, updated.stderr

    login(url, username="bo", password="sturdy-pass-1")
    for how in (
        ["bo"],
        ["--username", "bo"],
        ["--email", "bo@example.com"],
        ["--user-id", account["id"]],
    ):
        listed = cli("session", "list", *how)
        assert [s["user_id"] for s in json.loads(listed.stdout)] == [account["id"]], how
    assert cli("session", "list", "nobody").returncode == 3
    assert cli("session", "list", "bo", "--username", "bo").returncode == 2

    changed = cli("user", "set-password", "bo@example.com", "--password", "sturdy-pass-2")
    assert changed.returncode == 0 and account["id"] in changed.stderr
    login(url, username="bo", password="sturdy-pass-2")
    assert cli("user", "delete", "bo").returncode == 0
    assert cli("user", "delete", "bo").returncode == 3


def test_every_command_prints_times_as_unix_seconds(cli, tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    cli(
        "user",
        "create",
        "--email",
        "t@example.com",
        "--username",
        "tee",
        "--password",
        "sturdy-pass-1",
    )
    login(url, username="tee", password="sturdy-pass-1")
    cli("key", "create")
    cli("account", "create", "--id", "svc-t")
    printed = {
        "user read": json.loads(cli("user", "read", "tee").stdout),
        "user list": json.loads(cli("user", "list").stdout)[0],
        "session list": json.loads(cli("session", "list").stdout)[0],
        "key list": json.loads(cli("key", "list").stdout)[0],
        "account list": json.loads(cli("account", "list").stdout)[0],
        "token issue": json.loads(cli("token", "issue", "--account", "svc-t").stdout),
    }
    seen = 0
    for command, item in printed.items():
        for field in ("created", "updated", "expires", "expiry", "verification_date"):
            if field in item:
                assert type(item[field]) is int, (command, field, item[field])
                seen += 1
    assert seen >= 8, printed
