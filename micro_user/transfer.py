"""Export and import of accounts as JSON lines, password hashes included.

Moves a deployment between SQLite and PostgreSQL, or in from the Micro user
service. Each line is one account:

- micro-user's own form (what ``export`` writes): the account fields with
  proto names, ``namespace``, and ``password_hash``.
- a Micro dump: the account fields (proto or lowerCamel names) and the
  ``salt`` and base64 ``password`` hash Micro stored; such accounts log in with
  their old password and are moved to argon2id at that login.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any, TextIO

import orjson
from sqlalchemy.exc import IntegrityError

from micro_user.accounts import validation as v
from micro_user.accounts.models import Account
from micro_user.accounts.passwords import is_supported_hash, legacy_hash
from micro_user.errors import BadRequest
from micro_user.services import Services
from micro_user.storage import accounts as repo

BATCH = 1000


@dataclass
class ImportReport:
    imported: int = 0
    skipped: int = 0


def export_line(account: Account, password_hash: str) -> bytes:
    return orjson.dumps(
        {
            "namespace": account.namespace,
            "id": account.id,
            "username": account.username,
            "email": account.email,
            "created": account.created,
            "updated": account.updated,
            "verified": account.verified,
            "verification_date": account.verification_date,
            "profile": account.profile,
            "password_hash": password_hash,
        }
    )


async def export_accounts(services: Services, namespace: str | None) -> AsyncIterator[bytes]:
    async with services.db.read() as conn:
        async for account, password_hash in repo.iter_accounts_with_hashes(conn, namespace):
            yield export_line(account, password_hash)


def _field(record: dict[str, Any], *names: str, default: Any = None) -> Any:
    for name in names:
        if name in record and record[name] is not None:
            return record[name]
    return default


def parse_line(line: str, number: int, default_namespace: str) -> tuple[Account, str]:
    def bad(detail: str) -> BadRequest:
        return BadRequest("import", f"line {number}: {detail}")

    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise bad(f"not JSON ({exc})") from None
    if not isinstance(record, dict):
        raise bad("expected a JSON object")
    if "password_hash" in record:
        password_hash = str(record["password_hash"])
    elif "salt" in record and "password" in record:
        password_hash = legacy_hash(str(record["salt"]), str(record["password"]))
    else:
        raise bad("no password_hash (micro-user export) nor salt and password (Micro dump)")
    if not is_supported_hash(password_hash):
        raise bad("password hash is neither argon2id nor the Micro bcrypt scheme")
    try:
        account = Account(
            namespace=v.check_namespace(
                str(_field(record, "namespace", default=default_namespace))
            ),
            id=v.check_id(str(_field(record, "id", default=""))),
            username=v.normalize_username(str(_field(record, "username", default=""))),
            email=v.normalize_email(str(_field(record, "email", default=""))),
            created=int(_field(record, "created", default=0)),
            updated=int(_field(record, "updated", default=0)),
            verified=bool(_field(record, "verified", default=False)),
            verification_date=int(
                _field(record, "verification_date", "verificationDate", default=0)
            ),
            profile=v.check_profile(
                {str(k): str(val) for k, val in dict(_field(record, "profile", default={})).items()}
            ),
        )
    except BadRequest as exc:
        raise bad(exc.detail) from None
    except (TypeError, ValueError) as exc:
        raise bad(str(exc)) from None
    if not account.id:
        raise bad("id is required")
    return account, password_hash


async def import_accounts(
    services: Services, lines: Iterable[str], *, default_namespace: str, skip_existing: bool
) -> ImportReport:
    """Import in batches of one transaction each; a conflict fails the import unless
    ``skip_existing``, in which case accounts whose id, username or email exist are left as they are."""
    report = ImportReport()
    batch: list[tuple[Account, str]] = []

    async def flush() -> None:
        try:
            async with services.db.write() as conn:
                await repo.insert_accounts(conn, batch)
            report.imported += len(batch)
        except IntegrityError:
            if not skip_existing:
                raise BadRequest(
                    "import",
                    "an account in this batch already exists (id, username or email); "
                    "use --skip-existing to leave existing accounts as they are",
                ) from None
            for account, password_hash in batch:
                try:
                    async with services.db.write() as conn:
                        await repo.insert_account(conn, account, password_hash)
                    report.imported += 1
                except IntegrityError:
                    report.skipped += 1
        batch.clear()

    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        batch.append(parse_line(line, number, default_namespace))
        if len(batch) >= BATCH:
            await flush()
    if batch:
        await flush()
    return report


def read_lines(stream: TextIO) -> Iterable[str]:
    yield from stream
