"""Guest listeners (issue 17): register?kind=guest, join a public audio room, sync and listen;
every other endpoint refused (the table is built from the app's router, so a new route is
covered the day it is added); floods limited per IP; guest access off; tokens that expire; the
spec's upgrade, which keeps the user ID, the room and the audio, and lets the new account raise
a hand."""
from __future__ import annotations

import asyncio
import re
from urllib.parse import quote

from aiohttp import web

from homeserver.api.http import GATED_PREFIXES, GUEST_OK
from media.testing import AudioClient, ToneTrack
from tests.integration.federation_helpers import eventually
from tests.integration.test_audio_e2e import heard

AUDIO = {"type": "org.audiorooms.audio"}
U = "/_matrix/client/unstable/org.audiorooms"
DUMMY = {"type": "m.login.dummy"}


async def register_guest(hs, body=None):
    c = hs.client()
    status, data = await c.request("POST", "/register", body if body is not None else {},
                                   params={"kind": "guest"})
    if status == 200:
        c.token, c.user_id = data["access_token"], data["user_id"]
    return c, status, data


async def live_audio_room(alice, **extra) -> str:
    room = await alice.create_room(preset="public_chat", visibility="public",
                                   creation_content=AUDIO, name="Open mic", **extra)
    await alice.put_state(room, "org.audiorooms.live", {"live": True})
    return room


async def hallway_entry(client, room):
    hall = await client.ok("GET", f"{U}/hallway")
    return next(e for e in hall["live"] if e["room_id"] == room)


async def test_guest_joins_public_audio_room_syncs_and_listens(homeserver):
    alice = await homeserver.user("alice")
    room = await live_audio_room(alice)
    st = await alice.state(room, "m.room.guest_access")
    assert st == {"guest_access": "can_join"}  # the default for public audio rooms

    guest, status, creds = await register_guest(homeserver, {})
    assert status == 200, creds
    localpart, _, server = creds["user_id"][1:].partition(":")
    assert localpart.isdigit() and server == homeserver.server_name
    assert creds["device_id"] and creds["home_server"] == homeserver.server_name
    who = await guest.ok("GET", "/account/whoami")
    assert who == {"user_id": guest.user_id, "device_id": creds["device_id"], "is_guest": True}
    assert homeserver.hs.users.is_guest(guest.user_id)
    before = (await hallway_entry(alice, room))["org.audiorooms.listener_count"]

    assert (await guest.ok("POST", f"/rooms/{quote(room)}/join", {}))["room_id"] == room
    sync = await guest.sync()
    assert room in sync["rooms"]["join"]
    assert any(e["type"] == "m.room.name" for e in
               sync["rooms"]["join"][room]["state"]["events"] +
               sync["rooms"]["join"][room]["timeline"]["events"])
    await guest.ok("GET", f"/rooms/{quote(room)}/state")
    members = await guest.ok("GET", f"/rooms/{quote(room)}/members")
    assert guest.user_id in {m["state_key"] for m in members["chunk"]}
    await guest.ok("GET", f"/rooms/{quote(room)}/messages", params={"dir": "b"})
    await guest.ok("GET", f"/profile/{quote(alice.user_id)}")
    # The hallway counts the guest as a listener.
    entry = await hallway_entry(guest, room)
    assert entry["org.audiorooms.listener_count"] == before + 1

    speaker = AudioClient(mic=ToneTrack(440, 0.5))
    listener = AudioClient()
    try:
        answer = await alice.ok("POST", f"{U}/rooms/{quote(room)}/media",
                                {"type": "offer", "sdp": await speaker.offer()})
        await speaker.accept(answer["sdp"])
        # A guest's offer with a mic is refused outright: guests listen.
        with_mic = AudioClient(mic=ToneTrack(1000, 0.5))
        try:
            status, err = await guest.request("POST", f"{U}/rooms/{quote(room)}/media",
                                              {"type": "offer", "sdp": await with_mic.offer()})
        finally:
            await with_mic.close()
        assert (status, err["errcode"]) == (403, "M_GUEST_ACCESS_FORBIDDEN")
        answer = await guest.ok("POST", f"{U}/rooms/{quote(room)}/media",
                                {"type": "offer", "sdp": await listener.offer()})
        await listener.accept(answer["sdp"])
        await eventually(lambda: heard(listener)[0] is not None
                         and abs(heard(listener)[0] - 440) < 5, timeout=10)
        speakers = await guest.ok("GET", f"{U}/rooms/{quote(room)}/speakers")
        assert [s["user_id"] for s in speakers["slots"] if s.get("user_id")] == [alice.user_id]
        await guest.ok("DELETE", f"{U}/rooms/{quote(room)}/media/{answer['session_id']}")
    finally:
        await speaker.close()
        await listener.close()
    await guest.ok("POST", f"/rooms/{quote(room)}/leave", {})
    assert room not in (await guest.ok("GET", "/joined_rooms"))["joined_rooms"]


# the hostile table ---------------------------------------------------------------------------

PARAMS = {"v": "v3", "type": "m.room.message", "state_key": "", "txn_id": "g1",
          "action": "invite", "field": "displayname", "scope": "global", "kind": "override",
          "rule_id": "r", "attr": "enabled", "receipt_type": "m.read", "event_type": "m.room.message"}


def guest_forbidden_routes(app: web.Application) -> list[tuple[str, str]]:
    """(method, path template) of every client-API route a guest may not use."""
    out = set()
    for route in app.router.routes():
        if route.method in ("HEAD", "OPTIONS", "*"):
            continue
        info = route.resource.get_info() if route.resource else {}
        template = info.get("formatter") or info.get("path")
        if not template or not template.startswith(GATED_PREFIXES):
            continue
        if getattr(route.handler, GUEST_OK, False):
            continue
        out.add((route.method, template))
    return sorted(out, key=lambda r: (r[1], r[0]))


async def test_guest_token_refused_on_every_other_endpoint(homeserver):
    alice = await homeserver.user("alice")
    room = await live_audio_room(alice)
    guest, _, _ = await register_guest(homeserver)
    await guest.join(room)
    event_id = await alice.send(room, "hello")
    values = {**PARAMS, "room_id": room, "room": room, "user_id": guest.user_id,
              "event_id": event_id, "alias": f"#g:{homeserver.server_name}",
              "server_name": homeserver.server_name, "media_id": "abc", "file_name": "f",
              "session_id": "s", "device_id": "D", "filter_id": "0", "tail": "x/y",
              "pushkey": "p", "thread_id": "main"}

    async def snapshot():
        state = await alice.ok("GET", f"/rooms/{quote(room)}/state")
        msgs = await alice.messages(room, dir="b", limit="100")
        profile = await guest.ok("GET", f"/profile/{quote(guest.user_id)}")
        return (sorted((e["type"], e["state_key"], e["event_id"]) for e in state),
                [e["event_id"] for e in msgs["chunk"]], profile,
                sorted((await guest.ok("GET", "/joined_rooms"))["joined_rooms"]))

    before = await snapshot()
    table = guest_forbidden_routes(homeserver.server.app)
    for must in (("PUT", "/_matrix/client/{v}/rooms/{room_id}/send/{type}/{txn_id}"),
                 ("PUT", "/_matrix/client/{v}/rooms/{room_id}/state/{type}/{state_key}"),
                 ("POST", "/_matrix/client/{v}/createRoom"),
                 ("PUT", "/_matrix/client/{v}/rooms/{room_id}/typing/{user_id}"),
                 ("POST", "/_matrix/media/{v}/upload")):
        assert must in table, must
    assert len(table) >= 40
    rows = []
    for method, template in table:
        path = template
        for name, value in values.items():
            path = path.replace("{" + name + "}", quote(value, safe=""))
        path = re.sub(r"\{[^}]+\}", "x", path)  # any other parameter: a plain value
        status, data = await guest.request(method, path, {})
        errcode = data.get("errcode") if isinstance(data, dict) else None
        rows.append(f"{method:6} {template:75} {status} {errcode}")
        assert (status, errcode) == (403, "M_GUEST_ACCESS_FORBIDDEN"), (method, template, data)
    print("\nguest token on every non-guest endpoint:\n" + "\n".join(rows))
    assert await snapshot() == before  # nothing changed
    # The same requests with a full account's token reach the endpoints (not all 403).
    status, _ = await alice.request("PUT", f"/rooms/{quote(room)}/send/m.room.message/x1",
                                    {"msgtype": "m.text", "body": "hi"})
    assert status == 200


async def test_guest_registration_flood_from_one_ip_is_limited(make_homeserver):
    hs = await make_homeserver("a")  # the default guest limit: burst 5, then one per 10 s
    statuses = []
    for _ in range(8):
        _, status, data = await register_guest(hs)
        statuses.append(status)
    assert statuses[:5] == [200] * 5
    assert statuses[5:] == [429] * 3
    assert data["errcode"] == "M_LIMIT_EXCEEDED" and data["retry_after_ms"] > 0
    # Full registration has its own limit and is unaffected.
    await hs.user("stillworks")


async def test_guests_disabled_by_config(make_homeserver):
    hs = await make_homeserver("a", registration={"guests_enabled": False})
    _, status, data = await register_guest(hs)
    assert (status, data["errcode"]) == (403, "M_GUEST_ACCESS_FORBIDDEN")


async def test_room_without_guest_access_refuses_guests(homeserver):
    alice = await homeserver.user("alice")
    audio = await live_audio_room(alice, room_alias_name="stage")
    plain = await alice.create_room(preset="public_chat", visibility="public", name="Plain")
    guest, _, _ = await register_guest(homeserver)
    # A plain public room has no m.room.guest_access: guests are refused.
    status, err = await guest.request("POST", f"/join/{quote(plain)}", {})
    assert (status, err["errcode"]) == (403, "M_GUEST_ACCESS_FORBIDDEN")
    # A moderator turns guest access off in the audio room: refused, by ID and by alias.
    await alice.put_state(audio, "m.room.guest_access", {"guest_access": "forbidden"})
    for target in (audio, f"#stage:{homeserver.server_name}"):
        status, err = await guest.request("POST", f"/join/{quote(target)}", {})
        assert (status, err["errcode"]) == (403, "M_GUEST_ACCESS_FORBIDDEN")
    status, err = await guest.request("POST", f"/rooms/{quote(audio)}/join", {})
    assert (status, err["errcode"]) == (403, "M_GUEST_ACCESS_FORBIDDEN")
    assert (await guest.ok("GET", "/joined_rooms"))["joined_rooms"] == []
    members = await alice.ok("GET", f"/rooms/{quote(audio)}/joined_members")
    assert guest.user_id not in members["joined"]
    # Turned back on: the guest gets in.
    await alice.put_state(audio, "m.room.guest_access", {"guest_access": "can_join"})
    await guest.join(audio)


async def test_guest_token_expires(make_homeserver):
    hs = await make_homeserver("a", registration={"guest_token_lifetime_seconds": 1})
    guest, _, _ = await register_guest(hs)
    await guest.ok("GET", "/account/whoami")
    await asyncio.sleep(1.2)
    status, err = await guest.request("GET", "/account/whoami")
    assert status == 401 and err["errcode"] == "M_UNKNOWN_TOKEN" and err["soft_logout"] is False
    status, err = await guest.request("GET", "/sync")
    assert status == 401 and err["errcode"] == "M_UNKNOWN_TOKEN"
    # A full account's token does not expire.
    alice = await hs.user("alice")
    await asyncio.sleep(0.1)
    await alice.ok("GET", "/account/whoami")


async def test_upgrade_keeps_the_guest_in_the_room_and_lets_it_raise_a_hand(homeserver):
    alice = await homeserver.user("alice")
    room = await live_audio_room(alice)
    guest, _, creds = await register_guest(homeserver)
    await guest.join(room)
    hand = f"/rooms/{quote(room)}/state/org.audiorooms.hand/{quote(guest.user_id)}"
    status, err = await guest.request("PUT", hand, {"raised": True})
    assert (status, err["errcode"]) == (403, "M_GUEST_ACCESS_FORBIDDEN")
    listener = AudioClient()
    try:
        answer = await guest.ok("POST", f"{U}/rooms/{quote(room)}/media",
                                {"type": "offer", "sdp": await listener.offer()})
        await listener.accept(answer["sdp"])
        localpart = guest.user_id[1:].split(":")[0]
        signup = {"password": "new pass", "auth": DUMMY, "guest_access_token": guest.token}
        # Numeric IDs are kept for guests; a guest keeps its own ID (the spec's upgrade).
        status, err = await homeserver.client().request(
            "POST", "/register", {"username": localpart, "password": "x", "auth": DUMMY})
        assert (status, err["errcode"]) == (400, "M_INVALID_USERNAME")
        status, err = await homeserver.client().request(
            "POST", "/register", {**signup, "username": "someoneelse"})
        assert (status, err["errcode"]) == (400, "M_INVALID_USERNAME")
        status, err = await homeserver.client().request(
            "POST", "/register", {**signup, "guest_access_token": "syt_forged"})
        assert (status, err["errcode"]) == (403, "M_FORBIDDEN")
        status, err = await homeserver.client().request(
            "POST", "/register", {**signup, "guest_access_token": alice.token})
        assert (status, err["errcode"]) == (403, "M_FORBIDDEN")

        up = await homeserver.client().ok("POST", "/register", {**signup, "username": localpart})
        assert up["user_id"] == guest.user_id and up["access_token"] != guest.token
        # The old token now acts for the full account; the new one works too.
        who = await guest.ok("GET", "/account/whoami")
        assert who["user_id"] == guest.user_id and who["is_guest"] is False
        full = homeserver.client(up["access_token"])
        assert (await full.ok("GET", "/account/whoami"))["is_guest"] is False
        # Still in the room (no rejoin), the audio session still open; the hand goes up.
        assert room in (await full.ok("GET", "/joined_rooms"))["joined_rooms"]
        await full.ok("PUT", hand, {"raised": True})
        assert (await alice.state(room, "org.audiorooms.hand", guest.user_id))["raised"] is True
        await guest.ok("DELETE", f"{U}/rooms/{quote(room)}/media/{answer['session_id']}")
        # Upgraded once: the token is no longer a guest's, a second upgrade is refused.
        status, err = await homeserver.client().request("POST", "/register", signup)
        assert (status, err["errcode"]) == (403, "M_FORBIDDEN")
        # And the password logs in.
        await homeserver.client().ok("POST", "/login", {
            "type": "m.login.password", "user": guest.user_id, "password": "new pass"})
    finally:
        await listener.close()


async def test_guests_leave_when_guest_access_is_turned_off(homeserver):
    alice = await homeserver.user("alice")
    bob = await homeserver.user("bob")
    room = await live_audio_room(alice)
    guest, _, _ = await register_guest(homeserver)
    await guest.join(room)
    await bob.join(room)
    await alice.put_state(room, "m.room.guest_access", {"guest_access": "forbidden"})

    async def guest_gone():
        joined = (await alice.ok("GET", f"/rooms/{quote(room)}/joined_members"))["joined"]
        return guest.user_id not in joined and bob.user_id in joined
    await eventually(guest_gone, timeout=5)
    assert (await guest.ok("GET", "/joined_rooms"))["joined_rooms"] == []
    status, err = await guest.request("POST", f"/join/{quote(room)}", {})
    assert (status, err["errcode"]) == (403, "M_GUEST_ACCESS_FORBIDDEN")
