"""The PostgreSQL engine itself (homeserver/storage/postgres.py), on a real cluster: the event
loop keeps serving while a query runs, transactions hold one write lock across processes,
stream positions commit in the order they were taken, failures roll back, and constraint
violations surface as the engine-neutral IntegrityError."""
from __future__ import annotations

import asyncio
import secrets
import time

import pytest

from homeserver.config import DatabaseConfig
from homeserver.storage.database import IntegrityError, open_database
from homeserver.storage.events import StreamCounter
from homeserver.storage.postgres import PostgresDatabase, install_portals
from tests.storage_engine import pg_execute, postgres_url_or_skip, with_database

pytestmark = pytest.mark.own_databases(reason="it opens the engine on PostgreSQL databases it makes")


@pytest.fixture
def pg_database():
    """A fresh database on the test cluster; its URL. Dropped afterwards."""
    admin = postgres_url_or_skip()
    name = f"engine_{secrets.token_hex(6)}"
    pg_execute(admin, f'CREATE DATABASE "{name}"')
    opened: list[PostgresDatabase] = []

    def open_db() -> PostgresDatabase:
        db = PostgresDatabase(with_database(admin, name), pool_size=4)
        opened.append(db)
        return db

    yield open_db
    for db in opened:
        db.close()
    pg_execute(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def test_the_loop_keeps_serving_while_a_query_runs(pg_database):
    db = pg_database()
    install_portals(asyncio.get_running_loop())
    ticks = 0
    stop = asyncio.Event()

    async def ticker():
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            await asyncio.sleep(0.01)

    async def slow():
        db.execute("SELECT pg_sleep(0.6)")

    async def quick():
        t = time.monotonic()
        db.execute("SELECT 1")
        return time.monotonic() - t

    tick_task = asyncio.create_task(ticker())
    slow_task = asyncio.create_task(slow())
    await asyncio.sleep(0.1)  # the slow query is in flight
    quick_s = await asyncio.create_task(quick())
    await slow_task
    stop.set()
    await tick_task
    # Blocking the loop for 0.6 s would leave the ticker at about 1 tick, and the quick
    # query waiting behind the slow one.
    assert ticks >= 20, ticks
    assert quick_s < 0.4, quick_s
    assert db.blocking_waits <= 3  # start-up only (pool, migrations), none from the tasks



async def test_database_pool_size_bounds_the_connections_a_process_opens(pg_database):
    """``database.pool_size``: eight concurrent queries through a server opened with
    pool_size 2 run on two connections of its loop's pool; the others wait their turn."""
    admin = postgres_url_or_skip()
    url = pg_database().url  # a fresh database of this test's own
    dbname = url.split("?", 1)[0].rsplit("/", 1)[1]
    db = open_database(DatabaseConfig(engine="postgres", url=url, pool_size=2))
    try:
        install_portals(asyncio.get_running_loop())
        seen: list[int] = []

        async def sleeper():
            db.execute("SELECT pg_sleep(0.3)")

        async def watch():
            while True:
                rows = pg_execute(admin, "SELECT count(*) FROM pg_stat_activity WHERE"
                                  f" datname = '{dbname}' AND state = 'active'"
                                  " AND query LIKE '%pg_sleep(0.3)%'")
                seen.append(rows[0][0])
                await asyncio.sleep(0.05)

        watcher = asyncio.create_task(watch())
        t0 = time.monotonic()
        await asyncio.gather(*(sleeper() for _ in range(8)))
        took = time.monotonic() - t0
        watcher.cancel()
        assert max(seen) == 2, seen  # never more than the pool, and both were in use
        assert took >= 1.1, took  # 8 queries of 0.3 s, two at a time: four rounds
    finally:
        db.close()


async def test_transactions_of_two_processes_take_turns(pg_database):
    """Two engines on one database stand for two processes: a transaction of the second
    waits for the first's commit, then sees what it wrote."""
    first, second = pg_database(), pg_database()
    install_portals(asyncio.get_running_loop())
    order: list[str] = []
    first_has_lock = asyncio.Event()

    async def writer_one():
        with first.transaction() as c:
            first_has_lock.set()
            c.execute("INSERT INTO rooms (room_id, room_version, creator, is_public,"
                      " created_ts) VALUES ('!a:x', '10', '@u:x', 0, 1)")
            await asyncio.sleep(0.4)
            order.append("one committed")

    async def writer_two():
        await first_has_lock.wait()
        with second.transaction() as c:
            order.append("two began")
            n = c.execute("SELECT count(*) FROM rooms").fetchone()[0]
        return n

    _, seen = await asyncio.gather(asyncio.create_task(writer_one()),
                                   asyncio.create_task(writer_two()))
    assert order == ["one committed", "two began"]
    assert seen == 1


async def test_stream_positions_are_shared_and_commit_in_order(pg_database):
    one, two = pg_database(), pg_database()
    s1, s2 = StreamCounter(one), StreamCounter(two)
    taken = []
    for db, stream in [(one, s1), (two, s2), (one, s1), (two, s2)]:
        with db.transaction():
            taken.append(stream.next())
    assert taken == sorted(taken) and len(set(taken)) == 4
    # each counter's visible position moved with its own commits
    assert s1.current == taken[2] and s2.current == taken[3]
    # a process started later resumes after every stored position
    with one.transaction() as c:
        c.execute("INSERT INTO stream_marks (name, pos) VALUES ('x', ?)", (taken[-1] + 100,))
    s3 = StreamCounter(pg_database())
    with two.transaction():
        assert s2.next() > taken[-1] + 100
    assert s3.current == taken[-1] + 100


async def test_a_failed_transaction_leaves_nothing(pg_database):
    db = pg_database()
    with pytest.raises(RuntimeError):
        with db.transaction() as c:
            c.execute("INSERT INTO rooms (room_id, room_version, creator, is_public,"
                      " created_ts) VALUES ('!b:x', '10', '@u:x', 0, 1)")
            raise RuntimeError("handler failed")
    assert db.execute("SELECT count(*) FROM rooms").fetchone() == (0,)
    # the connection went back to the pool in a usable state
    assert db.execute("SELECT 1").fetchone() == (1,)


async def test_constraint_violations_are_integrity_errors(pg_database):
    db = pg_database()
    row = ("INSERT INTO rooms (room_id, room_version, creator, is_public, created_ts)"
           " VALUES ('!c:x', '10', '@u:x', 0, 1)")
    db.execute(row)
    with pytest.raises(IntegrityError):
        db.execute(row)
    # INSERT OR IGNORE is carried over as ON CONFLICT DO NOTHING
    cur = db.execute(row.replace("INSERT", "INSERT OR IGNORE"))
    assert cur.rowcount == 0


async def test_a_dropped_listen_connection_comes_back_and_says_so(pg_database):
    """Notifications between processes ride one LISTEN connection: if PostgreSQL drops it, it
    is opened again, the process is told it may have missed messages, and new ones arrive."""
    listener, sender = pg_database(), pg_database()
    got: list[str] = []
    reconnects: list[bool] = []
    listener.listen(got.append, lambda: reconnects.append(True))
    sender.notify("before")
    await _until(lambda: got == ["before"])
    old_pid = listener._listen_conn.get_server_pid()
    sender.execute("SELECT pg_terminate_backend(?)", (old_pid,))
    await _until(lambda: reconnects == [True], timeout=10)
    assert listener._listen_conn.get_server_pid() != old_pid
    sender.notify("after")
    await _until(lambda: got == ["before", "after"])


async def _until(check, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def test_servers_in_two_schemas_of_one_database_do_not_hear_each_other(pg_database):
    """Advisory locks and NOTIFY channels belong to the whole database: two servers sharing it
    in separate schemas must not take each other's locks or messages."""
    admin = pg_database().url
    for schema in ("one", "two"):
        pg_execute(admin, f"CREATE SCHEMA {schema}")
    one = PostgresDatabase(admin + "?search_path=one", pool_size=2)
    two = PostgresDatabase(admin + "?search_path=two", pool_size=2)
    try:
        heard: list[str] = []
        one.listen(heard.append)
        two.notify("for two's processes only")
        one.notify("for one's")
        await _until(lambda: heard == ["for one's"])
        await asyncio.sleep(0.2)
        assert heard == ["for one's"]
        assert one.try_lock("federation-sender:example.org")
        assert two.try_lock("federation-sender:example.org")  # not one's lock
    finally:
        one.close()
        two.close()
