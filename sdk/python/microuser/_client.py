"""``Client`` and ``AsyncClient``: one method per endpoint of the user service, a strict pair.

Both send the calls described in ``_calls`` and read answers the same way
(``_build`` and ``_parse`` below); they differ only in how they wait.
"""

from __future__ import annotations

import builtins
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from types import TracebackType
from typing import Any, Self, TypeVar

import httpx

from microuser import _calls
from microuser._calls import Call
from microuser._exceptions import MicroUserError, error_from_response, transport_error
from microuser._models import Account, Session, VerifyTokenResult
from microuser._version import __version__

__all__ = ["DEFAULT_ADDRESS", "AsyncClient", "AsyncConnection", "Client", "SyncConnection"]

T = TypeVar("T")

DEFAULT_ADDRESS = "http://localhost:8080"
ADDRESS_ENV = "MICRO_USER_ADDRESS"
KEY_ENV = "MICRO_USER_KEY"


def _options(
    address: str | None,
    key: str | None,
    timeout: float | httpx.Timeout,
    headers: Mapping[str, str] | None,
) -> dict[str, Any]:
    """The httpx client settings both clients share; arguments win over the environment."""
    if address is None:
        address = os.environ.get(ADDRESS_ENV) or DEFAULT_ADDRESS
    if key is None:
        key = os.environ.get(KEY_ENV)
    merged = httpx.Headers({"User-Agent": f"micro-user-sdk/{__version__}"})
    merged.update(headers or {})
    if key:
        merged["Authorization"] = f"Bearer {key}"
    return {
        "base_url": address,
        "headers": merged,
        "timeout": timeout,
    }


def _build(http: httpx.Client | httpx.AsyncClient, call: Call[Any]) -> httpx.Request:
    return http.build_request("POST", f"/v1/{call.service}/{call.endpoint}", json=call.payload)


def _parse(call: Call[T], response: httpx.Response) -> T:
    if response.is_error:
        raise error_from_response(response)
    try:
        return call.parse(response.json())
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise MicroUserError(
            f"unreadable answer from {response.request.url} (HTTP {response.status_code}): "
            "is the address a micro-user server?"
        ) from exc


@contextmanager
def _transport_errors() -> Iterator[None]:
    try:
        yield
    except httpx.TransportError as exc:
        raise transport_error(exc) from exc


class SyncConnection:
    """What every blocking client shares: the settings, the connections, sending a call,
    closing. ``address`` is the server's base URL (default: ``$MICRO_USER_ADDRESS``, else
    ``http://localhost:8080``); ``key`` an API key or token sent as ``Authorization: Bearer
    <key>`` (default: ``$MICRO_USER_KEY``). ``timeout`` is in seconds (or an
    ``httpx.Timeout``), ``headers`` are added to every request, and ``transport`` replaces
    httpx's network transport (for retries, proxies or tests)."""

    def __init__(
        self,
        address: str | None = None,
        key: str | None = None,
        *,
        timeout: float | httpx.Timeout = 10.0,
        transport: httpx.BaseTransport | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self._http = httpx.Client(transport=transport, **_options(address, key, timeout, headers))

    def _send(self, call: Call[T]) -> T:
        with _transport_errors():
            response = self._http.send(_build(self._http, call))
        return _parse(call, response)

    def close(self) -> None:
        """Close the connections. The client cannot be used afterwards."""
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class Client(SyncConnection):
    """A blocking client of micro-user's user service (see :class:`SyncConnection` for the
    arguments).

    Use it as a context manager, or call :meth:`close` when done. Methods raise
    :class:`~microuser.APIError` subclasses for error answers and
    :class:`~microuser.TransportError` when the server cannot be reached.
    """

    # Accounts --------------------------------------------------------------

    def create(
        self,
        email: str,
        password: str,
        username: str = "",
        id: str = "",
        profile: Mapping[str, str] | None = None,
    ) -> Account:
        """Register an account. ``id`` is generated when empty; username and email are
        trimmed and lower-cased. A taken id, username or email is a ``BadRequestError`` with
        id ``users-userId-check``, ``users-username-check`` or ``users-email-check``."""
        return self._send(
            _calls.create(email=email, password=password, username=username, id=id, profile=profile)
        )

    def read(self, id: str = "", username: str = "", email: str = "") -> Account:
        """Read an account by id, else username, else email (case-insensitive).
        ``NotFoundError`` when there is none."""
        return self._send(_calls.read(id=id, username=username, email=email))

    def update(
        self,
        id: str,
        username: str = "",
        email: str = "",
        profile: Mapping[str, str] | None = None,
        password: str = "",
    ) -> None:
        """Change the given fields of account ``id``; empty ones are kept. A new email
        clears ``verified``; a given profile replaces the whole profile. A user changing
        their own email (with their session or token) gives their current ``password``."""
        self._send(
            _calls.update(id=id, username=username, email=email, profile=profile, password=password)
        )

    def delete(self, id: str) -> None:
        """Delete account ``id`` with its sessions, emailed tokens, grants and refresh
        tokens; its id is never given to another account."""
        self._send(_calls.delete(id=id))

    def list(self, offset: int = 0, limit: int = 0) -> builtins.list[Account]:
        """Accounts, oldest first: ``limit`` of them (25 when 0, at most 1000) after
        skipping ``offset``."""
        return self._send(_calls.list_accounts(offset=offset, limit=limit))

    def update_password(
        self, user_id: str, old_password: str, new_password: str, confirm_password: str
    ) -> None:
        """Change the password of account ``user_id``, given its current one."""
        self._send(
            _calls.update_password(
                user_id=user_id,
                old_password=old_password,
                new_password=new_password,
                confirm_password=confirm_password,
            )
        )

    # Sessions --------------------------------------------------------------

    def login(
        self, password: str, username: str = "", email: str = "", factor_code: str = ""
    ) -> Session:
        """Start a session for the account with this username or email and password.
        Wrong credentials are an ``UnauthorizedError``; an account with two-step sign-in
        answers one with id ``user.login.second_factor`` until ``factor_code`` (a code of
        its authenticator app, or a recovery code) comes too."""
        return self._send(
            _calls.login(password=password, username=username, email=email, factor_code=factor_code)
        )

    def logout(self, session_id: str) -> None:
        """End a session. ``NotFoundError`` when it is unknown or already over."""
        self._send(_calls.logout(session_id=session_id))

    def logout_all(self, user_id: str) -> None:
        """End every session of account ``user_id``."""
        self._send(_calls.logout_all(user_id=user_id))

    def read_session(self, session_id: str) -> tuple[Session, Account]:
        """The live session ``session_id`` and its account. ``UnauthorizedError`` when
        the session is unknown, expired or ended."""
        return self._send(_calls.read_session(session_id=session_id))

    # Emailed flows ---------------------------------------------------------

    def send_verification_email(
        self,
        email: str,
        subject: str,
        text_content: str,
        redirect_url: str = "",
        failure_redirect_url: str = "",
        from_name: str = "",
    ) -> None:
        """Mail a verification link to ``email``. ``text_content`` must contain
        ``$micro_verification_link``; opening the link verifies the address and redirects
        to ``redirect_url`` (or ``failure_redirect_url`` when it is expired or used)."""
        self._send(
            _calls.send_verification_email(
                email=email,
                subject=subject,
                text_content=text_content,
                redirect_url=redirect_url,
                failure_redirect_url=failure_redirect_url,
                from_name=from_name,
            )
        )

    def verify_email(self, token: str) -> None:
        """Verify an address with the token of its verification link (once)."""
        self._send(_calls.verify_email(token=token))

    def send_password_reset_email(
        self,
        email: str,
        subject: str,
        text_content: str,
        from_name: str = "",
        expiration: int = 0,
    ) -> None:
        """Mail a one-time reset code to ``email``. ``text_content`` must contain ``$code``;
        the code expires after ``expiration`` seconds (1800 when 0)."""
        self._send(
            _calls.send_password_reset_email(
                email=email,
                subject=subject,
                text_content=text_content,
                from_name=from_name,
                expiration=expiration,
            )
        )

    def reset_password(
        self, email: str, code: str, new_password: str, confirm_password: str
    ) -> None:
        """Set a new password with a mailed reset code; ends every session of the account."""
        self._send(
            _calls.reset_password(
                email=email,
                code=code,
                new_password=new_password,
                confirm_password=confirm_password,
            )
        )

    def send_magic_link(
        self,
        email: str,
        subject: str,
        text_content: str,
        address: str,
        endpoint: str,
        from_name: str = "",
    ) -> None:
        """Mail a one-time login link ``https://{address}/{endpoint}/{token}`` to ``email``.
        ``text_content`` must contain ``$micro_verification_link``."""
        self._send(
            _calls.send_magic_link(
                email=email,
                subject=subject,
                text_content=text_content,
                address=address,
                endpoint=endpoint,
                from_name=from_name,
            )
        )

    def verify_token(self, token: str) -> VerifyTokenResult:
        """Turn a magic-link token into a session. An unknown, expired or used token is not
        an error: the result has ``is_valid=False`` and a ``message``."""
        return self._send(_calls.verify_token(token=token))

    # Two-step sign-in (micro-user's addition) -----------------------------------

    def start_totp(self, user_id: str) -> tuple[str, str]:
        """Begin setting up an authenticator app for the account: its key (base32) and
        ``otpauth://`` URI (for a QR code). Not in force until :meth:`confirm_totp`."""
        return self._send(_calls.start_totp(user_id=user_id))

    def confirm_totp(self, user_id: str, code: str) -> builtins.list[str]:
        """Put the authenticator in force with a code from it; the ten recovery codes,
        shown only now. From then on :meth:`login` needs ``factor_code``."""
        return self._send(_calls.confirm_totp(user_id=user_id, code=code))

    def regenerate_recovery_codes(self, user_id: str, code: str) -> builtins.list[str]:
        """New recovery codes, given a current code; the old ones stop working."""
        return self._send(_calls.regenerate_recovery_codes(user_id=user_id, code=code))

    def remove_factors(self, user_id: str, code: str) -> None:
        """Turn two-step sign-in off, given a current code."""
        self._send(_calls.remove_factors(user_id=user_id, code=code))


class AsyncConnection:
    """The async twin of :class:`SyncConnection`: ``transport`` is an
    ``httpx.AsyncBaseTransport``; :meth:`aclose` closes."""

    def __init__(
        self,
        address: str | None = None,
        key: str | None = None,
        *,
        timeout: float | httpx.Timeout = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self._http = httpx.AsyncClient(
            transport=transport, **_options(address, key, timeout, headers)
        )

    async def _send(self, call: Call[T]) -> T:
        with _transport_errors():
            response = await self._http.send(_build(self._http, call))
        return _parse(call, response)

    async def aclose(self) -> None:
        """Close the connections. The client cannot be used afterwards."""
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


class AsyncClient(AsyncConnection):
    """The async twin of :class:`Client`: same arguments, same methods, awaited.

    Use it as an async context manager, or await :meth:`aclose` when done.
    """

    # Accounts --------------------------------------------------------------

    async def create(
        self,
        email: str,
        password: str,
        username: str = "",
        id: str = "",
        profile: Mapping[str, str] | None = None,
    ) -> Account:
        """Register an account; see :meth:`Client.create`."""
        return await self._send(
            _calls.create(email=email, password=password, username=username, id=id, profile=profile)
        )

    async def read(self, id: str = "", username: str = "", email: str = "") -> Account:
        """Read an account by id, username or email; see :meth:`Client.read`."""
        return await self._send(_calls.read(id=id, username=username, email=email))

    async def update(
        self,
        id: str,
        username: str = "",
        email: str = "",
        profile: Mapping[str, str] | None = None,
        password: str = "",
    ) -> None:
        """Change the given fields of an account; see :meth:`Client.update`."""
        await self._send(
            _calls.update(id=id, username=username, email=email, profile=profile, password=password)
        )

    async def delete(self, id: str) -> None:
        """Delete an account and end its sessions."""
        await self._send(_calls.delete(id=id))

    async def list(self, offset: int = 0, limit: int = 0) -> builtins.list[Account]:
        """Accounts, oldest first; see :meth:`Client.list`."""
        return await self._send(_calls.list_accounts(offset=offset, limit=limit))

    async def update_password(
        self, user_id: str, old_password: str, new_password: str, confirm_password: str
    ) -> None:
        """Change a password, given the current one."""
        await self._send(
            _calls.update_password(
                user_id=user_id,
                old_password=old_password,
                new_password=new_password,
                confirm_password=confirm_password,
            )
        )

    # Sessions --------------------------------------------------------------

    async def login(
        self, password: str, username: str = "", email: str = "", factor_code: str = ""
    ) -> Session:
        """Start a session; see :meth:`Client.login`."""
        return await self._send(
            _calls.login(password=password, username=username, email=email, factor_code=factor_code)
        )

    async def logout(self, session_id: str) -> None:
        """End a session; see :meth:`Client.logout`."""
        await self._send(_calls.logout(session_id=session_id))

    async def logout_all(self, user_id: str) -> None:
        """End every session of an account."""
        await self._send(_calls.logout_all(user_id=user_id))

    async def read_session(self, session_id: str) -> tuple[Session, Account]:
        """A live session and its account; see :meth:`Client.read_session`."""
        return await self._send(_calls.read_session(session_id=session_id))

    # Emailed flows ---------------------------------------------------------

    async def send_verification_email(
        self,
        email: str,
        subject: str,
        text_content: str,
        redirect_url: str = "",
        failure_redirect_url: str = "",
        from_name: str = "",
    ) -> None:
        """Mail a verification link; see :meth:`Client.send_verification_email`."""
        await self._send(
            _calls.send_verification_email(
                email=email,
                subject=subject,
                text_content=text_content,
                redirect_url=redirect_url,
                failure_redirect_url=failure_redirect_url,
                from_name=from_name,
            )
        )

    async def verify_email(self, token: str) -> None:
        """Verify an address with the token of its verification link (once)."""
        await self._send(_calls.verify_email(token=token))

    async def send_password_reset_email(
        self,
        email: str,
        subject: str,
        text_content: str,
        from_name: str = "",
        expiration: int = 0,
    ) -> None:
        """Mail a one-time reset code; see :meth:`Client.send_password_reset_email`."""
        await self._send(
            _calls.send_password_reset_email(
                email=email,
                subject=subject,
                text_content=text_content,
                from_name=from_name,
                expiration=expiration,
            )
        )

    async def reset_password(
        self, email: str, code: str, new_password: str, confirm_password: str
    ) -> None:
        """Set a new password with a mailed reset code; ends every session of the account."""
        await self._send(
            _calls.reset_password(
                email=email,
                code=code,
                new_password=new_password,
                confirm_password=confirm_password,
            )
        )

    async def send_magic_link(
        self,
        email: str,
        subject: str,
        text_content: str,
        address: str,
        endpoint: str,
        from_name: str = "",
    ) -> None:
        """Mail a one-time login link; see :meth:`Client.send_magic_link`."""
        await self._send(
            _calls.send_magic_link(
                email=email,
                subject=subject,
                text_content=text_content,
                address=address,
                endpoint=endpoint,
                from_name=from_name,
            )
        )

    async def verify_token(self, token: str) -> VerifyTokenResult:
        """Turn a magic-link token into a session; see :meth:`Client.verify_token`."""
        return await self._send(_calls.verify_token(token=token))

    # Two-step sign-in (micro-user's addition) -----------------------------------

    async def start_totp(self, user_id: str) -> tuple[str, str]:
        """:meth:`Client.start_totp`, awaited."""
        return await self._send(_calls.start_totp(user_id=user_id))

    async def confirm_totp(self, user_id: str, code: str) -> builtins.list[str]:
        """:meth:`Client.confirm_totp`, awaited."""
        return await self._send(_calls.confirm_totp(user_id=user_id, code=code))

    async def regenerate_recovery_codes(self, user_id: str, code: str) -> builtins.list[str]:
        """:meth:`Client.regenerate_recovery_codes`, awaited."""
        return await self._send(_calls.regenerate_recovery_codes(user_id=user_id, code=code))

    async def remove_factors(self, user_id: str, code: str) -> None:
        """:meth:`Client.remove_factors`, awaited."""
        await self._send(_calls.remove_factors(user_id=user_id, code=code))
