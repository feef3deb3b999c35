"""Several ``homeserver run`` processes with one config on PostgreSQL serve one server name.

Real processes, exactly as an operator runs them: one config file (database.engine: postgres),
``python -m homeserver run --config X --port P`` twice. Clients and remote servers may reach
either process; what they see must be one server: a /sync on one wakes for a message sent
through the other, a token works on both, a remote server joins through either, and a process
killed with SIGKILL in a burst of sends loses nothing acknowledged and duplicates nothing.

Each test gets a fresh database on the cluster named by $AUDIOROOMS_TEST_PG_URL (CI), else on
the shared development cluster if it answers; without either the tests skip, but with the
variable set (or AUDIOROOMS_REQUIRE_PG=1, as CI sets) a cluster that does not answer fails
them.
"""
from __future__ import annotations

import asyncio
import itertools
import os
import secrets
import time
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import aiohttp
import pytest
import yaml
from aiohttp.test_utils import unused_port

from tests.conftest import FAST_TEST_CONFIG, deep_merge
from tests.integration.federation_helpers import eventually
from tests.integration.processes import ServerProcess, generate_config
from tests.matrix_client import Client

pytestmark = pytest.mark.own_databases(
    reason="its two processes share a PostgreSQL database it makes")

PG_URL_ENV = "AUDIOROOMS_TEST_PG_URL"
DEV_CLUSTER = "postgresql://postgres@127.0.0.1:55432/postgres"
PASSWORD = "correct horse battery"
FAST_FEDERATION = {"retry_base_seconds": 0.05, "retry_max_seconds": 0.5,
                   "request_timeout_seconds": 5}
WAKE_LIMIT_S = 1.0  # the issue: a /sync on one process returns another's event within 1 s

_txn = itertools.count()


# --- the cluster and a database per test -----------------------------------------------------

async def _connect(url: str):
    import asyncpg
    return await asyncpg.connect(url, timeout=5)


@pytest.fixture
async def pg_database():
    """A fresh database on the test cluster; its URL. Dropped at the end, whatever happens."""
    admin_url = os.environ.get(PG_URL_ENV) or DEV_CLUSTER
    try:
        conn = await _connect(admin_url)
    except Exception as e:  # noqa: BLE001 - whatever stops the connection
        if os.environ.get(PG_URL_ENV) or os.environ.get("AUDIOROOMS_REQUIRE_PG") == "1":
            pytest.fail(f"PostgreSQL required but {admin_url} does not answer: {e!r}")
        pytest.skip(f"no PostgreSQL cluster (set ${PG_URL_ENV}); {admin_url}: {e!r}")
    name = f"mptest_{secrets.token_hex(6)}"
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
        parts = urlsplit(admin_url)
        yield urlunsplit((parts.scheme, parts.netloc, "/" + name, "", ""))
    finally:
        try:
            # FORCE: a SIGKILLed process's connections may not have been reaped yet.
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


# --- two processes of one server --------------------------------------------------------------

class OneServer:
    """Two processes, one config, one server name (``127.0.0.1:<port of process 1>``)."""

    def __init__(self, config: Path, ports: list[int], procs: list, servers):
        self.config, self.ports, self.procs, self._make = config, ports, procs, servers
        self.server_name = f"127.0.0.1:{ports[0]}"
        self.urls = [f"http://127.0.0.1:{p}" for p in ports]

    async def restart(self, i: int) -> None:
        self.procs[i] = self._make(self.config, "--port", str(self.ports[i]))
        await self.procs[i].start()

    def logs(self) -> str:
        return "\n".join(f"--- process {i + 1} log (tail) ---\n"
                         + p.log.read_text(errors="replace")[-4000:]
                         for i, p in enumerate(self.procs))


def write_config(tmp_path: Path, port: int, db_url: str, remotes: dict[str, str]) -> Path:
    path = generate_config(tmp_path, port)
    cfg = yaml.safe_load(path.read_text())
    cfg = deep_merge(cfg, FAST_TEST_CONFIG)
    cfg["database"] = {"engine": "postgres", "url": db_url}
    cfg["federation"].update(servers=remotes, ip_range_whitelist=["127.0.0.1/32"],
                             verify_certificates=False, **FAST_FEDERATION)
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


@pytest.fixture
async def one_server(tmp_path, pg_database):
    """``await one_server(remote_ports=...)``: two processes of one server on a fresh database.
    Set up after the database, so torn down before it: every process is killed (whatever the
    test did) before the database is dropped."""
    started: list[ServerProcess] = []

    def make(config: Path, *args: str) -> ServerProcess:
        sp = ServerProcess(config, tmp_path / f"process{len(started)}.log", *args)
        started.append(sp)
        return sp

    async def start(remote_ports: tuple[int, ...] = ()) -> OneServer:
        """``remote_ports``: where remote servers (started later) will listen, plain HTTP."""
        ports = [unused_port(), unused_port()]
        remotes = {f"127.0.0.1:{p}": f"http://127.0.0.1:{p}" for p in remote_ports}
        config = write_config(tmp_path, ports[0], pg_database, remotes)
        procs = []
        # One after the other: the first runs the migrations and makes the signing key.
        for p in ports:
            sp = make(config, "--port", str(p))
            await sp.start()
            procs.append(sp)
        return OneServer(config, ports, procs, make)

    try:
        yield start
    finally:
        for sp in started:
            await sp.kill()


async def remote_server(make_homeserver, name: str, port: int, ours: OneServer, via: int,
                        others: tuple[int, ...] = ()):
    """A separate homeserver (in this test process, on SQLite) on ``port`` that reaches our
    server name through process ``via`` (0 or 1), and the remote servers on ``others``."""
    known = {f"127.0.0.1:{p}": f"http://127.0.0.1:{p}" for p in others}
    return await make_homeserver(
        name, port=port,
        federation={"servers": {**known, ours.server_name: ours.urls[via]}, **FAST_FEDERATION})


@pytest.fixture
async def session():
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as s:
        yield s


# --- helpers ----------------------------------------------------------------------------------

async def register(session, url: str, username: str) -> Client:
    c = Client(session, url)
    await c.register(username, PASSWORD)
    return c


def on(client: Client, url: str) -> Client:
    """The same device (token) talking to another process."""
    return Client(client.session, url, client.token, client.user_id)


async def all_messages(client: Client, room_id: str) -> list[dict]:
    """The room's m.room.message events, oldest first, paginating /messages forwards."""
    out, token = [], None
    for _ in range(200):
        params = {"dir": "f", "limit": "100", **({"from": token} if token else {})}
        page = await client.messages(room_id, **params)
        out.extend(e for e in page["chunk"] if e["type"] == "m.room.message")
        if not page["chunk"] or "end" not in page:
            return out
        token = page["end"]
    raise AssertionError("pagination did not end")


async def bodies(client: Client, room_id: str) -> list[str]:
    return [e["content"]["body"] for e in await all_messages(client, room_id)]


async def synced_to_room(client: Client, room_id: str) -> str:
    """A since token from a sync that already shows the room joined (bounded wait)."""
    async def check():
        s = await client.sync()
        return s["next_batch"] if room_id in s["rooms"]["join"] else None
    return await eventually(check, timeout=10)


async def wake_time(sender: Client, syncer: Client, room_id: str, body: str) -> float:
    """Seconds from the send through ``sender`` until a /sync long-poll through ``syncer``,
    parked before the send, returns the message. Bounded: fails past 10 s."""
    since = await synced_to_room(syncer, room_id)

    async def long_poll() -> float:
        nonlocal since
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            left = max(1, int((deadline - time.monotonic()) * 1000))
            s = await syncer.sync(since=since, timeout=left)
            since = s["next_batch"]
            room = s["rooms"]["join"].get(room_id, {})
            if any(e["type"] == "m.room.message" and e["content"].get("body") == body
                   for e in room.get("timeline", {}).get("events", [])):
                return time.monotonic()
        raise AssertionError(f"/sync through {syncer.base} never returned {body!r} in 10 s")

    poll = asyncio.create_task(long_poll())
    try:
        await asyncio.sleep(0.5)  # the long-poll is parked on the server
        assert not poll.done(), "the /sync returned before anything was sent"
        sent = time.monotonic()
        await sender.send(room_id, body)
        woke = await asyncio.wait_for(poll, 15)
    finally:
        poll.cancel()
    return woke - sent


# --- 1. send through one, /sync through the other ---------------------------------------------

async def test_sync_on_one_process_wakes_for_a_send_through_the_other(
        one_server, session):
    hs = await one_server()
    try:
        alice1 = await register(session, hs.urls[0], "alice")
        bob2 = await register(session, hs.urls[1], "bob")
        room = await alice1.create_room(preset="public_chat", name="two processes")
        await bob2.join(room)
        alice2, bob1 = on(alice1, hs.urls[1]), on(bob2, hs.urls[0])

        forward = await wake_time(alice1, bob2, room, "sent through 1, synced through 2")
        backward = await wake_time(bob2, alice1, room, "sent through 2, synced through 1")
        # The sender's own token, long-polling on the other process, wakes too.
        own = await wake_time(alice1, alice2, room, "alice's own token on the other process")
        print(f"\n/sync wake across processes: 1->2 {forward * 1000:.0f} ms,"
              f" 2->1 {backward * 1000:.0f} ms, same token 1->2 {own * 1000:.0f} ms")
        assert forward < WAKE_LIMIT_S, f"1->2 took {forward:.3f} s"
        assert backward < WAKE_LIMIT_S, f"2->1 took {backward:.3f} s"
        assert own < WAKE_LIMIT_S, f"same token 1->2 took {own:.3f} s"
        # Both processes tell the same history in the same order.
        want = ["sent through 1, synced through 2", "sent through 2, synced through 1",
                "alice's own token on the other process"]
        assert await bodies(bob1, room) == want
        assert await bodies(alice2, room) == want
    except BaseException:
        print(hs.logs())
        raise


# --- 2. tokens ---------------------------------------------------------------------------------

async def test_a_token_from_one_process_works_on_the_other(
        one_server, session):
    hs = await one_server()
    try:
        await register(session, hs.urls[0], "carol")
        login = await Client(session, hs.urls[0]).ok("POST", "/login", {
            "type": "m.login.password", "password": PASSWORD,
            "identifier": {"type": "m.id.user", "user": "carol"}})
        on1 = Client(session, hs.urls[0], login["access_token"])
        on2 = Client(session, hs.urls[1], login["access_token"])
        # Used on both, so both processes have it in whatever cache they keep.
        for c in (on1, on2, on1, on2):
            who = await c.ok("GET", "/account/whoami")
            assert who["user_id"] == login["user_id"]
            assert who["device_id"] == login["device_id"]
        # A token registered on process 2 works on process 1 too.
        dave2 = await register(session, hs.urls[1], "dave")
        assert (await on(dave2, hs.urls[0]).ok("GET", "/account/whoami"))["user_id"] \
            == dave2.user_id

        await on2.ok("POST", "/logout", {})
        loggedout = time.monotonic()

        async def refused_on_1():
            status, body = await on1.request("GET", "/account/whoami")
            return (status, body.get("errcode")) if status != 200 else None
        try:
            status, errcode = await eventually(refused_on_1, timeout=5, interval=0.02)
        except AssertionError:
            raise AssertionError("process 1 still accepts the token 5 s after it was logged"
                                 " out on process 2") from None
        took = time.monotonic() - loggedout
        print(f"\ntoken refused on process 1 {took * 1000:.0f} ms after logout on process 2")
        assert (status, errcode) == (401, "M_UNKNOWN_TOKEN")
        assert took < 1.0, f"process 1 still accepted the token {took:.3f} s after logout"
        # And it stays refused on both.
        for c in (on1, on2):
            status, body = await c.request("GET", "/account/whoami")
            assert (status, body.get("errcode")) == (401, "M_UNKNOWN_TOKEN")
        # Logging out on one does not log out the user's other devices anywhere.
        assert (await on(dave2, hs.urls[0]).ok("GET", "/account/whoami"))["user_id"] \
            == dave2.user_id
    except BaseException:
        print(hs.logs())
        raise


# --- 3. a remote server joins through either ------------------------------------------------

async def test_remote_servers_join_through_either_process(
        one_server, session, make_homeserver):
    ports = (unused_port(), unused_port())
    hs = await one_server(remote_ports=ports)
    try:
        # Remote servers reach us by our server name; r1 is pointed at process 1, r2 at 2.
        r1 = await remote_server(make_homeserver, "r1", ports[0], hs, via=0, others=ports)
        r2 = await remote_server(make_homeserver, "r2", ports[1], hs, via=1, others=ports)
        # Our server must reach them too: both processes know their names (loopback).
        alice1 = await register(session, hs.urls[0], "alice")
        bob2 = await register(session, hs.urls[1], "bob")
        room = await alice1.create_room(preset="public_chat", name="open to the world")
        await bob2.join(room)
        alice2, bob1 = on(alice1, hs.urls[1]), on(bob2, hs.urls[0])
        await alice1.send(room, "before anyone remote")

        rita = await r1.user("rita")
        assert await rita.join(room) == room   # through process 1
        remy = await r2.user("remy")
        assert await remy.join(room) == room   # through process 2

        # History from before the joins reached both remotes.
        for c in (rita, remy):
            await eventually(lambda c=c: _has(c, room, ["before anyone remote"]), timeout=20)

        # Ours to theirs, sent through either process.
        await alice1.send(room, "alice via 1")
        await bob2.send(room, "bob via 2")
        await alice2.send(room, "alice via 2")
        await bob1.send(room, "bob via 1")
        # Theirs to ours: r1 delivers to process 1, r2 to process 2.
        await rita.send(room, "rita from r1")
        await remy.send(room, "remy from r2")

        everything = ["before anyone remote", "alice via 1", "bob via 2", "alice via 2",
                      "bob via 1", "rita from r1", "remy from r2"]
        views = {"alice on 1": alice1, "bob on 2": bob2, "alice on 2": alice2, "bob on 1": bob1,
                 "rita on r1": rita, "remy on r2": remy}
        for who, c in views.items():
            try:
                await eventually(lambda c=c: _has(c, room, everything), timeout=30)
            except AssertionError:
                got = await bodies(c, room)
                raise AssertionError(f"{who} is missing {sorted(set(everything) - set(got))}"
                                     f" after 30 s (has {got})") from None
        # Our users see the remotes on both processes, in one order (both processes read one
        # database); each remote has its own order for the two remote sends, but ours are in
        # the order they were sent.
        ours = await bodies(alice1, room)
        assert ours == await bodies(bob2, room) == await bodies(alice2, room)
        assert ours.count("rita from r1") == ours.count("remy from r2") == 1
        for c in (rita, remy):
            got = await bodies(c, room)
            assert len(got) == len(set(got)), f"duplicates on {c.base}: {got}"
            assert [b for b in got if b in everything[:5]] == everything[:5]
        members = await alice2.ok("GET", f"/rooms/{quote(room)}/joined_members")
        assert set(members["joined"]) == {alice1.user_id, bob2.user_id, rita.user_id,
                                          remy.user_id}
    except BaseException:
        print(hs.logs())
        raise


async def _has(client: Client, room: str, want: list[str]) -> bool:
    return set(want) <= set(await bodies(client, room))


# --- 4. SIGKILL in a burst --------------------------------------------------------------------

class Sender:
    """A client with its own device (so its own transaction IDs) that prefers one process and
    retries on the other with the same transaction ID when the connection fails, as a client
    with two addresses for its server would."""

    def __init__(self, client: Client, urls: list[str], home: int):
        self.client, self.urls, self.home = client, urls, home
        self.acked: list[tuple[str, str]] = []  # (body, event_id) in acknowledgement order
        self.retried: list[str] = []   # bodies whose first attempt failed (connection, 5xx)
        self.unacked: list[str] = []   # bodies never acknowledged

    async def send(self, room: str, body: str) -> None:
        txn = f"mp{next(_txn)}-{secrets.token_hex(3)}"
        path = f"/rooms/{quote(room)}/send/m.room.message/{txn}"
        target = self.home
        for attempt in range(40):
            c = Client(self.client.session, self.urls[target], self.client.token)
            try:
                status, data = await c.request("PUT", path, {"msgtype": "m.text",
                                                             "body": body})
            except (aiohttp.ClientError, TimeoutError):
                status, data = None, None
            if status == 200:
                self.acked.append((body, data["event_id"]))
                self.home = target  # a client stays with the address that answers
                return
            if status is not None and status < 500:
                raise AssertionError(f"send {body!r} through process {target + 1}"
                                     f" -> {status} {data}")
            if attempt == 0:
                self.retried.append(body)
            target = 1 - target  # the other process
            await asyncio.sleep(0.05 * min(attempt, 10))
        self.unacked.append(body)


@pytest.mark.parametrize("victim", [0, 1], ids=["kill-process-1", "kill-process-2"])
async def test_sigkill_in_a_burst_loses_and_duplicates_nothing(
        one_server, session, make_homeserver, victim):
    far = unused_port()
    hs = await one_server(remote_ports=(far,))
    try:
        remote = await remote_server(make_homeserver, "far", far, hs, via=0)
        n_clients, per_client = 4, 50
        clients = [await register(session, hs.urls[i % 2], f"user{i}")
                   for i in range(n_clients)]
        room = await clients[0].create_room(preset="public_chat", name="burst")
        for c in clients[1:]:
            await c.join(room)
        watcher = await remote.user("watcher")
        assert await watcher.join(room) == room
        await clients[0].send(room, "before the burst")
        await eventually(lambda: _has(watcher, room, ["before the burst"]), timeout=20)

        senders = [Sender(c, hs.urls, i % 2) for i, c in enumerate(clients)]
        total = n_clients * per_client
        kill_after = total // 3
        killed = asyncio.Event()

        async def burst(s: Sender, i: int) -> None:
            for n in range(per_client):
                await s.send(room, f"c{i} #{n}")
                if not killed.is_set() and sum(len(x.acked) for x in senders) >= kill_after:
                    killed.set()

        async def killer() -> None:
            await asyncio.wait_for(killed.wait(), 120)
            await hs.procs[victim].kill()   # SIGKILL, mid-burst

        started = time.monotonic()
        # A TaskGroup: if one sender fails, the others stop too; the whole burst is bounded.
        async with asyncio.timeout(180), asyncio.TaskGroup() as tg:
            tg.create_task(killer())
            for i, s in enumerate(senders):
                tg.create_task(burst(s, i))
        burst_s = time.monotonic() - started
        assert hs.procs[victim].proc.returncode == -9
        survivor = 1 - victim
        acked = {eid: body for s in senders for body, eid in s.acked}
        retried = sum(len(s.retried) for s in senders)
        unacked = [b for s in senders for b in s.unacked]

        # Through the survivor, before the killed one comes back.
        reader = [Client(session, hs.urls[i], clients[0].token) for i in (0, 1)]
        after_kill = await all_messages(reader[survivor], room)
        # The killed process again, on its port, with the same config.
        await hs.restart(victim)
        after_restart = await all_messages(reader[victim], room)

        ids = [e["event_id"] for e in after_kill]
        body_list = [e["content"]["body"] for e in after_kill]
        print(f"\nburst of {total} sends over 2 processes, process {victim + 1} SIGKILLed after"
              f" {kill_after} acks: {len(acked)} acknowledged, {retried} retried on the other"
              f" process after a connection error or 5xx, {len(unacked)} never acknowledged"
              f" ({sum(b in body_list for b in unacked)} of those present), {burst_s:.1f} s")
        assert len(body_list) == len(set(body_list)), "a message is there twice"
        assert len(ids) == len(set(ids))
        missing = set(acked) - set(ids)
        assert not missing, f"acknowledged but lost: {[acked[e] for e in missing]}"
        for s in senders:
            # Each sender's messages in the order it was told they were sent.
            mine = [e for e in ids if e in {eid for _, eid in s.acked}]
            assert mine == [eid for _, eid in s.acked]
        # One order through either process.
        assert [e["event_id"] for e in after_restart] == ids

        # And on the remote server: everything, once, in the same order.
        async def remote_has_all():
            got = await all_messages(watcher, room)
            return got if {e["event_id"] for e in got} >= set(ids) else None
        try:
            remote_view = await eventually(remote_has_all, timeout=60, interval=0.5)
        except AssertionError:
            got = {e["event_id"] for e in await all_messages(watcher, room)}
            lost = [(n, body_list[n]) for n, e in enumerate(ids) if e not in got]
            raise AssertionError(f"the remote server is missing {len(lost)} of {len(ids)}"
                                 f" messages after 60 s: (position, body) {lost}") from None
        remote_ids = [e["event_id"] for e in remote_view]
        assert len(remote_ids) == len(set(remote_ids)), "the remote has a message twice"
        assert remote_ids == ids
    except BaseException:
        print(hs.logs())
        raise
