"""What a database failure means, said in words an operator acts on and without the
statement or its parameters (which can hold digests, hints and personal data)."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError

# SQLite's primary result codes (extended codes share the prefix: SQLITE_READONLY_DBMOVED).
_SQLITE = {
    "SQLITE_FULL": "the disk is full",
    "SQLITE_READONLY": "the database file is read-only",
    "SQLITE_IOERR": "a disk I/O error",
    "SQLITE_CANTOPEN": "the database file cannot be opened",
    "SQLITE_BUSY": "another process held the write lock too long",
    "SQLITE_LOCKED": "another process held the write lock too long",
    "SQLITE_CORRUPT": "the database file is damaged",
    "SQLITE_NOTADB": "the file is not an SQLite database",
    "SQLITE_PERM": "the database file may not be written",
}
# PostgreSQL SQLSTATE codes, then classes (the first two characters).
_POSTGRES = {
    "53100": "the database server's disk is full",
    "53200": "the database server is out of memory",
    "53300": "the database server has too many connections",
    "25006": "the database is read-only (a standby, or default_transaction_read_only)",
    "57P01": "the database server is shutting down",
    "57P02": "the database server is shutting down",
    "57P03": "the database server is starting up",
    "08": "the connection to the database failed",
    "40": "a transaction conflict (serialization failure or deadlock)",
    "42": "the schema is not what this version expects (run micro-user migrate)",
}
# What means "the database answers but cannot keep a write".
UNWRITABLE = frozenset(
    {
        "the disk is full",
        "the database file is read-only",
        "the database file may not be written",
        "the database server's disk is full",
        _POSTGRES["25006"],
    }
)


# Less free space than this beside an SQLite file counts as a full disk for readiness.
MIN_FREE_BYTES = 1 << 20


class DiskFull(Exception):
    """The SQLite file's disk has less than ``MIN_FREE_BYTES`` free."""

    def __init__(self, free: int) -> None:
        super().__init__(f"{free} bytes free")
        self.free = free


def describe(exc: BaseException) -> str:
    """One short phrase: what is wrong with the database, e.g. "the disk is full"."""
    if isinstance(exc, DiskFull):
        return _SQLITE["SQLITE_FULL"]
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    name = getattr(orig, "sqlite_errorname", None)
    if isinstance(name, str):
        for prefix, meaning in _SQLITE.items():
            if name == prefix or name.startswith(prefix + "_"):
                return meaning
        return f"SQLite {name}"
    state = getattr(orig, "sqlstate", None)
    if isinstance(state, str) and state:
        known = _POSTGRES.get(state) or _POSTGRES.get(state[:2])
        return known or f"{type(orig).__name__} (SQLSTATE {state})"
    if type(orig).__module__.startswith("psycopg"):
        # No SQLSTATE: the connection itself failed; psycopg's first line names the server
        # and the reason, never a statement.
        first = str(orig).strip().splitlines()
        return first[0] if first else "the connection to the database failed"
    return type(orig).__name__


def unwritable(exc: BaseException) -> bool:
    """Whether the failure says the database answers but cannot keep a write."""
    return describe(exc) in UNWRITABLE
