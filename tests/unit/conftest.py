from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from micro_user.services import Services
from micro_user.settings import Settings
from micro_user.storage.migrate import upgrade


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class FakeClock:
    def __init__(self, now: int = 1_800_000_000) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def database_url(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'unit.db'}"
    upgrade(url)
    return url


@pytest.fixture
def make_services(database_url, clock) -> Callable[..., Services]:
    made: list[Services] = []

    def make(**overrides) -> Services:
        settings = Settings(database_url=database_url, **overrides)
        services = Services.build(settings, clock=clock)
        made.append(services)
        return services

    yield make


@pytest.fixture
async def services(make_services) -> AsyncIterator[Services]:
    built = make_services()
    yield built
    await built.close()
