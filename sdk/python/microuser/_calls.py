"""Each endpoint of the user service once: the fields it sends, and how its answer is read.

``Client`` and ``AsyncClient`` both send these calls; only how they wait differs.
Field names are the proto's (``userId`` in UpdatePassword really is spelled so).
Empty strings and zeros mean "not given", as in the proto.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from microuser._models import (
    Account,
    Session,
    VerifyTokenResult,
    parse_account,
    parse_session,
    parse_verify_token,
)

T = TypeVar("T")
Body = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Call(Generic[T]):
    """One request: ``POST /v1/{service}/{endpoint}`` with ``payload``, answer read by
    ``parse``."""

    endpoint: str
    payload: Body
    parse: Callable[[Body], T]
    service: str = "user"


def _nothing(body: Body) -> None:
    return None


def _account(body: Body) -> Account:
    return parse_account(body["account"])


def _accounts(body: Body) -> list[Account]:
    return [parse_account(item) for item in body.get("users") or []]


def _session(body: Body) -> Session:
    return parse_session(body["session"])


def _session_and_account(body: Body) -> tuple[Session, Account]:
    return parse_session(body["session"]), parse_account(body["account"])


def create(
    *, email: str, password: str, username: str, id: str, profile: Mapping[str, str] | None
) -> Call[Account]:
    fields = {"id": id, "username": username, "email": email, "password": password}
    return Call("Create", {**fields, "profile": dict(profile or {})}, _account)


def read(*, id: str, username: str, email: str) -> Call[Account]:
    return Call("Read", {"id": id, "username": username, "email": email}, _account)


def update(
    *, id: str, username: str, email: str, profile: Mapping[str, str] | None, password: str = ""
) -> Call[None]:
    fields: dict[str, Any] = {"id": id, "username": username, "email": email}
    if password:  # micro-user's addition; sent only when given (Micro knows no such field)
        fields["password"] = password
    return Call("Update", {**fields, "profile": dict(profile or {})}, _nothing)


def delete(*, id: str) -> Call[None]:
    return Call("Delete", {"id": id}, _nothing)


def list_accounts(*, offset: int, limit: int) -> Call[list[Account]]:
    return Call("List", {"offset": offset, "limit": limit}, _accounts)


def update_password(
    *, user_id: str, old_password: str, new_password: str, confirm_password: str
) -> Call[None]:
    payload = {
        "userId": user_id,
        "old_password": old_password,
        "new_password": new_password,
        "confirm_password": confirm_password,
    }
    return Call("UpdatePassword", payload, _nothing)


def login(*, password: str, username: str, email: str, factor_code: str) -> Call[Session]:
    payload = {"username": username, "email": email, "password": password}
    if factor_code:  # micro-user's addition: sent only when given, as Micro never had it
        payload["factor_code"] = factor_code
    return Call("Login", payload, _session)


def logout(*, session_id: str) -> Call[None]:
    return Call("Logout", {"session_id": session_id}, _nothing)


def logout_all(*, user_id: str) -> Call[None]:
    return Call("LogoutAll", {"user_id": user_id}, _nothing)


def read_session(*, session_id: str) -> Call[tuple[Session, Account]]:
    return Call("ReadSession", {"session_id": session_id}, _session_and_account)


def send_verification_email(
    *,
    email: str,
    subject: str,
    text_content: str,
    redirect_url: str,
    failure_redirect_url: str,
    from_name: str,
) -> Call[None]:
    payload = {
        "email": email,
        "subject": subject,
        "text_content": text_content,
        "redirect_url": redirect_url,
        "failure_redirect_url": failure_redirect_url,
        "from_name": from_name,
    }
    return Call("SendVerificationEmail", payload, _nothing)


def verify_email(*, token: str) -> Call[None]:
    return Call("VerifyEmail", {"token": token}, _nothing)


def send_password_reset_email(
    *, email: str, subject: str, text_content: str, from_name: str, expiration: int
) -> Call[None]:
    payload = {
        "email": email,
        "subject": subject,
        "text_content": text_content,
        "from_name": from_name,
        "expiration": expiration,
    }
    return Call("SendPasswordResetEmail", payload, _nothing)


def reset_password(
    *, email: str, code: str, new_password: str, confirm_password: str
) -> Call[None]:
    payload = {
        "email": email,
        "code": code,
        "new_password": new_password,
        "confirm_password": confirm_password,
    }
    return Call("ResetPassword", payload, _nothing)


def send_magic_link(
    *, email: str, subject: str, text_content: str, address: str, endpoint: str, from_name: str
) -> Call[None]:
    payload = {
        "email": email,
        "subject": subject,
        "text_content": text_content,
        "from_name": from_name,
        "address": address,
        "endpoint": endpoint,
    }
    return Call("SendMagicLink", payload, _nothing)


def verify_token(*, token: str) -> Call[VerifyTokenResult]:
    return Call("VerifyToken", {"token": token}, parse_verify_token)


def start_totp(*, user_id: str) -> Call[tuple[str, str]]:
    return Call(
        "StartTotp", {"user_id": user_id}, lambda body: (str(body["secret"]), str(body["uri"]))
    )


def _codes(body: Body) -> list[str]:
    return [str(code) for code in body.get("recovery_codes") or []]


def confirm_totp(*, user_id: str, code: str) -> Call[list[str]]:
    return Call("ConfirmTotp", {"user_id": user_id, "code": code}, _codes)


def regenerate_recovery_codes(*, user_id: str, code: str) -> Call[list[str]]:
    return Call("RegenerateRecoveryCodes", {"user_id": user_id, "code": code}, _codes)


def remove_factors(*, user_id: str, code: str) -> Call[None]:
    return Call("RemoveFactors", {"user_id": user_id, "code": code}, _nothing)
