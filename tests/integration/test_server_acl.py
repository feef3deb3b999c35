"""Server ACLs (m.room.server_acl) enforced by the room's host, with three servers named like
real ones (a.test, b.test, c.test: an ACL matches host names, and loopback IP literals would all
look alike), reached through federation.servers.

The host A denies B in a room where B and C have users: B's user can no longer post (on A the
message never appears), B can neither join another user (make_join / send_join 403) nor open an
audio relay (403), B's open relay is closed, B's typing is dropped; C goes on as before.
"""
from __future__ import annotations

import time
from urllib.parse import quote

from aiohttp.test_utils import unused_port

from media.testing import AudioClient
from tests.integration.federation_helpers import eventually, room_bodies
from tests.integration.keyed_server import F1, F2, KeyedServer

AUDIO = {"type": "org.audiorooms.audio"}
U = "/_matrix/client/unstable/org.audiorooms"
RELAY = "/_matrix/federation/unstable/org.audiorooms/media/{}/relay"


async def start_named(make_homeserver, names=("a", "b", "c")):
    ports = {n: unused_port() for n in names}
    urls = {f"{n}.test": f"http://127.0.0.1:{p}" for n, p in ports.items()}
    return {n: await make_homeserver(
        n, port=ports[n], server_name=f"{n}.test",
        federation={"servers": urls, "retry_base_seconds": 0.05, "retry_max_seconds": 0.5,
                    "request_timeout_seconds": 5}) for n in names}


def as_server(handle) -> KeyedServer:
    """Requests signed with a running server's own key, as that server would sign them."""
    return KeyedServer(handle.server_name, handle.hs.signing_key)


async def _typing(client, room) -> list[str]:
    s = await client.sync()
    eph = s["rooms"]["join"].get(room, {}).get("ephemeral", {}).get("events", [])
    return [u for e in eph if e["type"] == "m.typing" for u in e["content"]["user_ids"]]


async def test_acl_denying_b_shuts_it_out_and_leaves_c_alone(make_homeserver, http_session):
    hs = await start_named(make_homeserver)
    a, b, c = hs["a"], hs["b"], hs["c"]
    alice, bob, carol = await a.user("alice"), await b.user("bob"), await c.user("carol")
    bart = await b.user("bart")
    room = await alice.create_room(preset="public_chat", creation_content=AUDIO, name="Live")
    await bob.join(room)
    await carol.join(room)
    await bob.send(room, "bob before")
    assert await eventually(lambda: _has(alice, room, "bob before"))

    # Bob listens: B's SFU opens a relay of the room to A's.
    listener = AudioClient()
    try:
        answer = await bob.ok("POST", f"{U}/rooms/{quote(room)}/media",
                              {"type": "offer", "sdp": await listener.offer()})
        await listener.accept(answer["sdp"])
        await eventually(lambda: _relay_origins(a, room) == {"b.test"}, timeout=15)

        acl_id = await alice.put_state(room, "m.room.server_acl",
                                       {"allow": ["*"], "deny": ["b.test"],
                                        "allow_ip_literals": False})
        # B's relay is closed at once, and B cannot open another.
        await eventually(lambda: "b.test" not in _relay_origins(a, room), timeout=5)
        b_srv = as_server(b)
        status, err = await b_srv.request(http_session, a.url, "a.test", "POST",
                                          RELAY.format(quote(room, safe="")),
                                          {"type": "offer", "sdp": await AudioClient().offer()})
        assert (status, err["errcode"]) == (403, "M_FORBIDDEN"), err
        assert "b.test" not in _relay_origins(a, room)
    finally:
        await listener.close()

    # C saw the ACL; B's user posts, C's user posts after him: on A only C's message appears.
    assert await eventually(lambda: _acl_denies(carol, room, "b.test"))
    await bob.send(room, "bob after the acl")
    await carol.send(room, "carol after the acl")
    await alice.send(room, "alice after the acl")
    for client in (alice, carol):
        got = await eventually(lambda cl=client: _has(cl, room, "alice after the acl"))
        assert got
    for client in (alice, carol):  # carol's goes to the host and back: it may come after
        await eventually(lambda cl=client: _has(cl, room, "carol after the acl"))
    await eventually(lambda: b.hs.outbox.count("a.test") == 0)
    for client in (alice, carol):
        bodies = await room_bodies(client, room)
        assert "bob after the acl" not in bodies and "carol after the acl" in bodies
    assert a.hs.events.db.execute(
        "SELECT COUNT(*) FROM events WHERE json LIKE '%bob after the acl%'").fetchone()[0] == 0

    # B cannot join another of its users: the client join fails, and the federation
    # endpoints refuse B's requests with 403 M_FORBIDDEN.
    status, err = await bart.request("POST", f"/join/{quote(room)}", {})
    assert status >= 400, err
    b_srv = as_server(b)
    q = lambda s: quote(s, safe="")  # noqa: E731
    status, err = await b_srv.request(
        http_session, a.url, "a.test", "GET",
        f"{F1}/make_join/{q(room)}/{q(bart.user_id)}?ver=org.audiorooms.1")
    assert (status, err["errcode"]) == (403, "M_FORBIDDEN"), err
    join = b_srv.event(room_id=room, sender=bart.user_id, type="m.room.member",
                       state_key=bart.user_id, content={"membership": "join"}, depth=5,
                       prev_events=[acl_id], auth_events=[])
    pdu = {k: v for k, v in join.items() if k != "event_id"}
    status, err = await b_srv.request(http_session, a.url, "a.test", "PUT",
                                      f"{F2}/send_join/{q(room)}/{q(join['event_id'])}", pdu)
    assert (status, err["errcode"]) == (403, "M_FORBIDDEN"), err
    status, err = await b_srv.request(http_session, a.url, "a.test", "GET",
                                      f"{F1}/state_ids/{q(room)}")
    assert status == 403, err
    members = await alice.ok("GET", f"/rooms/{quote(room)}/joined_members")
    assert bart.user_id not in members["joined"]

    # EDUs: B's typing for the room is dropped; C's arrives.
    for srv, user in ((b_srv, bob.user_id), (as_server(c), carol.user_id)):
        edu = {"edu_type": "m.typing",
               "content": {"room_id": room, "user_id": user, "typing": True}}
        status, _ = await srv.request(http_session, a.url, "a.test", "PUT",
                                      f"{F1}/send/acl-typing-{time.time()}",
                                      {"origin": srv.name, "pdus": [], "edus": [edu]})
        assert status == 200
    assert await eventually(lambda: _typing_has(alice, room, carol.user_id))
    assert bob.user_id not in await _typing(alice, room)
    assert a.hs.server_acls.dropped_edus >= 1

    # Lifting the ACL lets B back in.
    await alice.put_state(room, "m.room.server_acl", {"allow": ["*"]})
    await bart.join(room)
    await bart.send(room, "bart is back")
    assert await eventually(lambda: _has(alice, room, "bart is back"))


async def test_acl_content_is_checked_and_cannot_deny_the_host(make_homeserver):
    hs = await start_named(make_homeserver, names=("a",))
    alice = await hs["a"].user("alice")
    room = await alice.create_room(preset="public_chat")
    path = f"/rooms/{quote(room)}/state/m.room.server_acl/"
    bad = [
        {"allow": "*"},  # not a list
        {"allow": ["*", 5]},  # not strings
        {"allow": ["*"], "deny": [""]},  # empty entry
        {"allow": ["*"], "deny": ["x" * 256]},  # longer than a DNS name
        {"allow": ["*"] + [f"s{i}.test" for i in range(512)]},  # too many entries
        {"allow": ["*"], "allow_ip_literals": "no"},  # not a boolean
        {"allow": ["*"], "deny": ["a.test"]},  # denies the host itself
        {"allow": ["*"], "deny": ["?.tes*"]},  # so does a glob
        {"allow": ["c.test"]},  # allows only others
        {},  # allows nobody
    ]
    for content in bad:
        status, err = await alice.request("PUT", path, content)
        assert (status, err["errcode"]) == (400, "M_BAD_JSON"), (content, err)
    status, _ = await alice.request("GET", path)
    assert status == 404  # nothing of the above was stored
    await alice.put_state(room, "m.room.server_acl", {"allow": ["*.test"], "deny": ["evil.*"]})
    await alice.send(room, "still here")  # the room goes on


async def test_residents_drop_a_denied_servers_room_edus_too(make_homeserver, http_session):
    """B, denied by the ACL of A's room, sends its typing and read receipt straight to C (a
    server in the room, not the host): C drops them, as it keeps A's."""
    hs = await start_named(make_homeserver)
    a, b, c = hs["a"], hs["b"], hs["c"]
    alice, bob, carol = await a.user("alice"), await b.user("bob"), await c.user("carol")
    room = await alice.create_room(preset="public_chat")
    await bob.join(room)
    await carol.join(room)
    last = await alice.send(room, "read me")
    await alice.put_state(room, "m.room.server_acl", {"allow": ["*"], "deny": ["b.test"]})
    assert await eventually(lambda: _acl_denies(carol, room, "b.test"))
    assert await eventually(lambda: _has(carol, room, "read me"))

    for srv, user in ((as_server(b), bob.user_id), (as_server(a), alice.user_id)):
        edus = [{"edu_type": "m.typing",
                 "content": {"room_id": room, "user_id": user, "typing": True}},
                {"edu_type": "m.receipt", "content": {room: {"m.read": {user: {
                    "event_ids": [last], "data": {"ts": int(time.time() * 1000)}}}}}}]
        status, _ = await srv.request(http_session, c.url, "c.test", "PUT",
                                      f"{F1}/send/acl-edus-{time.time()}",
                                      {"origin": srv.name, "pdus": [], "edus": edus})
        assert status == 200
    assert await eventually(lambda: _typing_has(carol, room, alice.user_id))
    s = await carol.sync()
    eph = s["rooms"]["join"][room].get("ephemeral", {}).get("events", [])
    readers = {u for e in eph if e["type"] == "m.receipt"
               for r in e["content"].values() for u in r.get("m.read", {})}
    assert alice.user_id in readers and bob.user_id not in readers, eph
    assert bob.user_id not in await _typing(carol, room)
    assert c.hs.server_acls.dropped_edus == 2


async def _has(client, room, body) -> bool:
    return body in await room_bodies(client, room)


async def _typing_has(client, room, user) -> bool:
    return user in await _typing(client, room)


async def _acl_denies(client, room, server) -> bool:
    status, data = await client.request("GET", f"/rooms/{quote(room)}/state/m.room.server_acl/")
    return status == 200 and server in data.get("deny", [])


def _relay_origins(handle, room) -> set[str]:
    sfu_room = handle.hs.sfu.rooms.get(room)
    return {r.origin for r in sfu_room.relays.values()} if sfu_room else set()
