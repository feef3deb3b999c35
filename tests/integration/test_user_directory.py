"""The user directory over real HTTP: who can be found (sharing a room, in a public room, local
or on another server), by what (prefix of a word of the user ID or display name), and that bad
search input is refused in Matrix form."""
from __future__ import annotations

from urllib.parse import quote

from tests.integration.federation_helpers import eventually, start_servers


async def search(client, term, **extra) -> dict:
    return await client.ok("POST", "/user_directory/search", {"search_term": term, **extra})


def found(result: dict) -> dict[str, dict]:
    return {r["user_id"]: r for r in result["results"]}


async def set_name(client, name: str) -> None:
    await client.ok("PUT", f"/profile/{quote(client.user_id)}/displayname", {"displayname": name})


async def test_found_by_sharing_a_room_or_a_public_room(homeserver):
    alice = await homeserver.user("alice")
    bob = await homeserver.user("bob")
    carol = await homeserver.user("carol")
    dave = await homeserver.user("dave")
    await homeserver.user("eve")  # in no room at all
    await set_name(bob, "Bobby Tables")
    await set_name(dave, "Bobby Drop")
    # Alice and Bob share a private room; Carol sits alone in a public one; Dave alone in a
    # private one.
    shared = await alice.create_room(preset="private_chat", invite=[bob.user_id])
    await bob.join(shared)
    await carol.create_room(preset="public_chat")
    await dave.create_room(preset="private_chat")

    # By display name, any word's prefix, any case; by user ID.
    for term in ("Bobby", "bobby tab", "TABLES", "tab"):
        got = found(await search(alice, term))
        assert set(got) == {bob.user_id}, term
        assert got[bob.user_id]["display_name"] == "Bobby Tables"
    assert set(found(await search(alice, "bob"))) == {bob.user_id}
    assert set(found(await search(alice, bob.user_id))) == {bob.user_id}
    # Not a substring match: the middle of a word finds nobody.
    assert found(await search(alice, "obby")) == {}
    # Carol is in a public room: found though she shares nothing with Alice.
    assert set(found(await search(alice, "carol"))) == {carol.user_id}
    # Dave shares nothing and is in no public room; Eve is in no room at all.
    assert found(await search(alice, "dave")) == {}
    assert found(await search(alice, "drop")) == {}
    assert found(await search(alice, "eve")) == {}
    # Users in no room find only the public room's member.
    assert set(found(await search(await homeserver.user("frank"), "bobby carol"))) == set()
    assert set(found(await search(await homeserver.user("gina"), "carol"))) == {carol.user_id}

    # A new display name is searchable at once; the old one no longer finds Bob.
    await set_name(bob, "Robert")
    assert set(found(await search(alice, "robert"))) == {bob.user_id}
    assert found(await search(alice, "tables")) == {}
    # Leaving the shared room hides Bob again.
    await bob.ok("POST", f"/rooms/{quote(shared)}/leave", {})
    assert found(await search(alice, "robert")) == {}


async def test_limit_and_limited(homeserver):
    alice = await homeserver.user("alice")
    room = await alice.create_room(preset="public_chat")
    for i in range(4):
        u = await homeserver.user(f"member{i}")
        await u.join(room)
    full = await search(alice, "member")
    assert len(full["results"]) == 4 and full["limited"] is False
    one = await search(alice, "member", limit=2)
    assert len(one["results"]) == 2 and one["limited"] is True
    big = await search(alice, "member", limit=10_000)  # capped, not refused
    assert len(big["results"]) == 4


async def test_bad_search_input_is_refused(homeserver):
    alice = await homeserver.user("alice")
    await alice.create_room(preset="public_chat")
    cases = [
        ({"search_term": 5}, "M_BAD_JSON"),
        ({}, "M_BAD_JSON"),
        ({"search_term": "x" * 257}, "M_INVALID_PARAM"),
        ({"search_term": "a", "limit": "5"}, "M_BAD_JSON"),
        ({"search_term": "a", "limit": True}, "M_BAD_JSON"),
        ({"search_term": "a", "limit": 0}, "M_INVALID_PARAM"),
    ]
    for body, errcode in cases:
        status, data = await alice.request("POST", "/user_directory/search", body)
        assert (status, data["errcode"]) == (400, errcode), body
    status, data = await alice.request("POST", "/user_directory/search", {"search_term": "a"},
                                       token=False)
    assert (status, data["errcode"]) == (401, "M_MISSING_TOKEN")
    # Full-text query syntax in a term is just text: no error, no crash.
    for term in ('"', 'alice"*', "NEAR(alice", "alice OR bob", "-alice", "^a*", "a:b",
                 "@@@", "", "   ", "\u0301", "🙂", "alice AND", "(", "*"):
        result = await search(alice, term)
        assert isinstance(result["results"], list), term
    assert set(found(await search(alice, 'alice"*'))) == {alice.user_id}
    assert set(found(await search(alice, "@alice:"))) == {alice.user_id}


async def test_remote_user_sharing_a_room_is_found(make_homeserver):
    hs = await start_servers(make_homeserver, names=("a", "b"))
    alice = await hs["a"].user("alice")
    carol = await hs["a"].user("carol")  # shares nothing with Bob
    bob = await hs["b"].user("bob")
    await set_name(bob, "Bertram Wooster")
    room = await alice.create_room(preset="private_chat", invite=[bob.user_id])

    async def bob_joined():
        status, _ = await bob.request("POST", f"/join/{quote(room)}", {})
        return status == 200
    await eventually(bob_joined)

    async def alice_finds_bob():
        return set(found(await search(alice, "bertram"))) == {bob.user_id}
    await eventually(alice_finds_bob)
    got = found(await search(alice, "woo"))[bob.user_id]
    assert got["display_name"] == "Bertram Wooster"
    assert set(found(await search(alice, "bob"))) == {bob.user_id}
    assert found(await search(carol, "bertram")) == {}
    # Bob's new name reaches A's directory through his member event.
    await set_name(bob, "Jeeves")

    async def renamed():
        return set(found(await search(alice, "jeeves"))) == {bob.user_id}
    await eventually(renamed)
    # And Bob, on B, finds Alice the same way.
    assert set(found(await search(bob, "alice"))) == {alice.user_id}
