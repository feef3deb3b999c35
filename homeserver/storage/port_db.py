"""``homeserver port-db``: copy a SQLite server's database into PostgreSQL.

The operator stops the server, points a config with ``database.engine: postgres`` at a new,
empty PostgreSQL database and runs ``homeserver port-db --config PG.yaml --sqlite OLD.db``.

- The source is opened read-only, under the same lock ``homeserver run`` takes beside the file,
  so a server cannot start on it (or still be running on it) while it is copied. Its schema
  must be this version's: an older one is upgraded by running the server on it once first.
- The target's schema comes from ``open_database``: the same numbered migrations the server
  runs. A target that already holds rows anywhere is refused (never merged into).
- Every table the migrations made on SQLite is copied (sqlite's own tables, the full-text
  index and its shadow tables, and views are not: they are derived), in batches, tables
  another table refers to first, with triggers off (they keep derived tables in step with
  new rows; the derived rows are copied as they are). Sequences behind serial/identity
  columns are moved past the copied values.
- The whole copy is ONE PostgreSQL transaction, checked (row counts per table) before it
  commits: a failure or an interruption leaves the target as empty as it was, and running
  port-db again is the retry. (If in doubt: drop and recreate the database, then rerun.)

This is tooling, so it talks to asyncpg itself rather than through the stores.
"""
from __future__ import annotations

import asyncio
import sqlite3
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import quote, urlsplit, urlunsplit

from ..config import Config
from .migrations import MIGRATIONS

BATCH_ROWS = 5000
BAR_WIDTH = 30
REDRAW_S = 0.1  # progress redraw on a terminal
LINE_EVERY_S = 5.0  # progress line on a pipe or file (long tables)
# Tables with their own life on each engine: never copied, never counted as data.
NOT_COPIED = {"schema_migrations"}


class PortError(Exception):
    """The port did not happen (or was rolled back); the message says why and what to do."""


@dataclass
class TableCopy:
    name: str
    columns: list[str]
    source_rows: int = 0
    target_rows: int = -1
    seconds: float = 0.0
    nul_stripped: int = 0
    refers_to: set[str] = field(default_factory=set)


def redact(url: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    return urlunsplit(parts._replace(netloc=netloc[0].split(":")[0] + ":***@" + netloc[1]))


def current_schema_version() -> int:
    return max(v for v, _ in MIGRATIONS)


# -- the source ------------------------------------------------------------------------------

def open_source(path: str) -> sqlite3.Connection:
    p = Path(path)
    if not p.is_file():
        raise PortError(f"no SQLite database at {path}")
    uri = "file:" + quote(str(p.resolve())) + "?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True, isolation_level=None)
        conn.execute("PRAGMA query_only=1")
        conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
    except sqlite3.Error as e:
        raise PortError(f"{path}: cannot read it as a SQLite database: {e}") from None
    return conn


def check_source_version(src: sqlite3.Connection, path: str) -> int:
    try:
        done = {r[0] for r in src.execute("SELECT version FROM schema_migrations")}
    except sqlite3.Error:
        raise PortError(f"{path} is not a homeserver database (no schema_migrations)") from None
    want = {v for v, _ in MIGRATIONS}
    have = max(done, default=0)
    if have > current_schema_version() or done - want:
        raise PortError(
            f"{path} has schema version {have}, newer than this homeserver's"
            f" ({current_schema_version()}): run port-db from the version that wrote it")
    if done != want:
        raise PortError(
            f"{path} has schema version {have}; this homeserver's is"
            f" {current_schema_version()}. Upgrade it first: run this version's server on it"
            " once (homeserver run --config OLD_CONFIG), stop it, then run port-db again")
    return have


def check_server_name(src: sqlite3.Connection, path: str, server_name: str) -> None:
    """The users table holds this server's own accounts only: their server name must be the
    config's, or every event, room and signature copied would belong to another server."""
    row = src.execute("SELECT user_id FROM users LIMIT 1").fetchone()
    if row and isinstance(row[0], str) and ":" in row[0]:
        theirs = row[0].split(":", 1)[1]
        if theirs != server_name:
            raise PortError(f"{path} is the database of server {theirs!r}, but the config's"
                            f" server_name is {server_name!r}: a server cannot change its name;"
                            " use the old server's config with only database: changed")


def source_tables(src: sqlite3.Connection) -> dict[str, TableCopy]:
    """The ordinary tables of the schema: not SQLite's own, not virtual tables (the full-text
    index) nor their shadow tables, not views."""
    out: dict[str, TableCopy] = {}
    for schema, name, kind, *_ in src.execute("PRAGMA table_list"):
        if schema != "main" or kind != "table" or name.startswith("sqlite_") \
                or name in NOT_COPIED:
            continue
        cols = [r[1] for r in src.execute(f"PRAGMA table_info({qi(name)})")]
        refs = {r[2] for r in src.execute(f"PRAGMA foreign_key_list({qi(name)})")}
        out[name] = TableCopy(name, cols, refers_to=refs - {name})
    return out


def sqlite_sequences(src: sqlite3.Connection) -> dict[str, int]:
    """AUTOINCREMENT high-water marks: values handed out once stay used, even if their rows
    were deleted since (e.g. a delivered federation_outbox entry)."""
    try:
        return {n: int(s) for n, s in src.execute("SELECT name, seq FROM sqlite_sequence")}
    except sqlite3.Error:
        return {}


def qi(name: str) -> str:
    """A quoted identifier (same syntax on both engines)."""
    return '"' + name.replace('"', '""') + '"'


def dependency_order(tables: dict[str, TableCopy]) -> list[str]:
    """Tables others refer to (foreign keys) before those referring to them; otherwise by
    name, so runs are repeatable."""
    order: list[str] = []
    placed: set[str] = set()
    pending = sorted(tables)
    while pending:
        ready = [t for t in pending if tables[t].refers_to & set(tables) <= placed]
        if not ready:
            raise PortError(f"foreign keys between {', '.join(pending)} form a cycle")
        order += ready
        placed.update(ready)
        pending = [t for t in pending if t not in placed]
    return order


# -- values ----------------------------------------------------------------------------------

class Convert:
    """SQLite values (dynamically typed) as the PostgreSQL column's type wants them."""

    def __init__(self, table: TableCopy):
        self.table = table

    def for_type(self, column: str, pg_type: str) -> Callable[[Any], Any]:
        def fail(value: Any, want: str) -> PortError:
            return PortError(f"{self.table.name}.{column}: {str(value)[:80]!r} is not"
                             f" {want} (PostgreSQL column type {pg_type})")

        def to_int(v: Any) -> Any:
            if v is None or type(v) is int:
                return v
            if isinstance(v, float) and v.is_integer():
                return int(v)
            if isinstance(v, str) and v.strip().lstrip("-").isdigit():
                return int(v)
            raise fail(v, "an integer")

        def to_float(v: Any) -> Any:
            if v is None or isinstance(v, float):
                return v
            try:
                return float(v)
            except (TypeError, ValueError):
                raise fail(v, "a number") from None

        def to_bytes(v: Any) -> Any:
            if v is None or isinstance(v, bytes):
                return v
            if isinstance(v, str):
                return v.encode()
            raise fail(v, "bytes")

        def to_text(v: Any) -> Any:
            if v is None:
                return v
            if isinstance(v, bytes):
                try:
                    v = v.decode()
                except UnicodeDecodeError:
                    raise fail(v, "UTF-8 text") from None
            elif not isinstance(v, str):
                v = str(v)
            if "\x00" in v:  # PostgreSQL text cannot hold NUL; SQLite's can
                self.table.nul_stripped += 1
                v = v.replace("\x00", "")
            return v

        def to_bool(v: Any) -> Any:
            return v if v is None else bool(to_int(v))

        if pg_type in ("bigint", "integer", "smallint"):
            return to_int
        if pg_type in ("double precision", "real"):
            return to_float
        if pg_type == "bytea":
            return to_bytes
        if pg_type == "boolean":
            return to_bool
        if pg_type in ("text", "character varying", "character", "json", "jsonb"):
            return to_text
        return lambda v: v


# -- the target ------------------------------------------------------------------------------

async def target_columns(conn: Any) -> dict[str, dict[str, str]]:
    rows = await conn.fetch(
        "SELECT c.table_name, c.column_name, c.data_type FROM information_schema.columns c"
        " JOIN information_schema.tables t ON t.table_schema = c.table_schema"
        " AND t.table_name = c.table_name"
        " WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'"
        " ORDER BY c.table_name, c.ordinal_position")
    out: dict[str, dict[str, str]] = {}
    for r in rows:
        out.setdefault(r["table_name"], {})[r["column_name"]] = r["data_type"]
    return out


async def target_references(conn: Any) -> dict[str, set[str]]:
    rows = await conn.fetch(
        "SELECT c.conrelid::regclass::text AS t, c.confrelid::regclass::text AS r"
        " FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace"
        " WHERE c.contype = 'f' AND n.nspname = current_schema()")
    out: dict[str, set[str]] = {}
    for r in rows:
        out.setdefault(r["t"].strip('"'), set()).add(r["r"].strip('"'))
    return out


async def tables_with_rows(conn: Any, names: Iterable[str]) -> list[str]:
    return [t for t in sorted(names)
            if await conn.fetchval(f"SELECT EXISTS (SELECT 1 FROM {qi(t)})")]


async def advance_sequences(conn: Any, tables: Iterable[str], columns: dict[str, dict[str, str]],
                            high_water: dict[str, int]) -> list[str]:
    """Every sequence owned by a copied column (serial, identity) continues after the largest
    value copied (or SQLite's AUTOINCREMENT mark, whichever is larger)."""
    moved = []
    for t in tables:
        for col in columns[t]:
            seq = await conn.fetchval("SELECT pg_get_serial_sequence($1, $2)", qi(t), col)
            if seq is None:
                continue
            top = await conn.fetchval(f"SELECT MAX({qi(col)}) FROM {qi(t)}")
            top = max(int(top or 0), high_water.get(t, 0))
            if top > 0:
                await conn.execute("SELECT setval($1::regclass, $2, true)", seq, top)
                moved.append(f"{seq} -> {top}")
    return moved


# -- progress --------------------------------------------------------------------------------

class Progress:
    """One table's bar on stderr: redrawn in place on a terminal, a line now and then (and at
    the end) otherwise."""

    def __init__(self, out: TextIO, name: str, total: int, name_width: int):
        self.out, self.name, self.total = out, name.ljust(name_width), total
        self.tty = out.isatty()
        self.started = self.last = time.monotonic()

    def line(self, done: int) -> str:
        frac = done / self.total if self.total else 1.0
        fill = int(BAR_WIDTH * frac)
        rate = done / max(time.monotonic() - self.started, 1e-6)
        return (f"{self.name} [{'#' * fill}{'.' * (BAR_WIDTH - fill)}]"
                f" {done:>10,}/{self.total:,} {100 * frac:5.1f}% {rate:>9,.0f} rows/s")

    def update(self, done: int) -> None:
        now = time.monotonic()
        if now - self.last < (REDRAW_S if self.tty else LINE_EVERY_S):
            return
        self.last = now
        self.out.write(("\r" if self.tty else "") + self.line(done) + ("" if self.tty else "\n"))
        self.out.flush()

    def finish(self, done: int) -> None:
        self.out.write(("\r" if self.tty else "") + self.line(done) + "\n")
        self.out.flush()


# -- the port --------------------------------------------------------------------------------

def port_db(config: Config, sqlite_path: str, *, lock: Callable[[str], object],
            progress: TextIO = sys.stderr, say: Callable[[str], None] = print,
            batch: int = BATCH_ROWS) -> dict[str, TableCopy]:
    """Copy the SQLite database at ``sqlite_path`` into the PostgreSQL database of ``config``.
    ``lock`` takes the running server's lock on the file (raising PortError if it is held)
    and returns something with ``close()``."""
    db = config.database
    if db.engine != "postgres" or not db.url:
        raise PortError(
            f"the config's database.engine is {db.engine!r}: port-db copies INTO PostgreSQL,"
            " so --config is the config the server will run with on PostgreSQL"
            " (database.engine: postgres, database.url: postgresql://user:pass@host/db)")
    if not Path(sqlite_path).is_file():
        raise PortError(f"no SQLite database at {sqlite_path}")
    held = lock(sqlite_path)
    try:
        src = open_source(sqlite_path)
        try:
            version = check_source_version(src, sqlite_path)
            check_server_name(src, sqlite_path, config.server_name)
            say(f"port-db: {sqlite_path} (schema version {version}) -> PostgreSQL"
                f" {redact(db.url)}")
            prepare_target(config)
            src.execute("BEGIN")  # one snapshot of the source for counts and rows alike
            tables = source_tables(src)
            high_water = sqlite_sequences(src)
            for t in tables.values():
                t.source_rows = src.execute(f"SELECT COUNT(*) FROM {qi(t.name)}").fetchone()[0]
            return asyncio.run(copy_all(src, db.url, tables, high_water, progress, say, batch))
        finally:
            src.close()
    finally:
        if held is not None:
            held.close()  # type: ignore[attr-defined]


def prepare_target(config: Config) -> None:
    """The schema on PostgreSQL, by the server's own migrations."""
    from .database import open_database

    try:
        target = open_database(config.database)
    except Exception as e:  # noqa: BLE001 - any failure to reach or migrate: say it plainly
        raise PortError(f"cannot open PostgreSQL at {redact(config.database.url or '')}:"
                        f" {type(e).__name__}: {e}") from None
    try:
        if target.schema_version != current_schema_version():
            raise PortError(f"PostgreSQL schema version {target.schema_version}, expected"
                            f" {current_schema_version()}")
    finally:
        target.close()


async def copy_all(src: sqlite3.Connection, url: str, tables: dict[str, TableCopy],
                   high_water: dict[str, int], progress: TextIO, say: Callable[[str], None],
                   batch: int) -> dict[str, TableCopy]:
    import asyncpg

    try:
        conn = await asyncpg.connect(url)
    except (OSError, asyncpg.PostgresError) as e:
        raise PortError(f"cannot connect to PostgreSQL at {redact(url)}: {e}") from None
    try:
        encoding = await conn.fetchval("SHOW server_encoding")
        if encoding != "UTF8":
            raise PortError(f"the PostgreSQL database's encoding is {encoding}: events and names"
                            " are Unicode; create it with createdb --encoding=UTF8 --locale=C"
                            " --template=template0")
        columns = await target_columns(conn)
        missing = sorted(set(tables) - set(columns))
        if missing:
            raise PortError(f"tables missing on PostgreSQL after its migrations: {missing}")
        for t in tables.values():
            lost = [c for c in t.columns if c not in columns[t.name]]
            if lost:
                raise PortError(f"{t.name}: columns {lost} missing on PostgreSQL")
        full = await tables_with_rows(conn, set(columns) - NOT_COPIED)
        if full:
            more = f" and {len(full) - 8} more" if len(full) > 8 else ""
            raise PortError(
                "the PostgreSQL database is not empty (rows in " + ", ".join(full[:8]) + more
                + "):"
                " port-db copies into a new database only. Drop and recreate it (e.g."
                " dropdb NAME; createdb NAME), then run port-db again")
        for name, refs in (await target_references(conn)).items():
            if name in tables:
                tables[name].refers_to |= refs - {name}
        order = dependency_order(tables)
        started = time.monotonic()
        width = max(len(n) for n in order)
        try:
            async with conn.transaction():
                for name in order:
                    await copy_table(src, conn, tables[name], columns[name], progress, width,
                                     batch)
                moved = await advance_sequences(conn, order, columns, high_water)
                for name in order:
                    tables[name].target_rows = await conn.fetchval(
                        f"SELECT COUNT(*) FROM {qi(name)}")
                wrong = [t for t in tables.values() if t.target_rows != t.source_rows]
                if wrong:
                    raise PortError("row counts differ after the copy (rolled back): " + ", ".join(
                        f"{t.name} {t.source_rows} vs {t.target_rows}" for t in wrong))
        except asyncpg.PostgresError as e:
            raise PortError(f"PostgreSQL refused the copy ({type(e).__name__}: {e}); nothing"
                            " was committed, the database is as empty as before") from None
        summarize(tables, order, moved, time.monotonic() - started, say)
        return tables
    finally:
        await conn.close()


async def copy_table(src: sqlite3.Connection, conn: Any, table: TableCopy,
                     pg_types: dict[str, str], progress: TextIO, width: int,
                     batch: int) -> None:
    began = time.monotonic()
    bar = Progress(progress, table.name, table.source_rows, width)
    convert = Convert(table)
    funcs = [convert.for_type(c, pg_types[c]) for c in table.columns]
    # Triggers keep derived rows in step with new ones; the derived rows are copied as they
    # are, so they stay off during the copy (back on when it commits).
    await conn.execute(f"ALTER TABLE {qi(table.name)} DISABLE TRIGGER USER")
    cols = ", ".join(qi(c) for c in table.columns)
    cur = src.execute(f"SELECT {cols} FROM {qi(table.name)}")
    done = 0
    while True:
        rows = cur.fetchmany(batch)
        if not rows:
            break
        records = [tuple(f(v) for f, v in zip(funcs, row, strict=True)) for row in rows]
        await conn.copy_records_to_table(table.name, records=records, columns=table.columns)
        done += len(records)
        bar.update(done)
    bar.finish(done)
    await conn.execute(f"ALTER TABLE {qi(table.name)} ENABLE TRIGGER USER")
    table.seconds = time.monotonic() - began


def summarize(tables: dict[str, TableCopy], order: list[str], moved: list[str],
              seconds: float, say: Callable[[str], None]) -> None:
    width = max(len(n) for n in order)
    say(f"{'table'.ljust(width)} {'sqlite rows':>12} {'postgres rows':>14}")
    for name in order:
        t = tables[name]
        say(f"{name.ljust(width)} {t.source_rows:>12,} {t.target_rows:>14,}"
            f"{'  ok' if t.source_rows == t.target_rows else '  MISMATCH'}")
    total = sum(t.source_rows for t in tables.values())
    for t in tables.values():
        if t.nul_stripped:
            say(f"note: {t.name}: {t.nul_stripped} values had NUL characters, which PostgreSQL"
                " text cannot hold; they were removed")
    if moved:
        say("sequences: " + ", ".join(moved))
    say(f"port-db: copied {total:,} rows in {len(order)} tables in {seconds:.1f} s; row counts"
        " match. Start the server with this config (media files stay where media_repository"
        ".store_path points).")
