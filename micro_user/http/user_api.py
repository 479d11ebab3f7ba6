"""The user service's endpoints: decode, call one service method, encode."""

from __future__ import annotations

from typing import Any, ClassVar

from micro_user.accounts.models import Account
from micro_user.auth.models import USER
from micro_user.errors import BadRequest, NotFound
from micro_user.http.endpoints import Context, registry
from micro_user.http.wire import (
    CODE_TEXT,
    EMAIL,
    ID_HINT,
    LINK_TEXT,
    MAIL_FIELDS,
    AccountOut,
    Empty,
    Int64,
    LongText,
    Profile,
    Secret,
    SessionOut,
    Text,
    UInt32,
    WireRequest,
    wire_response,
)

# Responses ------------------------------------------------------------------


@wire_response
class AccountResponse:
    account: AccountOut


@wire_response
class ListResponse:
    users: list[AccountOut]


@wire_response
class SessionResponse:
    session: SessionOut


@wire_response
class ReadSessionResponse:
    session: SessionOut
    account: AccountOut


@wire_response
class VerifyTokenResponse:
    is_valid: bool
    message: str
    session: SessionOut


# Requests -------------------------------------------------------------------


class CreateRequest(WireRequest):
    field_hints: ClassVar[dict[str, dict[str, Any]]] = {"email": EMAIL, "id": ID_HINT}
    required_fields: ClassVar[frozenset[str]] = frozenset({"email", "password"})
    text_fields: ClassVar[frozenset[str]] = frozenset({"profile"})
    id: Text = ""
    username: Text = ""
    email: Text = ""
    password: Secret = ""
    profile: Profile = {}


class ReadRequest(WireRequest):
    field_hints: ClassVar[dict[str, dict[str, Any]]] = {"email": EMAIL}
    one_of_fields: ClassVar[tuple[str, ...]] = ("id", "username", "email")
    id: Text = ""
    username: Text = ""
    email: Text = ""


class UpdateRequest(WireRequest):
    field_hints: ClassVar[dict[str, dict[str, Any]]] = {"email": EMAIL}
    required_fields: ClassVar[frozenset[str]] = frozenset({"id"})
    text_fields: ClassVar[frozenset[str]] = frozenset({"profile"})
    id: Text = ""
    username: Text = ""
    email: Text = ""
    profile: Profile = {}
    # micro-user's addition: the current password, which a user changing their own email
    # with a session or token must give (API keys and admins acting on others need not).
    password: Secret = ""


class DeleteRequest(WireRequest):
    required_fields: ClassVar[frozenset[str]] = frozenset({"id"})
    id: Text = ""


class ListRequest(WireRequest):
    offset: UInt32 = 0
    limit: UInt32 = 0


class UpdatePasswordRequest(WireRequest):
    required_fields: ClassVar[frozenset[str]] = frozenset(
        {"userId", "new_password", "confirm_password"}
    )
    userId: Text = ""  # noqa: N815
    old_password: Secret = ""
    new_password: Secret = ""
    confirm_password: Secret = ""


class LoginRequest(WireRequest):
    field_hints: ClassVar[dict[str, dict[str, Any]]] = {"email": EMAIL}
    one_of_fields: ClassVar[tuple[str, ...]] = ("username", "email")
    required_fields: ClassVar[frozenset[str]] = frozenset({"password"})
    username: Text = ""
    email: Text = ""
    password: Secret = ""
    # micro-user's addition: the second factor of an account that has one (a code from
    # its authenticator app, or a recovery code).
    factor_code: Text = ""


class LogoutRequest(WireRequest):
    required_fields: ClassVar[frozenset[str]] = frozenset({"session_id"})
    session_id: Text = ""


class LogoutAllRequest(WireRequest):
    required_fields: ClassVar[frozenset[str]] = frozenset({"user_id"})
    user_id: Text = ""


class ReadSessionRequest(WireRequest):
    required_fields: ClassVar[frozenset[str]] = frozenset({"session_id"})
    session_id: Text = ""


class SendVerificationEmailRequest(WireRequest):
    field_hints: ClassVar[dict[str, dict[str, Any]]] = {**MAIL_FIELDS, "text_content": LINK_TEXT}
    required_fields: ClassVar[frozenset[str]] = frozenset({"email", "text_content"})
    text_fields: ClassVar[frozenset[str]] = frozenset({"text_content"})
    email: Text = ""
    subject: Text = ""
    text_content: LongText = ""
    redirect_url: Text = ""
    failure_redirect_url: Text = ""
    from_name: Text = ""


class VerifyEmailRequest(WireRequest):
    required_fields: ClassVar[frozenset[str]] = frozenset({"token"})
    token: Text = ""


class SendPasswordResetEmailRequest(WireRequest):
    field_hints: ClassVar[dict[str, dict[str, Any]]] = {
        **MAIL_FIELDS,
        "text_content": CODE_TEXT,
        # 0 is the default lifetime; else 1 minute to 7 days.
        "expiration": {"anyOf": [{"const": 0}, {"minimum": 60, "maximum": 604800}]},
    }
    required_fields: ClassVar[frozenset[str]] = frozenset({"email", "text_content"})
    text_fields: ClassVar[frozenset[str]] = frozenset({"text_content"})
    email: Text = ""
    subject: Text = ""
    text_content: LongText = ""
    from_name: Text = ""
    expiration: Int64 = 0


class ResetPasswordRequest(WireRequest):
    field_hints: ClassVar[dict[str, dict[str, Any]]] = {"email": EMAIL}
    required_fields: ClassVar[frozenset[str]] = frozenset(
        {"email", "code", "new_password", "confirm_password"}
    )
    email: Text = ""
    code: Text = ""
    new_password: Secret = ""
    confirm_password: Secret = ""


class SendMagicLinkRequest(WireRequest):
    field_hints: ClassVar[dict[str, dict[str, Any]]] = {**MAIL_FIELDS, "text_content": LINK_TEXT}
    required_fields: ClassVar[frozenset[str]] = frozenset(
        {"email", "text_content", "address", "endpoint"}
    )
    text_fields: ClassVar[frozenset[str]] = frozenset({"text_content"})
    email: Text = ""
    subject: Text = ""
    text_content: LongText = ""
    from_name: Text = ""
    address: Text = ""
    endpoint: Text = ""


class VerifyTokenRequest(WireRequest):
    token: Text = ""


# Handlers -------------------------------------------------------------------

EMPTY = Empty()
user = "user"


@registry.add(user, "Create", CreateRequest, AccountResponse, "Register an account")
async def create(ctx: Context, req: CreateRequest) -> AccountResponse:
    account = await ctx.services.accounts.create(
        ctx.namespace,
        id=req.id,
        username=req.username,
        email=req.email,
        password=req.password,
        profile=req.profile,
    )
    return AccountResponse(AccountOut.of(account))


@registry.add(
    user,
    "Read",
    ReadRequest,
    AccountResponse,
    "Read an account by id, username or email",
    safe=True,
    owner="id",
)
async def read(ctx: Context, req: ReadRequest) -> AccountResponse:
    account = await ctx.services.accounts.read(
        ctx.namespace, id=req.id, username=req.username, email=req.email
    )
    return AccountResponse(AccountOut.of(account))


@registry.add(
    user,
    "Update",
    UpdateRequest,
    Empty,
    "Change the given fields of an account",
    owner="id",
)
async def update(ctx: Context, req: UpdateRequest) -> Empty:
    identity = ctx.identity
    await ctx.services.accounts.update(
        ctx.namespace,
        req.id,
        username=req.username,
        email=req.email,
        profile=req.profile,
        password=req.password,
        self_service=identity is not None
        and identity.type == USER
        and identity.namespace == ctx.namespace
        and identity.id == req.id.strip(),
    )
    return EMPTY


@registry.add(
    user,
    "Delete",
    DeleteRequest,
    Empty,
    "Delete an account with its sessions, emailed tokens, grants and refresh tokens; its id is never reused",
    owner="id",
)
async def delete(ctx: Context, req: DeleteRequest) -> Empty:
    await ctx.services.accounts.delete(ctx.namespace, req.id)
    return EMPTY


@registry.add(
    user,
    "List",
    ListRequest,
    ListResponse,
    "List accounts, oldest first (limit 25 by default, at most 1000)",
    safe=True,
)
async def list_(ctx: Context, req: ListRequest) -> ListResponse:
    accounts = await ctx.services.accounts.list(ctx.namespace, offset=req.offset, limit=req.limit)
    return ListResponse([AccountOut.of(a) for a in accounts])


@registry.add(
    user,
    "UpdatePassword",
    UpdatePasswordRequest,
    Empty,
    "Change a password, given the old one",
    owner="userId",
)
async def update_password(ctx: Context, req: UpdatePasswordRequest) -> Empty:
    await ctx.services.accounts.update_password(
        ctx.namespace,
        req.userId,
        old_password=req.old_password,
        new_password=req.new_password,
        confirm_password=req.confirm_password,
    )
    return EMPTY


@registry.add(
    user,
    "Login",
    LoginRequest,
    SessionResponse,
    "Log in with username or email and password",
)
async def login(ctx: Context, req: LoginRequest) -> SessionResponse:
    session = await ctx.services.sessions.login(
        ctx.namespace,
        username=req.username,
        email=req.email,
        password=req.password,
        factor_code=req.factor_code,
    )
    return SessionResponse(SessionOut.of(session))


@registry.add(user, "Logout", LogoutRequest, Empty, "End a session")
async def logout(ctx: Context, req: LogoutRequest) -> Empty:
    await ctx.services.sessions.logout(ctx.namespace, req.session_id)
    return EMPTY


@registry.add(
    user,
    "LogoutAll",
    LogoutAllRequest,
    Empty,
    "End every session of an account",
    owner="user_id",
)
async def logout_all(ctx: Context, req: LogoutAllRequest) -> Empty:
    await ctx.services.sessions.logout_all(ctx.namespace, req.user_id)
    return EMPTY


@registry.add(
    user,
    "ReadSession",
    ReadSessionRequest,
    ReadSessionResponse,
    "Read a live session and its account",
    safe=True,
)
async def read_session(ctx: Context, req: ReadSessionRequest) -> ReadSessionResponse:
    session, account = await ctx.services.sessions.read(ctx.namespace, req.session_id)
    return ReadSessionResponse(SessionOut.of(session), AccountOut.of(account))


@registry.add(
    user,
    "SendVerificationEmail",
    SendVerificationEmailRequest,
    Empty,
    "Mail a link that verifies the address",
)
async def send_verification_email(ctx: Context, req: SendVerificationEmailRequest) -> Empty:
    await ctx.services.email.send_verification_email(
        ctx.namespace,
        email=req.email,
        subject=req.subject,
        text_content=req.text_content,
        redirect_url=req.redirect_url,
        failure_redirect_url=req.failure_redirect_url,
        from_name=req.from_name,
    )
    return EMPTY


@registry.add(
    user, "VerifyEmail", VerifyEmailRequest, Empty, "Verify an address with the token from its mail"
)
async def verify_email(ctx: Context, req: VerifyEmailRequest) -> Empty:
    outcome = await ctx.services.email.verify_email(req.token, ctx.namespace)
    if not outcome.ok:
        raise BadRequest(
            "user.verifyemail", "verification token expired, already used, or for an old address"
        )
    return EMPTY


@registry.add(
    user,
    "SendPasswordResetEmail",
    SendPasswordResetEmailRequest,
    Empty,
    "Mail a one-time code for a password reset",
)
async def send_password_reset_email(ctx: Context, req: SendPasswordResetEmailRequest) -> Empty:
    await ctx.services.email.send_password_reset_email(
        ctx.namespace,
        email=req.email,
        subject=req.subject,
        text_content=req.text_content,
        from_name=req.from_name,
        expiration=req.expiration,
    )
    return EMPTY


@registry.add(
    user, "ResetPassword", ResetPasswordRequest, Empty, "Set a new password with a mailed code"
)
async def reset_password(ctx: Context, req: ResetPasswordRequest) -> Empty:
    await ctx.services.email.reset_password(
        ctx.namespace,
        email=req.email,
        code=req.code,
        new_password=req.new_password,
        confirm_password=req.confirm_password,
    )
    return EMPTY


@registry.add(user, "SendMagicLink", SendMagicLinkRequest, Empty, "Mail a one-time login link")
async def send_magic_link(ctx: Context, req: SendMagicLinkRequest) -> Empty:
    await ctx.services.email.send_magic_link(
        ctx.namespace,
        email=req.email,
        subject=req.subject,
        text_content=req.text_content,
        from_name=req.from_name,
        address=req.address,
        endpoint=req.endpoint,
    )
    return EMPTY


@registry.add(
    user,
    "VerifyToken",
    VerifyTokenRequest,
    VerifyTokenResponse,
    "Turn a magic-link token into a session",
)
async def verify_token(ctx: Context, req: VerifyTokenRequest) -> VerifyTokenResponse:
    is_valid, message, session = await ctx.services.email.verify_token(ctx.namespace, req.token)
    return VerifyTokenResponse(is_valid, message, SessionOut.of(session))


# Second factors (micro-user's addition) ---------------------------------------------


class FactorRequest(WireRequest):
    required_fields: ClassVar[frozenset[str]] = frozenset({"user_id"})
    user_id: Text = ""
    # The account's password: required when the user calls it on their own account (a
    # stolen session or token alone cannot add an authenticator); not asked of a key.
    password: Secret = ""


class FactorCodeRequest(WireRequest):
    required_fields: ClassVar[frozenset[str]] = frozenset({"user_id", "code"})
    user_id: Text = ""
    # A code of the authenticator app (or, where a factor is in force, a recovery code).
    code: Text = ""


@wire_response
class StartTotpResponse:
    # The TOTP key (base32) and its otpauth:// URI, for the QR code an app scans.
    secret: str
    uri: str


@wire_response
class RecoveryCodesResponse:
    recovery_codes: list[str]


async def _account(ctx: Context, user_id: str, error_id: str) -> Account:
    try:
        return await ctx.services.accounts.read(ctx.namespace, id=user_id)
    except NotFound:
        raise NotFound(error_id, "account not found") from None


@registry.add(
    user,
    "StartTotp",
    FactorRequest,
    StartTotpResponse,
    "Begin setting up an authenticator app: its key, not in force until ConfirmTotp",
    owner="user_id",
)
async def start_totp(ctx: Context, req: FactorRequest) -> StartTotpResponse:
    error_id = "user.starttotp"
    account = await _account(ctx, req.user_id, error_id)
    if ctx.identity is not None and ctx.identity.type == USER:
        await ctx.services.sessions.confirm_password(account, req.password, error_id)
    secret, uri = await ctx.services.factors.start_totp(account)
    return StartTotpResponse(secret, uri)


@registry.add(
    user,
    "ConfirmTotp",
    FactorCodeRequest,
    RecoveryCodesResponse,
    "Put the authenticator in force with a code from it; answers the recovery codes, once",
    owner="user_id",
)
async def confirm_totp(ctx: Context, req: FactorCodeRequest) -> RecoveryCodesResponse:
    account = await _account(ctx, req.user_id, "user.confirmtotp")
    return RecoveryCodesResponse(await ctx.services.factors.confirm_totp(account, req.code))


@registry.add(
    user,
    "RegenerateRecoveryCodes",
    FactorCodeRequest,
    RecoveryCodesResponse,
    "New recovery codes (the old ones stop working), given a current code",
    owner="user_id",
)
async def regenerate_recovery_codes(ctx: Context, req: FactorCodeRequest) -> RecoveryCodesResponse:
    error_id = "user.regeneraterecoverycodes"
    account = await _account(ctx, req.user_id, error_id)
    factors = ctx.services.factors
    await factors.check(account, req.code, error_id)
    return RecoveryCodesResponse(await factors.regenerate_recovery_codes(account))


@registry.add(
    user,
    "RemoveFactors",
    FactorCodeRequest,
    Empty,
    "Turn two-step sign-in off, given a current code",
    owner="user_id",
)
async def remove_factors(ctx: Context, req: FactorCodeRequest) -> Empty:
    error_id = "user.removefactors"
    account = await _account(ctx, req.user_id, error_id)
    await ctx.services.factors.check(account, req.code, error_id)
    await ctx.services.factors.remove(account, reason="user")
    return EMPTY
