"""A live hallway across the federation: A (the host) pushes its rooms' changes to B and C.

The servers cache each other's pulled lists for an hour here (``hallway_refresh_seconds``),
so whatever B and C show within seconds of a change on A reached them pushed; each test also
checks that they did not pull A meanwhile. Latencies are measured by polling the hallway with
a deadline and printed (``pytest -s`` shows them).
"""
from __future__ import annotations

import asyncio
import logging
import time
from urllib.parse import quote

from aiohttp.test_utils import unused_port

from tests.integration.keyed_server import KeyedServer

H = "/_matrix/client/unstable/org.audiorooms/hallway"
NS = "org.audiorooms."
AUDIO = {"type": "org.audiorooms.audio"}
PUSH = "org.audiorooms.hallway"


async def start_world(make_homeserver, extra: dict[str, str] | None = None):
    """A, B and C federating (plus ``extra`` servers by name -> URL in everyone's config)."""
    ports = {n: unused_port() for n in "abc"}
    urls = {f"127.0.0.1:{p}": f"http://127.0.0.1:{p}" for p in ports.values()}
    urls.update(extra or {})
    hs = {}
    for n in "abc":
        hs[n] = await make_homeserver(
            n, port=ports[n], audio={"hallway_refresh_seconds": 3600},
            federation={"servers": urls, "retry_base_seconds": 0.05,
                        "retry_max_seconds": 0.5, "request_timeout_seconds": 5})
    return hs


async def hallway(client, **params) -> dict:
    page = await client.ok("GET", H, params={"limit": "50", **params})
    assert set(page) >= {"live", "upcoming", "replays", "total_live"}, page
    return page


def entry(page: dict, room_id: str, part: str = "live") -> dict | None:
    return next((e for e in page[part] if e["room_id"] == room_id), None)


async def within(seconds: float, check) -> float:
    """Poll ``check`` (async, truthy when done) until it holds; the seconds it took."""
    start = time.monotonic()
    last = None
    while time.monotonic() - start < seconds:
        last = await check()
        if last:
            return time.monotonic() - start
        await asyncio.sleep(0.02)
    raise AssertionError(f"not within {seconds}s; last {last!r}")


async def public_audio_room(client, name: str, **extra) -> str:
    return await client.create_room(preset="public_chat", visibility="public", name=name,
                                     topic=f"about {name}", creation_content=AUDIO, **extra)


async def warm_up(hs, viewers) -> str:
    """A room on A that B and C list: they have pulled A once and heard its pushes since."""
    alice = await hs["a"].user("warmup")
    room = await public_audio_room(alice, "warm-up")
    for v in viewers:
        await within(5, lambda v=v: _listed(v, room))
        await hallway(v)  # a first push from A (a new boot) asks for one pull: done now
    return room


async def _listed(client, room_id: str) -> bool:
    return entry(await hallway(client), room_id) is not None


# -- going live and ending, seen on B and C within 2 s ----------------------------------------

async def test_go_live_and_end_reach_b_and_c_within_two_seconds(make_homeserver):
    hs = await start_world(make_homeserver)
    alice = await hs["a"].user("alice")
    viewers = {"b": await hs["b"].user("bob"), "c": await hs["c"].user("carol")}
    await warm_up(hs, viewers.values())
    soon = int(time.time() * 1000) + 3600_000
    room = await public_audio_room(alice, "Tonight", initial_state=[
        {"type": NS + "live", "state_key": "", "content": {"live": False,
                                                           "scheduled_for": soon}}])
    for v in viewers.values():  # announced as upcoming first
        await within(5, lambda v=v: _upcoming(v, room))
    pulls = {n: hs[n].hs.audio.pulls for n in viewers}

    t0 = time.monotonic()
    await alice.put_state(room, NS + "live", {"live": True})
    latency = {}
    for n, v in viewers.items():
        await within(2.0, lambda v=v: _listed(v, room))
        latency[n] = time.monotonic() - t0
    print(f"\ngo-live seen on B after {latency['b'] * 1000:.0f} ms, "
          f"on C after {latency['c'] * 1000:.0f} ms")
    page = await hallway(viewers["c"])
    e = entry(page, room)
    assert e["name"] == "Tonight" and e[NS + "host"] == hs["a"].server_name
    assert entry(page, room, "upcoming") is None

    t0 = time.monotonic()
    await alice.put_state(room, NS + "live", {"live": False})
    for n, v in viewers.items():
        await within(2.0, lambda v=v: _not_listed(v, room))
        latency[n] = time.monotonic() - t0
    print(f"end seen on B after {latency['b'] * 1000:.0f} ms, "
          f"on C after {latency['c'] * 1000:.0f} ms")
    # Pushed, not pulled: neither asked A for its list since the warm-up.
    assert {n: hs[n].hs.audio.pulls for n in viewers} == pulls


async def _upcoming(client, room_id: str) -> bool:
    return entry(await hallway(client), room_id, "upcoming") is not None


async def _not_listed(client, room_id: str) -> bool:
    return entry(await hallway(client), room_id) is None


# -- the room's own "ended" beats a cached list ------------------------------------------------

async def test_server_in_the_room_never_lists_it_live_after_its_ended_event(make_homeserver):
    hs = await start_world(make_homeserver)
    a, b = hs["a"], hs["b"]
    alice, bob = await a.user("alice"), await b.user("bob")
    await warm_up(hs, [bob])
    room = await public_audio_room(alice, "Ends soon")
    await bob.join(room)  # B is in the room: it receives the room's events
    await within(5, lambda: _listed(bob, room))
    stale = entry(await hallway(bob), room)

    await alice.put_state(room, NS + "live", {"live": False})
    await within(5, lambda: _ended_in_state(bob, room))
    await within(5, lambda: _cached_live(b, a, room, False))

    # A's old word arrives late (a push from before the end, in sequence so that B has no
    # reason to pull): B's cache says live, B itself holds the room's "ended" event.
    pusher = a.hs.hallway_push
    b.hs.audio.on_hallway_edu(a.server_name, {"boot": pusher.boot, "seq": pusher.seq + 1,
                                              "rooms": [stale]})
    assert await _cached_live(b, a, room, True)
    deadline = time.monotonic() + 1.5
    while time.monotonic() < deadline:
        page = await hallway(bob)
        assert entry(page, room) is None, "an ended room listed live on a cached word"
        assert page["total_live"] == 1  # the warm-up room only
    # Live again on A: B lists it again (the rule is about the ended event, not the room).
    await alice.put_state(room, NS + "live", {"live": True})
    await within(2.0, lambda: _listed(bob, room))


async def _ended_in_state(client, room_id: str) -> bool:
    status, content = await client.request(
        "GET", f"/rooms/{quote(room_id)}/state/{NS}live/")
    return status == 200 and content.get("live") is False


async def _cached_live(viewer, host, room_id: str, live: bool) -> bool:
    e = viewer.hs.audio.hallways.entry(host.server_name, room_id)
    return e is not None and e[NS + "live"] is live


# -- listener counts -------------------------------------------------------------------------

async def test_listener_counts_reach_other_servers_within_ten_seconds(make_homeserver):
    hs = await start_world(make_homeserver)
    alice = await hs["a"].user("alice")
    viewers = {"b": await hs["b"].user("bob"), "c": await hs["c"].user("carol")}
    await warm_up(hs, viewers.values())
    room = await public_audio_room(alice, "Counting")
    for v in viewers.values():
        await within(5, lambda v=v: _listed(v, room))
    pulls = {n: hs[n].hs.audio.pulls for n in viewers}
    fans = [await hs[n].user(f"fan{n}{i}") for n in "abc" for i in range(2)]

    t0 = time.monotonic()
    for fan in fans:
        await fan.join(room)
    for n, v in viewers.items():
        await within(10, lambda v=v: _count(v, room, 6))
        print(f"\n6 listeners seen on {n.upper()} {time.monotonic() - t0:.2f} s after the "
              "first join")
    t0 = time.monotonic()
    for fan in fans[:4]:
        await fan.ok("POST", f"/rooms/{quote(room)}/leave", {})
    for n, v in viewers.items():
        await within(10, lambda v=v: _count(v, room, 2))
        print(f"2 listeners seen on {n.upper()} {time.monotonic() - t0:.2f} s after the leaves")
    assert {n: hs[n].hs.audio.pulls for n in viewers} == pulls


async def _count(client, room_id: str, n: int) -> bool:
    e = entry(await hallway(client), room_id)
    return e is not None and e[NS + "listener_count"] == n


# -- replays ---------------------------------------------------------------------------------

def replay_content(url: str, started: int, ended: int, **extra) -> dict:
    return {"msgtype": "m.audio", "body": "Replay", "url": url,
            "info": {"mimetype": "audio/ogg", "duration": ended - started, "size": 5},
            NS + "replay": {"started_ts": started, "ended_ts": ended}, **extra}


async def test_replays_of_public_rooms_are_listed_newest_first_on_every_server(make_homeserver):
    hs = await start_world(make_homeserver)
    alice = await hs["a"].user("alice")
    viewers = {"b": await hs["b"].user("bob"), "c": await hs["c"].user("carol")}
    await warm_up(hs, viewers.values())
    room = await public_audio_room(alice, "Recorded talk")
    private = await alice.create_room(preset="private_chat", name="Private",
                                      creation_content=AUDIO)
    listener = await hs["a"].user("listener")
    await listener.join(room)
    status, up = await alice.request("POST", "/_matrix/media/v3/upload", raw=b"OggS\0",
                                     headers={"Content-Type": "audio/ogg"})
    assert status == 200, up
    url = up["content_uri"]
    assert url.startswith(f"mxc://{hs['a'].server_name}/")

    async def post(client, room_id, content):
        return (await client.ok("PUT", f"/rooms/{quote(room_id)}/send/m.room.message/"
                                f"r{time.monotonic_ns()}", content))["event_id"]

    older = await post(alice, room, replay_content(url, 1_700_000_000_000, 1_700_000_600_000))
    newer = await post(alice, room, replay_content(url, 1_700_001_000_000, 1_700_001_060_000))
    # Not replays the hallway lists: a listener's, one on another server's media, a private
    # room's, one with a malformed replay field.
    await post(listener, room, replay_content(url, 1_700_002_000_000, 1_700_002_001_000))
    await post(alice, room, replay_content("mxc://elsewhere.example/abc", 1_700_003_000_000,
                                           1_700_003_001_000))
    await post(alice, private, replay_content(url, 1_700_004_000_000, 1_700_004_001_000))
    bad = replay_content(url, 1_700_005_000_000, 1_700_005_001_000)
    bad[NS + "replay"]["ended_ts"] = "later"
    await post(alice, room, bad)

    want = [(newer, 60_000, 1_700_001_000_000, 1_700_001_060_000),
            (older, 600_000, 1_700_000_000_000, 1_700_000_600_000)]

    async def listed(client):
        got = (await hallway(client))["replays"]
        return got if [(r["event_id"], r["duration"], r["started_ts"], r["ended_ts"])
                       for r in got] == want else None

    replays = await listed(alice)
    assert replays, (await hallway(alice))["replays"]
    for r in replays:
        assert r["name"] == "Recorded talk" and r["url"] == url and r["room_id"] == room
        assert r["host"] == hs["a"].server_name
    for n, v in viewers.items():
        took = await within(10, lambda v=v: listed(v))
        print(f"\nreplays listed on {n.upper()} after {took:.2f} s")
        assert (await listed(v)) == replays
    # A redacted replay leaves every hallway.
    await alice.ok("PUT", f"/rooms/{quote(room)}/redact/{quote(newer)}/x1", {})
    want = want[1:]
    for v in [alice, *viewers.values()]:
        await within(10, lambda v=v: listed(v))


# -- a hostile server's pushes -----------------------------------------------------------------

class Pusher:
    """E: a real signing server that pushes hallway EDUs to B."""

    def __init__(self, evil: KeyedServer, b, session):
        self.evil, self.b, self.session = evil, b, session
        self.seq = 0
        self.txn = 0

    def room(self, n: int, **changes) -> dict:
        name = self.evil.name
        e = {"room_id": f"!e{n}:{name}", "num_joined_members": 3, "world_readable": True,
             "guest_can_join": True, "join_rule": "public", "name": f"E room {n}",
             "room_type": "org.audiorooms.audio", NS + "live": True, NS + "host": name,
             NS + "speakers": [{"user_id": f"@h:{name}", "displayname": "H", "moderator": True}],
             NS + "speaker_count": 1, NS + "listener_count": 2, NS + "clubs": [],
             NS + "live_since": 1_700_000_000_000 + n}
        e.update(changes)
        return e

    async def send(self, *edus) -> int:
        self.txn += 1
        body = {"origin": self.evil.name, "origin_server_ts": int(time.time() * 1000),
                "pdus": [], "edus": list(edus)}
        status, answer = await self.evil.request(
            self.session, self.b.url, self.b.server_name, "PUT",
            f"/_matrix/federation/v1/send/h{self.txn}", body)
        return status

    def edu(self, rooms, **content) -> dict:
        self.seq += 1
        return {"edu_type": PUSH, "content": {"boot": "evil", "seq": self.seq, "rooms": rooms,
                                              **content}}


async def test_hostile_hallway_pushes_are_ignored(make_homeserver, caplog):
    caplog.set_level(logging.WARNING)
    evil, stranger = KeyedServer(), KeyedServer()
    await evil.start()
    await stranger.start()
    try:
        hs = await start_world(make_homeserver, {evil.name: evil.url})
        a, b = hs["a"], hs["b"]
        alice, bob = await a.user("alice"), await b.user("bob")
        warm = await warm_up(hs, [bob])
        room = await public_audio_room(alice, "A's room")
        await within(5, lambda: _listed(bob, room))
        e = Pusher(evil, b, b.session)
        other = a.server_name
        assert await e.send(e.edu([e.room(1)])) == 200  # control: E's own room is listed
        await within(2, lambda: _listed(bob, f"!e1:{evil.name}"))

        big = "x" * 70_000
        attacks = {
            # rooms E does not host, whatever the host field says
            "a's room ended": [e.room(1, room_id=room, **{NS + "host": other,
                                                          NS + "live": False})],
            "a's room, host E": [e.room(1, room_id=room, **{NS + "listener_count": 999})],
            "invented room of a": [e.room(1, room_id=f"!fake:{other}", **{NS + "host": other})],
            "port-suffix server": [e.room(7, room_id=f"!x:{evil.name}1")],
            # bad fields
            "count negative": [e.room(2, **{NS + "listener_count": -1})],
            "count bool": [e.room(2, **{NS + "listener_count": True})],
            "count over the cap": [e.room(2, **{NS + "listener_count": 10**12})],
            "live text": [e.room(2, **{NS + "live": "yes"})],
            "room id junk": [e.room(2, room_id="junk")],
            "name too long": [e.room(2, name=big)],
            "not an object": ["room", 5, None],
            "removal of a's room": [{"room_id": room, "removed": True}],
            "replay on a's media": [e.room(2, **{NS + "replays": [
                {"event_id": "$r", "url": f"mxc://{other}/m", "duration": 1,
                 "started_ts": 1, "ended_ts": 2}]})],
            "replay negative duration": [e.room(2, **{NS + "replays": [
                {"event_id": "$r", "url": f"mxc://{evil.name}/m", "duration": -1,
                 "started_ts": 1, "ended_ts": 2}]})],
            # too many rooms in one push: the whole push is ignored
            "51 rooms": [e.room(100 + i) for i in range(51)],
        }
        for case, rooms in attacks.items():
            assert await e.send(e.edu(rooms)) == 200, case
            await _b_lists_only(bob, {room, warm, f"!e1:{evil.name}"}, room, case)
        envelopes = {
            "content a list": {"edu_type": PUSH, "content": [e.room(3)]},
            "rooms not a list": {"edu_type": PUSH, "content": {"boot": "evil", "seq": 99,
                                                               "rooms": {"r": e.room(3)}}},
            "seq text": {"edu_type": PUSH, "content": {"boot": "evil", "seq": "1",
                                                       "rooms": [e.room(3)]}},
            "boot missing": {"edu_type": PUSH, "content": {"seq": 1, "rooms": [e.room(3)]}},
            "boot huge": {"edu_type": PUSH, "content": {"boot": big, "seq": 1,
                                                        "rooms": [e.room(3)]}},
        }
        for case, edu in envelopes.items():
            assert await e.send(edu) == 200, case
            await _b_lists_only(bob, {room, warm, f"!e1:{evil.name}"}, room, case)
        # A server B does not list (not in its config, in no room with it) is not heard: what
        # B's transaction handler passes on once the stranger's signature checked out.
        s = Pusher(stranger, b, b.session)
        b.hs.federation.receive_edu(stranger.name, s.edu([s.room(1)]))
        await _b_lists_only(bob, {room, warm, f"!e1:{evil.name}"}, room, "stranger")

        # E can still end its own room, and a good push after all that is taken.
        assert await e.send(e.edu([e.room(1, **{NS + "live": False}),
                                   e.room(2, **{NS + "listener_count": 9})])) == 200
        page = await hallway(bob)
        assert entry(page, f"!e1:{evil.name}") is None
        assert entry(page, f"!e2:{evil.name}")[NS + "listener_count"] == 9
        assert entry(page, room)[NS + "listener_count"] == 0
        errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
        assert not errors, errors
        await bob.create_room(name="B still serves")
    finally:
        await evil.close()
        await stranger.close()


async def _b_lists_only(bob, want: set[str], a_room: str, case: str) -> None:
    page = await hallway(bob)
    assert {x["room_id"] for x in page["live"]} == want, case
    a_entry = entry(page, a_room)
    assert a_entry is not None and a_entry[NS + "listener_count"] == 0, (case, a_entry)
    assert a_entry[NS + "live"] is True and a_entry["name"] == "A's room", case
    assert page["replays"] == [], case
    for x in page["live"]:
        assert isinstance(x[NS + "listener_count"], int) and x[NS + "listener_count"] >= 0

