"""The SQLite database: WAL mode, numbered migrations recorded in the database.

Durability: every write method of a store commits before it returns, so a request that answered
success is on disk in the WAL. ``synchronous=NORMAL`` keeps commits cheap; in WAL mode that is
still durable against the process being killed (SIGKILL), which is what a server crash is. Power
loss may lose the last transactions; operators who need that set ``synchronous=FULL``.
"""
from __future__ import annotations

import sqlite3
import time
from contextlib import contextmanager
from pathlib import Path

from .migrations import MIGRATIONS


class IntegrityError(sqlite3.IntegrityError):
    """A constraint violation, on either engine (sqlite3's own is a superclass)."""


def open_database(cfg):
    """The database ``cfg`` (a DatabaseConfig) names: the embedded SQLite file, or the
    PostgreSQL server."""
    if cfg.engine == "postgres":
        from .postgres import PostgresDatabase
        return PostgresDatabase(cfg.url, pool_size=cfg.pool_size)
    return Database(cfg.path)


class Database:
    """The SQLite engine: one connection on the event loop's thread (its calls are cheap)."""

    engine = "sqlite"

    def __init__(self, path: str | Path):
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: we issue BEGIN/COMMIT ourselves so one request is one transaction.
        self.conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute("PRAGMA foreign_keys=ON")
        self.conn.execute("PRAGMA busy_timeout=5000")
        self._depth = 0
        self._after_commit: list = []
        self.begin_hooks: list = []  # PostgreSQL's catch-up hooks; one process has none to run
        self.migrate()

    def migrate(self) -> None:
        self.conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations "
            "(version INTEGER PRIMARY KEY, applied_ts INTEGER NOT NULL)"
        )
        done = {r[0] for r in self.conn.execute("SELECT version FROM schema_migrations")}
        for version, sql in MIGRATIONS:
            if version in done:
                continue
            with self.transaction():
                for stmt in split_statements(sql):
                    self.conn.execute(stmt)
                self.conn.execute(
                    "INSERT INTO schema_migrations (version, applied_ts) VALUES (?, ?)",
                    (version, int(time.time() * 1000)),
                )

    @property
    def schema_version(self) -> int:
        row = self.conn.execute("SELECT MAX(version) FROM schema_migrations").fetchone()
        return row[0] or 0

    @contextmanager
    def transaction(self):
        """One atomic unit; nested uses join the outer transaction."""
        if self._depth == 0:
            self.conn.execute("BEGIN IMMEDIATE")
        self._depth += 1
        try:
            yield self.conn
        except BaseException:
            self._depth -= 1
            if self._depth == 0:
                self.conn.execute("ROLLBACK")
                self._after_commit = []
            raise
        self._depth -= 1
        if self._depth == 0:
            self.conn.execute("COMMIT")
            hooks, self._after_commit = self._after_commit, []
            for hook in hooks:
                hook()

    def execute(self, sql: str, params=()) -> sqlite3.Cursor:
        return self.conn.execute(sql, params)

    def executemany(self, sql: str, seq) -> sqlite3.Cursor:
        return self.conn.executemany(sql, seq)

    def in_transaction(self) -> bool:
        return self._depth > 0

    def after_commit(self, hook) -> None:
        """Run ``hook`` once the current transaction has committed (now, outside one)."""
        if self._depth == 0:
            hook()
        else:
            self._after_commit.append(hook)

    def notify(self, payload: str) -> None:
        """One process per SQLite file: there is nobody else to tell."""

    def listen(self, callback, reconnected=None) -> None:
        """One process per SQLite file: nobody else writes."""

    def try_lock(self, name: str) -> bool:
        """One process per SQLite file: it owns everything."""
        return True

    def unlock(self, name: str) -> None:
        pass

    def close(self) -> None:
        self.conn.close()


def split_statements(script: str) -> list[str]:
    """The script's statements, each run inside our explicit transaction (executescript would
    COMMIT). Split where SQLite says a statement is complete, so a trigger's body, whose
    statements end in semicolons too, stays one statement."""
    out, buf = [], ""
    for part in script.split(";"):
        buf += part + ";"
        if sqlite3.complete_statement(buf):
            if buf.strip(" \t\n;"):
                out.append(buf.strip())
            buf = ""
    if buf.strip(" \t\n;"):
        out.append(buf.strip())
    return out
