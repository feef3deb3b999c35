"""SFUCluster: rooms and their listeners spread over worker processes (one per core), a room
larger than one worker relayed between workers, and a cluster as a federated server."""
from __future__ import annotations

import asyncio
import time

import pytest

from media.cluster import SFUCluster
from media.sfu import SFU
from media.testing import AudioClient, ToneTrack, hears, tones_of, wait_for

ROOM = "!stage:a"


@pytest.fixture
async def clients():
    made: list[AudioClient] = []
    yield made
    for c in made:
        await c.close()


async def join(sfu, user, clients, mic=None, may_send=None, room=ROOM):
    c = AudioClient(slots=3, mic=mic)
    sid, answer = await sfu.open_session(room, user, await c.offer(),
                                         may_send if may_send is not None else mic is not None)
    await c.accept(answer)
    clients.append(c)
    return c, sid


async def test_a_room_spans_workers_and_mute_reaches_every_one(clients):
    cluster = SFUCluster(workers=2, sessions_per_worker=2, server_name="a")
    try:
        speaker, _ = await join(cluster, "@speaker:a", clients, mic=ToneTrack(440, 0.5))
        t0 = time.monotonic()
        listeners = [(await join(cluster, f"@l{i}:a", clients))[0] for i in range(3)]
        sessions = await cluster.sessions(ROOM)
        assert {s["worker"] for s in sessions} == {"w0", "w1"}  # the room spilled over
        assert await wait_for(lambda: all(c.first_packet_at for c in listeners), 5)
        assert max(c.first_packet_at for c in listeners) - t0 < 1.0
        assert await wait_for(lambda: all(hears(c, 0, 440) for c in listeners), 3)
        # a speaker on the secondary worker is heard on the primary
        late, _ = await join(cluster, "@late:a", clients, mic=ToneTrack(880, 0.5))
        assert await wait_for(lambda: all(tones_of(c, range(2)) == [440, 880]
                                          for c in listeners), 4)
        assert (await cluster.get_speakers(ROOM))["talking"] == ["@late:a", "@speaker:a"]
        assert ROOM in cluster.rooms and cluster.speakers(ROOM)["talking"]  # the sync form
        stats = await cluster.get_stats()
        assert stats["relays"] == 1 and stats["workers"]["w0"]["forwarded"] > 0 \
            and stats["workers"]["w1"]["forwarded"] > 0
        # muting goes to every worker: the 440 Hz slot stops within 100 ms everywhere
        slots = [next(i for i in range(2) if hears(c, i, 440)) for c in listeners]
        cluster.set_may_send(ROOM, "@speaker:a", False)
        muted = time.monotonic()
        await asyncio.sleep(0.5)
        for c, i in zip(listeners, slots, strict=False):
            assert c.records[i].last_packet_time() - muted < 0.1
            assert c.records[1 - i].last_packet_time() > muted + 0.3  # 880 Hz goes on
    finally:
        await cluster.close()


async def test_a_cluster_relays_a_remote_room_once(clients):
    host = SFU(server_name="a")
    calls = []

    async def signal(room_id, host_name, offer):
        calls.append(host_name)
        _rid, answer = await host.open_relay(room_id, "b", offer)
        return answer

    cluster = SFUCluster(workers=2, sessions_per_worker=1, server_name="b",
                         relay_signaller=signal)
    try:
        await join(host, "@speaker:a", clients, mic=ToneTrack(440, 0.5))
        remote = [(await join(cluster, f"@r{i}:b", clients))[0] for i in range(3)]
        assert {s["worker"] for s in await cluster.sessions(ROOM)} == {"w0", "w1"}
        assert await wait_for(lambda: all(hears(c, 0, 440) for c in remote), 5)
        assert calls == ["a"] and host.stats()["relays"] == 1  # one relay for server b
        # a speaker on b (secondary worker) is heard on a through b's primary
        listener_a, _ = await join(host, "@la:a", clients)
        host.set_may_send(ROOM, "@bob:b", True)
        cluster.set_may_send(ROOM, "@bob:b", True)
        await join(cluster, "@bob:b", clients, mic=ToneTrack(660, 0.5))
        assert await wait_for(lambda: tones_of(listener_a, range(2)) == [440, 660], 5)
    finally:
        await cluster.close()
        await host.close()
