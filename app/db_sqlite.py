"""SQLite settings that let several processes (web, workers) write one database file.

The default rollback journal makes readers and writers block each other and
fails a second writer at once with "database is locked". WAL lets readers run
beside one writer, and the busy timeout makes a writer wait its turn instead of
failing. ``synchronous=NORMAL`` is the documented safe pairing with WAL (a
power cut may lose the last commits, never corrupt the file). PostgreSQL needs
none of this.
"""
from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.engine import Engine

BUSY_TIMEOUT_MS = 30_000


def _set_pragmas(dbapi_connection, connection_record) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
    finally:
        cursor.close()


def configure_sqlite(engine: Engine) -> None:
    """Install the pragmas on every new connection of ``engine`` (no-op for other databases)."""
    if engine.dialect.name == "sqlite" and not event.contains(engine, "connect", _set_pragmas):
        event.listen(engine, "connect", _set_pragmas)
