"""The ``micro-user`` command: run the service and operate on its data.

Commands other than ``serve`` work on the configured database directly (the
same ``MICRO_USER_*`` settings as the server), so they need no running server.
An account is named as a person types it (id, username or email); output is
JSON with times as Unix seconds.
Exit codes: 0 success, 1 the operation failed (message on stderr), 2 bad
usage, 3 the thing named does not exist, 4 a setting is invalid, 5 the data
directory or database cannot be used; ``serve`` also 6 the address cannot be
listened on. Every failure is one line on stderr saying what to fix.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Annotated, Any, TypeVar

import orjson
import typer
from sqlalchemy.exc import InterfaceError, OperationalError

from micro_user.errors import NotFound, ServiceError
from micro_user.events import outbox
from micro_user.http.auth_api import AuthAccountOut, RuleOut, TokenOut
from micro_user.http.events_api import DeliveryOut, EventOut, WebhookOut
from micro_user.http.wire import AccountOut
from micro_user.services import Services
from micro_user.settings import Settings

T = TypeVar("T")
EXIT_FAILED, EXIT_NOT_FOUND, EXIT_CONFIG, EXIT_STORAGE, EXIT_ADDRESS = 1, 3, 4, 5, 6

app = typer.Typer(
    help="micro-user: the user and access service for microservices.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
user_app = typer.Typer(help="Manage accounts.", no_args_is_help=True)
session_app = typer.Typer(help="List and end login sessions.", no_args_is_help=True)
key_app = typer.Typer(
    help="Manage API keys (shown once at creation, stored hashed).", no_args_is_help=True
)
role_app = typer.Typer(help="Roles: named scopes granted to accounts.", no_args_is_help=True)
rule_app = typer.Typer(help="Rules: which scope may access which resource.", no_args_is_help=True)
account_app = typer.Typer(
    help="Service accounts (id and secret for the client-credentials grant).", no_args_is_help=True
)
token_app = typer.Typer(help="Issue and inspect access tokens.", no_args_is_help=True)
client_app = typer.Typer(
    help="OAuth clients: applications whose users sign in through micro-user.",
    no_args_is_help=True,
)
keys_app = typer.Typer(
    help="Signing keys of access tokens (not API keys: see 'key').", no_args_is_help=True
)
app.add_typer(role_app, name="role")
app.add_typer(rule_app, name="rule")
app.add_typer(account_app, name="account")
app.add_typer(token_app, name="token")
app.add_typer(client_app, name="client")
branding_app = typer.Typer(
    help="How a namespace's hosted sign-in pages look: name, logo, colour.",
    no_args_is_help=True,
)
app.add_typer(branding_app, name="branding")
provider_app = typer.Typer(
    help='External identity providers: "Sign in with ..." on the hosted pages.',
    no_args_is_help=True,
)
app.add_typer(provider_app, name="provider")
app.add_typer(keys_app, name="keys")
webhook_app = typer.Typer(help="Webhooks that receive lifecycle events.", no_args_is_help=True)
app.add_typer(webhook_app, name="webhook")
app.add_typer(user_app, name="user")
app.add_typer(session_app, name="session")
app.add_typer(key_app, name="key")

Namespace = Annotated[str, typer.Option("--namespace", "-n", help="Namespace (tenant) to work in.")]


def settings() -> Settings:
    from pydantic import ValidationError

    try:
        return Settings()
    except ValidationError as exc:
        # One line per wrong setting, named as it is set; never the value (it may be a secret).
        for error in exc.errors():
            name = "MICRO_USER_" + "_".join(str(part) for part in error["loc"]).upper()
            message = str(error["msg"]).removeprefix("Value error, ")
            typer.echo(f"error: invalid configuration: {name}: {message}", err=True)
        raise typer.Exit(EXIT_CONFIG) from None
    except Exception as exc:  # e.g. an unreadable MICRO_USER_CONFIG file
        fail(f"invalid configuration: {exc}", EXIT_CONFIG)
        raise  # unreachable


def fail(message: str, code: int = EXIT_FAILED) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


# Fields the HTTP API sends as strings (int64 on the wire); the command line prints them
# as the numbers they are, so every command prints times the same way: Unix seconds.
INT64_FIELDS = frozenset(
    {"created", "updated", "expires", "expiry", "verification_date", "time", "seq", "next"}
)


def plain(value: Any) -> Any:
    """``value`` (a response message of the API, or plain data) with every int64 field a
    JSON number."""
    if is_dataclass(value) and not isinstance(value, type):
        value = asdict(value)
    if isinstance(value, dict):
        return {
            key: int(item)
            if key in INT64_FIELDS and isinstance(item, str) and item.lstrip("-").isdigit()
            else plain(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def emit(payload: Any) -> None:
    sys.stdout.write(orjson.dumps(plain(payload), option=orjson.OPT_INDENT_2).decode() + "\n")


def ask_password(given: str | None) -> str:
    """The password given, or asked for (hidden, typed twice) when left out."""
    if given is not None:
        return given
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


ACCOUNT_HELP = "The account: its id, username or email (an email is anything with '@')."


async def find_account(services: Services, namespace: str, who: str) -> Any:
    """The account named by id, username or email, as a person would type it."""
    if "@" in who:
        return await services.accounts.read(namespace, email=who)
    try:
        return await services.accounts.read(namespace, id=who)
    except NotFound:
        return await services.accounts.read(namespace, username=who)


def named(account: str, id: str) -> str:
    """The account argument or ``--id``: exactly one of them."""
    if bool(account) == bool(id):
        fail("name the account: give its id, username or email, or --id", 2)
    return account or id


def run(work: Callable[[Services], Awaitable[T]], *, migrate: bool = True) -> T:
    """Build the services, make sure the schema is current, run ``work``, close."""
    config = settings()

    async def main() -> T:
        outbox.actor.set("cli")
        services = Services.build(config)
        try:
            if migrate and config.migrate_on_start:
                from micro_user.storage.migrate import upgrade

                await asyncio.to_thread(upgrade, config.resolved_database_url)
            return await work(services)
        finally:
            await services.close()

    try:
        return asyncio.run(main())
    except NotFound as exc:
        fail(exc.detail, EXIT_NOT_FOUND)
    except ServiceError as exc:
        fail(exc.detail)
    except (OSError, OperationalError, InterfaceError) as exc:
        fail(storage_failure(config, exc), EXIT_STORAGE)
    raise AssertionError("unreachable")


def ns(namespace: str | None) -> str:
    return namespace or settings().default_namespace


# serve / migrate -------------------------------------------------------------


def where_data_lives(config: Settings) -> str:
    """The database a start uses, said without its password."""
    from sqlalchemy.engine import make_url

    url = make_url(config.resolved_database_url)
    if url.get_backend_name() == "sqlite":
        return f"SQLite database {url.database} (MICRO_USER_DATA_DIR or MICRO_USER_DATABASE_URL to change)"
    return f"PostgreSQL database {url.database} at {url.host}:{url.port or 5432}"


def check_address(host: str, port: int) -> None:
    """Fail now, before any data is touched, when the address cannot be listened on."""
    import errno
    import socket

    try:
        info = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        with socket.socket(info[0], socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
            probe.bind(info[4])
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            fail(
                f"port {port} on {host} is in use by another program: stop it, or choose "
                "another port with --port or MICRO_USER_PORT",
                EXIT_ADDRESS,
            )
        fail(
            f"cannot listen on {host}:{port} ({exc.strerror or exc}): check --host and --port",
            EXIT_ADDRESS,
        )


def storage_failure(config: Settings, exc: Exception) -> str:
    """One line saying why the data directory or database cannot be used, and what to do."""
    if isinstance(exc, OSError):
        where = exc.filename or config.data_dir
        reason = exc.strerror or str(exc)
        if isinstance(exc, (FileExistsError, NotADirectoryError)):
            reason = "a file is in the way of a directory"
        return (
            f"cannot write the data directory ({where}: {reason}): fix its "
            "permissions, or choose another with MICRO_USER_DATA_DIR"
        )
    from micro_user.storage.failures import describe, unwritable

    reason = describe(exc)
    if unwritable(exc):
        return (
            f"cannot write the database ({reason}): free disk space or make it writable; "
            f"{where_data_lives(config)}"
        )
    return (
        f"cannot use the database ({reason}): is it running, and is MICRO_USER_DATABASE_URL right?"
    )


@app.command()
def serve(
    host: Annotated[
        str | None, typer.Option(help="Address to listen on [MICRO_USER_HOST, default 127.0.0.1].")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port [MICRO_USER_PORT, default 8080].")] = None,
    workers: Annotated[
        int | None, typer.Option(help="Worker processes [MICRO_USER_WORKERS, default 1].")
    ] = None,
) -> None:
    """Run the HTTP API. Migrates the database and creates the admin key first, when needed.

    Settings are checked before anything is touched. Exit codes: 4 a setting is invalid,
    5 the data directory or database cannot be used, 6 the port is taken or the address
    cannot be listened on; the reason is one line on stderr.
    """
    import os

    import uvicorn
    from sqlalchemy.exc import SQLAlchemyError

    from micro_user.http.app import prepare

    config = settings()
    host = host or config.host
    port = config.port if port is None else port
    workers = workers or config.workers
    check_address(host, port)

    async def setup() -> str | None:
        services = Services.build(config)
        try:
            return await prepare(services)
        finally:
            await services.close()

    try:
        created = asyncio.run(setup())
    except ServiceError as exc:
        fail(exc.detail, EXIT_CONFIG)
    except (OSError, SQLAlchemyError) as exc:
        fail(storage_failure(config, exc), EXIT_STORAGE)
    typer.echo(f"micro-user: {where_data_lives(config)}", err=True)
    if created is None and config.admin_key is None:
        command = sys.argv[0] if sys.argv[0].endswith("micro-user") else "micro-user"
        typer.echo(
            f"micro-user: an admin API key exists already; make another with: {command} key create",
            err=True,
        )
    typer.echo(f"micro-user: serving http://{host}:{port}", err=True)
    # Workers need not migrate again: the schema is current now.
    os.environ["MICRO_USER_MIGRATE_ON_START"] = "false"
    uvicorn.run(
        "micro_user.http.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,  # our own request log leaves out query strings, which can hold tokens
        log_level=config.log_level,
        lifespan="on",
    )


@app.command()
def migrate() -> None:
    """Bring the database schema up to date (safe to run at any time, from any instance)."""
    from micro_user.storage.migrate import current_revision, upgrade

    config = settings()
    try:
        upgrade(config.resolved_database_url)
    except Exception as exc:
        fail(f"migration failed: {exc}")
    typer.echo(f"schema at revision {current_revision(config.resolved_database_url)}")


# user ----------------------------------------------------------------------


@user_app.command("create")
def user_create(
    email: Annotated[str, typer.Option(help="Email address.")],
    password: Annotated[
        str | None,
        typer.Option(help="Password; asked for (hidden, typed twice) when left out."),
    ] = None,
    username: Annotated[str, typer.Option(help="Username.")] = "",
    id: Annotated[str, typer.Option("--id", help="Account id (generated when left out).")] = "",
    namespace: Namespace = "",
) -> None:
    """Create an account and print it as JSON."""
    secret = ask_password(password)
    account = run(
        lambda s: s.accounts.create(
            ns(namespace), id=id, username=username, email=email, password=secret
        )
    )
    emit(AccountOut.of(account))


@user_app.command("read")
def user_read(
    account: Annotated[str, typer.Argument(help=ACCOUNT_HELP)] = "",
    id: Annotated[str, typer.Option("--id", help="Find by id only.")] = "",
    username: Annotated[str, typer.Option(help="Find by username only.")] = "",
    email: Annotated[str, typer.Option(help="Find by email only.")] = "",
    namespace: Namespace = "",
) -> None:
    """Print one account, e.g. 'user read alice'."""
    if sum(map(bool, (account, id, username, email))) != 1:
        fail("name one account: its id, username or email, or one of --id, --username, --email", 2)
    if account:
        found = run(lambda s: find_account(s, ns(namespace), account))
    else:
        found = run(lambda s: s.accounts.read(ns(namespace), id=id, username=username, email=email))
    emit(AccountOut.of(found))


@user_app.command("list")
def user_list(
    offset: Annotated[int, typer.Option(min=0)] = 0,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 25,
    namespace: Namespace = "",
) -> None:
    """Print accounts, oldest first, as a JSON array."""
    accounts = run(lambda s: s.accounts.list(ns(namespace), offset=offset, limit=limit))
    emit([AccountOut.of(a) for a in accounts])


@user_app.command("update")
def user_update(
    account: Annotated[str, typer.Argument(help=ACCOUNT_HELP)] = "",
    id: Annotated[str, typer.Option("--id", help="The account's id (instead of ACCOUNT).")] = "",
    username: Annotated[str, typer.Option(help="New username.")] = "",
    email: Annotated[str, typer.Option(help="New email (clears 'verified').")] = "",
    profile: Annotated[
        list[str] | None, typer.Option(help="key=value; repeat for more. Replaces the profile.")
    ] = None,
    namespace: Namespace = "",
) -> None:
    """Change the given fields of an account and print it, e.g. 'user update alice --email ...'."""
    who = named(account, id)
    pairs: dict[str, str] = {}
    for item in profile or []:
        key, sep, value = item.partition("=")
        if not sep:
            fail(f"--profile takes key=value, got {item!r}", 2)
        pairs[key] = value

    async def work(services: Services) -> Any:
        found = await find_account(services, ns(namespace), who)
        return await services.accounts.update(
            ns(namespace), found.id, username=username, email=email, profile=pairs or None
        )

    emit(AccountOut.of(run(work)))


@user_app.command("delete")
def user_delete(
    account: Annotated[str, typer.Argument(help=ACCOUNT_HELP)] = "",
    id: Annotated[str, typer.Option("--id", help="The account's id (instead of ACCOUNT).")] = "",
    namespace: Namespace = "",
) -> None:
    """Delete an account and end its sessions."""
    who = named(account, id)

    async def work(services: Services) -> str:
        found = await find_account(services, ns(namespace), who)
        await services.accounts.delete(ns(namespace), found.id)
        return str(found.id)

    typer.echo(f"deleted {run(work)}", err=True)


@user_app.command("set-password")
def user_set_password(
    account: Annotated[str, typer.Argument(help=ACCOUNT_HELP)] = "",
    id: Annotated[str, typer.Option("--id", help="The account's id (instead of ACCOUNT).")] = "",
    password: Annotated[
        str | None,
        typer.Option(help="The new password; asked for (hidden, typed twice) when left out."),
    ] = None,
    namespace: Namespace = "",
) -> None:
    """Set a new password without the old one, and end every session of the account."""
    who = named(account, id)
    secret = ask_password(password)

    async def work(services: Services) -> str:
        found = await find_account(services, ns(namespace), who)
        await services.accounts.set_password(ns(namespace), found.id, secret)
        return str(found.id)

    typer.echo(f"password set for {run(work)}; its sessions are ended", err=True)


@user_app.command("factors")
def user_factors(
    account: Annotated[str, typer.Argument(help=ACCOUNT_HELP)] = "",
    id: Annotated[str, typer.Option("--id", help="The account's id (instead of ACCOUNT).")] = "",
    namespace: Namespace = "",
) -> None:
    """Print whether the account has two-step sign-in, and how many recovery codes are left."""
    who = named(account, id)

    async def work(services: Services) -> Any:
        found = await find_account(services, ns(namespace), who)
        return await services.factors.status(ns(namespace), found.id)

    emit(run(work))


@user_app.command("identities")
def user_identities(
    account: Annotated[str, typer.Argument(help=ACCOUNT_HELP)] = "",
    id: Annotated[str, typer.Option("--id", help="The account's id (instead of ACCOUNT).")] = "",
    tokens: Annotated[
        bool,
        typer.Option(
            "--tokens",
            help="With the provider's tokens, where its provider keeps them (--keep-tokens).",
        ),
    ] = False,
    namespace: Namespace = "",
) -> None:
    """Print the identities at external providers linked to the account, as JSON."""
    who = named(account, id)

    async def work(services: Services) -> Any:
        found = await find_account(services, ns(namespace), who)
        links = await services.federation.links_of(ns(namespace), found.id)
        for link in links if tokens else ():
            link["tokens"] = await services.federation.tokens_of(
                ns(namespace), found.id, link["provider_id"]
            )
        return links

    emit(run(work))


@user_app.command("reset-factors")
def user_reset_factors(
    account: Annotated[str, typer.Argument(help=ACCOUNT_HELP)] = "",
    id: Annotated[str, typer.Option("--id", help="The account's id (instead of ACCOUNT).")] = "",
    namespace: Namespace = "",
) -> None:
    """Remove the account's second factors: authenticator app, passkeys and recovery codes
    (a user who lost them: check who they are first). Recorded as a factor.disabled event with reason "operator"."""
    who = named(account, id)

    async def work(services: Services) -> str:
        found = await find_account(services, ns(namespace), who)
        await services.factors.remove(found, reason="operator")
        return str(found.id)

    typer.echo(f"second factors removed from {run(work)}", err=True)


factor_policy_app = typer.Typer(
    help="Who must sign in with a second factor in a namespace.", no_args_is_help=True
)
app.add_typer(factor_policy_app, name="factor-policy")


@factor_policy_app.command("set")
def factor_policy_set(
    require: Annotated[str, typer.Option(help="none, everyone, or roles (the holders of --role).")],
    role: Annotated[
        list[str] | None, typer.Option(help="A role whose holders must; repeat for more.")
    ] = None,
    namespace: Namespace = "",
) -> None:
    """Require a second factor of everyone, or of the holders of some roles (admin...).
    Users without one set it up at their next sign-in on the hosted pages; the API's
    Login answers them 401 user.login.second_factor_setup."""
    emit(run(lambda s: s.factors.set_policy(ns(namespace), require, role)))


@factor_policy_app.command("show")
def factor_policy_show(namespace: Namespace = "") -> None:
    """Print the namespace's second-factor policy."""
    emit(run(lambda s: s.factors.policy(ns(namespace))))


# session -------------------------------------------------------------------


@session_app.command("list")
def session_list(
    account: Annotated[
        str, typer.Argument(help="Only this account's sessions: its id, username or email.")
    ] = "",
    user_id: Annotated[str, typer.Option("--user-id", help="Only this account id's.")] = "",
    username: Annotated[str, typer.Option(help="Only this username's.")] = "",
    email: Annotated[str, typer.Option(help="Only this email's.")] = "",
    namespace: Namespace = "",
) -> None:
    """Print live sessions (all, or one account's). The handle identifies a session
    without revealing it."""
    if sum(map(bool, (account, user_id, username, email))) > 1:
        fail("name one account at most: ACCOUNT, --user-id, --username or --email", 2)

    async def work(services: Services) -> Any:
        owner = user_id or None
        if account:
            owner = (await find_account(services, ns(namespace), account)).id
        elif username or email:
            found = await services.accounts.read(ns(namespace), username=username, email=email)
            owner = found.id
        return await services.sessions.list(ns(namespace), owner)

    rows = run(work)
    emit([{"handle": h[:16], "user_id": a, "created": c, "expires": e} for h, a, c, e in rows])


@session_app.command("revoke")
def session_revoke(
    handle: Annotated[
        str,
        typer.Argument(
            help="A handle from 'session list', or the session id (one that starts with "
            "'-' goes after '--': session revoke -- -AbC...)."
        ),
    ],
    namespace: Namespace = "",
) -> None:
    """End a session."""
    count = run(lambda s: s.sessions.revoke(ns(namespace), handle))
    typer.echo(f"ended {count} session(s)", err=True)


# key -----------------------------------------------------------------------


def key_json(key: Any) -> dict[str, Any]:
    return {
        "id": key.id,
        "namespace": key.namespace,
        "name": key.name,
        "hint": key.hint + "...",
        "created": key.created,
        "revoked": key.revoked,
    }


@key_app.command("create")
def key_create(
    name: Annotated[str, typer.Option(help="What the key is for.")] = "", namespace: Namespace = ""
) -> None:
    """Create an API key. The key is printed once, on stdout; only its hash is kept."""
    key, secret = run(lambda s: s.keys.create(ns(namespace), name))
    typer.echo(
        f"created key {key.id} in namespace {key.namespace}; it is shown only now:", err=True
    )
    typer.echo(secret)


@key_app.command("list")
def key_list(
    namespace: Annotated[str, typer.Option("--namespace", "-n", help="Only this namespace.")] = "",
    all: Annotated[bool, typer.Option("--all", help="Include revoked keys.")] = False,
) -> None:
    """Print API keys (never the keys themselves: their first characters as a hint)."""
    keys = run(lambda s: s.keys.list(namespace or None, include_revoked=all))
    emit([key_json(k) for k in keys])


@key_app.command("revoke")
def key_revoke(
    key_id: Annotated[str, typer.Argument(help="The key's id, e.g. key_0123abcd...")],
) -> None:
    """Revoke an API key (running servers stop accepting it within MICRO_USER_KEY_CACHE_SECONDS)."""
    run(lambda s: s.keys.revoke(key_id))
    typer.echo(f"revoked {key_id}", err=True)


# role ------------------------------------------------------------------------

AccountType = Annotated[str, typer.Option("--type", help="Account type: user or service.")]


@role_app.command("create")
def role_create(
    name: str, description: Annotated[str, typer.Option()] = "", namespace: Namespace = ""
) -> None:
    """Create a role."""
    run(lambda s: s.roles.create(ns(namespace), name, description))
    typer.echo(f"created role {name}", err=True)


@role_app.command("list")
def role_list(namespace: Namespace = "") -> None:
    """Print the roles as JSON."""
    roles = run(lambda s: s.roles.list_roles(ns(namespace)))
    emit([{"name": n, "description": d} for n, d in roles])


@role_app.command("delete")
def role_delete(name: str, namespace: Namespace = "") -> None:
    """Delete a role and every grant of it."""
    run(lambda s: s.roles.delete(ns(namespace), name))
    typer.echo(f"deleted role {name}", err=True)


@role_app.command("grant")
def role_grant(
    name: str,
    account: Annotated[str, typer.Option(help="The account's id.")],
    type: AccountType = "user",
    namespace: Namespace = "",
) -> None:
    """Grant a role to a user or service account (its next token carries it)."""
    run(lambda s: s.roles.grant(ns(namespace), type, account, name))
    typer.echo(f"granted {name} to {type} {account}", err=True)


@role_app.command("revoke")
def role_revoke(
    name: str,
    account: Annotated[str, typer.Option(help="The account's id.")],
    type: AccountType = "user",
    namespace: Namespace = "",
) -> None:
    """Revoke a role from an account."""
    run(lambda s: s.roles.revoke(ns(namespace), type, account, name))
    typer.echo(f"revoked {name} from {type} {account}", err=True)


# rule ------------------------------------------------------------------------


@rule_app.command("create")
def rule_create(
    resource: Annotated[
        str, typer.Option(help="type:name:endpoint, '*' for any part, e.g. service:user:User.Read")
    ],
    scope: Annotated[
        str, typer.Option(help="'' everyone, '*' any account, '+' any namespace, or a role.")
    ] = "",
    access: Annotated[str, typer.Option(help="GRANTED or DENIED.")] = "GRANTED",
    priority: Annotated[int, typer.Option(help="Higher is considered first.")] = 0,
    id: Annotated[str, typer.Option("--id", help="Rule id (generated when left out).")] = "",
    namespace: Namespace = "",
) -> None:
    """Create a rule; every instance applies it within MICRO_USER_AUTH_REFRESH_SECONDS."""
    from microuser.rules import Resource

    try:
        parsed = Resource.parse(resource)
    except ValueError as exc:
        fail(str(exc), 2)
        raise
    rule = run(
        lambda s: s.rules.create(
            ns(namespace), id=id, scope=scope, resource=parsed, access=access, priority=priority
        )
    )
    emit(RuleOut.of(rule))


@rule_app.command("list")
def rule_list(namespace: Namespace = "") -> None:
    """Print the namespace's rules (the built-in ones are not listed) as JSON."""
    rules = run(lambda s: s.rules.list(ns(namespace)))
    emit([RuleOut.of(r) for r in rules])


@rule_app.command("delete")
def rule_delete(id: str, namespace: Namespace = "") -> None:
    """Delete a rule."""
    run(lambda s: s.rules.delete(ns(namespace), id))
    typer.echo(f"deleted rule {id}", err=True)


# account -----------------------------------------------------------------------


@account_app.command("create")
def account_create(
    id: Annotated[str, typer.Option("--id", help="Account id (generated when left out).")] = "",
    name: Annotated[str, typer.Option()] = "",
    role: Annotated[
        list[str] | None, typer.Option(help="A role to grant; repeat for more.")
    ] = None,
    namespace: Namespace = "",
) -> None:
    """Create a service account. Its secret is printed once, in the JSON."""
    account = run(
        lambda s: s.service_accounts.generate(ns(namespace), id=id, name=name, scopes=role or [])
    )
    emit(AuthAccountOut.of(account))


@account_app.command("list")
def account_list(namespace: Namespace = "") -> None:
    """Print the service accounts as JSON (never their secrets)."""
    emit([AuthAccountOut.of(a) for a in run(lambda s: s.service_accounts.list(ns(namespace)))])


@account_app.command("delete")
def account_delete(id: str, namespace: Namespace = "") -> None:
    """Delete a service account and revoke its refresh tokens."""
    run(lambda s: s.service_accounts.delete(ns(namespace), id))
    typer.echo(f"deleted account {id}", err=True)


@account_app.command("change-secret")
def account_change_secret(id: str, namespace: Namespace = "") -> None:
    """Give a service account a new secret (printed once) and end what the old one got."""
    emit(AuthAccountOut.of(run(lambda s: s.service_accounts.change_secret(ns(namespace), id))))


# client ------------------------------------------------------------------------


@client_app.command("create")
def client_create(
    name: Annotated[str, typer.Option(help="The application's name, shown to its users.")],
    redirect_uri: Annotated[
        list[str],
        typer.Option(
            help="Where users return with a code, exactly (https, or http on loopback); "
            "repeat for more."
        ),
    ],
    public: Annotated[
        bool,
        typer.Option(
            "--public", help="A single-page or native app: no secret, PKCE proves each code."
        ),
    ] = False,
    third_party: Annotated[
        bool, typer.Option("--third-party", help="Its users are asked to consent.")
    ] = False,
    scope: Annotated[
        list[str] | None,
        typer.Option(
            help="A scope it may ask for (default: all of openid, profile, email, "
            "offline_access); repeat for more."
        ),
    ] = None,
    post_logout_redirect_uri: Annotated[
        list[str] | None,
        typer.Option(
            help="Where RP-initiated logout may send users back to, exactly; repeat for more."
        ),
    ] = None,
    namespace: Namespace = "",
) -> None:
    """Register an OAuth client. A confidential client's secret is printed once, in the JSON."""
    client, secret = run(
        lambda s: s.clients.create(
            ns(namespace),
            name=name,
            redirect_uris=redirect_uri,
            public=public,
            first_party=not third_party,
            scopes=scope,
            post_logout_redirect_uris=post_logout_redirect_uri,
        )
    )
    emit({**asdict(client), "secret": secret})


@client_app.command("list")
def client_list(namespace: Namespace = "") -> None:
    """Print the OAuth clients as JSON (never their secrets)."""
    emit(run(lambda s: s.clients.list(ns(namespace))))


@client_app.command("delete")
def client_delete(id: str, namespace: Namespace = "") -> None:
    """Delete an OAuth client."""
    run(lambda s: s.clients.delete(ns(namespace), id))
    typer.echo(f"deleted client {id}", err=True)


# external identity providers ------------------------------------------------------


@provider_app.command("add")
def provider_add(
    id: Annotated[str, typer.Argument(help="A short name: lower-case letters, digits, hyphens.")],
    name: Annotated[str, typer.Option(help="The button says 'Sign in with <name>'.")],
    client_id: Annotated[str, typer.Option(help="This service's client id at the provider.")],
    client_secret: Annotated[
        str,
        typer.Option(
            envvar="MICRO_USER_PROVIDER_CLIENT_SECRET",
            help="Its client secret (or MICRO_USER_PROVIDER_CLIENT_SECRET).",
        ),
    ],
    issuer: Annotated[
        str, typer.Option(help="OpenID Connect: the issuer; the endpoints come from discovery.")
    ] = "",
    authorization_endpoint: Annotated[str, typer.Option(help="Plain OAuth 2.0 only.")] = "",
    token_endpoint: Annotated[str, typer.Option(help="Plain OAuth 2.0 only.")] = "",
    userinfo_endpoint: Annotated[str, typer.Option(help="Plain OAuth 2.0 only.")] = "",
    scope: Annotated[
        list[str] | None,
        typer.Option(help="A scope to ask for (OpenID default: openid email profile); repeat."),
    ] = None,
    subject_claim: Annotated[
        str, typer.Option(help="Plain OAuth 2.0: the userinfo field naming the user (id).")
    ] = "",
    email_claim: Annotated[str, typer.Option(help="The field with the email (email).")] = "",
    verified_claim: Annotated[
        str,
        typer.Option(
            help="Plain OAuth 2.0: a field that is true when the email is verified (without "
            "one, no email from this provider counts as verified)."
        ),
    ] = "",
    keep_tokens: Annotated[
        bool,
        typer.Option(
            "--keep-tokens", help="Keep the provider's tokens (sealed) after each sign-in."
        ),
    ] = False,
    namespace: Namespace = "",
) -> None:
    """Add an identity provider: OpenID Connect with --issuer, plain OAuth 2.0 with the
    three endpoints. Its callback is <issuer of the namespace>/signin/callback."""
    found = run(
        lambda s: s.federation.create(
            ns(namespace),
            id=id,
            kind="oidc" if issuer else "oauth2",
            name=name,
            client_id=client_id,
            client_secret=client_secret,
            issuer=issuer,
            authorization_endpoint=authorization_endpoint,
            token_endpoint=token_endpoint,
            userinfo_endpoint=userinfo_endpoint,
            scopes=scope,
            subject_claim=subject_claim,
            email_claim=email_claim,
            verified_claim=verified_claim,
            keep_tokens=keep_tokens,
        )
    )
    emit(asdict(found))


@provider_app.command("list")
def provider_list(namespace: Namespace = "") -> None:
    """Print the identity providers as JSON (never their secrets)."""
    emit([asdict(p) for p in run(lambda s: s.federation.of_namespace(ns(namespace)))])


@provider_app.command("remove")
def provider_remove(id: str, namespace: Namespace = "") -> None:
    """Remove an identity provider and every account's link to it."""
    run(lambda s: s.federation.delete(ns(namespace), id))
    typer.echo(f"removed provider {id}", err=True)


# branding ----------------------------------------------------------------------


@branding_app.command("set")
def branding_set(
    name: Annotated[str, typer.Option(help="Shown at the top of every page, 1 to 64 characters.")],
    logo_url: Annotated[str, typer.Option(help="An https URL of the logo image.")] = "",
    color: Annotated[
        str,
        typer.Option(
            help="The buttons' and links' colour, #rrggbb, dark enough for white text (4.5:1)."
        ),
    ] = "#1d4ed8",
    namespace: Namespace = "",
) -> None:
    """Set the name, logo and colour of the namespace's hosted pages."""
    emit(run(lambda s: s.brandings.set(ns(namespace), name=name, logo_url=logo_url, color=color)))


@branding_app.command("show")
def branding_show(namespace: Namespace = "") -> None:
    """Print the namespace's branding as JSON (the default one when none is set)."""
    emit(run(lambda s: s.brandings.get(ns(namespace))))


@branding_app.command("clear")
def branding_clear(namespace: Namespace = "") -> None:
    """Go back to the default branding."""
    run(lambda s: s.brandings.clear(ns(namespace)))
    typer.echo("branding cleared", err=True)


# token -------------------------------------------------------------------------


@token_app.command("issue")
def token_issue(
    account: Annotated[str, typer.Option(help="The account's id.")],
    type: AccountType = "service",
    namespace: Namespace = "",
) -> None:
    """Issue an access and a refresh token for an account, as its operator."""

    async def work(services: Services) -> Any:
        await services.start()
        return await services.tokens.issue(ns(namespace), type, account)

    emit(TokenOut.of(run(work)))


@token_app.command("inspect")
def token_inspect(token: str) -> None:
    """Check an access token and print whose it is (exit 1 if it is not valid now)."""
    from micro_user.auth.signing import InvalidToken

    async def work(services: Services) -> Any:
        await services.start()
        try:
            return services.tokens.inspect(token)
        except InvalidToken as exc:
            fail(f"invalid token: {exc}")

    emit(AuthAccountOut.of(run(work)))


# keys --------------------------------------------------------------------------


@keys_app.command("rotate")
def keys_rotate(
    now: bool = typer.Option(
        False, "--now", help="Sign with the new key at once (e.g. the old one leaked)."
    ),
) -> None:
    """Make a new signing key. It is in the JWKS at once and signs new tokens after
    MICRO_USER_KEY_PUBLISH_SECONDS (90), so that verifiers know it first; old keys verify
    until their tokens expire. With --now it also replaces keys that no configured
    key-encryption key opens any more."""

    async def work(services: Services) -> tuple[str, int]:
        # No ensure() first: with --now the old keys need not open (a lost key-encryption key).
        kid = await services.signing.rotate(immediately=now)
        return kid, 0 if now else services.settings.key_publish_seconds

    kid, delay = run(work)
    when = "at once" if delay == 0 else f"in {delay} s"
    typer.echo(
        f"new signing key {kid}, published now, signing {when} (instances take it up within "
        "MICRO_USER_AUTH_REFRESH_SECONDS)",
        err=True,
    )


@keys_app.command("rewrap")
def keys_rewrap() -> None:
    """Seal every private signing key and TOTP key with the current key-encryption key (the
    first of MICRO_USER_KEY_ENCRYPTION_KEY or its file). Run it after putting a new
    key-encryption key first on every instance; then the old one can be removed."""

    async def work(services: Services) -> tuple[int, int, str]:
        count = await services.signing.rewrap()
        totp = await services.factors.rewrap()
        return count, totp, services.signing.ring.current

    count, totp, current = run(work)
    typer.echo(
        f"sealed {count} signing key(s) and {totp} TOTP key(s) with key-encryption key {current}",
        err=True,
    )


@keys_app.command("list")
def keys_list() -> None:
    """Print the signing keys in use (never their private parts)."""

    async def work(services: Services) -> Any:
        await services.signing.ensure()
        return await services.signing.describe()

    emit(run(work))


# webhook and audit -------------------------------------------------------------


@webhook_app.command("create")
def webhook_create(
    url: str,
    event: Annotated[
        list[str] | None,
        typer.Option(help="An event type to send; repeat for more (all by default)."),
    ] = None,
    namespace: Namespace = "",
) -> None:
    """Register a webhook. Its signing secret is printed once, in the JSON."""
    emit(WebhookOut.of(run(lambda s: s.webhooks.create(ns(namespace), url, event or []))))


@webhook_app.command("list")
def webhook_list(namespace: Namespace = "") -> None:
    """Print the webhooks (never their secrets)."""
    emit([WebhookOut.of(h) for h in run(lambda s: s.webhooks.list_webhooks(ns(namespace)))])


@webhook_app.command("delete")
def webhook_delete(id: str, namespace: Namespace = "") -> None:
    """Delete a webhook and its undelivered events."""
    run(lambda s: s.webhooks.delete(ns(namespace), id))
    typer.echo(f"deleted webhook {id}", err=True)


@webhook_app.command("parked")
def webhook_parked(namespace: Namespace = "") -> None:
    """Print deliveries that were parked after too many failed attempts."""
    emit([DeliveryOut.of(d) for d in run(lambda s: s.webhooks.deliveries(ns(namespace), "parked"))])


@webhook_app.command("replay")
def webhook_replay(
    webhook: Annotated[str, typer.Option(help="Only this webhook's deliveries.")] = "",
    namespace: Namespace = "",
) -> None:
    """Deliver parked deliveries again."""
    count = run(lambda s: s.webhooks.replay(ns(namespace), webhook))
    typer.echo(f"replaying {count} delivery(ies)", err=True)


@app.command()
def audit(
    account: Annotated[str, typer.Option(help="Only this account's events.")] = "",
    type: Annotated[list[str] | None, typer.Option(help="An event type; repeat for more.")] = None,
    since: Annotated[int, typer.Option(help="Unix time, inclusive.")] = 0,
    until: Annotated[int, typer.Option(help="Unix time, exclusive.")] = 0,
    after: Annotated[int, typer.Option(help="Continue after this seq (paging).")] = 0,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 100,
    namespace: Namespace = "",
) -> None:
    """Print lifecycle events (who did what), oldest first, as JSON lines."""
    found = run(
        lambda s: s.audit.query(
            ns(namespace),
            account_id=account,
            types=type or [],
            since=since,
            until=until,
            after=after,
            limit=limit,
        )
    )
    for event in found:
        sys.stdout.write(orjson.dumps(plain(EventOut.of(event))).decode() + "\n")


# export / import -------------------------------------------------------------


def private_file(path: Path) -> Any:
    """``path`` opened for writing, readable by this user only (even if it existed)."""
    import os

    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)
    return os.fdopen(descriptor, "wb")


@app.command("export")
def export(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write (stdout by default).")
    ] = None,
    namespace: Annotated[
        str, typer.Option("--namespace", "-n", help="Only this namespace (all by default).")
    ] = "",
) -> None:
    """Write every account as JSON lines, password hashes included. Keep the file secret."""
    from micro_user.transfer import export_accounts

    async def work(services: Services) -> int:
        count = 0
        stream = private_file(output) if output else sys.stdout.buffer
        try:
            async for line in export_accounts(services, namespace or None):
                stream.write(line + b"\n")
                count += 1
        finally:
            if output:
                stream.close()
            else:
                stream.flush()
        return count

    count = run(work)
    typer.echo(f"exported {count} account(s)", err=True)


@app.command("import")
def import_(
    source: Annotated[
        Path, typer.Argument(help="JSON lines from 'export' or a Micro dump; '-' for stdin.")
    ],
    namespace: Namespace = "",
    skip_existing: Annotated[
        bool, typer.Option(help="Leave accounts that already exist as they are.")
    ] = False,
) -> None:
    """Import accounts with their password hashes (argon2id, or Micro's bcrypt scheme)."""
    from micro_user.transfer import import_accounts

    if str(source) != "-" and not source.is_file():
        fail(f"no such file: {source}", 2)

    async def work(services: Services) -> Any:
        stream = sys.stdin if str(source) == "-" else source.open(encoding="utf-8")
        try:
            return await import_accounts(
                services, stream, default_namespace=ns(namespace), skip_existing=skip_existing
            )
        finally:
            if stream is not sys.stdin:
                stream.close()

    report = run(work)
    typer.echo(f"imported {report.imported} account(s), skipped {report.skipped}", err=True)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
