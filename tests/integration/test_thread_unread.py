"""Unread counts by thread (MSC3773, MSC3771) over real HTTP: a sync filter with
``room.timeline.unread_thread_notifications`` gets the main timeline's counts in
``unread_notifications`` and each thread's in ``unread_thread_notifications``; without it the
room's total as before. Threaded read receipts reset their own thread only, unthreaded ones
everything up to their event; the counts survive a restart."""
from __future__ import annotations

import itertools
import json
from urllib.parse import quote

from tests.integration.federation_helpers import restart

BY_THREAD = json.dumps({"room": {"timeline": {"unread_thread_notifications": True}}})
_txn = itertools.count()


def r(room_id: str) -> str:
    return f"/rooms/{quote(room_id)}"


def counts(n: int, h: int = 0) -> dict:
    return {"notification_count": n, "highlight_count": h}


async def send(client, room: str, body: str, relates_to: dict | None = None,
               mention=None) -> str:
    content: dict = {"msgtype": "m.text", "body": body}
    if relates_to is not None:
        content["m.relates_to"] = relates_to
    if mention is not None:
        content["m.mentions"] = {"user_ids": [mention.user_id]}
    data = await client.ok("PUT", f"{r(room)}/send/m.room.message/tu{next(_txn)}", content)
    return data["event_id"]


async def reply(client, room: str, root: str, body: str, mention=None) -> str:
    """A reply in the thread of ``root``, as clients send it (with the reply fallback)."""
    return await send(client, room, body, {"rel_type": "m.thread", "event_id": root,
                                           "is_falling_back": True,
                                           "m.in_reply_to": {"event_id": root}}, mention)


async def room_counts(client, room: str, by_thread: bool = True,
                      **params) -> tuple[dict, dict | None]:
    """(unread_notifications, unread_thread_notifications or None) from a fresh sync."""
    if by_thread and "filter" not in params:
        params["filter"] = BY_THREAD
    joined = (await client.sync(**params))["rooms"]["join"][room]
    return joined["unread_notifications"], joined.get("unread_thread_notifications")


async def receipt(client, room: str, event_id: str, thread_id: str | None = None,
                  rtype: str = "m.read") -> tuple[int, dict]:
    body = {} if thread_id is None else {"thread_id": thread_id}
    return await client.request("POST", f"{r(room)}/receipt/{rtype}/{quote(event_id)}", body)


async def alice_bob_room(homeserver):
    alice = await homeserver.user("alice")
    bob = await homeserver.user("bob")
    room = await alice.create_room(preset="public_chat")
    await bob.join(room)
    return alice, bob, room


async def test_thread_replies_count_in_their_thread_only_when_the_filter_asks(homeserver):
    alice, bob, room = await alice_bob_room(homeserver)
    root = await send(alice, room, "a question")
    other_root = await send(alice, room, "another question")
    await reply(alice, room, root, "first answer")
    await reply(alice, room, root, "second answer")
    await reply(alice, room, other_root, "an answer elsewhere")
    # Asked for by thread (inline filter): main has the two roots, each thread its replies.
    main, threads = await room_counts(bob, room)
    assert main == counts(2)
    assert threads == {root: counts(2), other_root: counts(1)}
    # The same through a saved filter, as matrix-js-sdk does it.
    filter_id = (await bob.ok("POST", f"/user/{quote(bob.user_id)}/filter",
                              json.loads(BY_THREAD)))["filter_id"]
    assert await room_counts(bob, room, filter=filter_id) == (counts(2), threads)
    # Without the filter (or with it false) the room's total, and no per-thread field.
    assert await room_counts(bob, room, by_thread=False) == (counts(5), None)
    off = json.dumps({"room": {"timeline": {"unread_thread_notifications": False}}})
    assert await room_counts(bob, room, filter=off) == (counts(5), None)
    # A message relating to a thread reply is in that thread, also through a chain of
    # relations (up to three hops); one relating to the root is in the main timeline, as the
    # root is.
    first = (await bob.sync())["rooms"]["join"][room]["timeline"]["events"][-3]["event_id"]
    see = await send(alice, room, "see above", {"rel_type": "m.reference", "event_id": first})
    await send(alice, room, "see that", {"rel_type": "m.reference", "event_id": see})
    about = await send(alice, room, "about the question",
                       {"rel_type": "m.reference", "event_id": root})
    main, threads = await room_counts(bob, room)
    assert main == counts(3) and threads == {root: counts(4), other_root: counts(1)}
    # Receipts: "main" fits the event relating to the root, and so does the root's thread
    # (clients show it there too); it reads main up to that event, the thread up to there.
    assert (await receipt(bob, room, about, "main"))[0] == 200
    main, threads = await room_counts(bob, room)
    assert main == counts(0) and threads == {root: counts(4), other_root: counts(1)}
    assert (await receipt(bob, room, about, root))[0] == 200
    assert await room_counts(bob, room) == (counts(0), {other_root: counts(1)})
    # A bad value for the flag is refused.
    bad = json.dumps({"room": {"timeline": {"unread_thread_notifications": "yes"}}})
    status, err = await bob.request("GET", "/sync", params={"filter": bad, "timeout": "0"})
    assert (status, err["errcode"]) == (400, "M_INVALID_PARAM")
    status, err = await bob.request("POST", f"/user/{quote(bob.user_id)}/filter",
                                    json.loads(bad))
    assert (status, err["errcode"]) == (400, "M_BAD_JSON")


async def test_threaded_receipts_reset_their_own_thread(homeserver):
    alice, bob, room = await alice_bob_room(homeserver)
    root = await send(alice, room, "root")
    other_root = await send(alice, room, "other root")
    answer = await reply(alice, room, root, "answer")
    await reply(alice, room, other_root, "other answer")
    main_msg = await send(alice, room, "main chatter")
    assert await room_counts(bob, room) == (counts(3), {root: counts(1), other_root: counts(1)})
    # The thread's receipt resets that thread only, even though main has older events.
    status, _ = await receipt(bob, room, answer, root)
    assert status == 200
    assert await room_counts(bob, room) == (counts(3), {other_root: counts(1)})
    assert await room_counts(bob, room, by_thread=False) == (counts(4), None)
    # A "main" receipt resets the main timeline only, not the threads' older replies.
    status, _ = await receipt(bob, room, main_msg, "main", "m.read.private")
    assert status == 200
    assert await room_counts(bob, room) == (counts(0), {other_root: counts(1)})
    # Incremental sync tells the client too (the receipt changed the room).
    since = (await bob.sync(filter=BY_THREAD))["next_batch"]
    later = await reply(alice, room, root, "later answer")
    joined = (await bob.sync(since=since, filter=BY_THREAD))["rooms"]["join"][room]
    assert joined["unread_thread_notifications"] == {root: counts(1), other_root: counts(1)}
    since = (await bob.sync(filter=BY_THREAD))["next_batch"]
    await receipt(bob, room, later, root)
    joined = (await bob.sync(since=since, filter=BY_THREAD))["rooms"]["join"][room]
    assert joined["unread_thread_notifications"] == {other_root: counts(1)}
    assert joined["unread_notifications"] == counts(0)
    # The user's own reply in a thread reads that thread, nothing else.
    await send(alice, room, "more chatter")
    await reply(bob, room, other_root, "my answer")
    assert await room_counts(bob, room) == (counts(1), {})


async def test_unthreaded_receipt_resets_every_thread_up_to_its_event(homeserver):
    alice, bob, room = await alice_bob_room(homeserver)
    root = await send(alice, room, "root")
    await reply(alice, room, root, "answer 1")
    middle = await send(alice, room, "main 2")
    await reply(alice, room, root, "answer 2")
    await send(alice, room, "main 3")
    assert await room_counts(bob, room) == (counts(3), {root: counts(2)})
    status, _ = await receipt(bob, room, middle)
    assert status == 200
    assert await room_counts(bob, room) == (counts(1), {root: counts(1)})
    assert await room_counts(bob, room, by_thread=False) == (counts(2), None)
    # A threaded receipt behind the unthreaded one changes nothing.
    first_answer = (await bob.sync())["rooms"]["join"][room]["timeline"]["events"][-4]
    assert first_answer["content"]["body"] == "answer 1"
    assert (await receipt(bob, room, first_answer["event_id"], root))[0] == 200
    assert await room_counts(bob, room) == (counts(1), {root: counts(1)})


async def test_highlights_are_counted_per_thread(homeserver):
    alice, bob, room = await alice_bob_room(homeserver)
    root = await send(alice, room, "root")
    await reply(alice, room, root, "bob, look", mention=bob)
    await reply(alice, room, root, "anyone?")
    await send(alice, room, "hey", mention=bob)
    await send(alice, room, "plain")
    assert await room_counts(bob, room) == (counts(3, 1), {root: counts(2, 1)})
    assert await room_counts(bob, room, by_thread=False) == (counts(5, 2), None)


async def test_thread_counts_and_read_positions_survive_a_restart(make_homeserver):
    server = await make_homeserver("a")
    alice, bob, room = await alice_bob_room(server)
    root = await send(alice, room, "root")
    other_root = await send(alice, room, "other root")
    answer = await reply(alice, room, root, "answer", mention=bob)
    await reply(alice, room, other_root, "other answer", mention=bob)
    await reply(alice, room, root, "answer 2")
    assert (await receipt(bob, room, answer, root))[0] == 200
    before = await room_counts(bob, room)
    assert before == (counts(2), {root: counts(1), other_root: counts(1, 1)})
    await server.server.close()
    server = await restart(make_homeserver, server, "a")
    assert await room_counts(bob, room) == before
    assert await room_counts(bob, room, by_thread=False) == (counts(4, 1), None)
    # The thread's read position was kept: a replayed older receipt changes nothing, a new
    # reply counts from where it was.
    await reply(alice, room, root, "answer 3")
    assert await room_counts(bob, room) == (counts(2), {root: counts(2),
                                                        other_root: counts(1, 1)})


async def test_bad_thread_ids_are_refused_and_change_nothing(homeserver):
    alice, bob, room = await alice_bob_room(homeserver)
    root = await send(alice, room, "root")
    answer = await reply(alice, room, root, "answer")
    main_msg = await send(alice, room, "main")
    before = await room_counts(bob, room)
    assert before == (counts(2), {root: counts(1)})
    since = (await bob.sync())["next_batch"]
    cases = [
        (answer, "not-an-event-id", "M_INVALID_PARAM"),
        (answer, "", "M_INVALID_PARAM"),
        (answer, "$" + "x" * 300, "M_INVALID_PARAM"),
        (answer, "main", "M_INVALID_PARAM"),   # the answer is in a thread, not in main
        (main_msg, root, "M_INVALID_PARAM"),   # a main-timeline event is in no thread
        (answer, main_msg, "M_INVALID_PARAM"),  # nor is the answer in that "thread"
        (answer, 7, "M_BAD_JSON"),
        (answer, ["main"], "M_BAD_JSON"),
    ]
    for event_id, thread_id, errcode in cases:
        for rtype in ("m.read", "m.read.private"):
            status, err = await bob.request("POST",
                                            f"{r(room)}/receipt/{rtype}/{quote(event_id)}",
                                            {"thread_id": thread_id})
            assert (status, err.get("errcode")) == (400, errcode), (thread_id, err)
    # An m.fully_read marker cannot be threaded either.
    status, err = await receipt(bob, room, answer, root, "m.fully_read")
    assert (status, err["errcode"]) == (400, "M_INVALID_PARAM")
    assert await room_counts(bob, room) == before
    later = (await bob.sync(since=since))["rooms"]["join"].get(room, {})
    assert not later.get("ephemeral", {}).get("events"), later  # no receipt was stored
    # The server keeps serving, and a right receipt still works (the root is in its thread).
    assert (await receipt(bob, room, root, root))[0] == 200
    assert (await receipt(bob, room, answer, root))[0] == 200
    assert await room_counts(bob, room) == (counts(2), {})
