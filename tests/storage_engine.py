"""Which database engine the test servers use: ``pytest --engine sqlite|postgres`` (or
$AUDIOROOMS_TEST_ENGINE; default sqlite).

On postgres ($AUDIOROOMS_TEST_PG_URL names the cluster, e.g. one tests/pgcluster.py started)
each test module gets its own database, created when its first server needs it and dropped
when the module ends; each server data folder within it gets its own schema (``hs1``,
``hs2``, ...) that its ``database.url`` selects with ``?search_path=hsN``. A server started
again on the same data folder (a restart) finds its schema again.

The admin statements run through asyncpg on a thread of their own (``asyncio.run``): the
callers are sync fixtures and config builders called from inside pytest-aiohttp's event loop.
"""
from __future__ import annotations

import asyncio
import os
import re
import secrets
import subprocess
import threading
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

ENGINES = ("sqlite", "postgres")
PG_URL_ENV = "AUDIOROOMS_TEST_PG_URL"
CONNECT_TIMEOUT_S = 10


def run_sync(make_coro, timeout: float = 60):
    """Run ``make_coro()`` to completion on a fresh event loop in a thread of its own, so it
    never touches (or is blocked by) the loop the caller may be running in."""
    out: dict = {}

    def target() -> None:
        try:
            out["value"] = asyncio.run(make_coro())
        except BaseException as e:  # noqa: BLE001 - handed to the caller
            out["error"] = e

    t = threading.Thread(target=target, name="pg-admin", daemon=True)
    t.start()
    t.join(timeout)
    if t.is_alive():
        raise TimeoutError(f"PostgreSQL admin statement took over {timeout} s")
    if "error" in out:
        raise out["error"]
    return out.get("value")


def with_database(url: str, dbname: str, search_path: str | None = None) -> str:
    """``url`` pointing at database ``dbname`` (and schema ``search_path``)."""
    parts = urlsplit(url)
    query = f"search_path={search_path}" if search_path else ""
    return urlunsplit((parts.scheme, parts.netloc, "/" + dbname, query, ""))


def quote_ident(name: str) -> str:
    assert re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name), name
    return f'"{name}"'


async def _execute(url: str, *statements: str):
    import asyncpg
    conn = await asyncpg.connect(url, timeout=CONNECT_TIMEOUT_S)
    try:
        result = None
        for sql in statements:
            result = await conn.fetch(sql)
        return result
    finally:
        await conn.close()


def pg_execute(url: str, *statements: str) -> list:
    """Run statements on one connection to ``url``; the last one's rows."""
    return run_sync(lambda: _execute(url, *statements))


def database_name(module: str) -> str:
    """A database name from a test module's name and a random suffix: two runs (or two
    people on one cluster) never share one."""
    base = re.sub(r"[^a-z0-9_]", "_", module.lower().rsplit(".", 1)[-1])[:40]
    return f"t_{base}_{secrets.token_hex(4)}"


class SqliteStorage:
    """Today's storage: one SQLite file in each server's data folder."""

    engine = "sqlite"

    def database_for(self, db_path: Path) -> dict:
        return {"path": str(db_path)}

    def stored_bytes(self, db_path: Path) -> int:
        """What the server whose SQLite file is ``db_path`` keeps: the file and its WAL."""
        return sum(os.path.getsize(p) for p in (str(db_path), f"{db_path}-wal")
                   if os.path.exists(p))

    def dump_into(self, data_dir: Path) -> None:
        """Nothing to do: the database is already a file in the data folder."""

    def close(self) -> None:
        pass


class PostgresModuleStorage:
    """One database for a test module on the cluster at ``admin_url``; a schema per server."""

    engine = "postgres"

    def __init__(self, admin_url: str, module: str):
        self.admin_url, self.module = admin_url, module
        self.dbname: str | None = None
        self.schemas: dict[str, str] = {}  # resolved data folder -> schema name
        self._lock = threading.Lock()

    def _database(self) -> str:
        if self.dbname is None:
            name = database_name(self.module)
            pg_execute(self.admin_url, f"CREATE DATABASE {quote_ident(name)}")
            self.dbname = name
        return self.dbname

    def schema_for(self, data_dir: Path) -> str:
        """The schema of the server whose data folder is ``data_dir`` (made on first use)."""
        key = str(Path(data_dir).resolve())
        with self._lock:
            if key not in self.schemas:
                dbname = self._database()
                schema = f"hs{len(self.schemas) + 1}"
                pg_execute(with_database(self.admin_url, dbname),
                           f"CREATE SCHEMA {quote_ident(schema)}")
                self.schemas[key] = schema
            return self.schemas[key]

    def url_for(self, data_dir: Path) -> str:
        schema = self.schema_for(data_dir)
        assert self.dbname is not None
        return with_database(self.admin_url, self.dbname, schema)

    def database_for(self, db_path: Path) -> dict:
        # ``path`` stays: the media store and the tests find the data folder beside it.
        return {"engine": "postgres", "url": self.url_for(Path(db_path).parent),
                "path": str(db_path)}

    def stored_bytes(self, db_path: Path) -> int:
        """What the server whose data folder holds ``db_path`` keeps: its schema's tables,
        their indexes and TOAST, in bytes."""
        key = str(Path(db_path).parent.resolve())
        if key not in self.schemas:
            return 0
        rows = pg_execute(self.url_for(Path(db_path).parent),
                          "SELECT coalesce(sum(pg_total_relation_size(oid)), 0)::bigint"
                          " FROM pg_class WHERE relnamespace = current_schema()::regnamespace"
                          " AND relkind IN ('r', 'm')")
        return int(rows[0][0])

    def dump_into(self, data_dir: Path) -> None:
        """Write what the schema of the server in ``data_dir`` holds into that folder
        (``pg_dump --data-only`` as text), so a test that scans a server's files for what
        must never be stored (a plaintext) reads the database too."""
        key = str(Path(data_dir).resolve())
        if key not in self.schemas:
            return
        from tests.pgcluster import find_bindir
        parts = urlsplit(with_database(self.admin_url, self._database()))
        out = Path(data_dir) / "postgres-dump.sql"
        with open(out, "wb") as f:
            subprocess.run([str(find_bindir() / "pg_dump"), "--data-only", "--schema",
                            self.schemas[key], urlunsplit(parts)], stdout=f, check=True,
                           timeout=120, stdin=subprocess.DEVNULL)

    def close(self) -> None:
        """Drop the module's database; WITH (FORCE) ends what a killed server left open."""
        if self.dbname is not None:
            pg_execute(self.admin_url, f"DROP DATABASE IF EXISTS {quote_ident(self.dbname)}"
                       " WITH (FORCE)")
            self.dbname = None
            self.schemas.clear()


_current: SqliteStorage | PostgresModuleStorage = SqliteStorage()


def current() -> SqliteStorage | PostgresModuleStorage:
    """The storage of the test module running now (tests/conftest.py sets it per module)."""
    return _current


def set_current(storage: SqliteStorage | PostgresModuleStorage) -> None:
    global _current
    _current = storage


def database_config(db_path: Path, override: dict | None = None) -> dict:
    """The ``database`` section of a test server's config whose SQLite file would be
    ``db_path``: on the current engine, unless ``override`` names its engine or URL."""
    override = override or {}
    if "engine" in override or "url" in override:
        return dict(override)
    return {**current().database_for(Path(override.get("path") or db_path)),
            **{k: v for k, v in override.items() if k != "path"}}


def select_engine(config: pytest.Config) -> str:
    engine = config.getoption("engine") or os.environ.get("AUDIOROOMS_TEST_ENGINE") or "sqlite"
    if engine not in ENGINES:
        raise pytest.UsageError(f"--engine / AUDIOROOMS_TEST_ENGINE: {engine!r} is not one of"
                                f" {', '.join(ENGINES)}")
    if engine == "postgres" and not os.environ.get(PG_URL_ENV):
        raise pytest.UsageError(
            f"--engine postgres needs {PG_URL_ENV}=postgresql://user@host:port/db (a cluster"
            " where the tests may create databases; tests/pgcluster.py starts one)")
    return engine


def pg_url() -> str:
    return os.environ[PG_URL_ENV]


_reachable: dict[str, BaseException | None] = {}


def check_reachable(url: str) -> None:
    """Fail (never skip) when the cluster the tests were told to use does not answer: a
    postgres run that quietly ran nothing would look like a green one. Checked once."""
    if url not in _reachable:
        try:
            pg_execute(url, "SELECT 1")
            _reachable[url] = None
        except Exception as e:  # noqa: BLE001 - reported below
            _reachable[url] = e
    if _reachable[url] is not None:
        pytest.fail(f"PostgreSQL at {url} ({PG_URL_ENV}) is unreachable: {_reachable[url]!r}",
                    pytrace=False)


def postgres_url_or_skip() -> str:
    """For tests that need PostgreSQL whatever the engine (several processes, port-db): the
    cluster's URL. Without one they are skipped naming the reason, unless
    AUDIOROOMS_REQUIRE_PG=1 (as CI sets) makes that a failure."""
    url = os.environ.get(PG_URL_ENV)
    if not url:
        reason = f"PostgreSQL tests need {PG_URL_ENV} (tests/pgcluster.py starts a cluster)"
        if os.environ.get("AUDIOROOMS_REQUIRE_PG") == "1":
            pytest.fail(f"PostgreSQL required but {reason}", pytrace=False)
        pytest.skip(reason)
    check_reachable(url)
    return url


def follow_engine(generated: str) -> str:
    """A config file ``homeserver generate-config`` printed, on the current engine: unchanged
    on SQLite; on postgres its database section names this data folder's schema."""
    if current().engine == "sqlite":
        return generated
    import yaml
    cfg = yaml.safe_load(generated)
    cfg["database"] = database_config(Path(cfg["database"]["path"]))
    return yaml.safe_dump(cfg, sort_keys=False)
