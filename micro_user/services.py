"""The composition root: builds every service from one ``Settings``.

The HTTP app and the CLI both start here, so they run the same code.
"""

from __future__ import annotations

from dataclasses import dataclass

from micro_user.access.keys import KeyService
from micro_user.accounts.passwords import PasswordHasher
from micro_user.accounts.service import AccountService
from micro_user.clock import Clock, system_clock
from micro_user.email.flows import EmailFlows
from micro_user.email.senders import MailSender, make_sender
from micro_user.sessions.service import SessionService
from micro_user.settings import Settings
from micro_user.storage.database import Database


@dataclass
class Services:
    settings: Settings
    db: Database
    hasher: PasswordHasher
    accounts: AccountService
    sessions: SessionService
    email: EmailFlows
    keys: KeyService

    @classmethod
    def build(
        cls, settings: Settings, *, clock: Clock = system_clock, sender: MailSender | None = None
    ) -> Services:
        db = Database(settings.resolved_database_url, pool_size=settings.database_pool_size)
        hasher = PasswordHasher(
            memory_kib=settings.argon2_memory_kib,
            time_cost=settings.argon2_time_cost,
            parallelism=settings.argon2_parallelism,
            threads=settings.hash_threads,
        )
        sessions = SessionService(db, hasher, settings, clock)
        return cls(
            settings=settings,
            db=db,
            hasher=hasher,
            accounts=AccountService(db, hasher, settings, clock),
            sessions=sessions,
            email=EmailFlows(
                db, sender or make_sender(settings), sessions, hasher, settings, clock
            ),
            keys=KeyService(db, clock, settings.key_cache_seconds),
        )

    async def cleanup(self) -> tuple[int, int]:
        """Delete expired sessions and stale one-time tokens."""
        return await self.sessions.delete_expired(), await self.email.delete_stale()

    async def close(self) -> None:
        self.hasher.close()
        await self.db.close()
