"""Presence over real HTTP: set and read, seen once in the other member's incremental /sync,
timeouts (idle -> unavailable, gone -> offline), across two servers as m.presence EDUs, hostile
EDUs ignored, and presence switched off by config."""
from __future__ import annotations

import asyncio
import time
from urllib.parse import quote

from tests.integration.federation_helpers import eventually, start_servers
from tests.integration.test_receipts_typing import send_edus


def presence_of(sync: dict, user_id: str) -> list[dict]:
    return [e["content"] for e in sync["presence"]["events"]
            if e["type"] == "m.presence" and e["sender"] == user_id]


def status_path(user_id: str) -> str:
    return f"/presence/{quote(user_id)}/status"


async def two_in_a_room(server):
    alice = await server.user("alice")
    bob = await server.user("bob")
    room = await alice.create_room(preset="public_chat")
    await bob.join(room)
    return alice, bob, room


async def test_status_seen_once_by_the_other_member(homeserver):
    alice, bob, room = await two_in_a_room(homeserver)
    first = await bob.sync()
    assert presence_of(first, bob.user_id)[0]["presence"] == "online"  # syncing: online
    since = first["next_batch"]
    poll = asyncio.create_task(bob.sync(since, timeout=10_000))
    await asyncio.sleep(0.1)
    t0 = time.monotonic()
    await alice.ok("PUT", status_path(alice.user_id),
                   {"presence": "unavailable", "status_msg": "at lunch"})
    sync = await poll
    assert time.monotonic() - t0 < 5  # the long-poll was woken
    got = presence_of(sync, alice.user_id)
    assert len(got) == 1
    assert got[0]["presence"] == "unavailable" and got[0]["status_msg"] == "at lunch"
    assert isinstance(got[0]["last_active_ago"], int) and got[0]["last_active_ago"] >= 0
    again = await bob.sync(sync["next_batch"])
    assert presence_of(again, alice.user_id) == []
    # GET: by a member of a shared room, not by a stranger.
    status = await bob.ok("GET", status_path(alice.user_id))
    assert status["presence"] == "unavailable" and status["status_msg"] == "at lunch"
    carol = await homeserver.user("carol")
    code, err = await carol.request("GET", status_path(alice.user_id))
    assert code == 403 and err["errcode"] == "M_FORBIDDEN"
    # Bad input changes nothing.
    for bad in ({"presence": "busy"}, {"presence": "online", "status_msg": "x" * 1001},
                {"presence": "online", "status_msg": 5}):
        code, err = await alice.request("PUT", status_path(alice.user_id), bad)
        assert code == 400 and err["errcode"] == "M_INVALID_PARAM"
    code, err = await alice.request("PUT", status_path(bob.user_id), {"presence": "offline"})
    assert code == 403
    assert (await bob.ok("GET", status_path(alice.user_id)))["status_msg"] == "at lunch"
    code, err = await bob.request("GET", "/sync", params={"set_presence": "away"})
    assert code == 400


async def test_set_presence_offline_and_timeouts(homeserver):
    alice, bob, room = await two_in_a_room(homeserver)
    presence = homeserver.hs.presence
    # (Creating the room was activity: she is online.) Syncing with set_presence=offline
    # after setting offline does not bring Alice back online.
    assert (await bob.ok("GET", status_path(alice.user_id)))["presence"] == "online"
    await alice.ok("PUT", status_path(alice.user_id), {"presence": "offline"})
    await alice.sync(set_presence="offline")
    assert (await bob.ok("GET", status_path(alice.user_id)))["presence"] == "offline"
    await alice.sync(set_presence="unavailable")
    assert (await bob.ok("GET", status_path(alice.user_id)))["presence"] == "unavailable"
    since = (await bob.sync())["next_batch"]
    await alice.sync()
    assert (await bob.ok("GET", status_path(alice.user_id)))["presence"] == "unavailable"
    await alice.send(room, "hello")  # activity brings her online
    status = await bob.ok("GET", status_path(alice.user_id))
    assert status["presence"] == "online" and status["currently_active"] is True

    # Idle for 6 minutes while her long-poll is in flight: unavailable.
    start = time.time()
    poll = asyncio.create_task(alice.sync((await alice.sync())["next_batch"], timeout=3000))
    await asyncio.sleep(0.2)
    presence.clock = lambda: time.time() + 360
    presence.check_timeouts()
    assert (await bob.ok("GET", status_path(alice.user_id)))["presence"] == "unavailable"
    await poll
    # No sync for more than 30 s after that: offline.
    presence.clock = lambda: time.time() + 400
    presence.check_timeouts()
    sync = await bob.sync(since)
    assert presence_of(sync, alice.user_id)[-1]["presence"] == "offline"
    assert time.time() - start < 10


async def test_presence_across_servers(make_homeserver):
    hs = await start_servers(make_homeserver, names=("a", "b"))
    alice = await hs["a"].user("alice")
    bob = await hs["b"].user("bob")
    room = await alice.create_room(preset="public_chat")
    # Set before B shares a room with her: B is told when Bob joins.
    await alice.ok("PUT", status_path(alice.user_id),
                   {"presence": "unavailable", "status_msg": "in the hallway"})
    await bob.join(room)

    async def bob_told_on_join():
        got = presence_of(await bob.sync(), alice.user_id)
        return got and got[-1].get("status_msg") == "in the hallway"
    await eventually(bob_told_on_join)
    since = (await bob.sync())["next_batch"]
    await alice.ok("PUT", status_path(alice.user_id),
                   {"presence": "unavailable", "status_msg": "on stage soon"})
    seen: list[dict] = []

    async def bob_sees():
        nonlocal since
        s = await bob.sync(since)
        since = s["next_batch"]
        seen.extend(presence_of(s, alice.user_id))
        return any(p["presence"] == "unavailable" and p.get("status_msg") == "on stage soon"
                   for p in seen)
    await eventually(bob_sees)
    assert (await bob.ok("GET", status_path(alice.user_id)))["status_msg"] == "on stage soon"

    async def alice_sees_bob_online():  # Bob syncs, so he is online, and A is told
        s = await alice.sync()
        return any(p["presence"] == "online" for p in presence_of(s, bob.user_id))
    await eventually(alice_sees_bob_online)


async def test_hostile_presence_edus_are_ignored(make_homeserver):
    hs = await start_servers(make_homeserver, names=("a", "b", "c"))
    a, c = hs["a"], hs["c"]
    alice = await a.user("alice")
    bob = await hs["b"].user("bob")
    carol = await c.user("carol")
    room = await alice.create_room(preset="public_chat")
    await bob.join(room)

    def push(*items) -> dict:
        return {"edu_type": "m.presence", "content": {"push": list(items)}}

    def update(user_id, **kw) -> dict:
        return {"user_id": user_id, "presence": "online", "last_active_ago": 10,
                "status_msg": "forged", **kw}
    bad = [
        push(update(bob.user_id)),  # C speaking for B's user
        push(update(carol.user_id)),  # C's user, but she shares no room with A's users
        push(update("@nobody:" + c.server_name)),
        push(update(alice.user_id)),  # A's own user
        {"edu_type": "m.presence", "content": {"push": "nope"}},
        {"edu_type": "m.presence", "content": {"push": [update(carol.user_id)] * 5000}},
    ]
    assert await send_edus(c, a, bad) == 200
    await asyncio.sleep(0.2)
    sync = await alice.sync()
    assert not any(e["content"].get("status_msg") == "forged"
                   for e in sync["presence"]["events"]), sync["presence"]
    # Malformed updates for a user who does share a room are ignored too...
    await carol.join(room)

    async def carol_joined_at_a():
        s = await alice.sync()
        return carol.user_id in str(s["rooms"]["join"].get(room, {}))
    await eventually(carol_joined_at_a)
    since = (await alice.sync())["next_batch"]
    malformed = [update(carol.user_id, presence="busy"),
                 update(carol.user_id, last_active_ago=-1),
                 update(carol.user_id, last_active_ago=True),
                 update(carol.user_id, status_msg="x" * 5000),
                 update(carol.user_id, currently_active="yes"),
                 "not an object"]
    assert await send_edus(c, a, [push(*malformed)]) == 200
    await asyncio.sleep(0.2)
    # (C's own, genuine presence for Carol may arrive too: it carries no status message.)
    assert not any(p.get("status_msg") in ("forged", "x" * 5000)
                   for p in presence_of(await alice.sync(since), carol.user_id))
    # ... and a good one, now that she shares a room, is accepted.
    assert await send_edus(c, a, [push(update(carol.user_id, presence="unavailable",
                                              status_msg="real"))]) == 200

    async def accepted():
        got = presence_of(await alice.sync(since), carol.user_id)
        return got and got[-1]["presence"] == "unavailable" and got[-1]["status_msg"] == "real"
    await eventually(accepted)
    assert (await alice.ok("GET", "/_matrix/client/versions")) is not None


async def test_presence_disabled(make_homeserver):
    server = await make_homeserver("a", presence={"enabled": False})
    alice, bob, room = await two_in_a_room(server)
    since = (await bob.sync())["next_batch"]
    await alice.ok("PUT", status_path(alice.user_id),
                   {"presence": "unavailable", "status_msg": "hidden"})
    await alice.sync()
    await alice.send(room, "hi")
    sync = await bob.sync(since)
    assert sync["presence"]["events"] == []
    assert (await bob.sync())["presence"]["events"] == []
    assert await bob.ok("GET", status_path(alice.user_id)) == {"presence": "offline"}


async def test_last_known_presence_survives_a_restart(make_homeserver):
    from tests.integration.federation_helpers import restart
    server = await make_homeserver("a")
    alice, bob, room = await two_in_a_room(server)
    await alice.ok("PUT", status_path(alice.user_id),
                   {"presence": "unavailable", "status_msg": "back soon"})
    since = (await bob.sync())["next_batch"]
    await server.server.close()
    server = await restart(make_homeserver, server, "a")
    status = await bob.ok("GET", status_path(alice.user_id))
    assert status["presence"] == "unavailable" and status["status_msg"] == "back soon"
    # Nothing re-delivered to a token from before the restart; a new change still arrives.
    assert presence_of(await bob.sync(since), alice.user_id) == []
    await alice.ok("PUT", status_path(alice.user_id), {"presence": "online"})
    got = presence_of(await bob.sync(since), alice.user_id)
    assert [p["presence"] for p in got] == ["online"] and "status_msg" not in got[0]
