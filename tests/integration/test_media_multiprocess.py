"""Two `homeserver run` processes of one server (one config, PostgreSQL) share SFU workers
(`media.worker_hosts`): a speaker whose session was POSTed to process 1 is heard by a listener
whose session went to process 2, and a moderator acting through process 2 puts a speaker of
process 1 on stage and mutes him again.

Needs PostgreSQL: AUDIOROOMS_TEST_PG_URL, else the development cluster of this machine; skipped
when neither answers, failed when AUDIOROOMS_TEST_PG_URL (or AUDIOROOMS_REQUIRE_PG=1) is set
and it does not.
"""
from __future__ import annotations

import asyncio
import json
import os
import secrets
import socket
import sys
import time
from urllib.parse import quote, urlsplit, urlunsplit

import aiohttp
import pytest
import yaml

from media.cluster import SFUCluster
from media.testing import AudioClient, ToneTrack, hears, tones_heard, wait_for
from tests.integration.processes import REPO, ServerProcess, generate_config
from tests.matrix_client import Client, MatrixResponseError

pytestmark = pytest.mark.own_databases(reason="its processes share a PostgreSQL database it makes")

DEV_PG = "postgresql://postgres@127.0.0.1:55432/postgres"
AUDIO = {"type": "org.audiorooms.audio"}
U = "/_matrix/client/unstable/org.audiorooms"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
async def pg_url():
    """A fresh database on the test PostgreSQL server, dropped afterwards."""
    asyncpg = pytest.importorskip("asyncpg")
    admin = os.environ.get("AUDIOROOMS_TEST_PG_URL") or DEV_PG
    try:
        conn = await asyncio.wait_for(asyncpg.connect(admin), 10)
    except (OSError, TimeoutError, asyncpg.PostgresError) as e:
        if os.environ.get("AUDIOROOMS_TEST_PG_URL") or \
                os.environ.get("AUDIOROOMS_REQUIRE_PG") == "1":
            pytest.fail(f"AUDIOROOMS_TEST_PG_URL does not answer: {e!r}")
        pytest.skip(f"no PostgreSQL at {admin}: {e!r}")
    name = "mpsfu_" + secrets.token_hex(6)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
        parts = urlsplit(admin)
        yield urlunsplit(parts._replace(path="/" + name))
    finally:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()


@pytest.fixture
async def media_workers():
    """Two SFU workers already running, as on other hosts: (addresses, secret)."""
    secret = secrets.token_urlsafe(16)
    env = dict(os.environ, MEDIA_WORKER_SECRET=secret)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    procs, addresses = [], []
    try:
        for _ in range(2):
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "media.worker", "--listen", "127.0.0.1:0", cwd=REPO,
                stdout=asyncio.subprocess.PIPE, env=env)
            procs.append(proc)
            line = await asyncio.wait_for(proc.stdout.readline(), 30)
            addresses.append(f"127.0.0.1:{json.loads(line)['port']}")
        yield addresses, secret
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()


async def eventually(make, timeout: float = 10.0):
    """``make()`` until it stops raising (another process may not know the room yet)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return await make()
        except MatrixResponseError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.05)


async def until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.05)


async def open_audio(client: Client, room: str, mic=None) -> tuple[AudioClient, str]:
    audio = AudioClient(mic=mic)
    offer = await audio.offer()
    answer = await eventually(lambda: client.ok("POST", f"{U}/rooms/{quote(room)}/media",
                                                {"type": "offer", "sdp": offer}))
    await audio.accept(answer["sdp"])
    return audio, answer["session_id"]


async def test_a_speaker_on_one_process_is_heard_through_the_other(tmp_path, pg_url,
                                                                   media_workers):
    addresses, secret = media_workers
    port1, port2 = _free_port(), _free_port()
    path = generate_config(tmp_path, port1)
    cfg = yaml.safe_load(path.read_text())
    cfg["database"] = {"engine": "postgres", "url": pg_url}
    cfg["media"].update(worker_hosts=addresses, worker_secret=secret)
    path.write_text(yaml.safe_dump(cfg))
    one = ServerProcess(path, tmp_path / "one.log")
    two = ServerProcess(path, tmp_path / "two.log")
    clients: list[AudioClient] = []
    try:
        await one.start()
        await _start_on_port(two, port2)
        async with aiohttp.ClientSession() as http:
            p1 = f"http://127.0.0.1:{port1}"
            p2 = f"http://127.0.0.1:{port2}"
            alice = Client(http, p1)
            await alice.register("alice")
            carol = Client(http, p1)
            await carol.register("carol")
            bob = Client(http, p2)
            await bob.register("bob")
            room = await alice.create_room(preset="public_chat", creation_content=AUDIO,
                                           name="Two processes")
            await carol.join(room)
            await eventually(lambda: bob.join(room))

            # Alice (the rooms' moderator) speaks through process 1 in two rooms, Bob listens
            # through process 2 (in the other order: each process placing by its own counts
            # would put one of the rooms on two workers).
            other = await alice.create_room(preset="public_chat", creation_content=AUDIO)
            await eventually(lambda: bob.join(other))
            speaker, _ = await open_audio(alice, room, ToneTrack(440, 0.5))
            clients.append(speaker)
            speaker2, _ = await open_audio(alice, other, ToneTrack(660, 0.5))
            clients.append(speaker2)
            listener2, _ = await open_audio(bob, other)
            clients.append(listener2)
            # process 2 has no session in the room yet: it still shows who is speaking there
            deadline = time.monotonic() + 10
            while True:
                layout = await eventually(lambda: bob.ok("GET", f"{U}/rooms/{quote(room)}/speakers"))
                if alice.user_id in [s.get("user_id") for s in layout["slots"]]:
                    break
                assert time.monotonic() < deadline, f"process 2 shows no speaker: {layout}"
                await asyncio.sleep(0.1)
            listener, bob_sid = await open_audio(bob, room)
            clients.append(listener)
            await until(lambda: hears(listener, 0, 440), 15,
                        "the listener on process 2 never heard the speaker on process 1")
            await until(lambda: hears(listener2, 0, 660), 15,
                        "the listener on process 2 never heard the speaker on process 1")

            # Carol's mic comes through process 1 before she may speak: not forwarded.
            mic, _ = await open_audio(carol, room, ToneTrack(880, 0.5))
            clients.append(mic)
            await asyncio.sleep(1.0)
            assert 880 not in tones_heard(listener), "a listener's mic was forwarded"

            # The moderator promotes her through process 2 (her session is process 1's).
            alice2 = Client(http, p2, alice.token, alice.user_id)
            await eventually(lambda: alice2.put_state(
                room, "org.audiorooms.role", {"role": "speaker"}, carol.user_id))
            await until(lambda: 880 in tones_heard(listener), 10,
                        "promoted through process 2, the speaker of process 1 was not heard")
            # ... and mutes her through process 2: her audio stops for the listener.
            await alice2.put_state(room, "org.audiorooms.role",
                                   {"role": "speaker", "muted": True}, carol.user_id)
            await until(lambda: 880 not in tones_heard(listener), 10,
                        "muted through process 2, the speaker of process 1 went on")
            assert 440 in tones_heard(listener)

            # Bob's session (opened through process 2) is closed through process 1.
            bob1 = Client(http, p1, bob.token, bob.user_id)
            await bob1.ok("DELETE", f"{U}/rooms/{quote(room)}/media/{bob_sid}")
            status, _ = await bob1.request("DELETE", f"{U}/rooms/{quote(room)}/media/{bob_sid}")
            assert status == 404
            # Alice may not close (or even find) Bob's session through either process.
            status, _ = await alice2.request(
                "DELETE", f"{U}/rooms/{quote(room)}/media/{bob_sid}")
            assert status == 404
    finally:
        for c in clients:
            await c.close()
        await two.kill()
        await one.kill()


async def _start_on_port(proc: ServerProcess, port: int) -> None:
    """``ServerProcess.start`` with ``--port``: the same config, another listener port."""
    with open(proc.log, "ab") as err:
        proc.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "homeserver", "run", "--config", str(proc.config),
            "--port", str(port), cwd=REPO, stdout=asyncio.subprocess.PIPE, stderr=err,
            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    while True:
        line = await asyncio.wait_for(proc.proc.stdout.readline(), 30)
        if not line:
            raise AssertionError(f"server exited before ready: {proc.log.read_text()}")
        if b"ready at" in line:
            return


async def test_two_fronts_agree_on_a_room_and_its_stage_over_shared_workers(media_workers):
    """What the processes above rely on, as two ``SFUCluster`` fronts of server "a": both put
    a room's sessions on its one primary or, when the primary is full (counting both fronts'
    sessions), on a worker that relays it; either front's stage push reaches every session,
    pushing the same value twice changes nothing, and a front that stops leaves the workers
    and its sessions running for the other."""
    addresses, secret = media_workers
    room = "!stage:a"
    fronts = [SFUCluster(workers=addresses, secret=secret, server_name="a",
                         sessions_per_worker=1) for _ in range(2)]
    clients: list[AudioClient] = []

    async def join(front, user, mic=None):
        c = AudioClient(slots=3, mic=mic)
        clients.append(c)
        sid, answer = await front.open_session(room, user, await c.offer(), mic is not None)
        await c.accept(answer)
        return c

    try:
        await join(fronts[0], "@speaker:a", ToneTrack(440, 0.5))
        first = await join(fronts[1], "@l1:a")  # the primary is full: the other worker
        second = await join(fronts[0], "@l2:a")
        placed = await fronts[0].sessions(room)
        assert len({s["worker"] for s in placed}) == 2  # the room spilled over
        seen = [{(s["session_id"], s["worker"]) for s in await f.sessions(room)} for f in fronts]
        assert seen[0] == seen[1] and len(seen[0]) == 3  # one view from either front
        assert await wait_for(lambda: hears(first, 0, 440) and hears(second, 0, 440), 10)

        # muted through front 1, the same push again from front 0: silence for both
        fronts[1].set_may_send(room, "@speaker:a", False)
        fronts[0].set_may_send(room, "@speaker:a", False)
        muted = time.monotonic()
        await asyncio.sleep(0.6)
        for c in (first, second):
            last = c.records[0].last_packet_time()
            assert last is None or last - muted < 0.15
        fronts[0].set_may_send(room, "@speaker:a", True)  # back on, through the other front
        fronts[0].set_may_send(room, "@speaker:a", True)
        assert await wait_for(lambda: hears(first, 0, 440) and hears(second, 0, 440), 5)

        # front 1 stops: the workers, and the session it placed, go on for front 0
        await fronts[1].close()
        await asyncio.sleep(0.5)
        assert hears(first, 0, 440)
        late = await join(fronts[0], "@l3:a")
        assert await wait_for(lambda: hears(late, 0, 440), 10)
    finally:
        for c in clients:
            await c.close()
        for front in fronts:
            await front.close()
