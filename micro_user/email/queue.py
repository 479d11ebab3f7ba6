"""The mail queue: mail is written in the transaction that issues its token, and sent in
the background by every instance, the way webhooks are delivered.

A request never waits for the mail server, so its answer cannot depend on it (or on
whether the address has an account). A claimed mail is leased to one instance; a failed
send is retried with doubling backoff (``mail_backoff_seconds``, up to five minutes)
until it is sent or the token it carries expires. A sent or expired mail is deleted:
the body holds the link or code, so it is kept no longer than needed. Until then it is
stored as written, protected like the rest of the database (see docs/ARCHITECTURE.md).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from typing import Any

from micro_user.clock import Clock
from micro_user.email.senders import Mail, MailSender
from micro_user.observability import MAIL_BACKLOG, MAILS
from micro_user.settings import Settings
from micro_user.storage import tokens as repo
from micro_user.storage.database import Connection, Database

log = logging.getLogger("micro_user.email")
BACKOFF_CAP_SECONDS = 300
BATCH = 50


class MailQueue:
    def __init__(self, db: Database, sender: MailSender, settings: Settings, clock: Clock) -> None:
        self.db = db
        self.sender = sender
        self.settings = settings
        self.clock = clock

    async def enqueue(self, conn: Connection, namespace: str, mail: Mail, *, expires: int) -> str:
        """Queue a mail inside the caller's transaction; it goes out once that commits."""
        mail_id = secrets.token_hex(16)
        now = self.clock()
        await repo.enqueue_mail(
            conn,
            id=mail_id,
            namespace=namespace,
            recipient=mail.to,
            subject=mail.subject,
            from_name=mail.from_name,
            body=mail.text,
            created=now,
            expires=expires,
            attempts=0,
            next_attempt=now,
            last_error="",
        )
        return mail_id

    async def withdraw(self, conn: Connection, mail_id: str) -> None:
        await repo.delete_mail(conn, mail_id)

    def backoff(self, attempts: int) -> int:
        seconds = self.settings.mail_backoff_seconds * 2 ** (attempts - 1)
        return max(1, int(min(BACKOFF_CAP_SECONDS, seconds)))

    async def run_once(self) -> int:
        """Send the mail that is due; the number of mails claimed."""
        now = self.clock()
        async with self.db.read() as conn:
            MAIL_BACKLOG.set(await repo.mail_backlog(conn))
            due = await repo.due_mail(conn, now, BATCH)
        if not due:
            return 0
        # A claimed mail is left alone by other instances for as long as one send may take;
        # if this instance dies meanwhile, another takes it over after that.
        lease_until = now + 3 * int(self.settings.smtp_timeout_seconds) + 5
        claimed, expired = [], 0
        async with self.db.write() as conn:
            for row in due:
                if row.expires <= now:
                    expired += await repo.delete_mail(conn, row.id)
                elif await repo.claim_mail(conn, row.id, row.attempts, lease_until):
                    claimed.append(row)
        if expired:
            MAILS.labels("expired").inc(expired)
            log.warning("%d queued mails expired unsent (their tokens expired)", expired)
        await asyncio.gather(*(self._send(row) for row in claimed))
        return len(claimed) + expired

    async def _send(self, row: Any) -> None:
        mail = Mail(row.recipient, row.subject, row.body, row.from_name)
        try:
            await self.sender.send(mail)
        except Exception as exc:  # the mail server is away or refused: try again later
            attempts = row.attempts + 1
            MAILS.labels("retry").inc()
            async with self.db.write() as conn:
                await repo.retry_mail(
                    conn, row.id, self.clock() + self.backoff(attempts), type(exc).__name__
                )
            log.warning("mail %s: attempt %d failed, will retry", row.id, attempts)
            return
        async with self.db.write() as conn:
            await repo.delete_mail(conn, row.id)
        MAILS.labels("sent").inc()

    async def follow(self) -> None:
        while True:
            try:
                busy = await self.run_once()
            except Exception as exc:  # the database is away: try again next round
                log.warning("mail round failed: %s", type(exc).__name__)
                busy = 0
            if not busy:
                await asyncio.sleep(self.settings.delivery_interval_seconds)
