"""What Matrix clients (matrix-js-sdk, matrix-nio) rely on in served events and paths (issue #12):
profile changes do not make /sync re-send old history, redactions carry the top-level
``redacts`` and ``unsigned.redacted_because``, state events carry ``prev_content`` and ``age``,
and path parameters are URL-decoded exactly once."""
from __future__ import annotations

from urllib.parse import quote, unquote

import pytest


def q(s: str) -> str:
    return quote(s, safe="")


def r(room_id: str) -> str:
    return f"/rooms/{q(room_id)}"


async def set_displayname(client, name: str) -> None:
    await client.ok("PUT", f"/profile/{q(client.user_id)}/displayname", {"displayname": name})


# 1. profile changes and incremental sync ----------------------------------------------------

async def test_displayname_change_syncs_only_the_new_member_event(homeserver):
    alice = await homeserver.user("alice")
    bob = await homeserver.user("bob")
    rooms = []
    for i in range(2):
        room = await alice.create_room(preset="public_chat", name=f"room{i}")
        await bob.join(room)
        for j in range(5):
            await alice.send(room, f"r{i}m{j}")
        rooms.append(room)
    token = (await alice.sync())["next_batch"]
    bob_token = (await bob.sync())["next_batch"]

    await set_displayname(alice, "Alice L.")

    for who, since in ((alice, token), (bob, bob_token)):
        sync = await who.sync(since=since)
        for room in rooms:
            joined = sync["rooms"]["join"][room]
            events = joined["timeline"]["events"]
            assert [(e["type"], e["state_key"]) for e in events] == \
                [("m.room.member", alice.user_id)], events
            assert events[0]["content"]["displayname"] == "Alice L."
            assert events[0]["unsigned"]["prev_content"]["membership"] == "join"
            assert joined["timeline"]["limited"] is False
            assert joined["state"]["events"] == []


async def test_no_event_is_delivered_twice_across_a_session(homeserver):
    alice = await homeserver.user("alice")
    bob = await homeserver.user("bob")
    room = await alice.create_room(preset="public_chat", name="chat")
    other = await alice.create_room(preset="public_chat", name="other")
    await bob.join(room)

    seen: dict[str, list[str]] = {alice.user_id: [], bob.user_id: []}
    tokens: dict[str, str | None] = {alice.user_id: None, bob.user_id: None}
    sent: list[str] = []

    async def sync_all() -> None:
        for c in (alice, bob):
            sync = await c.sync(since=tokens[c.user_id])
            tokens[c.user_id] = sync["next_batch"]
            for joined in sync["rooms"]["join"].values():
                seen[c.user_id] += [e["event_id"] for e in joined["timeline"]["events"]]

    await sync_all()
    for step in range(4):
        sent.append(await alice.send(room, f"a{step}"))
        sent.append(await bob.send(room, f"b{step}"))
        await sync_all()
        await set_displayname(alice, f"Alice {step}")
        await sync_all()
        await set_displayname(bob, f"Bob {step}")
        sent.append(await alice.send(other, f"o{step}"))
        await sync_all()
        await sync_all()  # nothing new: nothing again
    # Bob joins a room late: its history comes once, with the join.
    await bob.join(other)
    await sync_all()
    await set_displayname(bob, "Bob late")
    await sync_all()

    for user, ids in seen.items():
        dupes = {i for i in ids if ids.count(i) > 1}
        assert not dupes, f"{user} got {len(dupes)} events more than once"
    assert set(sent) <= set(seen[alice.user_id])
    assert set(sent) <= set(seen[bob.user_id])


# 2. redactions, prev_content, age ------------------------------------------------------------

async def test_redaction_has_top_level_redacts_and_redacted_because(homeserver):
    alice = await homeserver.user("alice")
    room = await alice.create_room(preset="public_chat")
    token = (await alice.sync())["next_batch"]
    target = await alice.send(room, "oops")
    red = (await alice.ok("PUT", f"{r(room)}/redact/{q(target)}/x1",
                          {"reason": "typo"}))["event_id"]

    def check_redaction(ev: dict) -> None:
        assert ev["type"] == "m.room.redaction"
        assert ev["redacts"] == target
        assert ev["content"]["redacts"] == target
        assert ev["content"]["reason"] == "typo"
        assert isinstance(ev["unsigned"]["age"], int) and ev["unsigned"]["age"] >= 0

    sync = await alice.sync(since=token)
    timeline = {e["event_id"]: e for e in sync["rooms"]["join"][room]["timeline"]["events"]}
    check_redaction(timeline[red])
    check_redaction(await alice.ok("GET", f"{r(room)}/event/{q(red)}"))
    chunk = {e["event_id"]: e for e in (await alice.messages(room, dir="b"))["chunk"]}
    check_redaction(chunk[red])

    for redacted in (await alice.ok("GET", f"{r(room)}/event/{q(target)}"), chunk[target],
                     timeline[target]):
        assert redacted["content"] == {}
        because = redacted["unsigned"]["redacted_because"]
        assert because["event_id"] == red
        check_redaction(because)
        assert isinstance(redacted["unsigned"]["age"], int) and redacted["unsigned"]["age"] >= 0


async def test_replaced_state_carries_prev_content_and_age(homeserver):
    alice = await homeserver.user("alice")
    room = await alice.create_room(preset="public_chat", topic="first")
    token = (await alice.sync())["next_batch"]
    eid = await alice.put_state(room, "m.room.topic", {"topic": "second"})
    for ev in ((await alice.sync(since=token))["rooms"]["join"][room]["timeline"]["events"][-1],
               await alice.ok("GET", f"{r(room)}/event/{q(eid)}"),
               await alice.ok("GET", f"{r(room)}/state/m.room.topic",
                              params={"format": "event"})):
        assert ev["event_id"] == eid
        assert ev["unsigned"]["prev_content"] == {"topic": "first"}
        assert ev["unsigned"]["replaces_state"]
        assert 0 <= ev["unsigned"]["age"] < 60_000


# 3. path parameters decoded once ------------------------------------------------------------

@pytest.mark.parametrize("local", ["100%", "100%25", "x%41y"])
async def test_alias_with_percent_round_trips(homeserver, local):
    alice = await homeserver.user("alice")
    bob = await homeserver.user("bob")
    room = await alice.create_room(preset="public_chat")
    alias = f"#{local}:{homeserver.server_name}"
    path = f"/directory/room/{q(alias)}"  # e.g. .../%23100%2525%3A...
    await alice.ok("PUT", path, {"room_id": room})
    assert (await bob.ok("GET", path))["room_id"] == room
    assert alias in (await alice.ok("GET", f"{r(room)}/aliases"))["aliases"]
    # Decoded once only: "%41" in an alias is not "A", "%25" is not "%".
    decoded_twice = f"#{unquote(local)}:{homeserver.server_name}"
    if decoded_twice != alias:
        status, _ = await bob.request("GET", f"/directory/room/{q(decoded_twice)}")
        assert status == 404
    assert (await bob.ok("POST", f"/join/{q(alias)}", {}))["room_id"] == room
    await alice.ok("DELETE", path)
    status, body = await bob.request("GET", path)
    assert status == 404 and body["errcode"] == "M_NOT_FOUND"


async def test_room_and_event_ids_round_trip_fully_encoded(homeserver):
    alice = await homeserver.user("alice")
    room = await alice.create_room(preset="public_chat")
    eid = await alice.send(room, "hello")
    ev = await alice.ok("GET", f"/rooms/{q(room)}/event/{q(eid)}")
    assert ev["event_id"] == eid and ev["room_id"] == room
    assert (await alice.ok("POST", f"/join/{q(room)}", {}))["room_id"] == room
    # Decoding twice would turn this into the real room ID: it must not.
    status, _ = await alice.request("GET", f"/rooms/{q(q(room))}/event/{q(eid)}")
    assert status in (400, 403, 404)
    status, _ = await alice.request("POST", f"/join/{q(q(room))}", {})
    assert status in (400, 403, 404)


async def test_federation_path_parameters_decoded_once(make_homeserver):
    """make_join over X-Matrix with every character of the IDs percent-encoded (the signature
    covers the path as sent) works; a doubly encoded room ID is not the room."""
    from tests.integration.federation_helpers import start_servers
    from tests.integration.keyed_server import F1, KeyedServer

    a = (await start_servers(make_homeserver, names=("a",)))["a"]
    remote = KeyedServer()
    await remote.start()
    a.hs.federation_client.servers[remote.name] = remote.url
    try:
        alice = await a.user("alice")
        room = await alice.create_room(preset="public_chat")
        user = f"@visitor:{remote.name}"
        status, made = await remote.request(
            a.session, a.url, a.server_name, "GET",
            f"{F1}/make_join/{q(room)}/{q(user)}?ver=org.audiorooms.1")
        assert status == 200, made
        assert made["event"]["room_id"] == room and made["event"]["state_key"] == user
        status, made = await remote.request(
            a.session, a.url, a.server_name, "GET",
            f"{F1}/make_join/{q(q(room))}/{q(user)}?ver=org.audiorooms.1")
        assert status in (400, 403, 404), made
    finally:
        await remote.close()
