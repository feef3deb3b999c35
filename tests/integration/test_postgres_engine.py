"""The PostgreSQL engine itself (homeserver/storage/postgres.py), on a real cluster: the event
loop keeps serving while a query runs, transactions hold one write lock across processes,
stream positions commit in the order they were taken, failures roll back, and constraint
violations surface as the engine-neutral IntegrityError."""
from __future__ import annotations

import asyncio
import secrets
import time

import pytest

from homeserver.storage.database import IntegrityError
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
