"""The public surface: what ``import microuser`` offers, and how it is distributed."""

from __future__ import annotations

import inspect
import subprocess
import sys
from importlib import metadata, resources

import microuser
from microuser import AsyncClient, Client


def test_exported_names() -> None:
    assert set(microuser.__all__) == {
        "APIError",
        "Account",
        "AsyncClient",
        "BadRequestError",
        "Client",
        "ForbiddenError",
        "MicroUserError",
        "NotFoundError",
        "PayloadTooLargeError",
        "RateLimitedError",
        "ServerError",
        "Session",
        "TransportError",
        "UnauthorizedError",
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
    return {
        name: inspect.signature(member)
        for name, member in vars(cls).items()
        if callable(member) and not name.startswith("_")
    }


def test_client_and_async_client_are_a_strict_pair() -> None:
    sync, asynchronous = public_methods(Client), public_methods(AsyncClient)
    assert sync.pop("close") == asynchronous.pop("aclose")
    assert sync == asynchronous
    assert len(sync) == 16  # one per endpoint of the user service
    for name in asynchronous:
        assert inspect.iscoroutinefunction(getattr(AsyncClient, name)), name
        assert not inspect.iscoroutinefunction(getattr(Client, name)), name
    init = inspect.signature(Client.__init__).parameters
    async_init = inspect.signature(AsyncClient.__init__).parameters
    assert (
        list(init)
        == list(async_init)
        == ["self", "address", "key", "timeout", "transport", "headers"]
    )
