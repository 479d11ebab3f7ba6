"""Fixtures shared by the service's tests (tests/) and the Python SDK's (sdk/python/tests).

The API suite runs once per storage backend: SQLite always, PostgreSQL when it
answers (``MICRO_USER_TEST_REQUIRE=postgres`` turns its absence into a failure,
as ``.ci/run`` does).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

# A private redis-server or nats-server per test (never the shared one): request
# ``redis_server`` or ``nats_url``.
from tests.support.nats import nats_url  # noqa: F401
from tests.support.redis import redis_server  # noqa: F401
from tests.support.services import (
    ADMIN_KEY,
    REQUIRE,
    PostgresDatabase,
    ServerProcess,
    SmtpServer,
    postgres_available,
)


@pytest.fixture(scope="session")
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def mailbox(smtp: SmtpServer) -> Any:
    return smtp.mailbox


def new_postgres_database(request: pytest.FixtureRequest) -> str:
    """A fresh, empty PostgreSQL database, dropped when the requesting fixture ends."""
    reason = postgres_available()
    if reason:
        if "postgres" in REQUIRE:
            pytest.fail(f"PostgreSQL is required (MICRO_USER_TEST_REQUIRE) but: {reason}")
        pytest.skip(reason)
    database = PostgresDatabase()
    request.addfinalizer(database.drop)
    return database.url


@pytest.fixture
def postgres_url(request: pytest.FixtureRequest) -> str:
    return new_postgres_database(request)


def database_url(
    backend: str, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'micro-user.db'}"
    return new_postgres_database(request)


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def server(
    backend: str,
    smtp: SmtpServer,
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
) -> Iterator[ServerProcess]:
    url = database_url(backend, tmp_path_factory, request)
    process = ServerProcess(
        url,
        tmp_path_factory.mktemp(f"server-{backend}"),
        {
            "MICRO_USER_MAIL_SENDER": "smtp",
            "MICRO_USER_SMTP_HOST": "127.0.0.1",
            "MICRO_USER_SMTP_PORT": str(smtp.port),
            "MICRO_USER_SMTP_SECURITY": "none",
            # Mailed links and redirects in the tests point at these hosts.
            "MICRO_USER_LINK_HOSTS": "127.0.0.1,example.com,app.example.com",
        },
    ).start()
    yield process
    process.stop()


class Api:
    """Calls ``/v1/user/{Endpoint}`` on a live server and returns the raw response."""

    def __init__(self, base_url: str, key: str | None) -> None:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self.http = httpx.Client(base_url=base_url, headers=headers, timeout=30)

    def __call__(self, name: str, /, **fields: Any) -> httpx.Response:
        return self.http.post(f"/v1/user/{name}", json=fields)

    def ok(self, name: str, /, **fields: Any) -> dict[str, Any]:
        response = self(name, **fields)
        assert response.status_code == 200, response.text
        return response.json()

    def close(self) -> None:
        self.http.close()


@pytest.fixture
def api(server: ServerProcess) -> Iterator[Api]:
    client = Api(server.base_url, ADMIN_KEY)
    yield client
    client.close()


@pytest.fixture
def admin_key() -> str:
    return ADMIN_KEY


def unique(prefix: str = "u") -> str:
    return f"{prefix}{secrets.token_hex(5)}"


@pytest.fixture
def new_user(api: Api) -> Any:
    """Create an account with a unique username and email; returns (account, password)."""

    def make(**overrides: Any) -> tuple[dict[str, Any], str]:
        name = unique()
        fields = {
            "username": name,
            "email": f"{name}@example.com",
            "password": "correct horse 1",
            **overrides,
        }
        account = api.ok("Create", **fields)["account"]
        return account, fields["password"]

    return make
