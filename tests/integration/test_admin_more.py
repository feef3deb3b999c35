"""The admin API across servers and the client's own deactivation, on this server.

A room an admin blocked is closed to everyone: other servers' make_join / send_join answer 403,
invites into it are refused (ours and other servers'), and no listing (publicRooms, the hallway,
another server's directory seen through ours) shows it.
"""
from __future__ import annotations

import asyncio
from urllib.parse import quote

from tests.integration.federation_helpers import eventually, start_servers
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
