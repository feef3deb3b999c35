"""The plumbing that runs the suite on PostgreSQL: tests/pgcluster.py starts a throwaway
cluster that answers on loopback and is gone after stop; tests/storage_engine.py gives a test
module its own database and each server data folder its own schema, selected by the URL."""
from __future__ import annotations

import os
import socket

import pytest

from tests import storage_engine
from tests.conftest import homeserver_config
from tests.pgcluster import ClusterError, PgCluster, find_bindir
from tests.storage_engine import PostgresModuleStorage, pg_execute, run_sync, with_database


@pytest.fixture(scope="module")
def cluster():
    try:
        find_bindir()
    except ClusterError as e:
        if os.environ.get("AUDIOROOMS_REQUIRE_PG") == "1":
            pytest.fail(str(e))
        pytest.skip(str(e))
    c = PgCluster()
    c.start()
    yield c
    c.stop()


def databases(url: str) -> set[str]:
    return {r[0] for r in pg_execute(url, "SELECT datname FROM pg_database")}


async def search_path_of(url: str) -> tuple[str, str]:
    import asyncpg
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("CREATE TABLE t (x int)")  # lands in the selected schema
        return (await conn.fetchval("SELECT current_schema()"),
                await conn.fetchval("SELECT relnamespace::regnamespace::text FROM pg_class"
                                    " WHERE oid = 't'::regclass"))
    finally:
        await conn.close()


def test_cluster_answers_on_loopback_with_test_settings(cluster):
    assert cluster.url == f"postgresql://postgres@127.0.0.1:{cluster.port}/postgres"
    rows = pg_execute(cluster.url, "SELECT current_setting('max_connections'),"
                      " current_setting('fsync'), current_setting('listen_addresses')")
    assert tuple(rows[0]) == ("300", "off", "127.0.0.1")


def test_module_database_and_a_schema_per_server(cluster, tmp_path):
    storage = PostgresModuleStorage(cluster.url, "tests.integration.test_some-thing")
    before = databases(cluster.url)
    assert storage.dbname is None  # nothing made until a server needs it
    a = storage.database_for(tmp_path / "a" / "homeserver.db")
    b = storage.database_for(tmp_path / "b" / "homeserver.db")
    assert storage.dbname and storage.dbname.startswith("t_test_some_thing_")
    assert databases(cluster.url) - before == {storage.dbname}
    assert a["engine"] == "postgres" and a["path"] == str(tmp_path / "a" / "homeserver.db")
    assert a["url"] == with_database(cluster.url, storage.dbname, "hs1")
    assert b["url"].endswith(f"/{storage.dbname}?search_path=hs2")
    # A restart on the same data folder finds its schema again.
    assert storage.database_for(tmp_path / "a" / "homeserver.db") == a
    # asyncpg passes search_path on as a server setting: tables land in the server's schema.
    assert run_sync(lambda: search_path_of(a["url"])) == ("hs1", "hs1")
    assert run_sync(lambda: search_path_of(b["url"])) == ("hs2", "hs2")
    # An open connection (a server killed mid-test) does not keep the database alive.
    held = socket.create_connection(("127.0.0.1", cluster.port))
    try:
        storage.close()
    finally:
        held.close()
    assert databases(cluster.url) == before


def test_homeserver_config_follows_the_module_engine(cluster, tmp_path):
    storage = PostgresModuleStorage(cluster.url, "test_cfg")
    storage_engine.set_current(storage)
    try:
        cfg = homeserver_config(tmp_path / "a", 8448)
        again = homeserver_config(tmp_path / "x", 8448,
                                  database={"path": str(tmp_path / "a" / "homeserver.db")})
        own = homeserver_config(tmp_path / "y", 8448, database={"path": str(tmp_path / "f.db"),
                                                                "engine": "sqlite"})
    finally:
        storage_engine.set_current(storage_engine.SqliteStorage())
        storage.close()
    assert cfg.database.engine == "postgres" and cfg.database.url.endswith("?search_path=hs1")
    assert cfg.database.path == str(tmp_path / "a" / "homeserver.db")
    assert again.database == cfg.database  # a restart on a's files: a's schema
    assert own.database.engine == "sqlite" and own.database.url is None
    sqlite = homeserver_config(tmp_path / "a", 8448)  # outside a postgres module: SQLite
    assert sqlite.database.engine == "sqlite" and sqlite.database.url is None


def test_stop_removes_the_cluster():
    try:
        find_bindir()
    except ClusterError as e:
        pytest.skip(str(e))
    c = PgCluster()
    url = c.start()
    assert pg_execute(url, "SELECT 1")[0][0] == 1
    port = c.port
    c.stop()
    assert not c.folder.exists()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), 1).close()
