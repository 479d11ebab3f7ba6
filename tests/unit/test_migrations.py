"""Migrations create exactly the schema the code expects, and are safe to run again."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine

from micro_user.storage.migrate import current_revision, head_revision, upgrade
from micro_user.storage.tables import metadata


def test_upgrade_is_idempotent_and_matches_the_tables(tmp_path):
    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url)
    upgrade(url)
    assert current_revision(url) == head_revision()
    engine = create_engine(url)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    engine.dispose()


def test_a_plain_postgresql_url_works(postgres_url):
    upgrade(postgres_url)
    assert current_revision(postgres_url) == head_revision()
    engine = create_engine(postgres_url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    engine.dispose()
