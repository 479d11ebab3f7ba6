"""Mail senders: SMTP for real deployments, console for development.

Chosen by ``MICRO_USER_MAIL_SENDER``. The console sender prints whole
messages, links and codes included, to the log: it is for a developer's
machine, and micro-user warns at start when it is in use.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, parseaddr
from typing import Protocol

import aiosmtplib

from micro_user.errors import Unavailable
from micro_user.settings import MailSenderKind, Settings, SmtpSecurity

log = logging.getLogger("micro_user.email")


@dataclass(frozen=True, slots=True)
class Mail:
    to: str
    subject: str
    text: str
    from_name: str = ""


class MailSender(Protocol):
    async def send(self, mail: Mail) -> None: ...


def build_message(mail: Mail, default_from: str) -> EmailMessage:
    name, address = parseaddr(default_from)
    message = EmailMessage()
    message["From"] = formataddr((mail.from_name or name, address))
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message.set_content(mail.text)
    return message


class SmtpSender:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def send(self, mail: Mail) -> None:
        s = self.settings
        message = build_message(mail, s.mail_from)
        try:
            await aiosmtplib.send(
                message,
                hostname=s.smtp_host,
                port=s.smtp_port,
                username=s.smtp_username or None,
                password=s.smtp_password.get_secret_value() or None,
                use_tls=s.smtp_security is SmtpSecurity.tls,
                start_tls=True if s.smtp_security is SmtpSecurity.starttls else False,
                timeout=s.smtp_timeout_seconds,
                cert_bundle=str(s.smtp_ca_file) if s.smtp_ca_file else None,
            )
        except (aiosmtplib.SMTPException, OSError) as exc:
            log.error(
                "mail to the SMTP server %s:%s failed: %s",
                s.smtp_host,
                s.smtp_port,
                type(exc).__name__,
            )
            raise Unavailable(
                "mail.send", "the mail server could not be reached; try again later"
            ) from None


class ConsoleSender:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def send(self, mail: Mail) -> None:
        message = build_message(mail, self.settings.mail_from)
        log.warning("development mail sender (not sent):\n%s", message.as_string())


def make_sender(settings: Settings) -> MailSender:
    if settings.mail_sender is MailSenderKind.smtp:
        return SmtpSender(settings)
    return ConsoleSender(settings)
