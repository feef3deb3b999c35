"""The PostgreSQL engine: the stores' synchronous calls, served by asyncpg without blocking.

The stores are synchronous (``db.execute(...)``, ``with db.transaction()``), as SQLite calls on
the event loop are cheap. A PostgreSQL round trip is not, so the calling task waits for asyncpg
through greenback: its greenlet is suspended and the server's event loop keeps serving other
requests meanwhile. Tasks get their greenback portal from a task factory the server installs
(``install_portals``) and run their queries on their own loop's pool. A caller without a
portal (start-up code, a test's own task) cannot wait that way: its queries run on a private
thread with its own event loop and pool, and it blocks until they are done, which is correct,
only not concurrent. A transaction's statements all run where it began.

Writes keep SQLite's rule of one writer at a time, across every process of the server: each
transaction takes one PostgreSQL advisory lock before its first statement. So a transaction's
reads and writes see no interleaving writer (the stores' read-modify-write steps stay correct),
and stream positions are committed in the order they were taken (a reader never sees position
N before N-1). Reads outside transactions run concurrently on the pool.

Other processes learn of commits through LISTEN/NOTIFY on one channel (``listen``/``notify``).
"""
from __future__ import annotations

import asyncio
import contextvars
import decimal
import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from typing import Any

import asyncpg
import greenback

from . import database
from .migrations import MIGRATIONS
from .migrations_postgres import COMPAT_FUNCTIONS, postgres_statements
from .sql_dialect import named_args, translate

log = logging.getLogger(__name__)

# Advisory locks belong to the database, not to a schema: their keys name the schema the
# server's tables are in (``search_path``), so two servers sharing a database in separate
# schemas never wait for each other's locks.
WRITE_LOCK = "write"  # held by every write transaction
MIGRATE_LOCK = "migrate"
CHANNEL = "audiorooms"  # + the schema's hash: like locks, channels belong to the database
_READS = ("SELECT", "WITH", "VALUES", "SHOW")


class Result:
    """What ``execute`` returns: sqlite3.Cursor's reading methods over fetched rows."""

    def __init__(self, rows: list[tuple], rowcount: int):
        self._rows = rows
        self._next = 0
        self.rowcount = rowcount
        self.lastrowid = None

    def fetchone(self) -> tuple | None:
        if self._next >= len(self._rows):
            return None
        self._next += 1
        return self._rows[self._next - 1]

    def fetchall(self) -> list[tuple]:
        rows = self._rows[self._next:]
        self._next = len(self._rows)
        return rows

    def __iter__(self) -> Iterator[tuple]:
        return iter(self.fetchall())


def _value(v: Any) -> Any:
    # SQLite gives ints for SUM() and comparisons; PostgreSQL numeric and bool.
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, decimal.Decimal):
        return int(v) if v == v.to_integral_value() else float(v)
    return v


def _row(record) -> tuple:
    return tuple(_value(v) for v in record)


def _rowcount(status: str) -> int:
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else -1


class _Txn:
    """The open transaction of one task: its connection, nesting depth, commit hooks."""

    def __init__(self, conn, task, pool, on_thread: bool):
        self.conn = conn
        self.task = task
        self.pool = pool  # where the connection goes back
        self.on_thread = on_thread  # the connection belongs to the database thread's loop
        self.depth = 0
        self.after_commit: list[Callable[[], None]] = []


_current_txn: contextvars.ContextVar[_Txn | None] = contextvars.ContextVar(
    "audiorooms_pg_txn", default=None)


async def _keep_session(conn) -> None:
    """A connection going back to the pool is not reset (asyncpg's default costs a round trip
    per release, that is per query outside a transaction): nothing here leaves session state
    on a pooled connection (``SET LOCAL`` and transaction-level advisory locks only; LISTEN
    and session-level locks have connections of their own). asyncpg still rolls back a
    transaction left open, before calling this."""

class PostgresDatabase:
    engine = "postgres"

    def __init__(self, url: str, *, pool_size: int = 20):
        self.url = url
        self.path = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="postgres",
                                        daemon=True)
        self._thread.start()
        self._queries: dict[str, tuple[str, list[str] | None]] = {}
        self.primary_keys: dict[str, list[str]] = {}
        self._listen_conn: Any = None
        self._listener: Future | None = None  # keeps the LISTEN connection up
        self._lock_conn: Any = None  # holds this process's session-level advisory locks
        self._schema = ""  # where our tables are: part of every advisory lock's key
        # Run at the start of every outermost transaction, holding the write lock: what other
        # processes committed is all visible then, and nobody commits more until we do.
        self.begin_hooks: list[Callable[[], None]] = []
        self.blocking_waits = 0  # calls that had no portal and blocked their thread
        self._pool_size = pool_size
        # Pools on the server's own loop(s), for tasks with a portal: no thread hop per query.
        self._loop_pools: dict[asyncio.AbstractEventLoop, Any] = {}
        try:
            self._pool = self._wait(self._open_pool(pool_size))
            self.migrate()
        except BaseException:
            self._stop_loop()
            raise

    async def _open_pool(self, size: int):
        return await asyncpg.create_pool(self.url, min_size=0, max_size=size,
                                         statement_cache_size=1000, command_timeout=60,
                                         reset=_keep_session)

    # running coroutines on the database thread ---------------------------------------------

    def _wait(self, coro):
        """Run ``coro`` on the database thread and wait for it (through the portal if the
        caller has one, else blocking)."""
        fut: Future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        if _portal_loop() is not None:
            return greenback.await_(asyncio.wrap_future(fut))
        self.blocking_waits += 1
        return fut.result()

    def _call(self, make, txn: _Txn | None = None):
        """``make(pool)``'s coroutine, run where the caller can wait for it cheapest: a task
        with a portal runs it on its own loop with that loop's pool (no thread hop); anyone
        else on the database thread. A transaction's statements run where it began."""
        if txn is not None:
            if txn.on_thread:
                return self._wait(make(txn.pool))
            return greenback.await_(make(txn.pool))
        loop = _portal_loop()
        if loop is None:
            return self._wait(make(self._pool))
        pool = self._loop_pools.get(loop)
        if pool is None:
            for old in [lp for lp in self._loop_pools if lp.is_closed()]:
                del self._loop_pools[old]
            pool = self._loop_pools[loop] = greenback.await_(self._open_pool(self._pool_size))
        return greenback.await_(make(pool))

    # queries --------------------------------------------------------------------------------

    def _prepare(self, sql: str, params) -> tuple[str, list]:
        cached = self._queries.get(sql)
        if cached is None:
            cached = translate(sql, self.primary_keys)
            if len(self._queries) < 10000:
                self._queries[sql] = cached
        text, names = cached
        if names is not None:
            args = named_args(params, names)
        else:
            args = list(params)
        return text, args

    def _txn(self) -> _Txn | None:
        txn = _current_txn.get()
        if txn is not None and txn.task is not _task():
            return None  # a task started inside a transaction: not its connection
        return txn

    def execute(self, sql: str, params=()) -> Result:
        text, args = self._prepare(sql, params)
        txn = self._txn()
        return self._call(lambda pool: self._run(pool, txn.conn if txn else None, text, args),
                          txn)

    def executemany(self, sql: str, seq) -> Result:
        text, _ = self._prepare(sql, ())
        rows = [self._prepare(sql, p)[1] for p in seq]
        txn = self._txn()
        return self._call(
            lambda pool: self._run_many(pool, txn.conn if txn else None, text, rows), txn)

    async def _run(self, pool, conn, text: str, args: list) -> Result:
        if conn is None:
            async with pool.acquire() as c:
                return await self._run(pool, c, text, args)
        try:
            head = text.lstrip()[:8].upper()
            if head.startswith(_READS) or " RETURNING " in text.upper():
                return Result([_row(r) for r in await conn.fetch(text, *args)], -1)
            return Result([], _rowcount(await conn.execute(text, *args)))
        except asyncpg.IntegrityConstraintViolationError as e:
            raise database.IntegrityError(str(e)) from e
        except asyncpg.PostgresError as e:
            e.add_note(f"in PostgreSQL query: {text}")  # which store query, in the log
            raise

    async def _run_many(self, pool, conn, text: str, rows: list[list]) -> Result:
        if conn is None:
            async with pool.acquire() as c:
                return await self._run_many(pool, c, text, rows)
        try:
            if rows:
                await conn.executemany(text, rows)
        except asyncpg.IntegrityConstraintViolationError as e:
            raise database.IntegrityError(str(e)) from e
        return Result([], len(rows))

    # transactions ---------------------------------------------------------------------------

    @contextmanager
    def transaction(self):
        """One atomic unit holding the server-wide write lock; nested uses join the outer."""
        txn = self._txn()
        if txn is not None:
            txn.depth += 1
            try:
                yield self
            finally:
                txn.depth -= 1
            return
        on_thread = _portal_loop() is None
        pools: list = []

        async def begin(pool):
            pools.append(pool)
            return await self._begin(pool)

        conn = self._call(begin)
        txn = _Txn(conn, _task(), pools[0], on_thread)
        txn.depth = 1
        token = _current_txn.set(txn)
        try:
            for hook in self.begin_hooks:  # e.g. caches catching up with other processes
                hook()
            yield self
        except BaseException:
            _current_txn.reset(token)
            self._call(lambda pool: self._end(pool, conn, "ROLLBACK"), txn)
            raise
        _current_txn.reset(token)
        self._call(lambda pool: self._end(pool, conn, "COMMIT"), txn)
        for hook in txn.after_commit:
            hook()

    async def _begin(self, pool):
        conn = await pool.acquire()
        # A caller without a portal blocks its loop while it waits for the lock; if a task of
        # that loop holds the lock, it can never finish: give up after a while, loudly.
        timeout = "SET LOCAL lock_timeout = '10s'; " if pool is self._pool else ""
        try:
            # one round trip: the key is our own integer, not input
            await conn.execute(f"BEGIN; {timeout}"
                               f"SELECT pg_advisory_xact_lock({int(self._key(WRITE_LOCK))})")
        except BaseException:
            await pool.release(conn)
            raise
        return conn

    async def _end(self, pool, conn, verb: str) -> None:
        try:
            await conn.execute(verb)
        except asyncpg.IntegrityConstraintViolationError as e:  # a deferred constraint
            raise database.IntegrityError(str(e)) from e
        finally:
            await pool.release(conn)

    def in_transaction(self) -> bool:
        return self._txn() is not None

    def after_commit(self, hook: Callable[[], None]) -> None:
        """Run ``hook`` once the current transaction has committed (now, outside one)."""
        txn = self._txn()
        if txn is None:
            hook()
        else:
            txn.after_commit.append(hook)

    # cross-process notifications ------------------------------------------------------------

    def notify(self, payload: str) -> None:
        """Tell the other processes; inside a transaction it is sent when it commits."""
        self.execute("SELECT pg_notify($1, $2)", (self.channel, payload))

    def listen(self, callback: Callable[[str], None],
               reconnected: Callable[[], None] | None = None) -> None:
        """Call ``callback(payload)`` on the caller's event loop for every notification. The
        listening connection is kept up: if it drops (PostgreSQL restarted, a network cut), it
        is opened again and ``reconnected()`` is called, since notifications sent meanwhile
        were lost."""
        loop = asyncio.get_running_loop()

        def deliver(_conn, _pid, _channel, payload):
            loop.call_soon_threadsafe(callback, payload)

        async def connect():
            conn = await asyncpg.connect(self.url)
            await conn.add_listener(self.channel, deliver)
            return conn

        async def keep_up(conn):
            delay = 0.5
            while True:
                lost = asyncio.Event()
                conn.add_termination_listener(lambda _c, lost=lost: lost.set())
                self._listen_conn = conn
                await lost.wait()
                log.warning("the LISTEN connection to PostgreSQL dropped; reconnecting")
                while True:
                    try:
                        conn = await connect()
                        break
                    except (OSError, asyncpg.PostgresError) as e:
                        log.warning("LISTEN reconnect failed (%s); again in %.1f s", e, delay)
                        await asyncio.sleep(delay)
                        delay = min(delay * 2, 10)
                delay = 0.5
                if reconnected is not None:
                    loop.call_soon_threadsafe(reconnected)

        conn = self._wait(connect())
        self._listen_conn = conn
        self._listener = asyncio.run_coroutine_threadsafe(keep_up(conn), self._loop)

    # ownership between processes ------------------------------------------------------------

    def try_lock(self, name: str) -> bool:
        """Hold ``name`` for this process until ``unlock`` or until the process dies (the
        lock is on one dedicated connection, which PostgreSQL drops with the process)."""
        return self._wait(self._locks_query("SELECT pg_try_advisory_lock($1)", name))

    def unlock(self, name: str) -> None:
        self._wait(self._locks_query("SELECT pg_advisory_unlock($1)", name))

    @property
    def channel(self) -> str:
        """This server's NOTIFY channel (servers in other schemas of the database have theirs:
        a stream position of theirs must never move ours)."""
        return f"{CHANNEL}_{hashlib.sha256(self._schema.encode()).hexdigest()[:16]}"

    def _key(self, name: str) -> int:
        return lock_key(f"{self._schema}\x00{name}")

    async def _locks_query(self, sql: str, name: str) -> bool:
        if self._lock_conn is None or self._lock_conn.is_closed():
            self._lock_conn = await asyncpg.connect(self.url)
        return bool(await self._lock_conn.fetchval(sql, self._key(name)))

    # schema ---------------------------------------------------------------------------------

    def migrate(self) -> None:
        self._wait(self._migrate())

    async def _migrate(self) -> None:
        # Few round trips: a server starts in a fraction of a second even on a fresh schema.
        # All pending migrations are one transaction, sent as few multi-statement scripts.
        # A connection of its own: the migration lock is session-level, and pooled connections
        # are not reset (_keep_session).
        conn = await asyncpg.connect(self.url)
        try:
            self._schema = await conn.fetchval("SELECT current_schema()") or ""
            await conn.execute("SELECT pg_advisory_lock($1)", self._key(MIGRATE_LOCK))
            try:
                await conn.execute(";\n".join([
                    *COMPAT_FUNCTIONS,
                    "CREATE TABLE IF NOT EXISTS schema_migrations"
                    " (version BIGINT PRIMARY KEY, applied_ts BIGINT NOT NULL)",
                    "CREATE SEQUENCE IF NOT EXISTS stream_ordering_seq"]))
                done = {r[0] for r in await conn.fetch("SELECT version FROM schema_migrations")}
                now = int(time.time() * 1000)
                async with conn.transaction():
                    script: list[str] = []
                    for version, sql in MIGRATIONS:
                        if version in done:
                            continue
                        for stmt in database.split_statements(sql):
                            if "INSERT OR REPLACE" in stmt.upper():  # an upsert: needs keys
                                if script:
                                    await conn.execute(";\n".join(script))
                                    script = []
                                self.primary_keys = await _primary_keys(conn)
                                script.append(translate(stmt, self.primary_keys)[0])
                            else:
                                script.extend(postgres_statements(stmt))
                        script.append("INSERT INTO schema_migrations (version, applied_ts)"
                                      f" VALUES ({int(version)}, {now})")
                    if script:
                        await conn.execute(";\n".join(script))
                self.primary_keys = await _primary_keys(conn)
            finally:
                await conn.execute("SELECT pg_advisory_unlock($1)", self._key(MIGRATE_LOCK))
        finally:
            await conn.close()

    @property
    def schema_version(self) -> int:
        row = self.execute("SELECT MAX(version) FROM schema_migrations").fetchone()
        return (row[0] if row else 0) or 0

    def close(self) -> None:
        async def shutdown():
            if self._listener is not None:
                self._listener.cancel()
            for conn in (self._listen_conn, self._lock_conn):
                if conn is not None:
                    await conn.close()
            await self._pool.close()

        for loop, pool in self._loop_pools.items():
            if not loop.is_closed():  # a closed loop closed its sockets with it
                pool.terminate()  # on the server's loop, which may be closing: no await
        self._loop_pools.clear()
        if self._thread.is_alive():
            try:
                asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(10)
            except Exception:
                log.exception("closing the PostgreSQL pool")
            self._stop_loop()

    def _stop_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)


async def _primary_keys(conn) -> dict[str, list[str]]:
    rows = await conn.fetch("""
        SELECT c.relname, a.attname, array_position(i.indkey, a.attnum) AS pos
        FROM pg_index i
        JOIN pg_class c ON c.oid = i.indrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY(i.indkey)
        WHERE i.indisprimary AND n.nspname = current_schema()
        ORDER BY c.relname, pos""")
    keys: dict[str, list[str]] = {}
    for r in rows:
        keys.setdefault(r["relname"], []).append(r["attname"])
    return keys


def lock_key(name: str) -> int:
    """A stable signed 64-bit advisory-lock key for a name (every process computes the same)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def _portal_loop() -> asyncio.AbstractEventLoop | None:
    """The running loop, if the current task can wait through greenback."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return None
    return loop if greenback.has_portal() else None


def _task():
    try:
        return asyncio.current_task()
    except RuntimeError:
        return None


def install_portals(loop: asyncio.AbstractEventLoop) -> None:
    """Give every task created on ``loop`` from now on a greenback portal, so its store calls
    wait without blocking the loop."""
    previous = loop.get_task_factory()

    def factory(loop, coro, **kwargs):
        task = previous(loop, coro, **kwargs) if previous else asyncio.Task(
            coro, loop=loop, **kwargs)
        greenback.bestow_portal(task)
        return task

    if getattr(previous, "_audiorooms_portals", False):
        return
    factory._audiorooms_portals = True  # type: ignore[attr-defined]
    loop.set_task_factory(factory)
