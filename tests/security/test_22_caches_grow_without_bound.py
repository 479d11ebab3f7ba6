"""Finding 22: every distinct Micro-Namespace header sent to /auth/forward made a rule set
(about 5 KB) that was kept for good. The gate no longer reads that header, and the rule
sets of namespaces without rules (any anonymous API call may name one) are an LRU cache
with a bound, reported in ``micro_user_cache_entries``."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from micro_user.auth.state import BUILTIN_ONLY_CACHE_SIZE
from tests.support.gateway import instance
from tests.support.services import ADMIN_KEY, ServerProcess

FLOOD = BUILTIN_ONLY_CACHE_SIZE + 300


def cached_rule_sets(client: httpx.Client) -> int:
    metrics = client.get("/metrics", headers={"Authorization": f"Bearer {ADMIN_KEY}"}).text
    found = re.search(r'^micro_user_cache_entries\{cache="rule_sets"\} (\S+)$', metrics, re.M)
    assert found, "micro_user_cache_entries is not reported"
    return int(float(found.group(1)))


def test_thousands_of_namespaces_leave_the_cache_at_its_bound(
    server: ServerProcess, tmp_path: Path
) -> None:
    with (
        instance(server, tmp_path, {}) as fresh,
        httpx.Client(base_url=fresh.base_url, timeout=30) as client,
    ):
        before = cached_rule_sets(client)
        for i in range(FLOOD):
            headers = {"X-Original-URI": "/admin", "Micro-Namespace": f"flood-{i}"}
            assert client.get("/auth/forward", headers=headers).status_code == 401
        # The gate judges anonymous requests in its own namespace: nothing new is kept.
        assert cached_rule_sets(client) == before
        # Anonymous API calls do name their namespace; what is kept of them is bounded.
        for i in range(FLOOD):
            response = client.post(
                "/v1/user/Read", json={"id": "x"}, headers={"Micro-Namespace": f"flood-{i}"}
            )
            assert response.status_code == 401
        assert cached_rule_sets(client) == BUILTIN_ONLY_CACHE_SIZE
