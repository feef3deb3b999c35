"""Room aliases and the public room directory over real HTTP."""
from __future__ import annotations

from urllib.parse import quote


def alias_path(alias: str) -> str:
    return f"/directory/room/{quote(alias)}"


async def test_alias_put_get_delete(homeserver):
    alice = await homeserver.user("alice")
    bob = await homeserver.user("bob")
    room = await alice.create_room(preset="public_chat")
    alias = f"#hangout:{homeserver.server_name}"
    status, body = await alice.request("GET", alias_path(alias))
    assert status == 404 and body["errcode"] == "M_NOT_FOUND"
    assert await alice.ok("PUT", alias_path(alias), {"room_id": room}) == {}
    got = await bob.ok("GET", alias_path(alias))
    assert got["room_id"] == room
    assert homeserver.server_name in got["servers"]
    # Resolving needs no login.
    assert (await homeserver.client().ok("GET", alias_path(alias)))["room_id"] == room
    assert await alice.ok("GET", f"/rooms/{quote(room)}/aliases") == {"aliases": [alias]}
    # Joining by the new alias works.
    assert await bob.join(alias) == room
    # A duplicate is a conflict, even for another room.
    other = await alice.create_room()
    status, body = await alice.request("PUT", alias_path(alias), {"room_id": other})
    assert status == 409, body
    assert (await bob.ok("GET", alias_path(alias)))["room_id"] == room
    # Bob (not the alias's creator, no power) cannot delete it.
    status, body = await bob.request("DELETE", alias_path(alias))
    assert status == 403 and body["errcode"] == "M_FORBIDDEN"
    assert await alice.ok("DELETE", alias_path(alias)) == {}
    status, body = await bob.request("GET", alias_path(alias))
    assert status == 404 and body["errcode"] == "M_NOT_FOUND"
    status, body = await alice.request("DELETE", alias_path(alias))
    assert status == 404 and body["errcode"] == "M_NOT_FOUND"
    # Once deleted the name can be reused.
    assert await alice.ok("PUT", alias_path(alias), {"room_id": other}) == {}
    assert (await alice.ok("GET", alias_path(alias)))["room_id"] == other


async def test_alias_validation(homeserver):
    alice = await homeserver.user("alice")
    bob = await homeserver.user("bob")
    room = await alice.create_room(preset="public_chat")
    status, body = await alice.request("PUT", alias_path("#x:elsewhere.example"),
                                       {"room_id": room})
    assert status == 400 and body["errcode"] == "M_INVALID_PARAM"
    status, body = await alice.request("PUT", alias_path("no-hash"), {"room_id": room})
    assert status == 400 and body["errcode"] == "M_INVALID_PARAM"
    status, body = await alice.request("PUT", alias_path(f"#y:{homeserver.server_name}"),
                                       {"room_id": "nope"})
    assert status == 400 and body["errcode"] == "M_INVALID_PARAM"
    status, body = await alice.request("PUT", alias_path(f"#y:{homeserver.server_name}"),
                                       {"room_id": f"!missing:{homeserver.server_name}"})
    assert status == 404 and body["errcode"] == "M_NOT_FOUND"
    # Only a member may point an alias at a room.
    status, body = await bob.request("PUT", alias_path(f"#y:{homeserver.server_name}"),
                                     {"room_id": room})
    assert status == 403 and body["errcode"] == "M_FORBIDDEN"
    status, body = await homeserver.client().request(
        "PUT", alias_path(f"#y:{homeserver.server_name}"), {"room_id": room})
    assert status == 401 and body["errcode"] == "M_MISSING_TOKEN"


async def test_room_directory_visibility(homeserver):
    alice = await homeserver.user("alice")
    bob = await homeserver.user("bob")
    room = await alice.create_room(preset="public_chat", name="Hidden at first")
    await bob.join(room)
    path = f"/directory/list/room/{quote(room)}"
    assert await alice.ok("GET", path) == {"visibility": "private"}
    listed = await alice.ok("GET", "/publicRooms")
    assert room not in [e["room_id"] for e in listed["chunk"]]
    # Bob has no power to publish it.
    status, body = await bob.request("PUT", path, {"visibility": "public"})
    assert status == 403 and body["errcode"] == "M_FORBIDDEN"
    status, body = await alice.request("PUT", path, {"visibility": "everyone"})
    assert status == 400 and body["errcode"] == "M_INVALID_PARAM"
    assert await alice.ok("PUT", path, {"visibility": "public"}) == {}
    assert await homeserver.client().ok("GET", path) == {"visibility": "public"}
    listed = await homeserver.client().ok("GET", "/publicRooms")
    assert room in [e["room_id"] for e in listed["chunk"]]
    assert await alice.ok("PUT", path, {"visibility": "private"}) == {}
    listed = await homeserver.client().ok("GET", "/publicRooms")
    assert room not in [e["room_id"] for e in listed["chunk"]]
    status, body = await alice.request(
        "GET", f"/directory/list/room/{quote('!missing:' + homeserver.server_name)}")
    assert status == 404 and body["errcode"] == "M_NOT_FOUND"


async def test_public_rooms_entries_and_member_counts(homeserver):
    alice = await homeserver.user("alice")
    bob = await homeserver.user("bob")
    carol = await homeserver.user("carol")
    big = (await alice.ok("POST", "/createRoom", {
        "visibility": "public", "preset": "public_chat", "name": "Big Stage",
        "topic": "Everyone is here", "room_alias_name": "big",
        "creation_content": {"type": "org.audiorooms.audio"}}))["room_id"]
    small = await alice.create_room(visibility="public", name="Small")
    private = await alice.create_room(name="Private")
    await bob.join(big)
    await carol.join(big)
    body = await homeserver.client().ok("GET", "/publicRooms")
    ids = [e["room_id"] for e in body["chunk"]]
    assert private not in ids
    assert ids == [big, small]  # most members first
    assert body["total_room_count_estimate"] == 2
    entry = body["chunk"][0]
    assert entry["num_joined_members"] == 3
    assert entry["name"] == "Big Stage"
    assert entry["topic"] == "Everyone is here"
    assert entry["canonical_alias"] == f"#big:{homeserver.server_name}"
    assert entry["room_type"] == "org.audiorooms.audio"
    assert entry["join_rule"] == "public"
    assert entry["world_readable"] is False
    assert entry["guest_can_join"] is True  # public audio rooms welcome guests (issue 17)
    assert body["chunk"][1]["guest_can_join"] is False  # a plain public room does not
    # Clients get the spec's keys only (SDKs such as matrix-nio refuse any other key).
    assert set(entry) <= {"avatar_url", "canonical_alias", "guest_can_join", "join_rule", "name",
                          "num_joined_members", "room_id", "room_type", "topic",
                          "world_readable"}
    assert body["chunk"][1]["num_joined_members"] == 1
    # Counts follow leaves.
    await carol.ok("POST", f"/rooms/{quote(big)}/leave", {})
    body = await homeserver.client().ok("GET", "/publicRooms")
    assert {e["room_id"]: e["num_joined_members"] for e in body["chunk"]} == {big: 2, small: 1}


async def test_public_rooms_pagination_get_and_post(homeserver):
    alice = await homeserver.user("alice")
    rooms = {await alice.create_room(visibility="public", name=f"Room {i}") for i in range(5)}

    # GET with limit, following next_batch.
    seen, since, pages = [], None, 0
    while True:
        params = {"limit": "2", **({"since": since} if since else {})}
        body = await homeserver.client().ok("GET", "/publicRooms", params=params)
        pages += 1
        assert len(body["chunk"]) <= 2
        assert body["total_room_count_estimate"] == 5
        seen += [e["room_id"] for e in body["chunk"]]
        since = body.get("next_batch")
        if not since:
            break
        assert pages < 10
    assert pages == 3
    assert len(seen) == 5 and set(seen) == rooms

    # POST with limit and since in the body.
    seen_post, since = [], None
    for _ in range(10):
        req = {"limit": 2, **({"since": since} if since else {})}
        body = await alice.ok("POST", "/publicRooms", req)
        seen_post += [e["room_id"] for e in body["chunk"]]
        if since:
            assert "prev_batch" in body
        since = body.get("next_batch")
        if not since:
            break
    assert seen_post == seen

    status, body = await alice.request("POST", "/publicRooms", {"limit": "two"})
    assert status == 400 and body["errcode"] == "M_BAD_JSON"
    status, body = await alice.request("GET", "/publicRooms", params={"since": "xyz"})
    assert status == 400 and body["errcode"] == "M_INVALID_PARAM"


async def test_public_rooms_search(homeserver):
    alice = await homeserver.user("alice")
    jazz = await alice.create_room(visibility="public", name="Jazz Night", topic="music")
    await alice.create_room(visibility="public", name="Cooking", topic="recipes")
    talk = await alice.create_room(visibility="public", name="Tech talk",
                                   topic="all about JAZZ hands")
    aliased = await alice.create_room(visibility="public", room_alias_name="jazzclub")
    body = await alice.ok("POST", "/publicRooms", {"filter": {"generic_search_term": "jazz"}})
    assert {e["room_id"] for e in body["chunk"]} == {jazz, talk, aliased}
    body = await alice.ok("POST", "/publicRooms", {"filter": {"generic_search_term": "recip"},
                                                   "limit": 10})
    assert [e["name"] for e in body["chunk"]] == ["Cooking"]
    body = await alice.ok("POST", "/publicRooms",
                          {"filter": {"generic_search_term": "nothing matches"}})
    assert body["chunk"] == [] and "next_batch" not in body
    # A search plus a limit still paginates.
    body = await alice.ok("POST", "/publicRooms",
                          {"filter": {"generic_search_term": "jazz"}, "limit": 2})
    assert len(body["chunk"]) == 2 and body["next_batch"]
    rest = await alice.ok("POST", "/publicRooms", {"filter": {"generic_search_term": "jazz"},
                                                   "limit": 2, "since": body["next_batch"]})
    assert {e["room_id"] for e in body["chunk"] + rest["chunk"]} == {jazz, talk, aliased}


async def test_public_rooms_for_this_server_by_name(homeserver):
    alice = await homeserver.user("alice")
    room = await alice.create_room(visibility="public", name="Mine")
    body = await alice.ok("GET", "/publicRooms", params={"server": homeserver.server_name})
    assert [e["room_id"] for e in body["chunk"]] == [room]
