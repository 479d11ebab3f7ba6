"""The auth commands: roles, rules, service accounts, tokens and signing keys."""

from __future__ import annotations

import json
import time

import httpx

from tests.cli.test_cli import cli  # noqa: F401  (fixture)


def out(result):
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_roles_accounts_and_tokens(cli):  # noqa: F811
    assert cli("role", "create", "ops", "--description", "operators").returncode == 0
    assert {"name": "ops", "description": "operators"} in out(cli("role", "list"))
    account = out(cli("account", "create", "--id", "svc-a", "--role", "ops"))
    assert account["secret"].startswith("mus_") and account["scopes"] == ["ops"]
    assert [a["secret"] for a in out(cli("account", "list"))] == [""]
    token = out(cli("token", "issue", "--account", "svc-a"))
    inspected = out(cli("token", "inspect", token["access_token"]))
    assert inspected["id"] == "svc-a" and inspected["scopes"] == ["ops"]
    assert cli("token", "inspect", token["access_token"] + "x").returncode == 1
    assert cli("token", "issue", "--account", "nobody").returncode == 3
    changed = out(cli("account", "change-secret", "svc-a"))
    assert changed["secret"] and changed["secret"] != account["secret"]
    assert cli("role", "revoke", "ops", "--account", "svc-a", "--type", "service").returncode == 0
    assert cli("role", "revoke", "ops", "--account", "svc-a", "--type", "service").returncode == 3
    assert (
        cli("role", "grant", "missing", "--account", "svc-a", "--type", "service").returncode == 3
    )
    assert cli("account", "delete", "svc-a").returncode == 0
    assert cli("account", "delete", "svc-a").returncode == 3


def test_rules(cli):  # noqa: F811
    created = out(
        cli("rule", "create", "--resource", "service:user:User.Login", "--id", "public-login")
    )
    # The CLI prints what Rules.List answers over HTTP.
    assert created == {
        "id": "public-login",
        "scope": "",
        "resource": {"type": "service", "name": "user", "endpoint": "User.Login"},
        "access": "GRANTED",
        "priority": 0,
    }
    out(
        cli(
            "rule",
            "create",
            "--resource",
            "service:user:*",
            "--scope",
            "banned",
            "--access",
            "DENIED",
            "--priority",
            "9",
        )
    )
    assert [r["id"] for r in out(cli("rule", "list"))][1] == "public-login"
    assert cli("rule", "create", "--resource", "service:user").returncode == 2
    assert cli("rule", "create", "--resource", "a:b:c", "--access", "MAYBE").returncode == 1
    assert cli("rule", "delete", "public-login").returncode == 0
    assert cli("rule", "delete", "public-login").returncode == 3


def test_signing_keys_rotate(cli):  # noqa: F811
    first = out(cli("keys", "list"))
    assert len(first) == 1 and first[0]["retired"] is None and "private" not in json.dumps(first)
    rotated = cli("keys", "rotate")
    assert rotated.returncode == 0 and "signing in 90 s" in rotated.stderr
    after = out(cli("keys", "list"))
    assert len(after) == 2 and [k["retired"] is None for k in after].count(True) == 1
    # Published at once, signing later: the old key still signs.
    assert [k["kid"] for k in after if k["signing"]] == [first[0]["kid"]]
    assert cli("keys", "rotate", "--now").returncode == 0
    now = out(cli("keys", "list"))
    signing = [k for k in now if k["signing"]]
    assert len(now) == 3 and len(signing) == 1 and signing[0]["retired"] is None


def test_a_rule_made_with_the_cli_reaches_a_running_server_within_the_bound(server, new_user, api):
    account, password = new_user()

    def login():
        return httpx.post(
            server.base_url + "/v1/user/Login",
            json={"username": account["username"], "password": password},
        )

    assert login().status_code == 401
    rule_id = f"cli-public-login-{account['id'][:8]}"
    assert (
        server.cli(
            "rule", "create", "--resource", "service:user:User.Login", "--id", rule_id
        ).returncode
        == 0
    )
    started = time.monotonic()
    while login().status_code != 200:
        assert time.monotonic() - started < 3, "the rule did not reach the server within 3 s"
        time.sleep(0.1)
    assert server.cli("rule", "delete", rule_id).returncode == 0
    started = time.monotonic()
    while login().status_code != 401:
        assert time.monotonic() - started < 3
        time.sleep(0.1)


def test_audit_and_webhooks(cli):  # noqa: F811
    account = out(
        cli("user", "create", "--email", "audit@example.com", "--password", "sturdy-pass-1")
    )
    lines = [
        json.loads(line) for line in cli("audit", "--account", account["id"]).stdout.splitlines()
    ]
    assert [e["type"] for e in lines] == ["account.created"] and lines[0]["actor"] == "cli"
    hook = out(cli("webhook", "create", "http://127.0.0.1:9/hook", "--event", "account.created"))
    assert hook["secret"].startswith("whsec_") and hook["event_types"] == ["account.created"]
    assert out(cli("webhook", "list"))[0]["secret"] == ""
    assert out(cli("webhook", "parked")) == []
    assert cli("webhook", "replay").returncode == 0
    assert cli("webhook", "delete", hook["id"]).returncode == 0
    assert cli("webhook", "delete", hook["id"]).returncode == 3
    assert cli("webhook", "create", "ftp://x").returncode == 1


def test_oauth_clients(cli):  # noqa: F811
    made = out(
        cli(
            "client",
            "create",
            "--name",
            "Shop",
            "--redirect-uri",
            "https://shop.example/cb",
            "--redirect-uri",
            "http://localhost:3000/cb",
        )
    )
    assert made["secret"].startswith("mcs_") and made["id"].startswith("mcl_")
    assert made["redirect_uris"] == ["https://shop.example/cb", "http://localhost:3000/cb"]
    assert made["first_party"] and not made["public"]
    spa = out(
        cli(
            "client",
            "create",
            "--name",
            "SPA",
            "--redirect-uri",
            "https://spa.example/",
            "--public",
            "--third-party",
            "--scope",
            "openid",
        )
    )
    assert spa["secret"] == "" and spa["public"] and not spa["first_party"]
    listed = out(cli("client", "list"))
    assert {c["id"] for c in listed} == {made["id"], spa["id"]} and len(listed) == 2
    assert all("secret" not in c for c in listed)  # shown once, at creation
    refused = cli("client", "create", "--name", "Bad", "--redirect-uri", "http://evil.example/")
    assert refused.returncode == 1 and "https" in refused.stderr
    assert cli("client", "delete", spa["id"]).returncode == 0
    assert cli("client", "delete", spa["id"]).returncode == 3
    assert [c["id"] for c in out(cli("client", "list"))] == [made["id"]]
    assert out(cli("client", "list", "-n", "elsewhere")) == []
