"""The composition root: builds every service from one ``Settings``.

The HTTP app and the CLI both start here, so they run the same code.
"""

from __future__ import annotations

from dataclasses import dataclass

from micro_user.abuse.counters import Counters, DatabaseCounters, RedisCounters
from micro_user.abuse.protection import AbuseProtection
from micro_user.access.guard import Guard
from micro_user.access.keys import KeyService
from micro_user.accounts.passwords import PasswordHasher
from micro_user.accounts.service import AccountService
from micro_user.auth.accounts import ServiceAccounts
from micro_user.auth.clients import Clients
from micro_user.auth.issuers import Issuers
from micro_user.auth.key_encryption import load_key_ring
from micro_user.auth.rules import RoleService, RuleService
from micro_user.auth.signing import SigningKeys
from micro_user.auth.state import AuthState
from micro_user.auth.tokens import TokenService
from micro_user.clock import Clock, system_clock
from micro_user.email.flows import EmailFlows
from micro_user.email.queue import MailQueue
from micro_user.email.senders import MailSender, make_sender
from micro_user.events.audit import AuditLog
from micro_user.events.nats import CURSOR as NATS_CURSOR
from micro_user.events.outbox import Outbox
from micro_user.events.webhooks import Dispatcher, WebhookService
from micro_user.factors.passkeys import Passkeys
from micro_user.factors.service import Factors
from micro_user.federation.providers import Federation
from micro_user.observability import watch_cache
from micro_user.oidc.branding import Brandings
from micro_user.oidc.provider import Provider
from micro_user.sessions.service import SessionService
from micro_user.settings import Settings
from micro_user.storage import probes
from micro_user.storage.auth import delete_expired_auth
from micro_user.storage.database import Database, open_database
from micro_user.storage.failures import MIN_FREE_BYTES, DiskFull
from micro_user.storage.oidc import delete_stale_codes

CODE_GRACE_SECONDS = 24 * 3600


def forget_caches(keys: KeyService, events: Outbox) -> None:
    """What an instance drops when the auth change counter moves."""
    keys.forget()
    events.subscriptions.forget()


@dataclass
class Services:
    settings: Settings
    db: Database
    hasher: PasswordHasher
    accounts: AccountService
    sessions: SessionService
    email: EmailFlows
    mail: MailQueue
    keys: KeyService
    rules: RuleService
    roles: RoleService
    service_accounts: ServiceAccounts
    signing: SigningKeys
    auth_state: AuthState
    issuers: Issuers
    clients: Clients
    tokens: TokenService
    provider: Provider
    brandings: Brandings
    factors: Factors
    passkeys: Passkeys
    federation: Federation
    guard: Guard
    webhooks: WebhookService
    dispatcher: Dispatcher
    audit: AuditLog

    @classmethod
    def build(
        cls, settings: Settings, *, clock: Clock = system_clock, sender: MailSender | None = None
    ) -> Services:
        db = open_database(
            settings.resolved_database_url,
            pool_size=settings.database_pool_size,
            sqlite_synchronous=settings.sqlite_synchronous,
        )
        hasher = PasswordHasher(
            memory_kib=settings.argon2_memory_kib,
            time_cost=settings.argon2_time_cost,
            parallelism=settings.argon2_parallelism,
            threads=settings.hash_threads,
        )
        counters: Counters = (
            RedisCounters(settings.redis_url, clock)
            if settings.redis_url
            else DatabaseCounters(db, clock)
        )
        abuse = AbuseProtection(counters, settings, clock)
        events = Outbox()
        signing = SigningKeys(
            db,
            clock,
            settings.jwt_algorithm,
            settings.access_token_ttl_seconds,
            lambda: load_key_ring(settings),
            publish_seconds=settings.key_publish_seconds,
        )
        # The TOTP secrets are sealed with the key-encryption key, like signing keys.
        factors = Factors(db, lambda: signing.ring, abuse, events, clock)
        passkeys = Passkeys(
            db, lambda: signing.ring, events, clock, settings.public_url, factors.new_recovery_codes
        )
        sessions = SessionService(db, hasher, settings, clock, abuse, events, factors)
        keys = KeyService(db, events, clock, settings.key_cache_seconds)
        rules = RuleService(db, events, clock)
        roles = RoleService(db, events, clock)
        service_accounts = ServiceAccounts(
            db, events, roles, clock, settings.access_token_ttl_seconds
        )
        mail = MailQueue(db, sender or make_sender(settings), settings, clock)
        state = AuthState(db, rules, signing, clock, on_change=lambda: forget_caches(keys, events))
        watch_cache("rule_sets", state.builtin_only)
        issuers = Issuers(settings.public_url, settings.default_namespace)
        tokens = TokenService(db, signing, service_accounts, state, issuers, settings, clock)
        clients = Clients(db, events, clock)
        return cls(
            settings=settings,
            db=db,
            hasher=hasher,
            accounts=AccountService(db, hasher, settings, clock, abuse, events),
            sessions=sessions,
            email=EmailFlows(db, mail, sessions, hasher, settings, clock, events),
            mail=mail,
            keys=keys,
            rules=rules,
            roles=roles,
            service_accounts=service_accounts,
            signing=signing,
            auth_state=state,
            issuers=issuers,
            clients=clients,
            tokens=tokens,
            provider=Provider(db, clients, sessions, tokens, signing, issuers, events, clock),
            brandings=Brandings(db, clock),
            factors=factors,
            passkeys=passkeys,
            federation=Federation(db, lambda: signing.ring, events, clock),
            guard=Guard(db, keys, tokens, state, clock, abuse, settings.default_namespace),
            webhooks=WebhookService(db, events, settings, clock),
            dispatcher=Dispatcher(db, settings, clock),
            audit=AuditLog(db),
        )

    async def start(self) -> None:
        """Make sure a signing key exists and load what the instance caches."""
        await self.signing.ensure()
        await self.auth_state.refresh(force=True)

    async def cleanup(self) -> tuple[int, int, int]:
        """Delete expired sessions, stale one-time tokens, spent refresh tokens, old abuse
        counters, and delivered events past their retention; returns how many sessions,
        tokens and events went."""
        sessions = await self.sessions.delete_expired()
        tokens = await self.email.delete_stale()
        now = self.sessions.clock()
        async with self.db.write() as conn:
            tokens += await delete_expired_auth(conn, now)
            # A spent code is kept a day past its expiry, so that its replay still revokes.
            tokens += await delete_stale_codes(conn, now - CODE_GRACE_SECONDS)
        await self.sessions.abuse.counters.prune()
        events = 0
        if self.settings.event_retention_days:
            events = await self.audit.prune(
                now - self.settings.event_retention_days * 24 * 3600,
                NATS_CURSOR if self.settings.nats_url else None,
            )
        return sessions, tokens, events

    async def check_writable(self) -> None:
        """Commit the readiness probe's row; raises what the database raises, and
        ``DiskFull`` when the SQLite file's disk has almost no space left: a small write
        can still fit where SQLite holds space already while real changes fail."""
        free = self.db.free_bytes()
        if free is not None and free < MIN_FREE_BYTES:
            raise DiskFull(free)
        await probes.write(self.db, self.sessions.clock())

    async def close(self) -> None:
        await self.dispatcher.close()
        if isinstance(self.sessions.abuse.counters, RedisCounters):
            await self.sessions.abuse.counters.close()
        self.hasher.close()
        await self.db.close()
