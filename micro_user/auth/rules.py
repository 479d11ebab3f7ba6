"""Rules and roles: who may call what (the evaluation itself is ``microuser.rules``).

Every namespace has three built-in rules besides its own: the ``admin`` scope
may do everything; anyone may ask for a token (``Auth.Token``: the id and
secret in the request are the credential); and any account may inspect a token
(``Auth.Inspect``). A deployment adds the rest, e.g. a public rule for
``service:user:User.Login``. Rules of priority 0 or more override the last two.
"""

from __future__ import annotations

import re
import secrets
from collections import defaultdict
from typing import Any

from microuser.rules import BUILTIN_RULES as BUILTIN_RULES  # defined in the SDK: one set for all
from microuser.rules import Access, Resource, Rule, RuleSet
from sqlalchemy.exc import IntegrityError

from micro_user.accounts.validation import check_namespace
from micro_user.auth.models import KEY, SERVICE, USER
from micro_user.clock import Clock
from micro_user.errors import BadRequest, NotFound
from micro_user.events import outbox
from micro_user.events.outbox import Outbox
from micro_user.storage import accounts as accounts_repo
from micro_user.storage import auth as repo
from micro_user.storage.database import Connection, Database

ADMIN_ROLE = "admin"
ROLE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
ACCOUNT_TYPES = (USER, SERVICE, KEY)


def rule_from_row(row: Any) -> Rule:
    return Rule(
        id=row.id,
        scope=row.scope,
        resource=Resource(row.resource_type, row.resource_name, row.resource_endpoint),
        access=Access(row.access),
        priority=row.priority,
    )


# The longest each part of a resource may be (the rules table's columns).
RESOURCE_PART_MAX = {"type": 64, "name": 128, "endpoint": 512}


def check_resource(resource: Resource, error_id: str) -> Resource:
    """A resource a rule can name: type 1 to 64 characters, name 1 to 128, endpoint 1 to 512;
    type and name without ':' (the separator of the written form)."""
    for part, value in (
        ("type", resource.type),
        ("name", resource.name),
        ("endpoint", resource.endpoint),
    ):
        longest = RESOURCE_PART_MAX[part]
        if not value or len(value) > longest or ":" in value and part != "endpoint":
            without = "" if part == "endpoint" else ", without ':'"
            raise BadRequest(
                error_id,
                f"resource {part} must be 1 to {longest} characters{without} (use '*' for any)",
            )
    return resource


def check_role_name(name: str) -> str:
    if not ROLE_RE.match(name):
        raise BadRequest(
            "auth.role", "a role name is 1 to 64 letters, digits, '_', '.', ':' or '-'"
        )
    return name


def build_rulesets(rows: list[Any]) -> dict[str, RuleSet]:
    by_namespace: dict[str, list[Rule]] = defaultdict(list)
    for row in rows:
        by_namespace[row.namespace].append(rule_from_row(row))
    return {ns: RuleSet(ns, [*BUILTIN_RULES, *found]) for ns, found in by_namespace.items()}


class RuleService:
    def __init__(self, db: Database, outbox: Outbox, clock: Clock) -> None:
        self.db = db
        self.outbox = outbox
        self.clock = clock

    async def create(
        self, namespace: str, *, id: str, scope: str, resource: Resource, access: str, priority: int
    ) -> Rule:
        error_id = "auth.rules.create"
        check_resource(resource, error_id)
        if len(scope) > 64:
            raise BadRequest(error_id, "scope is at most 64 characters")
        try:
            decided = Access(access.upper() if access else "GRANTED")
        except ValueError:
            raise BadRequest(error_id, "access is GRANTED or DENIED") from None
        if not -(2**31) <= priority < 2**31 - 1:
            raise BadRequest(
                error_id, "priority must fit in 32 bits (the highest is reserved for admin)"
            )
        rule = Rule(id or "rule-" + secrets.token_hex(6), scope, resource, decided, priority)
        if len(rule.id) > 128:
            raise BadRequest(error_id, "id is at most 128 characters")
        try:
            async with self.db.write() as conn:
                await repo.insert_rule(
                    conn,
                    namespace=check_namespace(namespace),
                    id=rule.id,
                    scope=rule.scope,
                    resource_type=resource.type,
                    resource_name=resource.name,
                    resource_endpoint=resource.endpoint,
                    access=rule.access.value,
                    priority=rule.priority,
                    created=self.clock(),
                )
                await repo.bump_version(conn)
                await self.outbox.record(
                    conn,
                    namespace,
                    outbox.RULE_CREATED,
                    self.clock(),
                    payload={
                        "id": rule.id,
                        "scope": rule.scope,
                        "resource": str(resource),
                        "access": rule.access.value,
                        "priority": rule.priority,
                    },
                )
        except IntegrityError:
            raise BadRequest(error_id, f"a rule with id {rule.id!r} exists") from None
        return rule

    async def delete(self, namespace: str, id: str) -> None:
        async with self.db.write() as conn:
            if not await repo.delete_rule(conn, namespace, id):
                raise NotFound("auth.rules.delete", f"no rule {id!r}")
            await repo.bump_version(conn)
            await self.outbox.record(
                conn, namespace, outbox.RULE_DELETED, self.clock(), payload={"id": id}
            )

    async def list(self, namespace: str) -> list[Rule]:
        async with self.db.read() as conn:
            return [rule_from_row(row) for row in await repo.all_rules(conn, namespace)]

    async def load_all(self) -> dict[str, RuleSet]:
        async with self.db.read() as conn:
            return build_rulesets(await repo.all_rules(conn))


class RoleService:
    def __init__(self, db: Database, outbox: Outbox, clock: Clock) -> None:
        self.db = db
        self.outbox = outbox
        self.clock = clock

    async def create(self, namespace: str, name: str, description: str = "") -> None:
        check_role_name(name)
        if len(description) > 512:
            raise BadRequest("auth.roles.create", "description is at most 512 characters")
        try:
            async with self.db.write() as conn:
                await repo.insert_role(
                    conn,
                    namespace=namespace,
                    name=name,
                    description=description,
                    created=self.clock(),
                )
        except IntegrityError:
            raise BadRequest("auth.roles.create", f"role {name!r} exists") from None

    async def list_roles(self, namespace: str) -> list[tuple[str, str]]:
        async with self.db.read() as conn:
            rows = await repo.list_roles(conn, namespace)
        listed = [(row.name, row.description) for row in rows]
        if ADMIN_ROLE not in {name for name, _ in listed}:
            listed.insert(0, (ADMIN_ROLE, "built in: may do everything in its namespace"))
        return listed

    async def delete(self, namespace: str, name: str) -> None:
        if name == ADMIN_ROLE:
            raise BadRequest("auth.roles.delete", "the admin role is built in")
        async with self.db.write() as conn:
            if not await repo.delete_role(conn, namespace, name):
                raise NotFound("auth.roles.delete", f"no role {name!r}")
            await repo.bump_version(conn)

    async def _check_holder(
        self, conn: Connection, namespace: str, account_type: str, account_id: str, error_id: str
    ) -> None:
        if account_type not in (USER, SERVICE):
            raise BadRequest(error_id, "roles are granted to accounts of type user or service")
        if account_type == USER:
            exists = await accounts_repo.find_account(conn, namespace, id=account_id) is not None
        else:
            exists = await repo.find_account(conn, namespace, account_id) is not None
        if not exists:
            raise NotFound(error_id, f"no {account_type} account {account_id!r}")

    async def grant(self, namespace: str, account_type: str, account_id: str, role: str) -> None:
        error_id = "auth.roles.grant"
        async with self.db.write() as conn:
            await self._check_holder(conn, namespace, account_type, account_id, error_id)
            await self.ensure_role(conn, namespace, role, error_id)
            if await repo.grant_role(conn, namespace, account_type, account_id, role, self.clock()):
                await self.outbox.record(
                    conn,
                    namespace,
                    outbox.ROLE_GRANTED,
                    self.clock(),
                    account_id=account_id,
                    payload={"role": role, "account_type": account_type},
                )
            await repo.bump_version(conn)

    async def ensure_role(
        self, conn: Connection, namespace: str, role: str, error_id: str, *, create: bool = False
    ) -> None:
        """That ``role`` exists: ``admin`` is made on first use, and with ``create`` any other
        (``Auth.Generate`` takes free scope strings, as Micro's does); else a missing role
        is a 404, so that a typo in ``Roles.Grant`` does not grant nothing silently."""
        if await repo.role_exists(conn, namespace, role):
            return
        if role == ADMIN_ROLE:
            description = "built in"
        elif create:
            if not ROLE_RE.match(role):
                raise BadRequest(
                    error_id,
                    f"scope {role!r}: a scope is 1 to 64 letters, digits, '_', '.', ':' or '-'",
                )
            description = ""
        else:
            raise NotFound(error_id, f"no role {role!r}: create it first")
        await repo.insert_role(
            conn, namespace=namespace, name=role, description=description, created=self.clock()
        )

    async def revoke(self, namespace: str, account_type: str, account_id: str, role: str) -> None:
        async with self.db.write() as conn:
            if not await repo.revoke_role(conn, namespace, account_type, account_id, role):
                raise NotFound(
                    "auth.roles.revoke", f"{account_type} {account_id!r} does not hold {role!r}"
                )
            await self.outbox.record(
                conn,
                namespace,
                outbox.ROLE_REVOKED,
                self.clock(),
                account_id=account_id,
                payload={"role": role, "account_type": account_type},
            )
            await repo.bump_version(conn)

    async def of(self, namespace: str, account_type: str, account_id: str) -> list[str]:
        async with self.db.read() as conn:
            return await repo.roles_of(conn, namespace, account_type, account_id)
