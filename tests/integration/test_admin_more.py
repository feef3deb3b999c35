"""The admin API across servers and the client's own deactivation, on this server.

A room an admin blocked is closed to everyone: other servers' make_join / send_join answer 403,
invites into it are refused (ours and other servers'), the remote members still in a room we
host can neither post nor get its audio (but may leave), and no listing (publicRooms, the hallway,
another server's directory seen through ours) shows it.
"""
from __future__ import annotations

import asyncio
import time
from urllib.parse import quote

from media.testing import AudioClient
from tests.integration.federation_helpers import eventually, restart, start_servers
from tests.integration.keyed_server import KeyedServer
from tests.integration.test_admin_api import A, Target, wait_deleted

U = "/_matrix/client/unstable/org.audiorooms"
AUDIO = {"type": "org.audiorooms.audio"}


def as_server(handle) -> KeyedServer:
    return KeyedServer(handle.server_name, handle.hs.signing_key)


async def hallway_rooms(client) -> list[str]:
    h = await client.ok("GET", f"{U}/hallway", params={"refresh": "true", "limit": "50"})
    return [e["room_id"] for e in h["live"]]


async def test_blocked_room_refuses_other_servers_joins_invites_and_is_listed_nowhere(
        make_homeserver, http_session):
    hs = await start_servers(make_homeserver, names=("a", "b"))
    a, b = hs["a"], hs["b"]
    admin = await Target("ours", a.url, a.server_name, http_session, a).admin()
    alice, carl = await a.user("alice"), await a.user("carl")
    bob, bart, bella = await b.user("bob"), await b.user("bart"), await b.user("bella")
    # S is hosted here on A, with a member from B; R is hosted on B and listed in A's hallway.
    s = await alice.create_room(preset="public_chat", visibility="public", name="S",
                                creation_content=AUDIO)
    await bob.join(s)
    r = await bella.create_room(preset="public_chat", visibility="public", name="R",
                                creation_content=AUDIO)
    assert await eventually(lambda: _contains(hallway_rooms(carl), r), timeout=15)
    assert s in await hallway_rooms(carl)

    # S deleted with block but not purged (bob of B stays in it); R, never joined here, blocked.
    for room, purge in ((s, False), (r, True)):
        out = await admin.ok("DELETE", f"{A}/v2/rooms/{quote(room)}",
                             {"block": True, "purge": purge})
        assert (await wait_deleted(admin, out["delete_id"]))["status"] == "complete"

    # listed nowhere on A: its directory, its hallway, B's directory seen through A
    assert s not in [e["room_id"] for e in (await carl.ok("GET", "/publicRooms"))["chunk"]]
    assert not {s, r} & set(await hallway_rooms(carl))
    via_a = await carl.ok("GET", "/publicRooms", params={"server": b.server_name})
    assert r not in [e["room_id"] for e in via_a["chunk"]]
    # ...while B itself still lists R to its own users
    assert r in [e["room_id"] for e in (await bart.ok("GET", "/publicRooms"))["chunk"]]

    # B's users cannot join S: A answers B's make_join and send_join with 403
    status, body = await bart.request("POST", f"/join/{quote(s)}", {})
    assert status == 403, body
    keyed = as_server(b)
    status, body = await keyed.request(
        http_session, a.url, a.server_name, "GET",
        f"/_matrix/federation/v1/make_join/{quote(s, safe='')}/{quote(bart.user_id, safe='')}"
        "?ver=org.audiorooms.1")
    assert (status, body.get("errcode")) == (403, "M_FORBIDDEN"), body
    status, body = await keyed.request(
        http_session, a.url, a.server_name, "PUT",
        f"/_matrix/federation/v2/send_join/{quote(s, safe='')}/$x", {
            "room_id": s, "type": "m.room.member", "sender": bart.user_id,
            "state_key": bart.user_id, "content": {"membership": "join"}})
    assert (status, body.get("errcode")) == (403, "M_FORBIDDEN"), body

    # bob, still in S, invites bart: A, the host, never takes the invite into S
    await bob.request("POST", f"/rooms/{quote(s)}/invite", {"user_id": bart.user_id})
    await asyncio.sleep(1.0)
    state = (await admin.ok("GET", f"{A}/v1/rooms/{quote(s)}/state"))["state"]
    assert not [e for e in state if e["type"] == "m.room.member"
                and e["state_key"] == bart.user_id], state

    # bob's words and his server's audio relay never reach S either: A, its host, refuses
    await bob.send(s, "still here?")
    status, body = await keyed.request(
        http_session, a.url, a.server_name, "POST",
        f"/_matrix/federation/unstable/org.audiorooms/media/{quote(s, safe='')}/relay",
        {"type": "offer", "sdp": await AudioClient().offer()})
    assert (status, body.get("errcode")) == (403, "M_FORBIDDEN"), body
    # ...but he may leave
    await bob.ok("POST", f"/rooms/{quote(s)}/leave", {})

    async def bob_gone():
        members = await admin.ok("GET", f"{A}/v1/rooms/{quote(s)}/members")
        return bob.user_id not in members["members"]
    assert await eventually(bob_gone, timeout=10)
    assert a.hs.events.db.execute(
        "SELECT COUNT(*) FROM events WHERE json LIKE '%still here?%'").fetchone()[0] == 0

    # B's invite of A's carl into R is refused by A (403), and carl is never invited
    status, body = await bella.request("POST", f"/rooms/{quote(r)}/invite",
                                       {"user_id": carl.user_id})
    assert status == 403, body
    assert r not in (await carl.sync()).get("rooms", {}).get("invite", {})
    # and A's own users invite nobody into S
    status, body = await alice.request("POST", f"/rooms/{quote(s)}/invite",
                                       {"user_id": carl.user_id})
    assert status == 403 and "blocked" in body["error"], body


async def _contains(awaitable, item) -> bool:
    return item in await awaitable


# the client's own deactivation ---------------------------------------------------------------

async def test_own_deactivation_behind_password_ends_sessions_keys_and_rooms(
        make_homeserver, http_session):
    from tests.integration.test_e2e_keys import device
    hs = await start_servers(make_homeserver, names=("a", "b"))
    a, b = hs["a"], hs["b"]
    alice, amy, bob = await a.user("alice"), await a.user("amy"), await b.user("bob")
    alice_dev = await device(alice)
    await alice_dev.upload()
    room = await alice.create_room(preset="public_chat", name="Shared")
    await amy.join(room)
    await bob.join(room)

    async def alice_devices(client) -> dict:
        out = await client.ok("POST", "/keys/query", {"device_keys": {alice.user_id: []}})
        return out["device_keys"].get(alice.user_id, {})
    assert await eventually(lambda: _has_key(alice_devices(bob), alice_dev.device_id),
                            timeout=15)
    assert alice_dev.device_id in await alice_devices(amy)
    since = (await amy.sync())["next_batch"]

    # user-interactive auth: the flows first, a wrong password refused, changing nothing
    status, body = await alice.request("POST", "/account/deactivate", {})
    assert status == 401 and body["flows"] == [{"stages": ["m.login.password"]}], body
    ident = {"type": "m.id.user", "user": alice.user_id}
    status, body = await alice.request("POST", "/account/deactivate", {"auth": {
        "type": "m.login.password", "session": body["session"], "identifier": ident,
        "password": "wrong"}})
    assert status == 401 and body["errcode"] == "M_FORBIDDEN", body
    assert (await alice.request("GET", "/account/whoami"))[0] == 200
    status, body = await alice.request("POST", "/account/deactivate", {"auth": {
        "type": "m.login.password", "session": body["session"], "identifier": ident,
        "password": "correct horse"}})
    assert (status, body) == (200, {"id_server_unbind_result": "no-support"})

    # the session is dead, login refused, the room left, the keys gone here and on B
    status, body = await alice.request("GET", "/account/whoami")
    assert status == 401 and body["errcode"] == "M_UNKNOWN_TOKEN"
    status, body = await a.client().request("POST", "/login", {
        "type": "m.login.password", "identifier": ident, "password": "correct horse"})
    assert status == 403, body
    member = await amy.state(room, "m.room.member", alice.user_id)
    assert member["membership"] == "leave"
    assert await alice_devices(amy) == {}
    assert await eventually(lambda: _is_empty(alice_devices(bob)), timeout=15)
    changes = (await amy.sync(since))["device_lists"]
    assert alice.user_id in changes.get("left", []) + changes.get("changed", []), changes
    # and a guest, with no password, has nothing to deactivate
    guest = a.client()
    g = await guest.ok("POST", "/register", params={"kind": "guest"})
    guest.token = g["access_token"]
    status, body = await guest.request("POST", "/account/deactivate", {})
    assert status == 403, body


async def test_erased_users_leave_without_their_profile(make_homeserver, http_session):
    a = await make_homeserver("a")
    admin = await Target("ours", a.url, a.server_name, http_session, a).admin()
    carol, dan, erin = await a.user("carol"), await a.user("dan"), await a.user("erin")
    room = await dan.create_room(preset="public_chat", name="Talk")
    for who, name in ((carol, "Carol Real"), (erin, "Erin Real")):
        await who.ok("PUT", f"/profile/{quote(who.user_id)}/displayname", {"displayname": name})
        await who.ok("PUT", f"/profile/{quote(who.user_id)}/avatar_url",
                     {"avatar_url": "mxc://a/face"})
        await who.join(room)
        assert (await dan.state(room, "m.room.member", who.user_id))["displayname"] == name

    # carol erases herself; an admin erases erin
    ident = {"type": "m.id.user", "user": carol.user_id}
    await carol.ok("POST", "/account/deactivate", {"erase": True, "auth": {
        "type": "m.login.password", "identifier": ident, "password": "correct horse"}})
    await admin.ok("POST", f"{A}/v1/deactivate/{quote(erin.user_id)}", {"erase": True})

    for who in (carol, erin):
        member = await dan.state(room, "m.room.member", who.user_id)
        assert member == {"membership": "leave"}, member
        profile = await dan.request("GET", f"/profile/{quote(who.user_id)}")
        assert profile[0] == 404 or not ({"displayname", "avatar_url"} & set(profile[1]))
        # what dan's client shows as the room's members names neither any more
        members = await dan.ok("GET", f"/rooms/{quote(room)}/members")
        names = [e["content"].get("displayname") for e in members["chunk"]]
        assert "Carol Real" not in names and "Erin Real" not in names


async def _has_key(awaitable, key) -> bool:
    return key in await awaitable


async def _is_empty(awaitable) -> bool:
    return not await awaitable


# federation destinations ---------------------------------------------------------------------

async def test_a_down_destination_shows_its_backoff_and_reset_connection_delivers_now(
        make_homeserver, http_session):
    from aiohttp.test_utils import unused_port
    ports = {n: unused_port() for n in "ab"}
    names = {n: f"127.0.0.1:{p}" for n, p in ports.items()}
    fed = {"servers": {s: f"http://{s}" for s in names.values()}, "retry_base_seconds": 30,
           "retry_max_seconds": 60, "request_timeout_seconds": 2}
    a = await make_homeserver("a", port=ports["a"], federation=fed)
    admin = await Target("ours", a.url, a.server_name, http_session, a).admin()
    alice = await a.user("alice")
    D = f"{A}/v1/federation/destinations"
    dest = names["b"]
    bob_id = f"@bob:{dest}"

    # B is down: a to-device message for bob waits in A's queue, which backs off
    before = int(time.time() * 1000)
    await alice.ok("PUT", "/sendToDevice/m.test/t1", {"messages": {bob_id: {"*": {"n": 1}}}})

    async def failing():
        d = (await admin.ok("GET", f"{D}/{dest}"))
        return d if d["failure_ts"] else None
    d = await eventually(failing, timeout=10)
    assert d["destination"] == dest and d["failure_ts"] >= before
    assert d["retry_last_ts"] >= d["failure_ts"] and 15_000 <= d["retry_interval"] <= 30_000
    listing = await admin.ok("GET", D, params={"destination": "127.0.0.1"})
    assert dest in [x["destination"] for x in listing["destinations"]]
    assert listing["total"] == len(listing["destinations"])

    # A restarts: the destination and since when it fails are still shown (kept in A's
    # database), and the queue, which retried at once, is backing off again
    await a.server.close()
    a = await restart(make_homeserver, a, "a")
    again = await eventually(failing, timeout=10)
    assert again["failure_ts"] == d["failure_ts"], (again, d)

    # B comes up; without a reset A would wait out its 15-30 s backoff. The operator resets.
    b = await make_homeserver("b", port=ports["b"], federation=fed)
    bob = await b.user("bob")
    await admin.ok("POST", f"{D}/{dest}/reset_connection", {})

    async def delivered():
        s = await bob.sync()
        return [e for e in s.get("to_device", {}).get("events", []) if e["type"] == "m.test"]
    got = await eventually(delivered, timeout=8)
    assert got[0]["content"] == {"n": 1} and got[0]["sender"] == alice.user_id
    d = await admin.ok("GET", f"{D}/{dest}")
    assert (d["failure_ts"], d["retry_last_ts"], d["retry_interval"]) == (None, 0, 0), d
    # the rooms tab: none yet; then bob joins a room of A's and it is listed
    assert (await admin.ok("GET", f"{D}/{dest}/rooms")) == {"rooms": [], "total": 0}
    room = await alice.create_room(preset="public_chat")
    await bob.join(room)
    rooms = await admin.ok("GET", f"{D}/{dest}/rooms")
    assert [r["room_id"] for r in rooms["rooms"]] == [room] and rooms["total"] == 1
    assert isinstance(rooms["rooms"][0]["stream_ordering"], int)
    # nothing to reset any more: Synapse's 400
    status, body = await admin.request("POST", f"{D}/{dest}/reset_connection", {})
    assert status == 400, body
