"""HTTP pushers against a real push gateway on loopback (an aiohttp server speaking the Push
Gateway API): the notification's shape and counts, event_id_only, what must not be pushed, a
gateway that is down (also across a restart of the homeserver), rejected pushkeys, refused
addresses, and gateways that hang or answer too much."""
from __future__ import annotations

import asyncio
import time
from urllib.parse import quote

from aiohttp import web
from aiohttp.test_utils import unused_port

from tests.integration.federation_helpers import eventually

NOTIFY = "/_matrix/push/v1/notify"
# The gateway runs on 127.0.0.1, which pushers may reach only because the test says so; retries
# start fast so "down, then up" is seen within seconds.
PUSH = {"push": {"ip_range_whitelist": ["127.0.0.1/32"], "retry_base_seconds": 0.2,
                 "retry_max_seconds": 1.0}}


class Gateway:
    """Records every notification by path. ``/hang/...`` never answers (until released),
    ``/huge/...`` answers 200 with an endless body, ``/<prefix>/...`` answers the statuses
    queued in ``statuses[prefix]`` first; pushkeys in ``reject`` are rejected."""

    def __init__(self):
        self.received: dict[str, list[dict]] = {}
        self.reject: set[str] = set()
        self.statuses: dict[str, list[int]] = {}
        self.release = asyncio.Event()

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post(NOTIFY, self.notify)
        app.router.add_post("/{prefix}" + NOTIFY, self.notify)
        return app

    async def notify(self, request: web.Request) -> web.StreamResponse:
        prefix = request.match_info.get("prefix", "")
        body = await request.json()
        self.received.setdefault(prefix, []).append(body)
        if prefix == "hang":
            try:
                await asyncio.wait_for(self.release.wait(), 60)
            except TimeoutError:
                pass
            return web.json_response({"rejected": []})
        if prefix == "huge":
            resp = web.StreamResponse()
            await resp.prepare(request)
            chunk = b" " * 65536
            deadline = time.monotonic() + 30
            try:  # endless (for 30 s), unless the client hangs up first
                while time.monotonic() < deadline:
                    await resp.write(chunk)
            except (ConnectionError, RuntimeError):
                pass
            return resp
        if prefix in self.statuses:  # answers with each status in turn, then normally
            status = self.statuses[prefix].pop(0)
            if not self.statuses[prefix]:
                del self.statuses[prefix]
            return web.json_response({"errcode": "M_UNKNOWN", "error": "no"}, status=status)
        keys = [d["pushkey"] for d in body["notification"]["devices"]]
        return web.json_response({"rejected": [k for k in keys if k in self.reject]})

    def notes(self, prefix: str = "") -> list[dict]:
        return [b["notification"] for b in self.received.get(prefix, [])]


async def start_gateway(aiohttp_server, gateway: Gateway, port: int | None = None):
    return await aiohttp_server(gateway.app(), host="127.0.0.1", port=port or unused_port())


def pusher_body(url: str, pushkey: str, **data) -> dict:
    return {"app_id": "org.example.app", "pushkey": pushkey, "kind": "http",
            "app_display_name": "App", "device_display_name": "Phone", "lang": "en",
            "data": {"url": url, **data}}


async def set_pusher(client, url: str, pushkey: str, **data) -> dict:
    body = pusher_body(url, pushkey, **data)
    await client.ok("POST", "/pushers/set", body)
    return body


async def room_of(creator, *members, name: str | None = None) -> str:
    room = await creator.create_room(preset="public_chat", **({"name": name} if name else {}))
    for m in members:
        await m.join(room)
    return room


async def test_gateway_receives_spec_shaped_notifications_with_counts(make_homeserver,
                                                                      aiohttp_server):
    gw = Gateway()
    gw_server = await start_gateway(aiohttp_server, gw)
    url = f"http://127.0.0.1:{gw_server.port}{NOTIFY}"
    hs = await make_homeserver("a", **PUSH)
    alice = await hs.user("alice")
    bob = await hs.user("bob")
    await alice.ok("PUT", f"/profile/{quote(alice.user_id)}/displayname",
                   {"displayname": "Alice A"})
    before = int(time.time())
    await set_pusher(bob, url, "bob-phone", extra="kept")
    dm = await room_of(alice, bob, name="Tea")
    eid = await alice.send(dm, "hello there")
    [note] = await eventually(lambda: gw.notes())
    assert note["event_id"] == eid and note["room_id"] == dm
    assert note["type"] == "m.room.message" and note["sender"] == alice.user_id
    assert note["sender_display_name"] == "Alice A" and note["room_name"] == "Tea"
    assert note["content"] == {"msgtype": "m.text", "body": "hello there"}
    # Two members: .m.rule.room_one_to_one, which rings, so the phone is woken at high priority.
    assert note["prio"] == "high"
    assert note["counts"] == {"unread": 1}
    [device] = note["devices"]
    assert device["app_id"] == "org.example.app" and device["pushkey"] == "bob-phone"
    assert device["data"] == {"extra": "kept"}  # the spec: the pusher's data minus its url
    assert before - 1 <= device["pushkey_ts"] <= time.time() + 1  # seconds
    assert device["tweaks"] == {"sound": "default", "highlight": False}
    # A second room with unread messages: the badge counts rooms (Synapse's default).
    carol = await hs.user("carol")
    group = await room_of(carol, alice, bob)
    await alice.send(group, "hello all")
    await eventually(lambda: len(gw.notes()) == 2)
    second = gw.notes()[1]
    assert second["counts"] == {"unread": 2} and second["prio"] == "low"
    assert second["devices"][0]["tweaks"] == {"highlight": False}
    # A mention highlights: high priority.
    await alice.send(group, "bob, look")
    await eventually(lambda: len(gw.notes()) == 3)
    assert gw.notes()[2]["prio"] == "high"
    assert gw.notes()[2]["devices"][0]["tweaks"] == {"sound": "default", "highlight": True}
    assert "room_name" not in second
    # Reading the group resets its part of the badge.
    await bob.ok("POST", f"/rooms/{quote(group)}/receipt/m.read/"
                 f"{quote(gw.notes()[2]['event_id'])}", {})
    await alice.send(dm, "again")
    await eventually(lambda: len(gw.notes()) == 4)
    assert gw.notes()[3]["counts"] == {"unread": 1}


async def test_event_id_only_format(make_homeserver, aiohttp_server):
    gw = Gateway()
    gw_server = await start_gateway(aiohttp_server, gw)
    hs = await make_homeserver("a", **PUSH)
    alice, bob = await hs.user("alice"), await hs.user("bob")
    await set_pusher(bob, f"http://127.0.0.1:{gw_server.port}{NOTIFY}", "k",
                     format="event_id_only")
    room = await room_of(alice, bob)
    eid = await alice.send(room, "secret text")
    [note] = await eventually(lambda: gw.notes())
    assert set(note) == {"event_id", "room_id", "counts", "prio", "devices"}
    assert note["event_id"] == eid and note["room_id"] == room
    assert "secret text" not in str(note)
    assert note["devices"][0]["data"] == {"format": "event_id_only"}


async def test_own_messages_and_dont_notify_rooms_are_not_pushed(make_homeserver,
                                                                  aiohttp_server):
    gw = Gateway()
    gw_server = await start_gateway(aiohttp_server, gw)
    hs = await make_homeserver("a", **PUSH)
    alice, bob = await hs.user("alice"), await hs.user("bob")
    await set_pusher(bob, f"http://127.0.0.1:{gw_server.port}{NOTIFY}", "k")
    quiet = await room_of(alice, bob)
    loud = await room_of(alice, bob)
    await bob.ok("PUT", f"/pushrules/global/room/{quote(quiet)}", {"actions": []})
    await bob.send(loud, "my own words")
    await alice.send(quiet, "muted room")
    marker = await alice.send(loud, "this one rings")
    # Pushes reach a pusher in order: had either earlier event been pushed, it came first.
    await eventually(lambda: gw.notes())
    await asyncio.sleep(0.5)
    assert [n["event_id"] for n in gw.notes()] == [marker]


async def test_gateway_down_then_up_delivers_in_order(make_homeserver, aiohttp_server):
    gw = Gateway()
    port = unused_port()
    hs = await make_homeserver("a", **PUSH)
    alice, bob = await hs.user("alice"), await hs.user("bob")
    await set_pusher(bob, f"http://127.0.0.1:{port}{NOTIFY}", "k")
    room = await room_of(alice, bob)
    sent = [await alice.send(room, f"m{i}") for i in range(3)]
    await asyncio.sleep(1.0)  # several failed attempts against a closed port
    await start_gateway(aiohttp_server, gw, port)
    await eventually(lambda: len(gw.notes()) >= 3, timeout=15)
    await asyncio.sleep(0.3)
    assert [n["event_id"] for n in gw.notes()] == sent


async def test_queued_pushes_survive_a_restart(make_homeserver, aiohttp_server):
    gw = Gateway()
    port = unused_port()
    hs = await make_homeserver("a", **PUSH)
    alice, bob = await hs.user("alice"), await hs.user("bob")
    await set_pusher(bob, f"http://127.0.0.1:{port}{NOTIFY}", "k")
    room = await room_of(alice, bob)
    sent = [await alice.send(room, f"before restart {i}") for i in range(2)]
    await asyncio.sleep(0.5)
    await hs.server.close()  # the gateway is still down
    again = await make_homeserver("a", port=int(hs.url.rsplit(":", 1)[1]), **PUSH)
    assert again.server_name == hs.server_name
    await start_gateway(aiohttp_server, gw, port)
    await eventually(lambda: len(gw.notes()) >= 2, timeout=15)
    await asyncio.sleep(0.3)
    assert [n["event_id"] for n in gw.notes()] == sent
    assert gw.notes()[0]["content"]["body"] == "before restart 0"


async def test_rejected_pushkey_removes_the_pusher(make_homeserver, aiohttp_server):
    gw = Gateway()
    gw.reject.add("gone")
    gw_server = await start_gateway(aiohttp_server, gw)
    hs = await make_homeserver("a", **PUSH)
    alice, bob = await hs.user("alice"), await hs.user("bob")
    await set_pusher(bob, f"http://127.0.0.1:{gw_server.port}{NOTIFY}", "gone")
    room = await room_of(alice, bob)
    await alice.send(room, "first")
    await eventually(lambda: gw.notes())
    await eventually(lambda: _no_pushers(bob))
    await alice.send(room, "second")
    await asyncio.sleep(0.5)
    assert len(gw.notes()) == 1


async def _no_pushers(client) -> bool:
    return (await client.ok("GET", "/pushers"))["pushers"] == []


async def test_pusher_urls_refused(make_homeserver, aiohttp_server):
    gw = Gateway()
    gw_server = await start_gateway(aiohttp_server, gw)
    hs = await make_homeserver("a", **PUSH)
    bob = await hs.user("bob")
    bad = [f"http://127.0.0.1:{gw_server.port}/_matrix/push/v1/other",  # not the endpoint
           f"http://127.0.0.1:{gw_server.port}/",
           f"http://127.0.0.2:{gw_server.port}{NOTIFY}",  # loopback, not whitelisted
           f"http://10.1.2.3{NOTIFY}", f"http://[::1]:{gw_server.port}{NOTIFY}",
           f"http://169.254.169.254{NOTIFY}", f"http://[::ffff:127.0.0.2]{NOTIFY}",
           f"http://127.0.0.1:99999{NOTIFY}", "http://[::1" + NOTIFY]
    for url in bad:
        status, err = await bob.request("POST", "/pushers/set", pusher_body(url, "k"))
        assert (status, err.get("errcode")) == (400, "M_INVALID_PARAM"), url
    assert await _no_pushers(bob)


async def test_private_address_behind_a_name_is_not_dialled(make_homeserver, aiohttp_server):
    """Without a whitelist, a gateway named "localhost" (loopback) is accepted as a name but
    never connected to: the guard refuses the address it resolves to."""
    gw = Gateway()
    gw_server = await start_gateway(aiohttp_server, gw)
    hs = await make_homeserver("a", push={"retry_base_seconds": 0.1, "retry_max_seconds": 0.2})
    alice, bob = await hs.user("alice"), await hs.user("bob")
    status, err = await bob.request("POST", "/pushers/set", pusher_body(
        f"http://127.0.0.1:{gw_server.port}{NOTIFY}", "k"))
    assert (status, err.get("errcode")) == (400, "M_INVALID_PARAM")
    await set_pusher(bob, f"http://localhost:{gw_server.port}{NOTIFY}", "k")
    room = await room_of(alice, bob)
    await alice.send(room, "to a forbidden place")
    await asyncio.sleep(2.0)  # many attempts at 0.1-0.2 s
    assert gw.received == {}
    await alice.send(room, "the server keeps serving")


async def test_hanging_and_huge_gateways_do_not_stall_others(make_homeserver, aiohttp_server):
    gw = Gateway()
    gw_server = await start_gateway(aiohttp_server, gw)
    base = f"http://127.0.0.1:{gw_server.port}"
    hs = await make_homeserver("a", **PUSH)
    alice = await hs.user("alice")
    users = {name: await hs.user(name) for name in ("bob", "carol", "dave")}
    await set_pusher(users["bob"], f"{base}/hang{NOTIFY}", "bob")
    await set_pusher(users["carol"], f"{base}/huge{NOTIFY}", "carol")
    await set_pusher(users["dave"], f"{base}{NOTIFY}", "dave")
    room = await room_of(alice, *users.values())
    try:
        start = time.monotonic()
        sent = [await alice.send(room, f"m{i}") for i in range(3)]
        await eventually(lambda: len(gw.notes()) == 3, timeout=5)
        assert time.monotonic() - start < 5
        assert [n["event_id"] for n in gw.notes()] == sent
        # The endless answer is cut short and counts as delivered: each event once, in order.
        await eventually(lambda: len(gw.notes("huge")) == 3, timeout=5)
        await asyncio.sleep(0.3)
        assert [n["event_id"] for n in gw.notes("huge")] == sent
        # The hanging gateway holds bob's first notification; nothing else is sent to it yet.
        assert [n["event_id"] for n in gw.notes("hang")] == sent[:1]
        assert (await alice.sync())["rooms"]["join"][room]
    finally:
        gw.release.set()
    # Released, the hanging gateway gets the rest, in order.
    await eventually(lambda: len(gw.notes("hang")) == 3, timeout=10)
    assert [n["event_id"] for n in gw.notes("hang")] == sent


async def test_a_4xx_drops_the_notification_and_429_or_5xx_retry_it(make_homeserver,
                                                                   aiohttp_server):
    gw = Gateway()
    gw.statuses = {"bad": [400], "busy": [429, 503]}
    gw_server = await start_gateway(aiohttp_server, gw)
    base = f"http://127.0.0.1:{gw_server.port}"
    hs = await make_homeserver("a", **PUSH)
    alice, bob, carol = await hs.user("alice"), await hs.user("bob"), await hs.user("carol")
    await set_pusher(bob, f"{base}/bad{NOTIFY}", "bob")
    await set_pusher(carol, f"{base}/busy{NOTIFY}", "carol")
    room = await room_of(alice, bob, carol)
    sent = [await alice.send(room, f"m{i}") for i in range(2)]
    await eventually(lambda: len(gw.notes("bad")) == 2 and len(gw.notes("busy")) == 4)
    await asyncio.sleep(0.5)
    # Refused for good: not sent again. Busy: the same notification until taken, in order.
    assert [n["event_id"] for n in gw.notes("bad")] == sent
    assert [n["event_id"] for n in gw.notes("busy")] == [sent[0]] * 3 + [sent[1]]


async def test_an_invite_wakes_the_invited_users_phone(make_homeserver, aiohttp_server):
    """Invited users are not members yet, but .m.rule.invite_for_me is for them: the invite
    is pushed to their phone, and nobody else's."""
    gw = Gateway()
    gw_server = await start_gateway(aiohttp_server, gw)
    url = f"http://127.0.0.1:{gw_server.port}{NOTIFY}"
    hs = await make_homeserver("a", **PUSH)
    alice, bob, carol = await hs.user("alice"), await hs.user("bob"), await hs.user("carol")
    await set_pusher(bob, url, "bob-phone")
    await set_pusher(carol, f"http://127.0.0.1:{gw_server.port}/carol{NOTIFY}", "carol-phone")
    room = await room_of(alice, carol, name="Planning")
    await alice.ok("POST", f"/rooms/{quote(room)}/invite", {"user_id": bob.user_id})
    [note] = await eventually(lambda: gw.notes())
    assert note["type"] == "m.room.member" and note["user_is_target"] is True
    assert note["content"]["membership"] == "invite" and note["room_id"] == room
    # carol (a member) hears nothing about bob's invite: .m.rule.member_event doesn't notify.
    marker = await alice.send(room, "marker")
    carol_notes = await eventually(lambda: gw.notes("carol"))
    assert [n["event_id"] for n in carol_notes] == [marker]


async def test_initial_sync_carries_the_push_rules_as_account_data(homeserver):
    """Clients (matrix-js-sdk) read the rules from m.push_rules account data, so an initial
    sync carries them even before the user changed any; an incremental sync doesn't repeat
    them until they change."""
    alice = await homeserver.user("alice")
    first = await alice.sync()
    [rules] = [e["content"] for e in first["account_data"]["events"]
               if e["type"] == "m.push_rules"]
    assert rules == await alice.ok("GET", "/pushrules/")
    assert any(r["rule_id"] == ".m.rule.master" for r in rules["global"]["override"])
    again = await alice.sync(since=first["next_batch"])
    assert not [e for e in again["account_data"]["events"] if e["type"] == "m.push_rules"]
