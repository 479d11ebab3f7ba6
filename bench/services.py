"""What a benchmark runs against: a database, the accounts import and ``micro-user serve``.

Everything here is started by the benchmark and stopped by it, also on failure:
servers are terminated, PostgreSQL databases (named ``micro_user_bench_*``)
are dropped.
"""

from __future__ import annotations

import base64
import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

from bench.driver import Connection, DriverError, Target, run_async

ADMIN_KEY = "muk_bench_admin_" + secrets.token_urlsafe(24)
# PostgreSQL needs a configured key-encryption key (SQLite makes its own next to the file).
KEY_ENCRYPTION_KEY = base64.b64encode(secrets.token_bytes(32)).decode()
POSTGRES_ADMIN_URL = os.environ.get(
    "MICRO_USER_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)
START_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env(database_url: str, workdir: Path, workers: int = 1) -> dict[str, str]:
    """The environment of every micro-user process of a run: ours, minus inherited settings.

    All load comes from 127.0.0.1, so the per-address login limit is lifted (abuse
    protection stays on: its counters are part of what a Login costs). Everything else
    stays at the server's defaults (pool size, hash threads, key cache).
    """
    env = {key: value for key, value in os.environ.items() if not key.startswith("MICRO_USER_")}
    env.update(
        MICRO_USER_DATABASE_URL=database_url,
        MICRO_USER_ADMIN_KEY=ADMIN_KEY,
        MICRO_USER_KEY_ENCRYPTION_KEY=KEY_ENCRYPTION_KEY,
        MICRO_USER_LOG_LEVEL="warning",
        MICRO_USER_WORKERS=str(workers),
        MICRO_USER_LOGIN_PER_ADDRESS_PER_MINUTE=str(10**9),
        MICRO_USER_LOGIN_PER_ACCOUNT_PER_MINUTE=str(10**9),
        MICRO_USER_LOCKOUT_THRESHOLD=str(10**9),
        MICRO_USER_BEARER_FAILURES_PER_ADDRESS_PER_MINUTE=str(10**9),
        XDG_DATA_HOME=str(workdir / "xdg"),
    )
    return env


def micro_user(*args: str) -> list[str]:
    """The command line of ``micro-user`` with this interpreter (the project's venv)."""
    return [sys.executable, "-m", "micro_user", *args]


def import_accounts(path: Path, env: dict[str, str]) -> float:
    """``micro-user import path``; returns the seconds it took (migrating included)."""
    started = time.perf_counter()
    done = subprocess.run(
        micro_user("import", str(path)),
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"micro-user import failed ({done.returncode}):\n{done.stderr}")
    return time.perf_counter() - started


class PostgresDatabase:
    """A fresh PostgreSQL database for one run, dropped by ``drop``."""

    def __init__(self, admin_url: str = POSTGRES_ADMIN_URL) -> None:
        from psycopg.conninfo import conninfo_to_dict

        self.admin_url = admin_url
        self.name = "micro_user_bench_" + secrets.token_hex(6)
        info = conninfo_to_dict(admin_url)
        user, host = info.get("user", "postgres"), info.get("host", "127.0.0.1")
        self.url = f"postgresql://{user}@{host}:{info.get('port', 5432)}/{self.name}"
        self.created = False

    @staticmethod
    def unavailable(admin_url: str = POSTGRES_ADMIN_URL) -> str | None:
        """None when PostgreSQL answers, else why it does not."""
        import psycopg

        try:
            with psycopg.connect(admin_url, connect_timeout=3):
                return None
        except psycopg.OperationalError as exc:
            return (
                f"PostgreSQL at {admin_url} is not reachable ({str(exc).strip().splitlines()[0]})"
            )

    def create(self) -> PostgresDatabase:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.name}"')
        self.created = True
        return self

    def drop(self) -> None:
        import psycopg

        if not self.created:
            return
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        self.created = False


class Server:
    """``micro-user serve`` in a subprocess on a free loopback port, its log in a file."""

    def __init__(self, env: dict[str, str], workdir: Path) -> None:
        self.env = env
        self.port = free_port()
        self.target = Target("127.0.0.1", self.port, ADMIN_KEY)
        self.log_path = workdir / f"server-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def start(self) -> Server:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                micro_user("serve", "--port", str(self.port)),
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"micro-user exited at start:\n{self.log_tail()}")
            if self._ready():
                return self
            time.sleep(0.1)
        raise RuntimeError(f"micro-user did not become ready:\n{self.log_tail()}")

    def _ready(self) -> bool:
        async def probe() -> bool:
            connection = Connection(self.target)
            try:
                status, _ = await connection.call("GET", "/ready")
                return status == 200
            except (OSError, DriverError):
                return False
            finally:
                connection.close()

        return run_async(probe())

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
