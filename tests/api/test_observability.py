"""Metrics in Prometheus format, and JSON logs carrying a request id."""

from __future__ import annotations

import json

import httpx
from prometheus_client.parser import text_string_to_metric_families

from conftest import unique
from tests.support.services import ADMIN_KEY

HEADERS = {"Authorization": f"Bearer {ADMIN_KEY}"}


def scrape(server) -> dict[str, list]:
    response = httpx.get(server.base_url + "/metrics", headers=HEADERS)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    return {family.name: family.samples for family in text_string_to_metric_families(response.text)}


def test_metrics_need_a_credential_the_rules_allow(server):
    assert httpx.get(server.base_url + "/metrics").status_code == 401


def test_metrics_scrape_cleanly_and_count_what_happened(server, api, new_user):
    account, password = new_user()
    api.ok("Login", username=account["username"], password=password)
    assert api("Login", username=account["username"], password="wrong password").status_code == 401
    families = scrape(server)
    requests = {
        (s.labels["endpoint"], s.labels["status"]): s.value
        for s in families["micro_user_requests"]
        if s.name.endswith("_total")
    }
    assert requests[("user.Login", "200")] >= 1 and requests[("user.Login", "401")] >= 1
    logins = {
        s.labels["result"]: s.value
        for s in families["micro_user_logins"]
        if s.name.endswith("_total")
    }
    assert logins["success"] >= 1 and logins["failure"] >= 1
    latency = [
        s
        for s in families["micro_user_request_seconds"]
        if s.name.endswith("_count") and s.labels["endpoint"] == "user.Login"
    ]
    assert latency and latency[0].value >= 2
    hashing = {
        s.labels["operation"]
        for s in families["micro_user_password_hash_seconds"]
        if s.name.endswith("_count")
    }
    assert hashing == {"hash", "verify"}
    assert "micro_user_outbox_backlog" in families and "micro_user_delivery_failures" in families


def test_log_lines_are_json_with_the_request_id(server, api):
    rid = unique("req-")
    response = httpx.post(
        server.base_url + "/v1/user/Read",
        json={"id": "nobody"},
        headers={**HEADERS, "X-Request-Id": rid},
    )
    assert response.headers["x-request-id"] == rid
    generated = httpx.post(
        server.base_url + "/v1/user/Read", json={"id": "nobody"}, headers=HEADERS
    ).headers["x-request-id"]
    assert generated and generated != rid
    hostile = httpx.post(
        server.base_url + "/v1/user/Read", json={}, headers={**HEADERS, "X-Request-Id": "a b;{c}"}
    )
    assert hostile.headers["x-request-id"] != "a b;{c}"
    entries = [json.loads(line) for line in server.log().splitlines() if line.startswith("{")]
    mine = [e for e in entries if e.get("request_id") == rid]
    assert (
        mine
        and mine[0]["message"].startswith("POST /v1/user/Read 404")
        and mine[0]["level"] == "info"
    )
    assert all({"time", "level", "logger", "message"} <= set(e) for e in entries)
