"""A database that answers but cannot keep a write (a full disk): every change is a 503 in
the wire shape, the log says what is wrong, /ready says the database cannot be written,
and nothing committed before is lost; with space again, all works on."""

from __future__ import annotations

import httpx

from conftest import Api, unique
from tests.support.disks import fill, small_disk
from tests.support.services import ADMIN_KEY, POSTGRES_ADMIN_URL, ServerProcess


def create(api: Api) -> httpx.Response:
    name = unique()
    return api("Create", username=name, email=f"{name}@example.com", password="correct horse 1")


def test_a_full_disk_is_a_503_named_in_the_log_and_by_ready(tmp_path):
    with small_disk(tmp_path / "disk", 24) as disk:
        server = ServerProcess(f"sqlite:///{disk / 'micro-user.db'}", tmp_path).start()
        api = Api(server.base_url, ADMIN_KEY)
        try:
            kept = create(api).json()["account"]
            filler = fill(disk)
            # Space SQLite holds already (its write-ahead log) may take a few more changes.
            answers = [create(api)]
            while answers[-1].status_code == 200 and len(answers) < 400:
                answers.append(create(api))
            assert {a.status_code for a in answers[:-1]} <= {200}
            assert answers[-1].json() == {
                "id": "micro-user.database",
                "code": 503,
                "detail": "the database is unavailable; try again",
                "status": "Service Unavailable",
            }
            assert "database error on /v1/user/Create: the disk is full" in server.log()
            ready = httpx.get(server.base_url + "/ready")
            assert ready.status_code == 503
            assert ready.json()["detail"] == "the database cannot be written: the disk is full"
            assert "not ready: the database cannot be written (the disk is full)" in server.log()
            # Reads go on, and what was committed is there.
            assert api.ok("Read", id=kept["id"])["account"]["username"] == kept["username"]
            made = [a.json()["account"]["id"] for a in answers if a.status_code == 200]

            filler.unlink()
            assert httpx.get(server.base_url + "/ready").status_code == 200
            assert create(api).status_code == 200
            for account_id in [kept["id"], *made]:
                api.ok("Read", id=account_id)
        finally:
            api.close()
            server.stop()


def test_a_read_only_postgresql_is_a_503_named_in_the_log_and_by_ready(tmp_path, postgres_url):
    """A standby, or a database set read-only: reads answer, writes are refused."""
    import psycopg

    server = ServerProcess(postgres_url, tmp_path).start()
    api = Api(server.base_url, ADMIN_KEY)
    name = postgres_url.rsplit("/", 1)[1]
    admin = psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True)
    try:
        kept = create(api).json()["account"]
        admin.execute(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
        # The server's connections end; the ones it opens next are read-only.
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
        )
        refused = create(api)
        if refused.status_code == 503 and "read-only" not in server.log():
            refused = create(api)  # the first may meet a connection that was just ended
        assert refused.status_code == 503, refused.text
        assert refused.json()["id"] == "micro-user.database"
        assert "database error on /v1/user/Create: the database is read-only" in server.log()
        ready = httpx.get(server.base_url + "/ready")
        assert ready.status_code == 503
        assert ready.json()["detail"] == (
            "the database cannot be written: the database is read-only "
            "(a standby, or default_transaction_read_only)"
        )
        assert api.ok("Read", id=kept["id"])["account"]["id"] == kept["id"]

        admin.execute(f'ALTER DATABASE "{name}" SET default_transaction_read_only = off')
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
        )
        for _ in range(3):  # connections ended under the pool are found and replaced
            if httpx.get(server.base_url + "/ready").status_code == 200:
                break
        assert httpx.get(server.base_url + "/ready").status_code == 200
        assert create(api).status_code == 200
    finally:
        admin.close()
        api.close()
        server.stop()
