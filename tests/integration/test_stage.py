"""The audio stage across servers: moderator on A, speakers and listeners on B and C."""
from urllib.parse import quote

from tests.integration.federation_helpers import eventually, start_servers

AUDIO = {"type": "org.audiorooms.audio"}


async def role(client, room, user):
    status, data = await client.request(
        "GET", f"/rooms/{quote(room)}/state/org.audiorooms.role/{quote(user)}")
    return (data.get("role"), data.get("muted", False)) if status == 200 else ("listener", False)


async def hand(client, room, user):
    status, data = await client.request(
        "GET", f"/rooms/{quote(room)}/state/org.audiorooms.hand/{quote(user)}")
    return data.get("raised") if status == 200 else None


async def everywhere(clients, fn, want, timeout=10):
    for c in clients:
        await eventually(lambda c=c: _eq(fn(c), want), timeout=timeout)


async def _eq(coro, want):
    return (await coro) == want


async def test_stage_flows_across_three_servers(make_homeserver):
    hs = await start_servers(make_homeserver)
    alice = await hs["a"].user("alice")  # moderator, room host
    bob = await hs["b"].user("bob")
    carol = await hs["c"].user("carol")
    dave = await hs["c"].user("dave")
    room = await alice.create_room(preset="public_chat", visibility="public", name="Ask me",
                                   topic="AMA", creation_content=AUDIO)
    for c in (bob, carol, dave):
        await c.join(room)
    everyone = (alice, bob, carol, dave)
    assert await role(alice, room, alice.user_id) == ("moderator", False)
    await everywhere(everyone, lambda c: role(c, room, bob.user_id), ("listener", False))

    # Bob raises his hand; everyone sees it.
    await bob.put_state(room, "org.audiorooms.hand", {"raised": True}, bob.user_id)
    await everywhere(everyone, lambda c: hand(c, room, bob.user_id), True)
    # The moderator invites him to speak and lowers his hand.
    await alice.put_state(room, "org.audiorooms.role", {"role": "speaker", "muted": False},
                          bob.user_id)
    await alice.put_state(room, "org.audiorooms.hand", {"raised": False}, bob.user_id)
    await everywhere(everyone, lambda c: role(c, room, bob.user_id), ("speaker", False))
    await everywhere(everyone, lambda c: hand(c, room, bob.user_id), False)
    # Bob steps down himself, then is brought back and muted by the moderator.
    await bob.put_state(room, "org.audiorooms.role", {"role": "listener"}, bob.user_id)
    await everywhere(everyone, lambda c: role(c, room, bob.user_id), ("listener", False))
    await alice.put_state(room, "org.audiorooms.role", {"role": "speaker", "muted": True},
                          bob.user_id)
    await everywhere((bob,), lambda c: role(c, room, bob.user_id), ("speaker", True))
    status, err = await bob.request(
        "PUT", f"/rooms/{quote(room)}/state/org.audiorooms.role/{quote(bob.user_id)}",
        {"role": "speaker", "muted": False})
    assert (status, err["errcode"]) == (403, "M_FORBIDDEN")
    # Carol becomes a speaker, then a moderator; as moderator she moves Bob to the audience.
    await alice.put_state(room, "org.audiorooms.role", {"role": "moderator"}, carol.user_id)
    await everywhere((carol,), lambda c: role(c, room, carol.user_id), ("moderator", False))
    await carol.put_state(room, "org.audiorooms.role", {"role": "listener"}, bob.user_id)
    await everywhere(everyone, lambda c: role(c, room, bob.user_id), ("listener", False))
    # Dave goes on stage; Carol removes Bob from the room and bans him.
    await carol.put_state(room, "org.audiorooms.role", {"role": "speaker"}, dave.user_id)
    await everywhere((dave,), lambda c: role(c, room, dave.user_id), ("speaker", False))
    await carol.ok("POST", f"/rooms/{quote(room)}/ban", {"user_id": bob.user_id})
    await everywhere((alice, carol), lambda c: _membership(c, room, bob.user_id), "ban")
    status, _ = await bob.request("POST", f"/join/{quote(room)}", {})
    assert status == 403

    # The hallway on every server lists the room with its stage.
    entry = await eventually(lambda: _hallway_entry(bob, room))
    names = {s["displayname"] for s in entry["org.audiorooms.speakers"]}
    assert names == {"alice", "carol", "dave"}
    assert entry["org.audiorooms.listener_count"] == 0

    # Both moderators leave: the longest-standing speaker (Dave) inherits moderation.
    await alice.ok("POST", f"/rooms/{quote(room)}/leave", {})
    await carol.ok("POST", f"/rooms/{quote(room)}/leave", {})
    await everywhere((dave,), lambda c: _membership(c, room, carol.user_id), "leave")
    status, _ = await dave.request(
        "PUT", f"/rooms/{quote(room)}/state/org.audiorooms.live/", {"live": False})
    assert status == 200, "the derived moderator may end the room"
    await eventually(lambda: _not_in_hallway(bob, room))


async def _membership(client, room, user):
    status, data = await client.request(
        "GET", f"/rooms/{quote(room)}/state/m.room.member/{quote(user)}")
    return data.get("membership") if status == 200 else None


async def _hallway_entry(client, room):
    h = await client.ok("GET", "/_matrix/client/unstable/org.audiorooms/hallway",
                        params={"refresh": "true"})
    return next((e for e in h["live"] if e["room_id"] == room), None)


async def _not_in_hallway(client, room):
    return await _hallway_entry(client, room) is None


async def test_scheduled_room_rsvp_and_go_live_notice(make_homeserver):
    hs = await start_servers(make_homeserver, names=("a", "b"))
    alice = await hs["a"].user("alice")
    bob = await hs["b"].user("bob")
    erin = await hs["a"].user("erin")
    later = 4102444800000  # 2100-01-01
    room = await alice.create_room(
        preset="public_chat", visibility="public", name="Friday jam", creation_content=AUDIO,
        initial_state=[{"type": "org.audiorooms.live", "state_key": "",
                        "content": {"live": False, "scheduled_for": later}}])
    h = await bob.ok("GET", "/_matrix/client/unstable/org.audiorooms/hallway",
                     params={"refresh": "true"})
    assert [e["room_id"] for e in h["upcoming"]] == [room]
    assert h["upcoming"][0]["org.audiorooms.scheduled_for"] == later
    assert room not in [e["room_id"] for e in h["live"]]
    for c in (bob, erin):
        await c.join(room)
        await c.put_state(room, "org.audiorooms.rsvp", {"going": True}, c.user_id)
    await eventually(lambda: _rsvp_seen(alice, room, bob.user_id))
    since = {c.user_id: (await c.sync())["next_batch"] for c in (bob, erin)}
    await alice.put_state(room, "org.audiorooms.live", {"live": True})
    for c in (bob, erin):  # each server notifies its own RSVP'd users
        notice = await eventually(lambda c=c: _notice(c, since[c.user_id], room))
        assert "Friday jam is live" in notice["body"]


async def _rsvp_seen(client, room, user):
    status, data = await client.request(
        "GET", f"/rooms/{quote(room)}/state/org.audiorooms.rsvp/{quote(user)}")
    return status == 200 and data.get("going") is True


async def _notice(client, since, room):
    s = await client.sync(since=since, timeout=1000)
    for _rid, r in s["rooms"]["join"].items():
        for e in r["timeline"]["events"]:
            c = e["content"]
            if c.get("msgtype") == "m.notice" and c.get("org.audiorooms.room_id") == room:
                return c
    return None


async def test_club_rooms_filter_and_member_notice(make_homeserver):
    hs = await start_servers(make_homeserver, names=("a", "b"))
    alice = await hs["a"].user("alice")
    bob = await hs["b"].user("bob")
    club = await alice.create_room(preset="public_chat", name="Jazz club",
                                   creation_content={"type": "m.space"})
    await bob.join(club)
    room = await alice.create_room(
        preset="public_chat", visibility="public", name="Jazz night", creation_content=AUDIO,
        initial_state=[{"type": "m.space.parent", "state_key": club,
                        "content": {"via": [hs["a"].server_name], "canonical": True}},
                       {"type": "org.audiorooms.live", "state_key": "",
                        "content": {"live": False, "scheduled_for": 4102444800000}}])
    await alice.put_state(club, "m.space.child", {"via": [hs["a"].server_name]}, room)
    other = await alice.create_room(preset="public_chat", visibility="public", name="Other",
                                    creation_content=AUDIO)
    since = (await bob.sync())["next_batch"]
    await alice.put_state(room, "org.audiorooms.live", {"live": True})
    h = await bob.ok("GET", "/_matrix/client/unstable/org.audiorooms/hallway",
                     params={"refresh": "true", "club": club})
    assert [e["room_id"] for e in h["live"]] == [room]
    h_all = await bob.ok("GET", "/_matrix/client/unstable/org.audiorooms/hallway")
    assert {room, other} <= {e["room_id"] for e in h_all["live"]}
    notice = await eventually(lambda: _notice(bob, since, room))
    assert "Jazz night" in notice["body"]
