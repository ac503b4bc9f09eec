"""The databases a benchmark runs on: SQLite always, PostgreSQL too when TEST_DATABASE_URL points at one.

On PostgreSQL each run gets a throwaway database of its own beside
TEST_DATABASE_URL's (created here, dropped by ``Database.drop``), so a
benchmark never touches tables someone else uses.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator
from urllib.parse import urlsplit, urlunsplit


@dataclass
class Database:
    label: str
    url: str
    drop: Callable[[], None] = lambda: None


def databases(work_dir: Path) -> Iterator[Database]:
    """SQLite always; PostgreSQL too when TEST_DATABASE_URL points at one (a database of our own there)."""
    yield Database("SQLite", f"sqlite:///{work_dir / 'bench.db'}")
    test_url = os.environ.get("TEST_DATABASE_URL", "")
    if test_url.startswith(("postgres://", "postgresql://", "postgresql+psycopg://")):
        yield _postgres_database(test_url)


def _postgres_database(test_url: str) -> Database:
    """A throwaway database beside TEST_DATABASE_URL's, so running tests there are not disturbed."""
    import psycopg
    from psycopg import sql

    admin_url = test_url.replace("postgresql+psycopg://", "postgresql://", 1)
    name = f"filmclub_bench_{os.getpid()}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))

    def drop() -> None:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    parts = urlsplit(admin_url)
    return Database("PostgreSQL", urlunsplit(parts._replace(path=f"/{name}")), drop)
