"""Three homeservers on loopback: remote joins, messages in one order, DMs, invites, kicks."""
from urllib.parse import quote

from tests.integration.federation_helpers import (
    bodies_once_all_in,
    eventually,
    room_bodies,
    start_servers,
)


async def test_users_on_three_servers_share_a_room_in_one_order(make_homeserver):
    hs = await start_servers(make_homeserver)
    alice = await hs["a"].user("alice")
    bob = await hs["b"].user("bob")
    carol = await hs["c"].user("carol")
    room = await alice.create_room(preset="public_chat", name="Town hall")
    await bob.join(room)
    await carol.join(room)
    await alice.send(room, "a1")
    await bob.send(room, "b1")
    await carol.send(room, "c1")
    await alice.send(room, "a2")
    want = {"a1", "b1", "c1", "a2"}
    orders = []
    for c in (alice, bob, carol):
        orders.append(await eventually(
            lambda c=c: bodies_once_all_in(c, room, want)))
    assert orders[0] == orders[1] == orders[2]
    assert orders[0].index("a1") < orders[0].index("a2")
    members = await bob.ok("GET", f"/rooms/{quote(room)}/joined_members")
    assert set(members["joined"]) == {alice.user_id, bob.user_id, carol.user_id}




async def _membership(client, room_id, user_id):
    status, data = await client.request(
        "GET", f"/rooms/{quote(room_id)}/state/m.room.member/{quote(user_id)}")
    return data.get("membership") if status == 200 else None


async def test_direct_messages_between_servers(make_homeserver):
    hs = await start_servers(make_homeserver, names=("a", "b"))
    alice = await hs["a"].user("alice")
    bob = await hs["b"].user("bob")
    dm = await alice.create_room(is_direct=True, invite=[bob.user_id], preset="trusted_private_chat")
    # Bob's server got the invite (countersigned by it) and shows it in his sync.
    sync = await eventually(lambda: _invited(bob, dm))
    invite_state = sync["rooms"]["invite"][dm]["invite_state"]["events"]
    me = [e for e in invite_state if e["type"] == "m.room.member" and e["state_key"] == bob.user_id]
    assert me and me[0]["content"]["is_direct"] is True
    await bob.join(dm)
    await bob.send(dm, "psst, alice")
    await alice.send(dm, "hi bob")
    for c in (alice, bob):
        assert await eventually(lambda c=c: bodies_once_all_in(c, dm, {"psst, alice", "hi bob"}))
    # The backchannel index: both users' m.direct list the room under the other user.
    a_direct = await alice.ok("GET", f"/user/{quote(alice.user_id)}/account_data/m.direct")
    b_direct = await bob.ok("GET", f"/user/{quote(bob.user_id)}/account_data/m.direct")
    assert dm in a_direct[bob.user_id]
    assert dm in b_direct[alice.user_id]
    # Profiles resolve across servers too.
    prof = await alice.ok("GET", f"/profile/{quote(bob.user_id)}")
    assert prof["displayname"] == "bob"


async def _invited(client, room_id):
    s = await client.sync()
    return s if room_id in s["rooms"]["invite"] else None


async def test_group_dm_and_remote_invite_then_reject(make_homeserver):
    hs = await start_servers(make_homeserver)
    alice = await hs["a"].user("alice")
    bob = await hs["b"].user("bob")
    carol = await hs["c"].user("carol")
    room = await alice.create_room(is_direct=True, invite=[bob.user_id, carol.user_id])
    await eventually(lambda: _invited(bob, room))
    await eventually(lambda: _invited(carol, room))
    await bob.join(room)
    # Carol declines: the leave goes through the host and everyone sees it.
    await carol.ok("POST", f"/rooms/{quote(room)}/leave", {})
    assert await eventually(lambda: _is(alice, room, carol.user_id, "leave"))
    s = await carol.sync()
    assert room not in s["rooms"]["invite"]
    # Invite after creation, through the invite endpoint.
    dave = await hs["c"].user("dave")
    await alice.ok("POST", f"/rooms/{quote(room)}/invite", {"user_id": dave.user_id})
    await eventually(lambda: _invited(dave, room))
    await dave.join(room)
    await dave.send(room, "hello from C")
    assert await eventually(lambda: bodies_once_all_in(bob, room, {"hello from C"}))


async def _is(client, room, user, membership):
    return await _membership(client, room, user) == membership


async def test_kick_and_ban_of_remote_users_apply_everywhere(make_homeserver):
    hs = await start_servers(make_homeserver)
    alice = await hs["a"].user("alice")
    bob = await hs["b"].user("bob")
    carol = await hs["c"].user("carol")
    room = await alice.create_room(preset="public_chat")
    await bob.join(room)
    await carol.join(room)
    await alice.ok("POST", f"/rooms/{quote(room)}/kick", {"user_id": bob.user_id,
                                                         "reason": "off topic"})
    for c in (alice, carol):
        assert await eventually(lambda c=c: _is(c, room, bob.user_id, "leave"))
    # Bob's own server saw his kick (it was relayed to him although he is no longer in).
    s = await eventually(lambda: _left(bob, room))
    assert room in s
    # A kicked user may come back to a public room; a banned one may not.
    await bob.join(room)
    await alice.ok("POST", f"/rooms/{quote(room)}/ban", {"user_id": carol.user_id})
    for c in (alice, bob):
        assert await eventually(lambda c=c: _is(c, room, carol.user_id, "ban"))
    # Her own server hears of the ban too (until then, to it she is still in, and a join is
    # the no-op that answers 200: CI on PostgreSQL once got there first).
    assert await eventually(lambda: _left(carol, room))
    status, err = await carol.request("POST", f"/join/{quote(room)}", {})
    assert status == 403 and err["errcode"] == "M_FORBIDDEN"
    # Carol's events are refused by the host's rules even if her server sends them.
    await carol.request("PUT", f"/rooms/{quote(room)}/send/m.room.message/x1",
                        {"msgtype": "m.text", "body": "let me in"})
    await alice.send(room, "after the ban")
    assert await eventually(lambda: bodies_once_all_in(bob, room, {"after the ban"}))
    assert "let me in" not in await room_bodies(alice, room)
    await alice.ok("POST", f"/rooms/{quote(room)}/unban", {"user_id": carol.user_id})
    await eventually(lambda: _is(alice, room, carol.user_id, "leave"))
    await carol.join(room)
    assert await _is(bob, room, carol.user_id, "join") or \
        await eventually(lambda: _is(bob, room, carol.user_id, "join"))


async def _left(client, room_id):
    s = await client.sync()
    # An initial sync does not list left rooms; the joined list must no longer have it.
    return [] if room_id in s["rooms"]["join"] else [room_id]


async def test_join_by_remote_alias_and_federated_public_rooms(make_homeserver):
    hs = await start_servers(make_homeserver, names=("a", "b"))
    alice = await hs["a"].user("alice")
    bob = await hs["b"].user("bob")
    room = await alice.create_room(preset="public_chat", visibility="public",
                                   room_alias_name="plaza", name="The Plaza", topic="all welcome")
    alias = f"#plaza:{hs['a'].server_name}"
    got = await bob.ok("GET", f"/directory/room/{quote(alias)}")
    assert got["room_id"] == room
    assert await bob.join(alias) == room
    public = await bob.ok("GET", "/publicRooms", params={"server": hs["a"].server_name})
    entry = [r for r in public["chunk"] if r["room_id"] == room][0]
    assert entry["name"] == "The Plaza" and entry["num_joined_members"] == 2
    # History from before the join is there for the newcomer.
    await alice.send(room, "later")
    assert await eventually(lambda: bodies_once_all_in(bob, room, {"later"}))


async def test_redaction_by_a_remote_user_prunes_the_event_on_every_server(make_homeserver):
    hs = await start_servers(make_homeserver)
    alice = await hs["a"].user("alice")
    bob = await hs["b"].user("bob")
    carol = await hs["c"].user("carol")
    room = await alice.create_room(preset="public_chat")
    await bob.join(room)
    await carol.join(room)
    oops = await bob.send(room, "wrong room, sorry")
    for c in (alice, carol):
        await eventually(lambda c=c: bodies_once_all_in(c, room, {"wrong room, sorry"}))
    # Carol (no power) may not redact Bob's message; Bob may redact his own.
    status, err = await carol.request("PUT", f"/rooms/{quote(room)}/redact/{quote(oops)}/x", {})
    assert (status, err["errcode"]) == (403, "M_FORBIDDEN")
    await bob.ok("PUT", f"/rooms/{quote(room)}/redact/{quote(oops)}/y", {"reason": "oops"})

    async def pruned(c):
        status, ev = await c.request("GET", f"/rooms/{quote(room)}/event/{quote(oops)}")
        return status == 200 and ev["content"] == {} and \
            ev["unsigned"].get("redacted_because", {}).get("sender") == bob.user_id

    for c in (alice, bob, carol):
        assert await eventually(lambda c=c: pruned(c))
