"""``homeserver port-db``: a SQLite server with users, a public room with history and state
changes, a DM and a remote server in the room, moved onto PostgreSQL with the command an
operator runs. The server comes back on PostgreSQL under the same name and signing key: users
log in with their old passwords, history and state are as they were (same event IDs, same
order), and federation carries on both ways. A target that already has data, a config that is
not for PostgreSQL, a locked, missing or outdated SQLite file are refused, changing nothing.

PostgreSQL: AUDIOROOMS_TEST_PG_URL (CI sets it; then a cluster that cannot be reached fails the
test), else the shared development cluster if it answers, else the tests are skipped. Every test
makes its own database and drops it."""
from __future__ import annotations

import asyncio
import hashlib
import os
import secrets
import sqlite3
import sys
from contextlib import closing
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import pytest
import yaml
from aiohttp.test_utils import unused_port

from tests.integration.federation_helpers import eventually
from tests.integration.processes import REPO, generate_config
from tests.matrix_client import Client

pytestmark = pytest.mark.own_databases(reason="its source is a SQLite server and its target a PostgreSQL database it makes")

DEV_CLUSTER = "postgresql://postgres@127.0.0.1:55432/postgres"


async def admin_url() -> str:
    url = os.environ.get("AUDIOROOMS_TEST_PG_URL")
    if url:
        return url  # CI: a cluster that does not answer is a failure, not a skip
    import asyncpg
    try:
        conn = await asyncpg.connect(DEV_CLUSTER, timeout=3)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        pytest.skip("no PostgreSQL: set AUDIOROOMS_TEST_PG_URL")
    await conn.close()
    return DEV_CLUSTER


@pytest.fixture
async def pg_url():
    """A new, empty PostgreSQL database for this test; dropped afterwards."""
    import asyncpg
    admin = await admin_url()
    name = f"portdb_{secrets.token_hex(6)}"
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f"CREATE DATABASE \"{name}\" ENCODING 'UTF8' LC_COLLATE 'C'"
                           " LC_CTYPE 'C' TEMPLATE template0")
    finally:
        await conn.close()
    parts = urlsplit(admin)
    try:
        yield urlunsplit(parts._replace(path="/" + name))
    finally:
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


async def run_cli(*args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "homeserver", *args, cwd=REPO,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 300)
    return proc.returncode, out.decode(), err.decode()


def sqlite_config(tmp_path: Path, port: int, federation: dict) -> Path:
    path = generate_config(tmp_path, port)
    cfg = yaml.safe_load(path.read_text())
    cfg["federation"].update(federation)
    cfg["ratelimit"] = {"login": {"per_second": 1000, "burst": 1000},
                        "register": {"per_second": 1000, "burst": 1000},
                        "message": {"per_second": 1000, "burst": 1000}}
    cfg["limits"] = {"password_scrypt_n": 1024}
    path.write_text(yaml.safe_dump(cfg))
    return path


def postgres_config(sqlite_cfg: Path, url: str) -> Path:
    """The same server's config, on PostgreSQL: what the operator writes before port-db."""
    cfg = yaml.safe_load(sqlite_cfg.read_text())
    cfg["database"] = {"engine": "postgres", "url": url}
    path = sqlite_cfg.with_name("pg.yaml")
    path.write_text(yaml.safe_dump(cfg))
    return path


async def login(session, url: str, user: str, password: str) -> Client:
    c = Client(session, url)
    data = await c.ok("POST", "/login", {"type": "m.login.password", "password": password,
                                        "identifier": {"type": "m.id.user", "user": user}})
    c.token, c.user_id = data["access_token"], data["user_id"]
    return c


async def history(client: Client, room: str) -> list[tuple[str, str]]:
    """(event ID, type) of the room's whole timeline, oldest first."""
    data = await client.messages(room, dir="b", limit="1000")
    return [(e["event_id"], e["type"]) for e in reversed(data["chunk"])]


async def state_ids(client: Client, room: str) -> dict[tuple[str, str], str]:
    state = await client.ok("GET", f"/rooms/{quote(room)}/state")
    return {(e["type"], e["state_key"]): e["event_id"] for e in state}


async def bodies(client: Client, room: str) -> list[str]:
    data = await client.messages(room, dir="b", limit="1000")
    return [e["content"].get("body") for e in reversed(data["chunk"])
            if e["type"] == "m.room.message"]


async def test_a_sqlite_server_moved_to_postgres_keeps_accounts_history_and_federation(
        tmp_path, pg_url, make_homeserver, servers, http_session):
    # pg_url first: its database is dropped after the servers on it are stopped
    port_a, port_b = unused_port(), unused_port()
    names = {"a": f"127.0.0.1:{port_a}", "b": f"127.0.0.1:{port_b}"}
    fed = {"servers": {n: f"http://{n}" for n in names.values()},
           "ip_range_whitelist": ["127.0.0.1/32"], "retry_base_seconds": 0.05,
           "retry_max_seconds": 0.5}
    a_cfg = sqlite_config(tmp_path, port_a, fed)
    a_url = f"http://127.0.0.1:{port_a}"
    hs_b = await make_homeserver("b", port=port_b, federation=fed)
    a = servers(a_cfg)
    await a.start()

    # Life on SQLite: accounts, a public room with history and state changes, a remote member,
    # a DM with m.direct.
    alice, bob = Client(http_session, a_url), Client(http_session, a_url)
    await alice.register("alice", "alice's old password")
    await bob.register("bob", "bob's old password")
    await alice.ok("PUT", f"/profile/{quote(alice.user_id)}/displayname",
                   {"displayname": "Alice Liddell"})
    room = await alice.create_room(preset="public_chat", name="Plaza", topic="first topic",
                                   visibility="public", room_alias_name="plaza")
    await bob.join(room)
    carol = await hs_b.user("carol")
    await carol.join(room)
    for i in range(30):
        await (alice, bob)[i % 2].send(room, f"before {i}")
    await alice.put_state(room, "m.room.topic", {"topic": "second topic"})
    await carol.send(room, "carol from b")
    await eventually(lambda: _has(alice, room, "carol from b"), timeout=20)
    dm = await alice.create_room(preset="trusted_private_chat", is_direct=True,
                                 invite=[bob.user_id])
    await alice.ok("PUT", f"/user/{quote(alice.user_id)}/account_data/m.direct",
                   {bob.user_id: [dm]})
    await bob.join(dm)
    await bob.send(dm, "just between us")
    await eventually(lambda: _has(carol, room, "before 29"), timeout=20)
    room_before, state_before = await history(alice, room), await state_ids(alice, room)
    dm_before = await history(bob, dm)
    assert len(room_before) > 35 and ("m.room.topic", "") in state_before

    assert await a.terminate() == 0
    pg_cfg = postgres_config(a_cfg, pg_url)
    old_db = str(tmp_path / "data" / "homeserver.db")
    digest = hashlib.sha256(Path(old_db).read_bytes()).hexdigest()
    code, out, err = await run_cli("port-db", "--config", str(pg_cfg), "--sqlite", old_db)
    assert code == 0, err + out
    assert hashlib.sha256(Path(old_db).read_bytes()).hexdigest() == digest  # read-only
    assert "row counts match" in out, out
    for line in ("events", "users", "memberships", "current_state", "server_signing_keys"):
        assert any(w.split()[0] == line and w.split()[-1] == "ok" for w in out.splitlines()
                   if w.strip()), (line, out)
    assert "[" in err and "rows/s" in err  # the progress bars

    # The same server on PostgreSQL.
    a2 = servers(pg_cfg)
    await a2.start()
    with pytest.raises(AssertionError):  # the token hash moved too, but the password is checked
        await login(http_session, a_url, "alice", "not her password")
    alice = await login(http_session, a_url, "alice", "alice's old password")
    bob = await login(http_session, a_url, "bob", "bob's old password")
    assert await history(alice, room) == room_before
    assert await state_ids(alice, room) == state_before
    topic = await alice.state(room, "m.room.topic")
    assert topic["topic"] == "second topic"
    assert dm in (await bob.ok("GET", "/joined_rooms"))["joined_rooms"]
    assert await history(bob, dm) == dm_before
    assert "just between us" in await bodies(alice, dm)
    direct = await alice.ok("GET", f"/user/{quote(alice.user_id)}/account_data/m.direct")
    assert direct == {bob.user_id: [dm]}
    # The user directory searches the copied rows (PostgreSQL has no copy of SQLite's index)
    for term, who in (("alice", alice.user_id), ("Liddell", alice.user_id),
                      ("carol", carol.user_id)):
        found = await bob.ok("POST", "/user_directory/search", {"search_term": term})
        assert who in [r["user_id"] for r in found["results"]], (term, found)
    alias = await alice.ok("GET", f"/directory/room/{quote('#plaza:' + names['a'])}")
    assert alias["room_id"] == room

    # Federation carries on, both ways, with the same signing key.
    await carol.send(room, "carol after the move")
    await eventually(lambda: _has(alice, room, "carol after the move"), timeout=20)
    await alice.send(room, "alice after the move")
    await eventually(lambda: _has(carol, room, "alice after the move"), timeout=20)
    import asyncpg
    conn = await asyncpg.connect(pg_url)  # the server now writes to PostgreSQL
    try:
        assert await conn.fetchval("SELECT COUNT(*) FROM events WHERE json LIKE"
                                   " '%alice after the move%'") == 1
        # The user directory's rows (local and remote users, with profiles) came across as
        # they were; SQLite's full-text index of them is not copied (PostgreSQL has its own).
        directory = {tuple(r) for r in await conn.fetch(
            "SELECT user_id, display_name, avatar_url FROM user_directory")}
        with closing(sqlite3.connect(f"file:{old_db}?mode=ro", uri=True)) as old:
            assert directory == set(old.execute(
                "SELECT user_id, display_name, avatar_url FROM user_directory"))
        assert (alice.user_id, "Alice Liddell", None) in directory
        assert carol.user_id in {r[0] for r in directory}
    finally:
        await conn.close()
    after = await history(alice, room)
    assert after[:len(room_before)] == room_before
    new = await alice.send(room, "and new messages come last")
    assert (await history(alice, room))[-1] == (new, "m.room.message")


async def _has(client: Client, room: str, body: str) -> bool:
    return body in await bodies(client, room)


def make_sqlite_db(path: Path, server_name: str) -> None:
    """A current-schema database with one user, as the server would leave it."""
    from homeserver.storage.database import Database
    db = Database(path)
    db.execute("INSERT INTO users (user_id, password_hash, created_ts) VALUES (?, ?, ?)",
               (f"@zed:{server_name}", "x", 1))
    db.close()


async def test_port_db_refuses_wrong_engine_missing_locked_outdated_and_nonempty_targets(
        tmp_path, pg_url):
    import asyncpg

    from homeserver.cli import lock_database
    port = unused_port()
    name = f"127.0.0.1:{port}"
    src = tmp_path / "old.db"
    make_sqlite_db(src, name)
    sqlite_cfg = sqlite_config(tmp_path, port, {})
    pg_cfg = postgres_config(sqlite_cfg, pg_url)

    code, _, err = await run_cli("port-db", "--config", str(sqlite_cfg), "--sqlite", str(src))
    assert code == 1 and "database.engine" in err and "postgres" in err, err

    code, _, err = await run_cli("port-db", "--config", str(pg_cfg), "--sqlite",
                                 str(tmp_path / "nowhere.db"))
    assert code == 1 and "no SQLite database" in err, err
    assert not (tmp_path / "nowhere.db").exists()

    held = lock_database(str(src))  # as a running server holds it
    try:
        code, _, err = await run_cli("port-db", "--config", str(pg_cfg), "--sqlite", str(src))
    finally:
        held.close()
    assert code == 1 and "in use" in err and "stop the server" in err, err

    outdated = tmp_path / "outdated.db"
    make_sqlite_db(outdated, name)
    with sqlite3.connect(outdated) as c:
        c.execute("DELETE FROM schema_migrations WHERE version ="
                  " (SELECT MAX(version) FROM schema_migrations)")
    code, _, err = await run_cli("port-db", "--config", str(pg_cfg), "--sqlite", str(outdated))
    assert code == 1 and "Upgrade it first" in err, err

    conn = await asyncpg.connect(pg_url)
    try:
        # A value PostgreSQL cannot take (SQLite's columns take anything) fails the port after
        # other tables were copied: all of it is rolled back, and once the source is mended
        # the same command succeeds.
        with sqlite3.connect(src) as c:
            c.execute("INSERT INTO account_data VALUES (?, '', 'm.x', '{}', 1)", (f"@zed:{name}",))
            c.execute("UPDATE users SET created_ts = 'yesterday'")
        code, out, err = await run_cli("port-db", "--config", str(pg_cfg), "--sqlite",
                                       str(src))
        assert code == 1 and "users.created_ts" in err and "'yesterday'" in err, err
        assert await conn.fetchval("SELECT COUNT(*) FROM account_data") == 0
        assert await conn.fetchval("SELECT COUNT(*) FROM users") == 0
        with sqlite3.connect(src) as c:
            c.execute("UPDATE users SET created_ts = 1")
        code, out, err = await run_cli("port-db", "--config", str(pg_cfg), "--sqlite",
                                       str(src))
        assert code == 0, err
        assert await conn.fetchval("SELECT COUNT(*) FROM account_data") == 1
        assert await conn.fetchval("SELECT user_id FROM users") == f"@zed:{name}"
        # Again, into the now non-empty database: refused, nothing added or changed.
        with sqlite3.connect(src) as c:
            c.execute("UPDATE users SET user_id = ?", (f"@other:{name}",))
        code, out, err = await run_cli("port-db", "--config", str(pg_cfg), "--sqlite",
                                       str(src))
        assert code == 1 and "not empty" in err and "users" in err, err
        assert [r[0] for r in await conn.fetch("SELECT user_id FROM users")] == \
            [f"@zed:{name}"]
    finally:
        await conn.close()
