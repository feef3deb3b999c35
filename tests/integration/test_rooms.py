"""Rooms over real HTTP: createRoom and its options, membership (join, leave, invite, kick, ban,
unban) under power levels, messages, state, member lists and /messages pagination."""
from __future__ import annotations

from urllib.parse import quote

import pytest


def r(room_id: str) -> str:
    return f"/rooms/{quote(room_id)}"


async def state_map(client, room_id: str) -> dict:
    events = await client.ok("GET", r(room_id) + "/state")
    return {(e["type"], e["state_key"]): e for e in events}


async def direct_of(client) -> dict:
    return await client.ok("GET", f"/user/{quote(client.user_id)}/account_data/m.direct")


# createRoom ----------------------------------------------------------------------------------

@pytest.mark.parametrize("preset,join_rule,invite_level,guest", [
    ("public_chat", "public", 50, None),
    ("private_chat", "invite", 0, "can_join"),
    ("trusted_private_chat", "invite", 0, "can_join"),
])
async def test_create_room_presets(homeserver, preset, join_rule, invite_level, guest):
    alice = await homeserver.user("alice")
    bob = await homeserver.user("bob")
    room = await alice.create_room(preset=preset, invite=[bob.user_id])
    assert room.startswith("!") and room.endswith(":" + homeserver.server_name)
    st = await state_map(alice, room)
    create = st[("m.room.create", "")]
    assert create["sender"] == alice.user_id
    assert create["content"]["room_version"] == "org.audiorooms.1"
    assert st[("m.room.join_rules", "")]["content"] == {"join_rule": join_rule}
    assert st[("m.room.history_visibility", "")]["content"] == {"history_visibility": "shared"}
    if guest:
        assert st[("m.room.guest_access", "")]["content"] == {"guest_access": guest}
    else:
        assert ("m.room.guest_access", "") not in st
    pl = st[("m.room.power_levels", "")]["content"]
    assert pl["users"][alice.user_id] == 100
    assert pl["invite"] == invite_level
    if preset == "trusted_private_chat":
        assert pl["users"][bob.user_id] == 100
    else:
        assert bob.user_id not in pl["users"]
    assert st[("m.room.member", alice.user_id)]["content"]["membership"] == "join"
    assert st[("m.room.member", bob.user_id)]["content"]["membership"] == "invite"
    # The invitee can accept in any preset.
    assert await bob.join(room) == room


async def test_create_room_defaults_from_visibility(homeserver):
    alice = await homeserver.user("alice")
    public = await alice.create_room(visibility="public")
    private = await alice.create_room()
    assert (await alice.state(public, "m.room.join_rules"))["join_rule"] == "public"
    assert (await alice.state(private, "m.room.join_rules"))["join_rule"] == "invite"
    assert await alice.ok("GET", f"/directory/list/room/{quote(public)}") == \
        {"visibility": "public"}
    assert await alice.ok("GET", f"/directory/list/room/{quote(private)}") == \
        {"visibility": "private"}


async def test_create_room_name_topic_creation_content_alias(homeserver):
    alice = await homeserver.user("alice")
    resp = await alice.ok("POST", "/createRoom", {
        "preset": "public_chat", "name": "Stage", "topic": "Live talk",
        "creation_content": {"type": "org.audiorooms.audio"}, "room_alias_name": "stage"})
    room = resp["room_id"]
    alias = f"#stage:{homeserver.server_name}"
    assert resp["room_alias"] == alias
    assert await alice.state(room, "m.room.name") == {"name": "Stage"}
    assert await alice.state(room, "m.room.topic") == {"topic": "Live talk"}
    create = await alice.state(room, "m.room.create")
    assert create["type"] == "org.audiorooms.audio"
    assert create["room_version"] == "org.audiorooms.1"
    assert await alice.state(room, "m.room.canonical_alias") == {"alias": alias}
    assert (await alice.ok("GET", f"/directory/room/{quote(alias)}"))["room_id"] == room
    # The same alias cannot be taken twice.
    status, body = await alice.request("POST", "/createRoom", {"room_alias_name": "stage"})
    assert status == 400 and body["errcode"] == "M_ROOM_IN_USE"


async def test_create_room_rejects_bad_requests(homeserver):
    alice = await homeserver.user("alice")
    before = (await alice.ok("GET", "/joined_rooms"))["joined_rooms"]
    for body, code in (({"preset": "nope"}, "M_INVALID_PARAM"),
                       ({"visibility": "secret"}, "M_INVALID_PARAM"),
                       ({"invite": ["not-a-user"]}, "M_INVALID_PARAM"),
                       ({"name": 5}, "M_BAD_JSON"),
                       ({"room_version": "1"}, "M_UNSUPPORTED_ROOM_VERSION")):
        status, resp = await alice.request("POST", "/createRoom", body)
        assert status == 400 and resp["errcode"] == code, (body, resp)
    status, resp = await alice.request(
        "POST", "/createRoom", {"invite": [f"@ghost:{homeserver.server_name}"]})
    assert status == 404 and resp["errcode"] == "M_NOT_FOUND"
    assert (await alice.ok("GET", "/joined_rooms"))["joined_rooms"] == before
    status, resp = await homeserver.client().request("POST", "/createRoom", {})
    assert status == 401 and resp["errcode"] == "M_MISSING_TOKEN"


async def test_create_room_refused_by_the_rules_creates_nothing(homeserver):
    alice = await homeserver.user("alice")
    for body in (
            {"invite": [alice.user_id]},  # inviting oneself
            {"power_level_content_override": {"users": {}}},  # strips the creator's power
            {"power_level_content_override": {"users": {alice.user_id: "high"}}},
            {"initial_state": [{"type": "m.room.member", "state_key": "@x:example.org",
                                "content": {"membership": "join"}}]},
            {"initial_state": [{"type": "m.room.create", "content": {}}]}):
        status, resp = await alice.request("POST", "/createRoom",
                                           {**body, "room_alias_name": "wanted"})
        assert status == 403 and resp["errcode"] == "M_FORBIDDEN", (body, resp)
        assert (await alice.ok("GET", "/joined_rooms"))["joined_rooms"] == [], body
        assert (await alice.sync())["rooms"]["join"] == {}, body
        status, resp = await alice.request(
            "GET", f"/directory/room/{quote('#wanted:' + homeserver.server_name)}")
        assert status == 404, (body, resp)
    # An event over the size limit is refused before anything is stored, too.
    status, resp = await alice.request("POST", "/createRoom",
                                       {"topic": "x" * 70_000, "room_alias_name": "wanted"})
    assert status == 413 and resp["errcode"] == "M_TOO_LARGE"
    assert (await alice.ok("GET", "/joined_rooms"))["joined_rooms"] == []
    # The alias was never taken: a good request can have it.
    room = (await alice.ok("POST", "/createRoom", {"room_alias_name": "wanted"}))["room_id"]
    assert (await alice.ok("GET", "/joined_rooms"))["joined_rooms"] == [room]


async def test_create_room_with_invite_shows_in_invitees_sync(homeserver):
    alice = await homeserver.user("alice")
    bob = await homeserver.user("bob")
    room = await alice.create_room(name="Secret", invite=[bob.user_id])
    sync = await bob.sync()
    assert room not in sync["rooms"]["join"]
    stripped = sync["rooms"]["invite"][room]["invite_state"]["events"]
    by_key = {(e["type"], e["state_key"]): e for e in stripped}
    assert by_key[("m.room.name", "")]["content"] == {"name": "Secret"}
    assert by_key[("m.room.join_rules", "")]["content"] == {"join_rule": "invite"}
    assert ("m.room.create", "") in by_key
    invite = by_key[("m.room.member", bob.user_id)]
    assert invite["sender"] == alice.user_id
    assert invite["content"]["membership"] == "invite"
    # Before joining, the invitee cannot read the room.
    status, body = await bob.request("GET", r(room) + "/messages")
    assert status == 403 and body["errcode"] == "M_FORBIDDEN"


async def test_create_direct_room(homeserver):
    alice = await homeserver.user("alice")
    bob = await homeserver.user("bob")
    room = await alice.create_room(preset="trusted_private_chat", is_direct=True,
                                   invite=[bob.user_id])
    member = await alice.state(room, "m.room.member", bob.user_id)
    assert member == {"membership": "invite", "is_direct": True}
    assert await direct_of(alice) == {bob.user_id: [room]}
    # The invitee learns it is a DM from the invite.
    invite = (await bob.sync())["rooms"]["invite"][room]["invite_state"]["events"]
    mine = [e for e in invite if e["type"] == "m.room.member" and e["state_key"] == bob.user_id]
    assert mine[0]["content"]["is_direct"] is True
    status, body = await bob.request("GET", f"/user/{quote(bob.user_id)}/account_data/m.direct")
    assert status == 404 and body["errcode"] == "M_NOT_FOUND"
    await bob.join(room)
    assert await direct_of(bob) == {alice.user_id: [room]}
    # A second DM with the same person is appended, not replacing the first.
    room2 = await alice.create_room(is_direct=True, invite=[bob.user_id])
    assert await direct_of(alice) == {bob.user_id: [room, room2]}


async def test_create_group_direct_room(homeserver):
    alice = await homeserver.user("alice")
    bob = await homeserver.user("bob")
    carol = await homeserver.user("carol")
    room = await alice.create_room(is_direct=True, invite=[bob.user_id, carol.user_id])
    assert await direct_of(alice) == {bob.user_id: [room], carol.user_id: [room]}
    await bob.join(room)
    await carol.join(room)
    assert await direct_of(bob) == {alice.user_id: [room]}
    assert await direct_of(carol) == {alice.user_id: [room]}


# join / leave --------------------------------------------------------------------------------

async def test_join_by_id_and_by_alias(homeserver):
    alice = await homeserver.user("alice")
    bob = await homeserver.user("bob")
    carol = await homeserver.user("carol")
    room = await alice.create_room(preset="public_chat", room_alias_name="lobby")
    assert await bob.join(room) == room
    alias = f"#lobby:{homeserver.server_name}"
    status, body = await carol.request("POST", f"/join/{quote(alias)}", {})
    assert status == 200 and body == {"room_id": room}
    # Joining again is a no-op; the room-ID form of the endpoint works too.
    assert (await carol.ok("POST", r(room) + "/join", {}))["room_id"] == room
    joined = await alice.ok("GET", r(room) + "/joined_members")
    assert set(joined["joined"]) == {alice.user_id, bob.user_id, carol.user_id}
    for who in (bob, carol):
        assert room in (await who.ok("GET", "/joined_rooms"))["joined_rooms"]
    # Unknown room / alias.
    status, body = await bob.request("POST", f"/join/{quote('#nope:' + homeserver.server_name)}",
                                     {})
    assert status == 404 and body["errcode"] == "M_NOT_FOUND"
    status, body = await bob.request(
        "POST", f"/join/{quote('!nope:' + homeserver.server_name)}", {})
    assert status == 404 and body["errcode"] == "M_NOT_FOUND"


async def test_invite_only_room_needs_an_invite(homeserver):
    alice = await homeserver.user("alice")
    bob = await homeserver.user("bob")
    room = await alice.create_room(preset="private_chat")
    status, body = await bob.request("POST", f"/join/{quote(room)}", {})
    assert status == 403 and body["errcode"] == "M_FORBIDDEN"
    assert await alice.ok("POST", r(room) + "/invite", {"user_id": bob.user_id}) == {}
    assert await bob.join(room) == room
    assert (await alice.state(room, "m.room.member", bob.user_id))["membership"] == "join"


async def test_leave(homeserver):
    alice = await homeserver.user("alice")
    bob = await homeserver.user("bob")
    room = await alice.create_room(preset="public_chat")
    await bob.join(room)
    since = (await bob.sync())["next_batch"]
    assert await bob.ok("POST", r(room) + "/leave", {}) == {}
    assert room not in (await bob.ok("GET", "/joined_rooms"))["joined_rooms"]
    later = await bob.sync(since=since)
    assert room in later["rooms"]["leave"]
    assert room not in later["rooms"]["join"]
    leave_events = [e for e in later["rooms"]["leave"][room]["timeline"]["events"]
                    if e["type"] == "m.room.member" and e["state_key"] == bob.user_id]
    assert leave_events[-1]["content"]["membership"] == "leave"
    assert (await alice.state(room, "m.room.member", bob.user_id))["membership"] == "leave"
    # Leaving a room one is not in is refused.
    status, body = await bob.request("POST", r(room) + "/leave", {})
    assert status == 403 and body["errcode"] == "M_FORBIDDEN"
    # Leaving (or any membership call) without a body works too (nio sends none on some).
    await bob.join(room)
    status, body = await bob.request("POST", r(room) + "/leave")
    assert status == 200, body


# invite / kick / ban / unban under power levels -------------------------------------------

async def test_kick_requires_power(homeserver):
    alice = await homeserver.user("alice")
    bob = await homeserver.user("bob")
    carol = await homeserver.user("carol")
    room = await alice.create_room(preset="public_chat")
    await bob.join(room)
    await carol.join(room)
    status, body = await bob.request("POST", r(room) + "/kick", {"user_id": carol.user_id})
    assert status == 403 and body["errcode"] == "M_FORBIDDEN"
    assert (await alice.state(room, "m.room.member", carol.user_id))["membership"] == "join"
    # Nor may a user kick someone more powerful.
    status, body = await bob.request("POST", r(room) + "/kick", {"user_id": alice.user_id})
    assert status == 403 and body["errcode"] == "M_FORBIDDEN"
    assert await alice.ok("POST", r(room) + "/kick",
                          {"user_id": carol.user_id, "reason": "be nice"}) == {}
    member = await alice.state(room, "m.room.member", carol.user_id)
    assert member == {"membership": "leave", "reason": "be nice"}
    ev = (await alice.ok("GET", r(room) + f"/state/m.room.member/{quote(carol.user_id)}",
                         params={"format": "event"}))
    assert ev["sender"] == alice.user_id
    # A kicked user may come back to a public room.
    assert await carol.join(room) == room


async def test_ban_and_unban(homeserver):
    alice = await homeserver.user("alice")
    bob = await homeserver.user("bob")
    carol = await homeserver.user("carol")
    room = await alice.create_room(preset="public_chat")
    await bob.join(room)
    await carol.join(room)
    status, body = await bob.request("POST", r(room) + "/ban", {"user_id": carol.user_id})
    assert status == 403 and body["errcode"] == "M_FORBIDDEN"
    assert await alice.ok("POST", r(room) + "/ban", {"user_id": carol.user_id}) == {}
    assert (await alice.state(room, "m.room.member", carol.user_id))["membership"] == "ban"
    assert room not in (await carol.ok("GET", "/joined_rooms"))["joined_rooms"]
    status, body = await carol.request("POST", f"/join/{quote(room)}", {})
    assert status == 403 and body["errcode"] == "M_FORBIDDEN"
    # A banned user cannot be invited back either.
    status, body = await alice.request("POST", r(room) + "/invite", {"user_id": carol.user_id})
    assert status == 403 and body["errcode"] == "M_FORBIDDEN"
    # Only a moderator may unban.
    status, body = await bob.request("POST", r(room) + "/unban", {"user_id": carol.user_id})
    assert status == 403 and body["errcode"] == "M_FORBIDDEN"
    assert await alice.ok("POST", r(room) + "/unban", {"user_id": carol.user_id}) == {}
    assert (await alice.state(room, "m.room.member", carol.user_id))["membership"] == "leave"
    assert await carol.join(room) == room
    # Unbanning someone who is not banned is refused.
    status, body = await alice.request("POST", r(room) + "/unban", {"user_id": bob.user_id})
    assert status == 403 and body["errcode"] == "M_FORBIDDEN"


async def test_invite_power_and_validation(homeserver):
    alice = await homeserver.user("alice")
    bob = await homeserver.user("bob")
    carol = await homeserver.user("carol")
    room = await alice.create_room(preset="public_chat")  # invite needs 50 here
    await bob.join(room)
    status, body = await bob.request("POST", r(room) + "/invite", {"user_id": carol.user_id})
    assert status == 403 and body["errcode"] == "M_FORBIDDEN"
    status, body = await alice.request("POST", r(room) + "/invite", {"user_id": "bad"})
    assert status == 400 and body["errcode"] == "M_INVALID_PARAM"
    status, body = await alice.request("POST", r(room) + "/invite", {})
    assert status == 400 and body["errcode"] == "M_BAD_JSON"
    status, body = await alice.request(
        "POST", r(room) + "/invite", {"user_id": f"@ghost:{homeserver.server_name}"})
    assert status == 404 and body["errcode"] == "M_NOT_FOUND"
    # Inviting someone already joined is refused.
    status, body = await alice.request("POST", r(room) + "/invite", {"user_id": bob.user_id})
    assert status == 403 and body["errcode"] == "M_FORBIDDEN"
    assert await alice.ok("POST", r(room) + "/invite", {"user_id": carol.user_id}) == {}
    # An invite can be rejected with /leave.
    assert await carol.ok("POST", r(room) + "/leave", {}) == {}
    assert (await alice.state(room, "m.room.member", carol.user_id))["membership"] == "leave"


async def test_power_levels_change_via_state(homeserver):
    alice = await homeserver.user("alice")
    bob = await homeserver.user("bob")
    carol = await homeserver.user("carol")
    room = await alice.create_room(preset="public_chat")
    await bob.join(room)
    await carol.join(room)
    pl = await alice.state(room, "m.room.power_levels")
    # Bob may not raise himself.
    status, body = await bob.request("PUT", r(room) + "/state/m.room.power_levels/",
                                     {**pl, "users": {**pl["users"], bob.user_id: 100}})
    assert status == 403 and body["errcode"] == "M_FORBIDDEN"
    # Alice makes Bob a moderator; now Bob may kick Carol.
    new = {**pl, "users": {**pl["users"], bob.user_id: 50}}
    event_id = await alice.put_state(room, "m.room.power_levels", new)
    assert event_id.startswith("$")
    assert (await alice.state(room, "m.room.power_levels"))["users"][bob.user_id] == 50
    # Bob, at 50, still may not go above his level...
    status, body = await bob.request("PUT", r(room) + "/state/m.room.power_levels",
                                     {**new, "users": {**new["users"], bob.user_id: 75}})
    assert status == 403 and body["errcode"] == "M_FORBIDDEN"
    # ... nor demote Alice, but he can now kick Carol.
    status, body = await bob.request("PUT", r(room) + "/state/m.room.power_levels",
                                     {**new, "users": {**new["users"], alice.user_id: 0}})
    assert status == 403 and body["errcode"] == "M_FORBIDDEN"
    assert await bob.ok("POST", r(room) + "/kick", {"user_id": carol.user_id}) == {}
    assert (await alice.state(room, "m.room.power_levels"))["users"] == new["users"]


# messages, state, members --------------------------------------------------------------------

async def test_send_message_is_idempotent_per_txn(homeserver):
    alice = await homeserver.user("alice")
    room = await alice.create_room()
    path = r(room) + "/send/m.room.message/txn-1"
    first = await alice.ok("PUT", path, {"msgtype": "m.text", "body": "once"})
    again = await alice.ok("PUT", path, {"msgtype": "m.text", "body": "once"})
    assert first["event_id"].startswith("$")
    assert first == again
    msgs = await alice.messages(room, limit=50)
    once = [e for e in msgs["chunk"] if e["type"] == "m.room.message"]
    assert [e["event_id"] for e in once] == [first["event_id"]]
    # A different txn ID is a different event.
    other = await alice.ok("PUT", r(room) + "/send/m.room.message/txn-2",
                           {"msgtype": "m.text", "body": "once"})
    assert other["event_id"] != first["event_id"]


async def test_send_message_rules(homeserver):
    alice = await homeserver.user("alice")
    bob = await homeserver.user("bob")
    room = await alice.create_room(preset="public_chat")
    status, body = await bob.request("PUT", r(room) + "/send/m.room.message/t1",
                                     {"msgtype": "m.text", "body": "not joined"})
    assert status == 403 and body["errcode"] == "M_FORBIDDEN"
    status, body = await alice.request("PUT", r(room) + "/send/m.room.message/t2",
                                       raw=b"not json", headers={"Content-Type":
                                                                 "application/json"})
    assert status == 400 and body["errcode"] == "M_NOT_JSON"
    status, body = await alice.request("PUT", r(room) + "/send/m.room.message/t3",
                                       {"body": "x", "n": 1.5})
    assert status == 400 and body["errcode"] == "M_BAD_JSON"
    status, body = await alice.request(
        "PUT", f"/rooms/{quote('!missing:' + homeserver.server_name)}/send/m.room.message/t4",
        {"body": "x"})
    assert status == 404 and body["errcode"] == "M_NOT_FOUND"


async def test_get_event(homeserver):
    alice = await homeserver.user("alice")
    bob = await homeserver.user("bob")
    room = await alice.create_room(preset="public_chat")
    eid = await alice.send(room, "look at me")
    ev = await alice.ok("GET", r(room) + f"/event/{quote(eid)}")
    assert ev["event_id"] == eid
    assert ev["room_id"] == room
    assert ev["sender"] == alice.user_id
    assert ev["type"] == "m.room.message"
    assert ev["content"] == {"msgtype": "m.text", "body": "look at me"}
    assert isinstance(ev["origin_server_ts"], int)
    for pdu_only in ("signatures", "hashes", "auth_events", "prev_events", "depth"):
        assert pdu_only not in ev
    status, body = await alice.request("GET", r(room) + f"/event/{quote('$nope')}")
    assert status == 404 and body["errcode"] == "M_NOT_FOUND"
    status, body = await bob.request("GET", r(room) + f"/event/{quote(eid)}")
    assert status == 403 and body["errcode"] == "M_FORBIDDEN"


async def test_state_get_and_put(homeserver):
    alice = await homeserver.user("alice")
    bob = await homeserver.user("bob")
    room = await alice.create_room(preset="public_chat", name="Before")
    await bob.join(room)
    events = await alice.ok("GET", r(room) + "/state")
    types = {(e["type"], e["state_key"]) for e in events}
    assert {("m.room.create", ""), ("m.room.power_levels", ""), ("m.room.join_rules", ""),
            ("m.room.name", ""), ("m.room.member", alice.user_id),
            ("m.room.member", bob.user_id)} <= types
    assert all("event_id" in e and "sender" in e for e in events)
    assert await alice.state(room, "m.room.name") == {"name": "Before"}
    # Without the trailing slash, and with it, the empty state key is meant.
    assert await alice.ok("GET", r(room) + "/state/m.room.name/") == {"name": "Before"}
    eid = await alice.put_state(room, "m.room.name", {"name": "After"})
    assert await bob.state(room, "m.room.name") == {"name": "After"}
    full = await bob.ok("GET", r(room) + "/state/m.room.name", params={"format": "event"})
    assert full["event_id"] == eid and full["unsigned"]["prev_content"] == {"name": "Before"}
    # Custom state with a state key.
    await alice.put_state(room, "org.example.widget", {"on": True}, "w1")
    assert await bob.state(room, "org.example.widget", "w1") == {"on": True}
    status, body = await bob.request("GET", r(room) + "/state/m.room.topic")
    assert status == 404 and body["errcode"] == "M_NOT_FOUND"
    status, body = await bob.request("GET", r(room) + "/state/org.example.widget/w2")
    assert status == 404 and body["errcode"] == "M_NOT_FOUND"
    # Bob (level 0) may not change the name (needs 50).
    status, body = await bob.request("PUT", r(room) + "/state/m.room.name", {"name": "Bob's"})
    assert status == 403 and body["errcode"] == "M_FORBIDDEN"
    assert await alice.state(room, "m.room.name") == {"name": "After"}
    # Membership cannot be set through the state endpoint.
    status, body = await alice.request("PUT", r(room) + f"/state/m.room.member/"
                                       f"{quote(bob.user_id)}", {"membership": "leave"})
    assert status == 403 and body["errcode"] == "M_FORBIDDEN"
    # A non-member cannot read the state.
    carol = await homeserver.user("carol")
    status, body = await carol.request("GET", r(room) + "/state")
    assert status == 403 and body["errcode"] == "M_FORBIDDEN"


async def test_members_and_joined_members(homeserver):
    alice = await homeserver.user("alice")
    bob = await homeserver.user("bob")
    carol = await homeserver.user("carol")
    room = await alice.create_room(preset="public_chat", invite=[carol.user_id])
    await bob.join(room)
    chunk = (await bob.ok("GET", r(room) + "/members"))["chunk"]
    got = {e["state_key"]: e["content"]["membership"] for e in chunk}
    assert got == {alice.user_id: "join", bob.user_id: "join", carol.user_id: "invite"}
    assert all(e["type"] == "m.room.member" and "event_id" in e for e in chunk)
    joined_only = (await bob.ok("GET", r(room) + "/members",
                                params={"membership": "join"}))["chunk"]
    assert {e["state_key"] for e in joined_only} == {alice.user_id, bob.user_id}
    not_joined = (await bob.ok("GET", r(room) + "/members",
                               params={"not_membership": "join"}))["chunk"]
    assert {e["state_key"] for e in not_joined} == {carol.user_id}
    joined = await bob.ok("GET", r(room) + "/joined_members")
    assert joined["joined"] == {
        alice.user_id: {"display_name": "alice", "avatar_url": None},
        bob.user_id: {"display_name": "bob", "avatar_url": None},
    }
    outsider = await homeserver.user("dave")
    for path in ("/members", "/joined_members"):
        status, body = await outsider.request("GET", r(room) + path)
        assert status == 403 and body["errcode"] == "M_FORBIDDEN"


async def test_joined_rooms(homeserver):
    alice = await homeserver.user("alice")
    bob = await homeserver.user("bob")
    assert await bob.ok("GET", "/joined_rooms") == {"joined_rooms": []}
    r1 = await alice.create_room(preset="public_chat")
    r2 = await alice.create_room(preset="public_chat")
    r3 = await alice.create_room(invite=[bob.user_id])
    await bob.join(r1)
    await bob.join(r2)
    assert sorted((await bob.ok("GET", "/joined_rooms"))["joined_rooms"]) == sorted([r1, r2])
    await bob.ok("POST", r(r1) + "/leave", {})
    assert (await bob.ok("GET", "/joined_rooms"))["joined_rooms"] == [r2]
    assert sorted((await alice.ok("GET", "/joined_rooms"))["joined_rooms"]) == \
        sorted([r1, r2, r3])


async def test_messages_pagination_both_ways(homeserver):
    alice = await homeserver.user("alice")
    bob = await homeserver.user("bob")
    room = await alice.create_room(preset="public_chat")
    await bob.join(room)
    sent = [f"msg {i}" for i in range(25)]
    ids = [await alice.send(room, body) for body in sent]

    # Backwards from now, 10 at a time, until there is no `end`.
    collected, token, pages = [], None, 0
    while True:
        params = {"dir": "b", "limit": "10", **({"from": token} if token else {})}
        page = await bob.messages(room, **params)
        pages += 1
        assert len(page["chunk"]) <= 10
        assert "start" in page
        collected.extend(page["chunk"])
        if "end" not in page:
            break
        assert page["end"] != token
        token = page["end"]
        assert pages < 20
    in_order = list(reversed(collected))
    assert in_order[0]["type"] == "m.room.create"  # all the way back to the start
    msgs = [e for e in in_order if e["type"] == "m.room.message"]
    assert [e["content"]["body"] for e in msgs] == sent
    assert [e["event_id"] for e in msgs] == ids
    assert len({e["event_id"] for e in collected}) == len(collected)  # no duplicates

    # Forwards from the start, 10 at a time.
    forward, token = [], None
    for _ in range(20):
        params = {"dir": "f", "limit": "10", **({"from": token} if token else {})}
        page = await bob.messages(room, **params)
        if not page["chunk"]:
            break
        forward.extend(page["chunk"])
        token = page["end"]
    assert [e["event_id"] for e in forward] == [e["event_id"] for e in in_order]

    # Forwards from a backwards page's end token resumes right after it.
    first_page = await bob.messages(room, dir="b", limit="5")
    assert [e["content"]["body"] for e in first_page["chunk"]] == sent[:-6:-1]
    nxt = await bob.messages(room, dir="f", **{"from": first_page["end"]}, limit="10")
    assert [e["content"]["body"] for e in nxt["chunk"]] == sent[-5:]

    # A non-member may not read; bad parameters are refused.
    carol = await homeserver.user("carol")
    status, body = await carol.request("GET", r(room) + "/messages")
    assert status == 403 and body["errcode"] == "M_FORBIDDEN"
    status, body = await bob.request("GET", r(room) + "/messages", params={"dir": "x"})
    assert status == 400 and body["errcode"] == "M_INVALID_PARAM"
    status, body = await bob.request("GET", r(room) + "/messages", params={"from": "garbage"})
    assert status == 400 and body["errcode"] == "M_INVALID_PARAM"


async def test_left_member_sees_history_only_until_leaving(homeserver):
    alice = await homeserver.user("alice")
    bob = await homeserver.user("bob")
    room = await alice.create_room(preset="public_chat")
    await bob.join(room)
    await alice.send(room, "before")
    await bob.ok("POST", r(room) + "/leave", {})
    await alice.send(room, "after")
    page = await bob.messages(room, limit="50")
    bodies = [e["content"]["body"] for e in page["chunk"] if e["type"] == "m.room.message"]
    assert bodies == ["before"]


async def test_same_txn_id_in_another_room_is_a_new_message(homeserver):
    alice = await homeserver.user("txnalice")
    r1 = await alice.create_room(preset="public_chat")
    r2 = await alice.create_room(preset="public_chat")
    body = {"msgtype": "m.text", "body": "hi"}
    e1 = (await alice.ok("PUT", f"/rooms/{r1}/send/m.room.message/same", body))["event_id"]
    e1_again = (await alice.ok("PUT", f"/rooms/{r1}/send/m.room.message/same", body))["event_id"]
    e2 = (await alice.ok("PUT", f"/rooms/{r2}/send/m.room.message/same", body))["event_id"]
    assert e1 == e1_again and e2 != e1
    for room in (r1, r2):
        msgs = await alice.messages(room, dir="b", limit="50")
        assert [m["content"]["body"] for m in msgs["chunk"] if m["type"] == "m.room.message"] \
            == ["hi"]


async def test_redaction_prunes_the_event_for_everyone(homeserver):
    alice = await homeserver.user("redalice")
    bob = await homeserver.user("redbob")
    room = await alice.create_room(preset="public_chat")
    await bob.join(room)
    mine = await bob.send(room, "oops, my phone number")
    theirs = await alice.send(room, "alice's words")
    status, err = await bob.request("PUT", f"/rooms/{room}/redact/{theirs}/r1", {})
    assert (status, err["errcode"]) == (403, "M_FORBIDDEN")
    red = await bob.ok("PUT", f"/rooms/{room}/redact/{mine}/r2", {"reason": "typo"})
    again = await bob.ok("PUT", f"/rooms/{room}/redact/{mine}/r2", {"reason": "typo"})
    assert red == again
    for viewer in (alice, bob):
        ev = await viewer.ok("GET", f"/rooms/{room}/event/{mine}")
        assert ev["content"] == {}
        assert ev["unsigned"]["redacted_because"]["event_id"] == red["event_id"]
        assert ev["unsigned"]["redacted_because"]["content"]["reason"] == "typo"
    # A moderator (power 100) may redact anyone's event.
    await alice.ok("PUT", f"/rooms/{room}/redact/{theirs}/r3", {})
    assert (await bob.ok("GET", f"/rooms/{room}/event/{theirs}"))["content"] == {}
    status, _ = await alice.request("PUT", f"/rooms/{room}/redact/$nope/r4", {})
    assert status == 404


async def test_forget_is_refused_while_still_in_the_room(homeserver):
    alice = await homeserver.user("forgetful")
    room = await alice.create_room(preset="public_chat")
    status, err = await alice.request("POST", f"/rooms/{room}/forget", {})
    assert (status, err["errcode"]) == (400, "M_UNKNOWN")
    await alice.ok("POST", f"/rooms/{room}/leave", {})
    assert await alice.ok("POST", f"/rooms/{room}/forget", {}) == {}


async def test_a_user_who_left_sees_the_state_as_it_was_when_they_left(homeserver):
    alice = await homeserver.user("stateleftalice")
    bob = await homeserver.user("stateleftbob")
    carol = await homeserver.user("stateleftcarol")
    room = await alice.create_room(preset="public_chat", name="Before")
    await bob.join(room)
    await bob.ok("POST", f"/rooms/{room}/leave", {})
    await alice.put_state(room, "m.room.name", {"name": "After"})
    await carol.join(room)
    assert (await bob.state(room, "m.room.name"))["name"] == "Before"
    state = await bob.ok("GET", f"/rooms/{room}/state")
    names = [e["content"]["name"] for e in state if e["type"] == "m.room.name"]
    assert names == ["Before"]
    members = await bob.ok("GET", f"/rooms/{room}/members")
    who = {e["state_key"]: e["content"]["membership"] for e in members["chunk"]}
    assert who == {alice.user_id: "join", bob.user_id: "leave"}  # carol came later
    assert (await alice.state(room, "m.room.name"))["name"] == "After"
