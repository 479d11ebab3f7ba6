"""Finding 12: a Redis outage turned every Login into a 500. Now each use decides: checks of
guessable secrets fail closed (503, the error shape, a detail that says why), mail limits
and the counting of invalid bearer credentials fail open (logged and counted). The Redis
stopped here is the test's own, never the shared one."""

from __future__ import annotations

import httpx

from conftest import unique
from tests.support.strict import ADMIN, call, create_account, running

ADDRESS = "203.0.113.12"
PASSWORD = "correct horse 1"


def test_with_redis_stopped_mid_run_each_use_fails_as_documented(tmp_path, redis_server):
    with running(tmp_path, {"MICRO_USER_REDIS_URL": redis_server.url}) as server:
        name = unique()
        account = create_account(server, name, PASSWORD)
        assert call(server, "Login", ADDRESS, username=name, password=PASSWORD).status_code == 200
        generated = httpx.post(
            f"{server.base_url}/v1/auth/Auth.Generate", json={"id": unique("svc-")}, headers=ADMIN
        ).json()["account"]

        redis_server.stop()

        # Password checks: closed. Not a 500, and not an unthrottled check either.
        for endpoint, fields in (
            ("Login", {"username": name, "password": PASSWORD}),
            (
                "UpdatePassword",
                {
                    "userId": account["id"],
                    "old_password": PASSWORD,
                    "new_password": "another horse 2",
                    "confirm_password": "another horse 2",
                },
            ),
            (
                "ResetPassword",
                {
                    "email": f"{name}@example.com",
                    "code": "123456",
                    "new_password": "another horse 2",
                    "confirm_password": "another horse 2",
                },
            ),
        ):
            refused = call(server, endpoint, ADDRESS, **fields)
            assert refused.status_code == 503, (endpoint, refused.text)
            body = refused.json()
            assert body["code"] == 503 and body["status"] == "Service Unavailable"
            assert body["id"] == f"user.{endpoint.lower()}"
            assert "Redis" in body["detail"] and "try again" in body["detail"]

        # Client secrets: closed too, in RFC 6749's shape.
        token = httpx.post(
            f"{server.base_url}/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=httpx.BasicAuth(generated["id"], generated["secret"]),
            headers={"X-Forwarded-For": ADDRESS},
        )
        assert token.status_code == 503 and token.json()["error"] == "temporarily_unavailable"

        # Mail limits: open. The mail is asked for and answered as ever.
        mail = call(
            server,
            "SendPasswordResetEmail",
            ADDRESS,
            email=f"{name}@example.com",
            subject="Reset",
            text_content="code: $code",
        )
        assert mail.status_code == 200, mail.text

        # Invalid bearer credentials: open, still a plain 401; valid ones never touch Redis.
        invalid = call(server, "Read", ADDRESS, headers={"Authorization": "Bearer nope"}, id="x")
        assert invalid.status_code == 401, invalid.text
        assert call(server, "Read", ADDRESS, id=account["id"]).status_code == 200

        metrics = httpx.get(f"{server.base_url}/metrics", headers=ADMIN).text
        assert 'outcome="let_through",use="mail limits"' in metrics
        assert 'outcome="let_through",use="bearer failure counts"' in metrics
        assert 'outcome="refused",use="password checks"' in metrics
        assert 'outcome="refused",use="client secret checks"' in metrics
        assert "abuse counters unavailable" in server.log()
