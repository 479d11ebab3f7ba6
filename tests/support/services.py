"""Real services for the tests: a PostgreSQL database per run, a loopback SMTP server,
and micro-user itself as a separate process speaking real HTTP."""

from __future__ import annotations

import email
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path

import httpx
from aiosmtpd.controller import Controller

POSTGRES_ADMIN_URL = os.environ.get(
    "MICRO_USER_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REQUIRE = {
    part.strip()
    for part in os.environ.get("MICRO_USER_TEST_REQUIRE", "").split(",")
    if part.strip()
}
ADMIN_KEY = "muk_test_admin_" + secrets.token_urlsafe(24)


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
    """A fresh database for one test run, dropped afterwards."""

    def __init__(self) -> None:
        import psycopg
        from psycopg.conninfo import conninfo_to_dict, make_conninfo

        self.name = "micro_user_test_" + secrets.token_hex(6)
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.name}"')
        info = conninfo_to_dict(POSTGRES_ADMIN_URL)
        self.url = f"postgresql://{info.get('user', 'postgres')}@{info.get('host', '127.0.0.1')}:{info.get('port', 5432)}/{self.name}"
        self._make_conninfo = make_conninfo

    def drop(self) -> None:
        import psycopg

        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


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


class SmtpServer:
    def __init__(self) -> None:
        self.mailbox = Mailbox()
        self.port = free_port()
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)
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
            "XDG_DATA_HOME": str(workdir / "xdg"),
            **(extra_env or {}),
        }
        self.process: subprocess.Popen[bytes] | None = None

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
        """Run the ``micro-user`` command against this server's database."""
        return subprocess.run(
            [sys.executable, "-m", "micro_user", *args],
            env=self.env,
            input=input,
            capture_output=True,
            text=True,
            timeout=120,
        )
