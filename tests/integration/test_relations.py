"""Relations over real HTTP: reactions, edits and threads through /relations and /threads,
bundled aggregations (unsigned["m.relations"]) on /event, /sync, /messages and /context, an
edit across two servers, /context's window, tokens and refusals, prev_content on state, and
hostile m.relates_to content that is stored but relates to nothing."""
from __future__ import annotations

import itertools
from urllib.parse import quote

from tests.integration.federation_helpers import eventually, start_servers

_txn = itertools.count()
V1 = "/_matrix/client/v1"


def r(room_id: str) -> str:
    return f"/rooms/{quote(room_id)}"


async def send(client, room_id: str, content: dict, etype: str = "m.room.message") -> str:
    data = await client.ok("PUT", f"{r(room_id)}/send/{etype}/rel{next(_txn)}", content)
    return data["event_id"]


def text(body: str, **extra) -> dict:
    return {"msgtype": "m.text", "body": body, **extra}


def react(event_id: str, key: str = "👍") -> dict:
    return {"m.relates_to": {"rel_type": "m.annotation", "event_id": event_id, "key": key}}


def edit(event_id: str, body: str) -> dict:
    return {"msgtype": "m.text", "body": f"* {body}",
            "m.new_content": {"msgtype": "m.text", "body": body},
            "m.relates_to": {"rel_type": "m.replace", "event_id": event_id}}


def in_thread(root: str, body: str) -> dict:
    return text(body, **{"m.relates_to": {"rel_type": "m.thread", "event_id": root,
                                          "is_falling_back": True,
                                          "m.in_reply_to": {"event_id": root}}})


async def relations(client, room_id: str, event_id: str, *path: str, **params) -> dict:
    tail = "".join(f"/{quote(p)}" for p in path)
    return await client.ok("GET", f"{V1}{r(room_id)}/relations/{quote(event_id)}{tail}",
                           params={k: str(v) for k, v in params.items()})


def ids(events: list[dict]) -> list[str]:
    return [e["event_id"] for e in events]


def timeline(sync: dict, room_id: str) -> list[dict]:
    return sync["rooms"]["join"].get(room_id, {}).get("timeline", {}).get("events", [])


def by_id(events: list[dict], event_id: str) -> dict:
    return next(e for e in events if e["event_id"] == event_id)


async def three_in_a_room(homeserver):
    alice = await homeserver.user("alice")
    bob = await homeserver.user("bob")
    carol = await homeserver.user("carol")
    room = await alice.create_room(preset="public_chat")
    await bob.join(room)
    await carol.join(room)
    return alice, bob, carol, room


async def test_reaction_edit_and_thread_through_relations_and_threads(homeserver):
    alice, bob, carol, room = await three_in_a_room(homeserver)
    root = await send(alice, room, text("what shall we talk about?"))
    reaction = await send(bob, room, react(root), "m.reaction")
    edit_id = await send(alice, room, edit(root, "what shall we talk about tonight?"))
    reply1 = await send(bob, room, in_thread(root, "music"))
    reply2 = await send(bob, room, in_thread(root, "or films"))
    # Newest first by default; every relation type and event type.
    everything = await relations(bob, room, root)
    assert ids(everything["chunk"]) == [reply2, reply1, edit_id, reaction]
    assert "next_batch" not in everything and "prev_batch" not in everything
    assert everything["chunk"][3]["content"]["m.relates_to"]["key"] == "👍"
    # Filters by relation type, then by event type too.
    assert ids((await relations(carol, room, root, "m.annotation"))["chunk"]) == [reaction]
    assert ids((await relations(carol, room, root, "m.annotation", "m.reaction"))["chunk"]) \
        == [reaction]
    assert (await relations(carol, room, root, "m.annotation", "m.room.message"))["chunk"] == []
    assert ids((await relations(carol, room, root, "m.thread"))["chunk"]) == [reply2, reply1]
    assert ids((await relations(carol, room, root, "m.replace", "m.room.message"))["chunk"]) \
        == [edit_id]
    # Pagination: pages of two, backwards then forwards, nothing twice, nothing missed.
    page1 = await relations(carol, room, root, limit=2)
    assert ids(page1["chunk"]) == [reply2, reply1] and "next_batch" in page1
    page2 = await relations(carol, room, root, limit=2, **{"from": page1["next_batch"]})
    assert ids(page2["chunk"]) == [edit_id, reaction]
    assert page2["prev_batch"] == page1["next_batch"] and "next_batch" not in page2
    fwd = await relations(carol, room, root, limit=3, dir="f")
    assert ids(fwd["chunk"]) == [reaction, edit_id, reply1]
    fwd2 = await relations(carol, room, root, limit=3, dir="f", **{"from": fwd["next_batch"]})
    assert ids(fwd2["chunk"]) == [reply2] and "next_batch" not in fwd2
    # /threads lists the root with its summary; "participated" is per user.
    for who, participated in ((alice, True), (bob, True), (carol, False)):
        threads = await who.ok("GET", f"{V1}{r(room)}/threads")
        assert ids(threads["chunk"]) == [root]
        summary = threads["chunk"][0]["unsigned"]["m.relations"]["m.thread"]
        assert summary["count"] == 2 and summary["latest_event"]["event_id"] == reply2
        assert summary["current_user_participated"] is participated
        mine = await who.ok("GET", f"{V1}{r(room)}/threads", params={"include": "participated"})
        assert ids(mine["chunk"]) == ([root] if participated else [])
    # A second, newer thread comes first; pages of one.
    root2 = await send(carol, room, text("new topic"))
    await send(alice, room, in_thread(root2, "yes"))
    t1 = await carol.ok("GET", f"{V1}{r(room)}/threads", params={"limit": "1"})
    assert ids(t1["chunk"]) == [root2] and t1["next_batch"]
    t2 = await carol.ok("GET", f"{V1}{r(room)}/threads",
                        params={"limit": "1", "from": t1["next_batch"]})
    assert ids(t2["chunk"]) == [root] and "next_batch" not in t2
    # recurse: a reaction to a thread reply is a relation of a relation.
    deep = await send(carol, room, react(reply1, "🎵"), "m.reaction")
    flat = await relations(carol, room, root, "m.annotation")
    assert ids(flat["chunk"]) == [reaction] and "recursion_depth" not in flat
    rec = await relations(carol, room, root, "m.annotation", recurse="true")
    assert ids(rec["chunk"]) == [deep, reaction] and rec["recursion_depth"] == 3
    # The same reaction twice is refused (a double tap); a thread cannot start from a reply.
    status, body = await bob.request("PUT", f"{r(room)}/send/m.reaction/dup1", react(root))
    assert (status, body["errcode"]) == (400, "M_DUPLICATE_ANNOTATION")
    status, body = await carol.request("PUT", f"{r(room)}/send/m.room.message/thr1",
                                       in_thread(reply1, "nested"))
    assert status == 400
    # A redacted reaction relates to nothing any more, and may be sent again.
    await bob.ok("PUT", f"{r(room)}/redact/{quote(reaction)}/red1", {})
    assert (await relations(carol, room, root, "m.annotation"))["chunk"] == []
    again = await send(bob, room, react(root), "m.reaction")
    assert ids((await relations(carol, room, root, "m.annotation"))["chunk"]) == [again]


async def test_bundled_aggregations_on_event_sync_and_messages(homeserver):
    alice, bob, carol, room = await three_in_a_room(homeserver)
    a_since = (await alice.sync())["next_batch"]
    root = await send(alice, room, text("first draft"))
    await send(bob, room, react(root), "m.reaction")
    await send(alice, room, edit(root, "second draft"))
    latest_edit = await send(alice, room, edit(root, "final draft"))
    await send(bob, room, edit(root, "bob may not edit alice"))  # not the original sender
    reply = await send(bob, room, in_thread(root, "looks good"))
    reply_edit = await send(bob, room, edit(reply, "looks great"))
    ref = await send(carol, room, text("see above", **{
        "m.relates_to": {"rel_type": "m.reference", "event_id": root}}))

    def check(ev: dict, participated: bool) -> None:
        rel = ev["unsigned"]["m.relations"]
        assert rel["m.replace"]["event_id"] == latest_edit
        assert rel["m.replace"]["content"]["m.new_content"]["body"] == "final draft"
        assert ev["content"]["body"] == "first draft"  # the original is never rewritten
        thread = rel["m.thread"]
        assert thread["count"] == 1 and thread["latest_event"]["event_id"] == reply
        assert thread["current_user_participated"] is participated
        # The latest reply carries its own edit.
        assert thread["latest_event"]["unsigned"]["m.relations"]["m.replace"]["event_id"] \
            == reply_edit
        assert rel["m.reference"] == {"chunk": [{"event_id": ref}]}
        assert "m.annotation" not in rel

    for who, participated in ((alice, True), (bob, True), (carol, False)):
        ev = await who.ok("GET", f"{r(room)}/event/{quote(root)}")
        check(ev, participated)
        msgs = await who.messages(room, dir="b", limit="50")
        check(by_id(msgs["chunk"], root), participated)
        # Edits and reactions themselves get no bundle.
        assert "m.relations" not in by_id(msgs["chunk"], latest_edit)["unsigned"]
        full = await who.sync(filter='{"room":{"timeline":{"limit":50}}}')
        check(by_id(timeline(full, room), root), participated)
    # Incremental sync (the sender's and the other user's) carries the bundle too.
    inc = await alice.sync(since=a_since, filter='{"room":{"timeline":{"limit":50}}}')
    check(by_id(timeline(inc, room), root), True)
    # /relations serves its children with their own bundles.
    chunk = (await relations(carol, room, root, "m.thread"))["chunk"]
    assert chunk[0]["unsigned"]["m.relations"]["m.replace"]["event_id"] == reply_edit
    # Redacting the original drops its edit from the bundle.
    await alice.ok("PUT", f"{r(room)}/redact/{quote(root)}/red2", {})
    ev = await carol.ok("GET", f"{r(room)}/event/{quote(root)}")
    assert "m.replace" not in ev["unsigned"].get("m.relations", {})


async def test_edit_and_reaction_across_two_servers(make_homeserver):
    hs = await start_servers(make_homeserver, names=("a", "b"))
    alice = await hs["a"].user("alice")
    bob = await hs["b"].user("bob")
    room = await alice.create_room(preset="public_chat")
    await bob.join(room)
    original = await send(bob, room, text("helo everyone"))

    async def alice_sees_event(event_id):
        status, _ = await alice.request("GET", f"{r(room)}/event/{quote(event_id)}")
        return status == 200
    await eventually(lambda: alice_sees_event(original))
    fixed = await send(bob, room, edit(original, "hello everyone"))
    reaction = await send(alice, room, react(original, "👋"), "m.reaction")
    reply = await send(alice, room, in_thread(original, "hi bob"))

    async def bundled(client):
        ev = await client.ok("GET", f"{r(room)}/event/{quote(original)}")
        rel = ev["unsigned"].get("m.relations", {})
        if rel.get("m.replace", {}).get("event_id") != fixed \
                or rel.get("m.thread", {}).get("latest_event", {}).get("event_id") != reply:
            return None
        got = ids((await relations(client, room, original))["chunk"])
        return got if sorted(got) == sorted([fixed, reaction, reply]) else None

    # Bob's edit reaches the host through federation, so the host decides where it goes
    # among Alice's events; Bob's server then has them in the host's order.
    on_a = await eventually(lambda: bundled(alice))
    # newest first: the reply was sent after alice's reaction, on her own server (bob's edit
    # crosses federation, so where it lands among them depends on when it arrives)
    assert on_a.index(reply) < on_a.index(reaction)
    await eventually(lambda: _same(bundled(bob), on_a))
    # Bob's /sync on his own server shows the thread and the edit on his message.
    s = await bob.sync(filter='{"room":{"timeline":{"limit":50}}}')
    rel = by_id(timeline(s, room), original)["unsigned"]["m.relations"]
    assert rel["m.replace"]["content"]["m.new_content"]["body"] == "hello everyone"
    assert rel["m.thread"]["current_user_participated"] is True  # bob wrote the root
    assert ids((await relations(bob, room, original, "m.annotation", "m.reaction"))["chunk"]) \
        == [reaction]


async def _same(result, expected):
    return await result == expected


async def test_context_window_tokens_filter_and_refusals(homeserver):
    alice, bob, carol, room = await three_in_a_room(homeserver)
    sent = [await send(alice if i % 2 else bob, room, text(f"m{i}")) for i in range(10)]
    ctx = await bob.ok("GET", f"{r(room)}/context/{quote(sent[5])}", params={"limit": "4"})
    assert ctx["event"]["event_id"] == sent[5]
    assert ids(ctx["events_before"]) == [sent[4], sent[3]]  # newest first
    assert ids(ctx["events_after"]) == [sent[6], sent[7]]
    older = await bob.messages(room, dir="b", limit="2", **{"from": ctx["start"]})
    assert ids(older["chunk"]) == [sent[2], sent[1]]
    newer = await bob.messages(room, dir="f", limit="2", **{"from": ctx["end"]})
    assert ids(newer["chunk"]) == [sent[8], sent[9]]
    state_types = {(e["type"], e["state_key"]) for e in ctx["state"]}
    assert ("m.room.create", "") in state_types
    assert {("m.room.member", u) for u in (alice.user_id, bob.user_id, carol.user_id)} \
        <= state_types
    # Lazy-loaded members: only the senders of the events returned.
    lazy = await bob.ok("GET", f"{r(room)}/context/{quote(sent[9])}",
                        params={"limit": "0", "filter": '{"lazy_load_members":true}'})
    assert lazy["events_before"] == [] and lazy["events_after"] == []
    assert {e["state_key"] for e in lazy["state"] if e["type"] == "m.room.member"} \
        == {alice.user_id}
    # A type filter applies to the surrounding events, not to the event itself.
    filt = await bob.ok("GET", f"{r(room)}/context/{quote(sent[5])}",
                        params={"limit": "20", "filter": '{"types":["m.room.member"]}'})
    assert filt["event"]["event_id"] == sent[5]
    assert all(e["type"] == "m.room.member" for e in filt["events_before"] + filt["state"])
    # Strangers and unknown events: 404 M_NOT_FOUND, the same answer for both.
    dave = await homeserver.user("dave")
    for who, event_id in ((dave, sent[5]), (bob, "$nope"), (bob, sent[0] + "x")):
        status, body = await who.request("GET", f"{r(room)}/context/{quote(event_id)}")
        assert (status, body["errcode"]) == (404, "M_NOT_FOUND")
    status, body = await dave.request("GET", f"{V1}{r(room)}/relations/{quote(sent[5])}")
    assert (status, body["errcode"]) == (404, "M_NOT_FOUND")
    status, body = await dave.request("GET", f"{V1}{r(room)}/threads")
    assert (status, body["errcode"]) == (403, "M_FORBIDDEN")
    # Someone who left sees up to their leaving, not after.
    await carol.ok("POST", f"{r(room)}/leave", {})
    later = await send(alice, room, text("after carol left"))
    ok = await carol.ok("GET", f"{r(room)}/context/{quote(sent[9])}", params={"limit": "10"})
    assert later not in ids(ok["events_after"])
    status, body = await carol.request("GET", f"{r(room)}/context/{quote(later)}")
    assert (status, body["errcode"]) == (404, "M_NOT_FOUND")
    # World-readable history opens the room's context to anyone.
    await alice.put_state(room, "m.room.history_visibility",
                          {"history_visibility": "world_readable"})
    seen = await dave.ok("GET", f"{r(room)}/context/{quote(sent[5])}", params={"limit": "2"})
    assert ids(seen["events_before"]) == [sent[4]]
    assert (await dave.ok("GET", f"{V1}{r(room)}/threads"))["chunk"] == []


async def test_prev_content_on_name_change(homeserver):
    alice, bob, _, room = await three_in_a_room(homeserver)
    since = (await bob.sync())["next_batch"]
    first = await alice.put_state(room, "m.room.name", {"name": "Morning show"})
    second = await alice.put_state(room, "m.room.name", {"name": "Evening show"})
    inc = await bob.sync(since=since)
    ev = by_id(timeline(inc, room), second)
    assert ev["unsigned"]["prev_content"] == {"name": "Morning show"}
    assert ev["unsigned"]["prev_sender"] == alice.user_id
    assert ev["unsigned"]["replaces_state"] == first
    assert "prev_content" not in by_id(timeline(inc, room), first)["unsigned"]
    ctx = await bob.ok("GET", f"{r(room)}/context/{quote(second)}", params={"limit": "0"})
    assert ctx["event"]["unsigned"]["prev_content"] == {"name": "Morning show"}


async def test_hostile_relation_content_is_stored_but_not_related(homeserver):
    alice, bob, _, room = await three_in_a_room(homeserver)
    root = await send(alice, room, text("root"))
    other_room = await bob.create_room(preset="public_chat")
    elsewhere = await send(bob, other_room, text("in another room"))
    hostile = [
        {"body": "a", "m.relates_to": "m.annotation"},
        {"body": "b", "m.relates_to": {"rel_type": 5, "event_id": root}},
        {"body": "c", "m.relates_to": {"rel_type": "m.annotation", "event_id": "not-an-id",
                                       "key": "x"}},
        {"body": "d", "m.relates_to": {"rel_type": "m.annotation", "event_id": "$" + "a" * 300,
                                       "key": "x"}},
        {"body": "e", "m.relates_to": {"rel_type": "m.annotation", "event_id": root}},  # no key
        {"body": "f", "m.relates_to": {"rel_type": "m.replace", "event_id": root}},  # no content
        {"body": "g", "m.relates_to": {"rel_type": "", "event_id": root}},
        {"body": "h", "m.relates_to": {"rel_type": "m.thread", "event_id": ["$x"]}},
    ]
    stored = [await send(bob, room, c) for c in hostile]
    # A relation to an event of another room, sent into this room, and the other way round.
    cross = await send(bob, room, in_thread(elsewhere, "cross-room"))
    cross_back = await send(bob, other_room, edit(root, "cross-room edit"))
    msgs = await alice.messages(room, dir="b", limit="50")
    assert set(stored + [cross]) <= set(ids(msgs["chunk"]))
    assert (await relations(alice, room, root))["chunk"] == []
    assert (await relations(bob, other_room, elsewhere))["chunk"] == []
    status, _ = await bob.request("GET", f"{V1}{r(other_room)}/relations/{quote(root)}")
    assert status == 404  # root is not in other_room
    ev = await alice.ok("GET", f"{r(room)}/event/{quote(root)}")
    assert "m.relations" not in ev["unsigned"]
    assert (await alice.ok("GET", f"{V1}{r(room)}/threads"))["chunk"] == []
    assert (await bob.ok("GET", f"{r(other_room)}/event/{quote(cross_back)}"))["type"] \
        == "m.room.message"
    # Bad parameters: 400 M_INVALID_PARAM, and the server keeps serving.
    base = f"{V1}{r(room)}/relations/{quote(root)}"
    for params in ({"dir": "x"}, {"limit": "many"}, {"from": "garbage"},
                   {"recurse": "yes"}, {"to": "s-1"}):
        status, body = await alice.request("GET", base, params=params)
        assert (status, body["errcode"]) == (400, "M_INVALID_PARAM"), params
    for path, params in ((f"{V1}{r(room)}/threads", {"include": "mine"}),
                         (f"{r(room)}/context/{quote(root)}", {"filter": "{not json"}),
                         (f"{r(room)}/context/{quote(root)}", {"filter": '{"types":"x"}'})):
        status, body = await alice.request("GET", path, params=params)
        assert (status, body["errcode"]) == (400, "M_INVALID_PARAM"), params
    # Pages are bounded whatever the client asks for.
    for i in range(3):
        await send(bob, room, react(root, str(i)), "m.reaction")
    big = await relations(alice, room, root, limit=1_000_000)
    assert len(big["chunk"]) == 3
    status, _ = await alice.request("GET", f"{V1}{r('!nope:x')}/relations/{quote(root)}")
    assert status == 404
    assert (await alice.sync())["rooms"]["join"][room]
