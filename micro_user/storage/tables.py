"""The schema, in SQLAlchemy Core. Migrations in ``migrations/versions`` create exactly this.

Every row carries its namespace; every unique constraint includes it, so
nothing is shared or visible across namespaces. Usernames and emails are
stored lower-cased, which makes the plain unique constraints case-insensitive.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

accounts = Table(
    "accounts",
    metadata,
    Column("namespace", String(64), nullable=False),
    Column("id", String(128), nullable=False),
    Column("username", String(128), nullable=True),
    Column("email", String(254), nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("created", BigInteger, nullable=False),
    Column("updated", BigInteger, nullable=False),
    Column("verified", Boolean, nullable=False, default=False),
    Column("verification_date", BigInteger, nullable=False, default=0),
    Column("profile", Text, nullable=False, default="{}"),
    PrimaryKeyConstraint("namespace", "id"),
    UniqueConstraint("namespace", "username"),
    UniqueConstraint("namespace", "email"),
    Index(None, "namespace", "created", "id"),
)

sessions = Table(
    "sessions",
    metadata,
    # SHA-256 of the session id the client holds; the id itself is never stored.
    Column("token_hash", String(64), primary_key=True),
    Column("namespace", String(64), nullable=False),
    Column("account_id", String(128), nullable=False),
    Column("created", BigInteger, nullable=False),
    Column("expires", BigInteger, nullable=False),
    ForeignKeyConstraint(
        ["namespace", "account_id"],
        ["accounts.namespace", "accounts.id"],
        ondelete="CASCADE",
        onupdate="CASCADE",
    ),
    Index(None, "namespace", "account_id"),
    Index(None, "expires"),
)

# Email verification tokens, password reset codes and magic-link tokens.
one_time_tokens = Table(
    "one_time_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("purpose", String(16), nullable=False),
    Column("namespace", String(64), nullable=False),
    Column("account_id", String(128), nullable=False),
    # The address the mail went to: a verification only counts while it is still the account's.
    Column("email", String(254), nullable=False),
    Column("created", BigInteger, nullable=False),
    Column("expires", BigInteger, nullable=False),
    Column("used_at", BigInteger, nullable=True),
    Column("redirect_url", Text, nullable=False, default=""),
    Column("failure_redirect_url", Text, nullable=False, default=""),
    ForeignKeyConstraint(
        ["namespace", "account_id"],
        ["accounts.namespace", "accounts.id"],
        ondelete="CASCADE",
        onupdate="CASCADE",
    ),
    Index(None, "namespace", "account_id", "purpose"),
    Index(None, "expires"),
)

# Failed guesses of reset codes, per account: past the limit every open code is void.
reset_attempts = Table(
    "reset_attempts",
    metadata,
    Column("namespace", String(64), nullable=False),
    Column("account_id", String(128), nullable=False),
    Column("failures", Integer, nullable=False, default=0),
    PrimaryKeyConstraint("namespace", "account_id"),
    ForeignKeyConstraint(
        ["namespace", "account_id"],
        ["accounts.namespace", "accounts.id"],
        ondelete="CASCADE",
        onupdate="CASCADE",
    ),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("namespace", String(64), nullable=False),
    Column("name", String(128), nullable=False, default=""),
    # SHA-256 of the whole key; the key is shown once and never stored.
    Column("secret_hash", String(64), nullable=False, unique=True),
    # The first characters of the key, so that an operator can recognise it in a list.
    Column("hint", String(16), nullable=False),
    Column("created", BigInteger, nullable=False),
    Column("revoked", BigInteger, nullable=True),
    Index(None, "namespace"),
)
