"""Schema migrations with Alembic, run by ``micro-user migrate`` and at start.

Several instances may start at once on one PostgreSQL: a transaction-level
advisory lock makes them take turns, so each finds the schema either
untouched or complete.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from micro_user.storage.database import configure_sqlite, ensure_sqlite_dir, is_sqlite, parse_url

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# An arbitrary constant that names "micro-user schema migration" among advisory locks.
ADVISORY_LOCK_ID = 0x6D75_7365


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def upgrade(raw_url: str, revision: str = "head") -> None:
    url = parse_url(raw_url)
    ensure_sqlite_dir(url)
    engine = create_engine(url, poolclass=NullPool)
    if is_sqlite(url):
        configure_sqlite(engine)
    config = _config()
    try:
        # On SQLite an immediate transaction: processes migrating at once take turns.
        with engine.execution_options(sqlite_immediate=True).begin() as conn:
            if not is_sqlite(url):
                conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": ADVISORY_LOCK_ID})
            config.attributes["connection"] = conn
            command.upgrade(config, revision)
    finally:
        engine.dispose()


def current_revision(raw_url: str) -> str | None:
    url = parse_url(raw_url)
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(_config()).get_current_head()
