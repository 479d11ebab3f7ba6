"""The public surface: what ``import microuser`` offers, and how it is distributed."""

from __future__ import annotations

import inspect
import subprocess
import sys
from importlib import metadata, resources

import pytest

import microuser
from microuser import AsyncAuthClient, AsyncClient, AuthClient, Client


def test_exported_names() -> None:
    assert set(microuser.__all__) == {
        "APIError",
        "Account",
        "AsyncAuthClient",
        "AsyncClient",
        "AuthAccount",
        "AuthClient",
        "BadRequestError",
        "Client",
        "FactorPolicy",
        "ForbiddenError",
        "IdentityProvider",
        "MicroUserError",
        "NotFoundError",
        "OAuthClient",
        "PayloadTooLargeError",
        "RateLimitedError",
        "Role",
        "ServerError",
        "Session",
        "Token",
        "TransportError",
        "UnauthorizedError",
        "VerifyResult",
        "VerifyTokenResult",
        "__version__",
    }
    for name in microuser.__all__:
        assert getattr(microuser, name) is not None


def test_version_is_the_distributions() -> None:
    assert microuser.__version__ == metadata.version("micro-user-sdk")


def test_the_only_dependency_is_httpx() -> None:
    requires = metadata.requires("micro-user-sdk") or []
    assert [r for r in requires if "extra ==" not in r] == ["httpx>=0.27"]
    # The middleware's crypto is an extra: pip install 'micro-user-sdk[middleware]'.
    assert [r for r in requires if "extra ==" in r] == ['joserfc<1.9,>=1.8; extra == "middleware"']


def test_import_microuser_needs_no_extra() -> None:
    code = "import sys, microuser; assert not {'joserfc', 'microuser.middleware'} & {*sys.modules}"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_ships_type_information() -> None:
    assert resources.files("microuser").joinpath("py.typed").is_file()


def public_methods(cls: type) -> dict[str, inspect.Signature]:
    """Its public methods, inherited ones included."""
    return {
        name: inspect.signature(member)
        for name, member in inspect.getmembers(cls, callable)
        if not name.startswith("_")
    }


@pytest.mark.parametrize(
    ("sync_class", "async_class", "endpoints"),
    [(Client, AsyncClient, 20), (AuthClient, AsyncAuthClient, 23)],
    ids=["user", "auth"],
)
def test_each_client_and_its_async_twin_are_a_strict_pair(
    sync_class: type, async_class: type, endpoints: int
) -> None:
    sync, asynchronous = public_methods(sync_class), public_methods(async_class)
    assert sync.pop("close") == asynchronous.pop("aclose")
    assert sync == asynchronous
    assert len(sync) == endpoints  # one per endpoint of the service
    for name in asynchronous:
        assert inspect.iscoroutinefunction(getattr(async_class, name)), name
        assert not inspect.iscoroutinefunction(getattr(sync_class, name)), name
    init = inspect.signature(sync_class.__init__).parameters
    async_init = inspect.signature(async_class.__init__).parameters
    assert (
        list(init)
        == list(async_init)
        == ["self", "address", "key", "timeout", "transport", "headers"]
    )
