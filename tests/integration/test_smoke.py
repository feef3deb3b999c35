from tests.matrix_client import timeline_bodies


async def test_two_users_talk_in_a_room(homeserver):
    alice = await homeserver.user("alice")
    bob = await homeserver.user("bob")
    room = await alice.create_room(preset="public_chat", name="Lobby")
    await bob.join(room)
    first = await bob.sync()
    await alice.send(room, "hello bob")
    later = await bob.sync(since=first["next_batch"], timeout=5000)
    assert timeline_bodies(later, room) == ["hello bob"]
