"""/sync over real HTTP: initial and incremental sync, long-polling, limited timelines with
usable prev_batch tokens, filters, invited and left rooms, and m.direct account data."""
from __future__ import annotations

import asyncio
import json
import time
from urllib.parse import quote

from tests.matrix_client import timeline_bodies


def r(room_id: str) -> str:
    return f"/rooms/{quote(room_id)}"


async def wait_parked(homeserver, user_id: str) -> None:
    """Bounded wait until a long-poll for ``user_id`` is parked on the server."""
    for _ in range(200):
        if homeserver.hs.notifier._waiters.get(user_id):
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the long-poll never parked")


async def test_initial_sync_contents(homeserver):
    alice = await homeserver.user("alice")
    room = await alice.create_room(preset="public_chat", name="Lobby", topic="hi")
    eid = await alice.send(room, "first!")
    sync = await alice.sync()
    assert isinstance(sync["next_batch"], str) and sync["next_batch"]
    joined = sync["rooms"]["join"][room]
    timeline = joined["timeline"]
    types = [e["type"] for e in timeline["events"]]
    assert types[0] == "m.room.create"
    assert types[-1] == "m.room.message"
    assert timeline["events"][-1]["event_id"] == eid
    assert timeline["limited"] is False
    assert "prev_batch" in timeline
    # Everything of the room's state is either in the timeline or in state.
    seen = {(e["type"], e.get("state_key")) for e in timeline["events"] + joined["state"]["events"]}
    assert {("m.room.create", ""), ("m.room.name", ""), ("m.room.topic", ""),
            ("m.room.power_levels", ""), ("m.room.member", alice.user_id)} <= seen
    assert joined["summary"]["m.joined_member_count"] == 1
    for ev in timeline["events"]:
        assert {"event_id", "sender", "type", "content", "origin_server_ts"} <= set(ev)
        assert "signatures" not in ev and "prev_events" not in ev
    assert sync["rooms"]["invite"] == {} and sync["rooms"]["leave"] == {}


async def test_initial_sync_with_more_than_the_limit_puts_state_in_state(homeserver):
    alice = await homeserver.user("alice")
    room = await alice.create_room(preset="public_chat", name="Busy")
    for i in range(5):
        await alice.send(room, f"m{i}")
    sync = await alice.sync(filter=json.dumps({"room": {"timeline": {"limit": 2}}}))
    joined = sync["rooms"]["join"][room]
    assert timeline_bodies(sync, room) == ["m3", "m4"]
    assert joined["timeline"]["limited"] is True
    state = {(e["type"], e["state_key"]): e for e in joined["state"]["events"]}
    assert state[("m.room.name", "")]["content"] == {"name": "Busy"}
    assert ("m.room.create", "") in state


async def test_incremental_sync_returns_only_new_events(homeserver):
    alice = await homeserver.user("alice")
    bob = await homeserver.user("bob")
    room = await alice.create_room(preset="public_chat")
    await bob.join(room)
    await alice.send(room, "old")
    first = await bob.sync()
    assert timeline_bodies(first, room) == ["old"]
    # Nothing new: the room is absent from an incremental sync.
    same = await bob.sync(since=first["next_batch"])
    assert room not in same["rooms"]["join"]
    await alice.send(room, "new 1")
    await alice.send(room, "new 2")
    later = await bob.sync(since=first["next_batch"])
    assert timeline_bodies(later, room) == ["new 1", "new 2"]
    tl = later["rooms"]["join"][room]["timeline"]
    assert tl["limited"] is False
    assert later["rooms"]["join"][room]["state"]["events"] == []
    assert later["next_batch"] != first["next_batch"]
    # A sync from the newest token again has nothing.
    again = await bob.sync(since=later["next_batch"])
    assert room not in again["rooms"]["join"]


async def test_long_poll_returns_when_a_message_arrives(homeserver):
    alice = await homeserver.user("alice")
    bob = await homeserver.user("bob")
    room = await alice.create_room(preset="public_chat")
    await bob.join(room)
    since = (await bob.sync())["next_batch"]

    started = time.monotonic()
    poll = asyncio.create_task(bob.sync(since=since, timeout=10_000))
    await wait_parked(homeserver, bob.user_id)
    assert not poll.done()
    await alice.send(room, "wake up")
    result = await asyncio.wait_for(poll, 5)
    elapsed = time.monotonic() - started
    assert elapsed < 2.0, elapsed
    assert timeline_bodies(result, room) == ["wake up"]


async def test_long_poll_times_out_empty(homeserver):
    alice = await homeserver.user("alice")
    room = await alice.create_room()
    since = (await alice.sync())["next_batch"]
    started = time.monotonic()
    result = await alice.sync(since=since, timeout=300)
    elapsed = time.monotonic() - started
    assert 0.25 <= elapsed < 2.0, elapsed
    assert result["rooms"]["join"] == {}
    assert result["rooms"]["invite"] == {} and result["rooms"]["leave"] == {}
    assert result["account_data"]["events"] == []
    assert result["next_batch"] == since
    assert room  # the room exists but had nothing new


async def test_initial_sync_ignores_timeout(homeserver):
    alice = await homeserver.user("alice")
    started = time.monotonic()
    await alice.sync(timeout=5000)
    assert time.monotonic() - started < 2.0


async def _limited_then_paginate(alice, bob, room, since, sync_params):
    for i in range(8):
        await alice.send(room, f"burst {i}")
    later = await bob.sync(since=since, **sync_params)
    tl = later["rooms"]["join"][room]["timeline"]
    assert [e["content"]["body"] for e in tl["events"]] == ["burst 5", "burst 6", "burst 7"]
    assert tl["limited"] is True
    # prev_batch continues backwards exactly where the timeline starts.
    page = await bob.messages(room, dir="b", limit="10", **{"from": tl["prev_batch"]})
    bodies = [e["content"]["body"] for e in page["chunk"] if e["type"] == "m.room.message"]
    assert bodies[:5] == ["burst 4", "burst 3", "burst 2", "burst 1", "burst 0"]


async def test_limited_timeline_with_inline_filter(homeserver):
    alice = await homeserver.user("alice")
    bob = await homeserver.user("bob")
    room = await alice.create_room(preset="public_chat")
    await bob.join(room)
    since = (await bob.sync())["next_batch"]
    await _limited_then_paginate(alice, bob, room, since, {
        "filter": json.dumps({"room": {"timeline": {"limit": 3}}})})


async def test_limited_timeline_with_saved_filter(homeserver):
    alice = await homeserver.user("alice")
    bob = await homeserver.user("bob")
    room = await alice.create_room(preset="public_chat")
    await bob.join(room)
    filt = {"room": {"timeline": {"limit": 3}}}
    created = await bob.ok("POST", f"/user/{quote(bob.user_id)}/filter", filt)
    filter_id = created["filter_id"]
    assert isinstance(filter_id, str)
    assert await bob.ok("GET", f"/user/{quote(bob.user_id)}/filter/{filter_id}") == filt
    # Filters are per user.
    status, body = await alice.request("GET", f"/user/{quote(bob.user_id)}/filter/{filter_id}")
    assert status == 403 and body["errcode"] == "M_FORBIDDEN"
    status, body = await bob.request("GET", f"/user/{quote(bob.user_id)}/filter/999")
    assert status == 404 and body["errcode"] == "M_NOT_FOUND"
    since = (await bob.sync())["next_batch"]
    await _limited_then_paginate(alice, bob, room, since, {"filter": filter_id})


async def test_bad_sync_parameters(homeserver):
    alice = await homeserver.user("alice")
    for params in ({"since": "nonsense"}, {"timeout": "soon"}, {"filter": "{not json"},
                   {"full_state": "yes"}):
        status, body = await alice.request("GET", "/sync", params=params)
        assert status == 400 and body["errcode"] == "M_INVALID_PARAM", (params, body)
    status, body = await homeserver.client().request("GET", "/sync")
    assert status == 401 and body["errcode"] == "M_MISSING_TOKEN"


async def test_invited_room_section(homeserver):
    alice = await homeserver.user("alice")
    bob = await homeserver.user("bob")
    room = await alice.create_room(name="Private")
    since = (await bob.sync())["next_batch"]
    await alice.ok("POST", r(room) + "/invite", {"user_id": bob.user_id})
    later = await bob.sync(since=since)
    invite = later["rooms"]["invite"][room]["invite_state"]["events"]
    mine = [e for e in invite if e["type"] == "m.room.member" and e["state_key"] == bob.user_id]
    assert mine and mine[0]["content"]["membership"] == "invite"
    assert mine[0]["sender"] == alice.user_id
    assert {"type": "m.room.name", "state_key": "", "sender": alice.user_id,
            "content": {"name": "Private"}} in invite
    # The invite is not repeated in the next incremental sync ...
    again = await bob.sync(since=later["next_batch"])
    assert room not in again["rooms"]["invite"]
    # ... and once joined, the room moves to the join section.
    await bob.join(room)
    joined = await bob.sync(since=later["next_batch"])
    assert room in joined["rooms"]["join"] and room not in joined["rooms"]["invite"]
    # An incremental sync for a new join carries the room's state.
    state = joined["rooms"]["join"][room]["state"]["events"] + \
        joined["rooms"]["join"][room]["timeline"]["events"]
    assert any(e["type"] == "m.room.name" for e in state)


async def test_left_and_kicked_rooms_section(homeserver):
    alice = await homeserver.user("alice")
    bob = await homeserver.user("bob")
    r1 = await alice.create_room(preset="public_chat")
    r2 = await alice.create_room(preset="public_chat")
    await bob.join(r1)
    await bob.join(r2)
    since = (await bob.sync())["next_batch"]
    await bob.ok("POST", r(r1) + "/leave", {})
    await alice.ok("POST", r(r2) + "/kick", {"user_id": bob.user_id})
    await alice.send(r2, "after the kick")
    later = await bob.sync(since=since)
    assert set(later["rooms"]["leave"]) == {r1, r2}
    assert later["rooms"]["join"] == {}
    kicked = later["rooms"]["leave"][r2]["timeline"]["events"]
    assert kicked[-1]["type"] == "m.room.member"
    assert kicked[-1]["content"]["membership"] == "leave"
    assert kicked[-1]["sender"] == alice.user_id
    assert all(e.get("content", {}).get("body") != "after the kick" for e in kicked)
    # An initial sync does not list rooms one has left.
    assert (await bob.sync())["rooms"]["leave"] == {}


async def test_m_direct_in_sync_account_data(homeserver):
    alice = await homeserver.user("alice")
    bob = await homeserver.user("bob")
    since = (await alice.sync())["next_batch"]
    room = await alice.create_room(is_direct=True, invite=[bob.user_id])
    later = await alice.sync(since=since)
    direct = [e for e in later["account_data"]["events"] if e["type"] == "m.direct"]
    assert direct == [{"type": "m.direct", "content": {bob.user_id: [room]}}]
    initial = await alice.sync()
    assert {"type": "m.direct", "content": {bob.user_id: [room]}} in \
        initial["account_data"]["events"]
    # Bob gets his own m.direct when he joins.
    bob_since = (await bob.sync())["next_batch"]
    await bob.join(room)
    bob_later = await bob.sync(since=bob_since)
    assert {"type": "m.direct", "content": {alice.user_id: [room]}} in \
        bob_later["account_data"]["events"]
    # Setting account data by hand shows up too, and wakes a long-poll.
    alice_now = (await alice.sync(since=initial["next_batch"]))["next_batch"]
    poll = asyncio.create_task(alice.sync(since=alice_now, timeout=10_000))
    await wait_parked(homeserver, alice.user_id)
    assert not poll.done()
    started = time.monotonic()
    await alice.ok("PUT", f"/user/{quote(alice.user_id)}/account_data/m.direct",
                   {bob.user_id: [room], "@x:example.org": []})
    woke = await asyncio.wait_for(poll, 5)
    assert time.monotonic() - started < 2.0
    assert {"type": "m.direct", "content": {bob.user_id: [room], "@x:example.org": []}} in \
        woke["account_data"]["events"]
    # Malformed m.direct is refused; another user's account data is private.
    status, body = await alice.request(
        "PUT", f"/user/{quote(alice.user_id)}/account_data/m.direct", {bob.user_id: "x"})
    assert status == 400 and body["errcode"] == "M_BAD_JSON"
    status, body = await bob.request(
        "GET", f"/user/{quote(alice.user_id)}/account_data/m.direct")
    assert status == 403 and body["errcode"] == "M_FORBIDDEN"


async def test_long_poll_wakes_on_invite(homeserver):
    alice = await homeserver.user("alice")
    bob = await homeserver.user("bob")
    room = await alice.create_room(name="Come in")
    since = (await bob.sync())["next_batch"]
    poll = asyncio.create_task(bob.sync(since=since, timeout=10_000))
    await wait_parked(homeserver, bob.user_id)
    started = time.monotonic()
    await alice.ok("POST", r(room) + "/invite", {"user_id": bob.user_id})
    result = await asyncio.wait_for(poll, 5)
    assert time.monotonic() - started < 2.0
    assert room in result["rooms"]["invite"]


async def test_room_account_data_in_sync(homeserver):
    alice = await homeserver.user("alice")
    room = await alice.create_room()
    since = (await alice.sync())["next_batch"]
    path = f"/user/{quote(alice.user_id)}/rooms/{quote(room)}/account_data/m.fully_read"
    assert await alice.ok("PUT", path, {"event_id": "$x"}) == {}
    assert await alice.ok("GET", path) == {"event_id": "$x"}
    later = await alice.sync(since=since)
    joined = later["rooms"]["join"][room]
    assert joined["account_data"]["events"] == [{"type": "m.fully_read",
                                                 "content": {"event_id": "$x"}}]
    assert joined["timeline"]["events"] == []
    assert later["account_data"]["events"] == []


async def test_full_state_sync(homeserver):
    alice = await homeserver.user("alice")
    room = await alice.create_room(name="Full")
    since = (await alice.sync())["next_batch"]
    full = await alice.sync(since=since, full_state="true")
    joined = full["rooms"]["join"][room]
    seen = {(e["type"], e["state_key"])
            for e in joined["state"]["events"] + joined["timeline"]["events"]}
    assert {("m.room.create", ""), ("m.room.name", ""), ("m.room.member", alice.user_id)} <= seen


async def test_own_events_carry_the_sending_devices_transaction_id(homeserver):
    alice = await homeserver.user("echoalice")
    room = await alice.create_room(preset="public_chat")
    since = (await alice.sync())["next_batch"]
    await alice.ok("PUT", f"/rooms/{room}/send/m.room.message/my-txn-1",
                   {"msgtype": "m.text", "body": "echo"})
    other_device = homeserver.client()
    login = await other_device.ok("POST", "/login", {
        "type": "m.login.password", "identifier": {"type": "m.id.user", "user": "echoalice"},
        "password": "correct horse"})
    other_device.token = login["access_token"]
    mine = (await alice.sync(since=since))["rooms"]["join"][room]["timeline"]["events"]
    theirs = (await other_device.sync())["rooms"]["join"][room]["timeline"]["events"]
    echo = [e for e in mine if e["content"].get("body") == "echo"][0]
    assert echo["unsigned"]["transaction_id"] == "my-txn-1"
    seen = [e for e in theirs if e["content"].get("body") == "echo"][0]
    assert "transaction_id" not in seen["unsigned"]  # only the sending device gets it
