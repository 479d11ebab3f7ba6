"""Finding 11: the trusted proxy header was read from its first line only. A proxy that
appends its own X-Forwarded-For line (instead of extending the client's) then let the
client choose its address, and with it a fresh rate-limit allowance on every request."""

from __future__ import annotations

import httpx

from conftest import unique
from tests.support.services import ADMIN_KEY
from tests.support.strict import running

PROXY_SEES = "203.0.113.9"  # the address our proxy appends, on a line of its own


def test_a_client_cannot_pick_its_address_with_a_header_line_of_its_own(tmp_path):
    with running(tmp_path) as server:
        statuses = []
        with httpx.Client(base_url=server.base_url, timeout=30) as client:
            for i in range(35):
                # Sent raw: two header lines, the client's forged one first.
                response = client.post(
                    "/v1/user/Login",
                    json={"username": unique(), "password": "guess"},
                    headers=[
                        ("Authorization", f"Bearer {ADMIN_KEY}"),
                        ("X-Forwarded-For", f"198.51.100.{i}"),
                        ("X-Forwarded-For", PROXY_SEES),
                    ],
                )
                statuses.append(response.status_code)
        # The address is the proxy's last hop, the same on every request: its limit (30 a
        # minute) holds, whatever the client put on its own line.
        assert statuses[:30] == [401] * 30, statuses
        assert set(statuses[30:]) == {429}, statuses
