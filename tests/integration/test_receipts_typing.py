"""Receipts, read markers and typing over real HTTP: sync's ephemeral (incremental, private
receipts kept private, typing expiring), the database keeping receipts, and m.receipt /
m.typing EDUs between servers (and the ones a server must ignore)."""
from __future__ import annotations

import asyncio
import time
import uuid
from urllib.parse import quote

from federation.xmatrix import sign_request
from homeserver.app import Homeserver
from tests.integration.federation_helpers import eventually, start_servers


def r(room_id: str) -> str:
    return f"/rooms/{quote(room_id)}"


def ephemeral(sync: dict, room_id: str, etype: str) -> list[dict]:
    room = sync["rooms"]["join"].get(room_id, {})
    return [e for e in room.get("ephemeral", {}).get("events", []) if e["type"] == etype]


def receipt_users(sync: dict, room_id: str, event_id: str, rtype: str = "m.read") -> dict:
    out: dict = {}
    for ev in ephemeral(sync, room_id, "m.receipt"):
        out.update(ev["content"].get(event_id, {}).get(rtype, {}))
    return out


async def two_in_a_room(homeserver):
    alice = await homeserver.user("alice")
    bob = await homeserver.user("bob")
    room = await alice.create_room(preset="public_chat")
    await bob.join(room)
    return alice, bob, room


async def test_receipt_seen_by_other_member_incrementally_once(homeserver):
    alice, bob, room = await two_in_a_room(homeserver)
    eid = await alice.send(room, "read me")
    since = (await alice.sync())["next_batch"]
    # Alice's long-poll is woken by Bob's receipt.
    poll = asyncio.create_task(alice.sync(since, timeout=10_000))
    await asyncio.sleep(0.1)
    t0 = time.monotonic()
    await bob.ok("POST", f"{r(room)}/receipt/m.read/{quote(eid)}", {})
    sync = await poll
    assert time.monotonic() - t0 < 5
    got = receipt_users(sync, room, eid)
    assert set(got) == {bob.user_id} and isinstance(got[bob.user_id]["ts"], int)
    assert "thread_id" not in got[bob.user_id]
    # Not repeated in the next incremental sync.
    again = await alice.sync(sync["next_batch"])
    assert ephemeral(again, room, "m.receipt") == []
    # An initial sync has it; a threaded receipt carries its thread_id.
    assert bob.user_id in receipt_users(await alice.sync(), room, eid)
    await bob.ok("POST", f"{r(room)}/receipt/m.read/{quote(eid)}", {"thread_id": "main"})
    threaded = await alice.sync(sync["next_batch"])
    assert receipt_users(threaded, room, eid)[bob.user_id]["thread_id"] == "main"


async def test_private_receipt_only_for_its_user(homeserver):
    alice, bob, room = await two_in_a_room(homeserver)
    eid = await alice.send(room, "secret")
    a_since = (await alice.sync())["next_batch"]
    b_since = (await bob.sync())["next_batch"]
    await bob.ok("POST", f"{r(room)}/receipt/m.read.private/{quote(eid)}", {})
    mine = await bob.sync(b_since)
    assert bob.user_id in receipt_users(mine, room, eid, "m.read.private")
    theirs = await alice.sync(a_since)
    assert ephemeral(theirs, room, "m.receipt") == []
    assert not receipt_users(await alice.sync(), room, eid, "m.read.private")


async def test_typing_appears_and_expires(homeserver):
    alice, bob, room = await two_in_a_room(homeserver)
    since = (await alice.sync())["next_batch"]
    await bob.ok("PUT", f"{r(room)}/typing/{quote(bob.user_id)}",
                 {"typing": True, "timeout": 500})
    sync = await alice.sync(since)
    assert ephemeral(sync, room, "m.typing")[0]["content"]["user_ids"] == [bob.user_id]
    # Unchanged: not repeated. Then it expires, which wakes the long-poll.
    t0 = time.monotonic()
    later = await alice.sync(sync["next_batch"], timeout=5000)
    assert time.monotonic() - t0 < 3
    assert ephemeral(later, room, "m.typing")[0]["content"]["user_ids"] == []
    # Stopping explicitly.
    await bob.ok("PUT", f"{r(room)}/typing/{quote(bob.user_id)}", {"typing": True,
                                                                    "timeout": 30000})
    await bob.ok("PUT", f"{r(room)}/typing/{quote(bob.user_id)}", {"typing": False})
    last = await alice.sync(later["next_batch"])
    assert ephemeral(last, room, "m.typing")[-1]["content"]["user_ids"] == []
    # Leaving the room stops typing at once.
    await bob.ok("PUT", f"{r(room)}/typing/{quote(bob.user_id)}", {"typing": True})
    typing = await alice.sync(last["next_batch"])
    assert ephemeral(typing, room, "m.typing")[0]["content"]["user_ids"] == [bob.user_id]
    await bob.ok("POST", f"{r(room)}/leave", {})
    left = await alice.sync(typing["next_batch"])
    assert ephemeral(left, room, "m.typing")[0]["content"]["user_ids"] == []


async def test_read_markers_and_receipts_survive_a_restart(homeserver):
    alice, bob, room = await two_in_a_room(homeserver)
    eid = await alice.send(room, "marker")
    await bob.ok("POST", f"{r(room)}/read_markers",
                 {"m.fully_read": eid, "m.read": eid, "m.read.private": eid})
    marker = await bob.ok("GET", f"/user/{quote(bob.user_id)}/rooms/{quote(room)}"
                          "/account_data/m.fully_read")
    assert marker == {"event_id": eid}
    sync = await alice.sync()
    assert bob.user_id in receipt_users(sync, room, eid)
    assert bob.user_id not in receipt_users(sync, room, eid, "m.read.private")
    # Typing moves the stream too; a server opened again on the same database keeps the
    # receipts and never goes back behind a token a client holds.
    await bob.ok("PUT", f"{r(room)}/typing/{quote(bob.user_id)}", {"typing": True})
    token = int((await alice.sync())["next_batch"][1:])
    again = Homeserver(homeserver.config)
    try:
        assert again.receipts.receipts.get(room, "m.read", bob.user_id, None) == eid
        assert again.receipts.receipts.get(room, "m.read.private", bob.user_id, None) == eid
        assert again.stream.current >= token
    finally:
        await again.sfu.close()
        again.db.close()


async def test_bad_inputs_get_matrix_errors_and_change_nothing(homeserver):
    alice, bob, room = await two_in_a_room(homeserver)
    carol = await homeserver.user("carol")
    eid = await alice.send(room, "x")
    other = await alice.create_room()
    other_eid = await alice.send(other, "elsewhere")
    since = (await alice.sync())["next_batch"]
    cases = [
        (bob, "POST", f"{r(room)}/receipt/m.read/{quote(eid)}", {"thread_id": 5},
         400, "M_BAD_JSON"),
        (bob, "POST", f"{r(room)}/receipt/m.bogus/{quote(eid)}", {}, 400, "M_INVALID_PARAM"),
        (bob, "POST", f"{r(room)}/receipt/m.read/{quote('$nope')}", {}, 404, "M_NOT_FOUND"),
        (bob, "POST", f"{r(room)}/receipt/m.read/{quote(other_eid)}", {}, 404, "M_NOT_FOUND"),
        (carol, "POST", f"{r(room)}/receipt/m.read/{quote(eid)}", {}, 403, "M_FORBIDDEN"),
        (bob, "POST", f"{r('!nope:' + homeserver.server_name)}/receipt/m.read/{quote(eid)}",
         {}, 404, "M_NOT_FOUND"),
        (bob, "POST", f"{r(room)}/read_markers", {"m.read": eid, "m.fully_read": 7},
         400, "M_BAD_JSON"),
        (bob, "POST", f"{r(room)}/read_markers", {"m.read": eid, "m.fully_read": "$nope"},
         404, "M_NOT_FOUND"),
        (carol, "POST", f"{r(room)}/read_markers", {"m.read": eid}, 403, "M_FORBIDDEN"),
        (bob, "PUT", f"{r(room)}/typing/{quote(alice.user_id)}", {"typing": True},
         403, "M_FORBIDDEN"),
        (carol, "PUT", f"{r(room)}/typing/{quote(carol.user_id)}", {"typing": True},
         403, "M_FORBIDDEN"),
        (bob, "PUT", f"{r(room)}/typing/{quote(bob.user_id)}", {"typing": "yes"},
         400, "M_BAD_JSON"),
        (bob, "PUT", f"{r(room)}/typing/{quote(bob.user_id)}", {"typing": True,
                                                                 "timeout": -1},
         400, "M_BAD_JSON"),
    ]
    for client, method, path, body, status, errcode in cases:
        got_status, data = await client.request(method, path, body)
        assert (got_status, data.get("errcode")) == (status, errcode), (path, body, data)
    sync = await alice.sync(since)
    assert ephemeral(sync, room, "m.receipt") == [] and ephemeral(sync, room, "m.typing") == []
    status, _ = await bob.request("GET", f"/user/{quote(bob.user_id)}/rooms/{quote(room)}"
                                  "/account_data/m.fully_read")
    assert status == 404


async def test_receipts_and_typing_across_servers(make_homeserver):
    hs = await start_servers(make_homeserver, names=("a", "b"))
    alice = await hs["a"].user("alice")
    bob = await hs["b"].user("bob")
    room = await alice.create_room(preset="public_chat")
    await bob.join(room)
    eid = await alice.send(room, "hello bob")

    async def bob_has_it():
        s = await bob.sync()
        return any(e["event_id"] == eid
                   for e in s["rooms"]["join"].get(room, {}).get("timeline", {}).get("events", []))
    await eventually(bob_has_it)
    await bob.ok("POST", f"{r(room)}/receipt/m.read/{quote(eid)}", {})
    await bob.ok("PUT", f"{r(room)}/typing/{quote(bob.user_id)}", {"typing": True})

    async def alice_sees():
        s = await alice.sync()
        typing = ephemeral(s, room, "m.typing")
        return bob.user_id in receipt_users(s, room, eid) and typing and \
            typing[0]["content"]["user_ids"] == [bob.user_id]
    await eventually(alice_sees)
    # Private receipts stay on their server.
    await bob.ok("POST", f"{r(room)}/receipt/m.read.private/{quote(eid)}", {})
    await asyncio.sleep(0.3)
    assert hs["a"].hs.receipts.receipts.get(room, "m.read.private", bob.user_id, None) is None


async def send_edus(origin, dest, edus: list[dict]) -> int:
    path = f"/_matrix/federation/v1/send/{uuid.uuid4().hex}"
    body = {"origin": origin.server_name, "origin_server_ts": int(time.time() * 1000),
            "pdus": [], "edus": edus}
    auth = sign_request(origin.hs.signing_key, "PUT", path, origin.server_name,
                        dest.server_name, body)
    async with origin.session.put(dest.url + path, json=body,
                                  headers={"Authorization": auth}) as resp:
        return resp.status


async def test_edus_for_others_users_or_rooms_are_ignored(make_homeserver):
    hs = await start_servers(make_homeserver, names=("a", "b", "c"))
    alice = await hs["a"].user("alice")
    bob = await hs["b"].user("bob")
    carol = await hs["c"].user("carol")
    room = await alice.create_room(preset="public_chat")
    await bob.join(room)
    eid = await alice.send(room, "x")
    c_room = await carol.create_room(preset="public_chat")  # A and B are not in it
    a, b, c = hs["a"], hs["b"], hs["c"]

    def receipt(room_id, user_id, **data):
        return {"edu_type": "m.receipt", "content": {room_id: {"m.read": {user_id: {
            "event_ids": [eid], "data": {"ts": 1, **data}}}}}}

    def typing(room_id, user_id, value=True):
        return {"edu_type": "m.typing", "content": {"room_id": room_id, "user_id": user_id,
                                                     "typing": value}}
    bad = [
        receipt(room, bob.user_id),  # C speaking for B's user
        typing(room, bob.user_id),
        receipt(room, carol.user_id),  # C's user, but C is not in the room
        typing(room, carol.user_id),
        receipt(c_room, carol.user_id),  # a room A doesn't know
        receipt(room, carol.user_id, ts="soon"),
        {"edu_type": "m.receipt", "content": "nope"},
        {"edu_type": "m.typing", "content": {"room_id": room}},
        "not an edu",
    ]
    assert await send_edus(c, a, bad) == 200
    store = a.hs.receipts.receipts
    assert store.get(room, "m.read", bob.user_id, None) is None
    assert store.get(room, "m.read", carol.user_id, None) is None
    assert a.hs.typing.typing_event(room, None, a.hs.stream.current) is None
    # B's own, well-formed EDUs are applied, bad fields dropped entry by entry.
    assert await send_edus(b, a, [receipt(room, bob.user_id, thread_id=7),
                                  typing(room, bob.user_id)]) == 200
    assert store.get(room, "m.read", bob.user_id, None) is None
    ev = a.hs.typing.typing_event(room, None, a.hs.stream.current)
    assert ev is not None and ev["content"]["user_ids"] == [bob.user_id]
    assert await send_edus(b, a, [receipt(room, bob.user_id, thread_id="main")]) == 200
    assert store.get(room, "m.read", bob.user_id, "main") == eid
