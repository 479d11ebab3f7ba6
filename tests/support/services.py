"""Real services for the tests: a PostgreSQL database per run, a loopback SMTP server,
and micro-user itself as a separate process speaking real HTTP."""

from __future__ import annotations

import base64
import email
import os
import secrets
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from typing import Any, ClassVar

import httpx
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

POSTGRES_ADMIN_URL = os.environ.get(
    "MICRO_USER_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REQUIRE = {
    part.strip()
    for part in os.environ.get("MICRO_USER_TEST_REQUIRE", "").split(",")
    if part.strip()
}
ADMIN_KEY = "muk_test_admin_" + secrets.token_urlsafe(24)
# PostgreSQL instances must share a key-encryption key; on SQLite each database gets its own
# file next to it, as on a default install.
KEY_ENCRYPTION_KEY = base64.b64encode(secrets.token_bytes(32)).decode()
RELAXED_LIMITS = {
    "MICRO_USER_LOGIN_PER_ADDRESS_PER_MINUTE": "100000",
    "MICRO_USER_LOGIN_PER_ACCOUNT_PER_MINUTE": "100000",
    "MICRO_USER_LOCKOUT_THRESHOLD": "100000",
    "MICRO_USER_MAIL_PER_ADDRESS_PER_MINUTE": "100000",
    "MICRO_USER_MAIL_PER_RECIPIENT_PER_HOUR": "100000",
    "MICRO_USER_CODE_CHECKS_PER_ADDRESS_PER_MINUTE": "100000",
    "MICRO_USER_SIGNUPS_PER_ADDRESS_PER_HOUR": "100000",
    "MICRO_USER_BEARER_FAILURES_PER_ADDRESS_PER_MINUTE": "100000",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def postgres_available() -> str | None:
    """None when PostgreSQL answers, else the reason it does not."""
    import psycopg

    try:
        with psycopg.connect(POSTGRES_ADMIN_URL, connect_timeout=3):
            return None
    except psycopg.OperationalError as exc:
        return f"PostgreSQL at {POSTGRES_ADMIN_URL} is not reachable ({str(exc).strip().splitlines()[0]})"


class PostgresDatabase:
    """A fresh database for one test run, dropped afterwards. Only databases this process
    made can be dropped: a name from anywhere else is refused before any connection."""

    made: ClassVar[set[str]] = set()

    def __init__(self) -> None:
        import psycopg
        from psycopg.conninfo import conninfo_to_dict

        self.name = "micro_user_test_" + secrets.token_hex(6)
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.name}"')
        self.made.add(self.name)
        info = conninfo_to_dict(POSTGRES_ADMIN_URL)
        self.url = f"postgresql://{info.get('user', 'postgres')}@{info.get('host', '127.0.0.1')}:{info.get('port', 5432)}/{self.name}"

    def drop(self) -> None:
        self.drop_named(self.name)

    @classmethod
    def drop_named(cls, name: str) -> None:
        import psycopg

        if name not in cls.made:
            raise ValueError(f"refusing to drop database {name!r}: this test run did not make it")
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Mailbox:
    """Every message the loopback SMTP server received."""

    messages: list[Message] = field(default_factory=list)
    lock: threading.Condition = field(default_factory=threading.Condition)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        message = email.message_from_bytes(envelope.content)
        message["X-Envelope-To"] = ",".join(envelope.rcpt_tos)
        with self.lock:
            self.messages.append(message)
            self.lock.notify_all()
        return "250 OK"

    def wait_for(self, to: str, count: int = 1, timeout: float = 10.0) -> list[Message]:
        deadline = time.monotonic() + timeout
        with self.lock:
            while True:
                found = [m for m in self.messages if m["To"] == to]
                if len(found) >= count:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"no mail to {to} within {timeout}s ({len(found)} of {count})"
                    )
                self.lock.wait(remaining)

    def sent_to(self, to: str) -> list[Message]:
        with self.lock:
            return [m for m in self.messages if m["To"] == to]


def self_signed_certificate(directory: Path) -> tuple[Path, Path] | None:
    """A certificate for 127.0.0.1 made with the openssl command; None where it is missing."""
    if shutil.which("openssl") is None:
        return None
    cert, key = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


class SmtpServer:
    """aiosmtpd on loopback. With ``security`` "starttls" or "tls" it presents ``certificate``;
    with ``login`` it demands that user name and password."""

    def __init__(
        self,
        security: str = "none",
        certificate: tuple[Path, Path] | None = None,
        login: tuple[str, str] | None = None,
        port: int | None = None,
    ) -> None:
        self.mailbox = Mailbox()
        self.port = port or free_port()
        options: dict[str, Any] = {}
        if security != "none":
            assert certificate is not None
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(str(certificate[0]), str(certificate[1]))
            if security == "starttls":
                options.update(tls_context=context, require_starttls=True)
            else:
                options.update(ssl_context=context)
        if login is not None:

            def authenticate(server, session, envelope, mechanism, auth_data):
                ok = (
                    isinstance(auth_data, LoginPassword)
                    and (auth_data.login.decode(), auth_data.password.decode()) == login
                )
                return AuthResult(success=ok)

            options.update(
                authenticator=authenticate,
                auth_required=True,
                auth_require_tls=security == "starttls",
            )
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port, **options)
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()


class ServerProcess:
    """``micro-user serve`` in a subprocess, with its log kept in a file."""

    def __init__(
        self, database_url: str, workdir: Path, extra_env: dict[str, str] | None = None
    ) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / f"server-{self.port}.log"
        self.env = {
            **os.environ,
            "MICRO_USER_DATABASE_URL": database_url,
            "MICRO_USER_ADMIN_KEY": ADMIN_KEY,
            "MICRO_USER_PUBLIC_URL": self.base_url,
            "MICRO_USER_KEY_CACHE_SECONDS": "0",
            # An error id or status missing from micro_user/errors.py's catalogue is a 500.
            "MICRO_USER_STRICT_ERRORS": "true",
            # Every test request comes from 127.0.0.1: the shared servers lift the abuse limits,
            # which tests/api/test_abuse.py checks on a server with the defaults.
            **RELAXED_LIMITS,
            "XDG_DATA_HOME": str(workdir / "xdg"),
            **(
                {"MICRO_USER_KEY_ENCRYPTION_KEY": KEY_ENCRYPTION_KEY}
                if database_url.startswith("postgres")
                else {}
            ),
            **(extra_env or {}),
        }
        self.extra_env = dict(extra_env or {})
        self.process: subprocess.Popen[bytes] | None = None

    def sibling(self, workdir: Path, overrides: dict[str, str] | None = None) -> ServerProcess:
        """Another instance on this one's database with this one's settings (and
        ``overrides``), not started. Every instance sends queued mail and delivers webhooks,
        so one with another mail sender would take this one's mail."""
        return ServerProcess(
            self.env["MICRO_USER_DATABASE_URL"], workdir, {**self.extra_env, **(overrides or {})}
        )

    def start(self) -> ServerProcess:
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "micro_user", "serve", "--port", str(self.port)],
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"micro-user exited at start:\n{self.log()}")
            try:
                if httpx.get(self.base_url + "/ready", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"micro-user did not become ready:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self._log.close()

    def cli(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        """Run the ``micro-user`` command against this server's database (in this process:
        ``tests/support/cli.py``)."""
        from tests.support.cli import run_command

        return run_command(args, self.env, input)
