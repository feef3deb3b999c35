"""Hostile federation against the audio stage's "who came first" and against invites.

The world of tests/integration/test_federation_hostile.py: a real server A under attack, a real
server B whose identity (server name and signing key) the attacker uses, and E, a tiny server
that only publishes its own key. Every forged request is built here byte by byte and signed as
B (or E). Each attack has a control that differs from it only in the attack.

In every audio room here alice (A) creates the room and moderates, erin (A) joins next, then
bob (B); the attacker is mallory on B, who joins last. When alice leaves, the longest-standing
member in the host's order, erin, is the room's derived moderator, on A and on B alike; no
``depth``, timestamp or ``unsigned`` order the attacker writes may change that.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from federation.signing import SigningKey, add_content_hash, compute_event_id, sign_event
from homeserver import stage
from tests.integration.federation_helpers import ModuleServers, eventually, start_servers
from tests.integration.test_federation_hostile import F1, F2, EvilServer, World, q

pytestmark = pytest.mark.asyncio(loop_scope="module")

AUDIO = {"type": "org.audiorooms.audio"}
ORDER = "org.audiorooms.order"
MEMBER = "m.room.member"


@dataclass
class StageWorld(World):
    erin: Any = None  # Client of A's second user: in every stage room before the attacker

    @property
    def mallory_b(self) -> str:
        return f"@mallory:{self.B}"

    # the rooms -----------------------------------------------------------------------------

    async def new_stage(self) -> str:
        """An audio room on A: alice (moderator), then erin, then bob on B."""
        room = await self.alice.create_room(preset="public_chat", visibility="public",
                                            name="Stage", creation_content=AUDIO)
        await self.erin.join(room)
        await self.bob.join(room)
        await self.in_step(room)
        return room

    async def in_step(self, room: str) -> None:
        """Wait until B has everything A ordered in the room so far."""
        latest = self.a.hs.events.latest_event(room)[0]
        await eventually(lambda: self.b.hs.events.has_event(latest))

    async def fence(self, room: str) -> str:
        event_id = await self.erin.send(room, "fence")
        await eventually(lambda: self.b.hs.events.has_event(event_id))
        return event_id

    # what each server says, through its own users' client API, and in its database -------

    async def record(self, room: str) -> dict:
        out = {}
        for label, handle, client in (("a", self.a, self.erin), ("b", self.b, self.bob)):
            state = await client.ok("GET", f"/rooms/{q(room)}/state")
            msgs = await client.messages(room, dir="b", limit="1000")
            count = handle.hs.db.execute("SELECT COUNT(*) FROM events WHERE room_id = ?",
                                         (room,)).fetchone()[0]
            out[label] = {
                "state": sorted((e["type"], e["state_key"], e["event_id"]) for e in state),
                "timeline": [e["event_id"] for e in reversed(msgs["chunk"])],
                "db_events": count}
        return out

    async def unchanged_but_fence(self, room: str, before: dict) -> None:
        """Nothing changed on A or B, except the fence erin sends now, which B must have
        before it is compared (anything A had wrongly relayed would have arrived first)."""
        fence = await self.fence(room)
        after = await self.record(room)
        for label in ("a", "b"):
            b, a = before[label], after[label]
            assert a["state"] == b["state"], label
            assert a["timeline"] == b["timeline"] + [fence], label
            assert a["db_events"] == b["db_events"] + 1, label

    async def orders(self, room: str) -> dict[str, dict[str, int]]:
        """The host's order of each member's event, as A's and B's client APIs show it."""
        out = {}
        for label, client in (("a", self.erin), ("b", self.bob)):
            state = await client.ok("GET", f"/rooms/{q(room)}/state")
            out[label] = {e["state_key"]: e["unsigned"][ORDER] for e in state
                          if e["type"] == MEMBER}
        return out

    def moderators(self, room: str) -> dict[str, list[str]]:
        return {label: stage.moderators(h.hs.rooms.state_view(room))
                for label, h in (("a", self.a), ("b", self.b))}

    async def hallway_moderators(self, room: str) -> list[str]:
        hall = await self.alice.ok("GET", "/_matrix/client/unstable/org.audiorooms/hallway")
        entry = next(e for e in hall["live"] if e["room_id"] == room)
        return [s["user_id"] for s in entry["org.audiorooms.speakers"] if s["moderator"]]

    # forging -------------------------------------------------------------------------------

    async def make_join(self, room: str, user: str) -> dict:
        status, made = await self.fed(
            "GET", f"{F1}/make_join/{q(room)}/{q(user)}?ver=org.audiorooms.1")
        assert status == 200, made
        return made["event"]

    def join_from(self, template: dict, **changes) -> dict:
        """The join as B would build it from ``template``, with ``changes`` (None deletes)."""
        ev = {k: template[k] for k in ("room_id", "sender", "type", "state_key", "depth",
                                       "prev_events", "auth_events", "content")}
        ev["origin_server_ts"] = int(time.time() * 1000)
        for k, v in changes.items():
            if v is None:
                ev.pop(k, None)
            else:
                ev[k] = v
        return sign_event(add_content_hash(ev), self.B, self.b_key)

    async def send_join(self, room: str, ev: dict) -> tuple[int, Any]:
        return await self.fed("PUT", f"{F2}/send_join/{q(room)}/{q(compute_event_id(ev))}", ev)

    async def join_properly(self, room: str, user: str) -> str:
        ev = self.join_from(await self.make_join(room, user))
        status, body = await self.send_join(room, ev)
        assert status == 200, body
        await self.in_step(room)
        return compute_event_id(ev)

    async def pdu_result(self, pdu: dict, origin: str | None = None) -> dict:
        """Send one PDU in a transaction signed as ``origin`` (B); its per-PDU result."""
        status, body = await self.send_txn([pdu], origin=origin)
        assert status == 200, body
        (event_id, result), = body["pdus"].items()
        assert event_id == compute_event_id(pdu)
        return result

    def invite(self, room: str, target: str, *, sender: str | None = None) -> dict:
        sender = sender or self.bob.user_id
        ev = {"room_id": room, "sender": sender, "type": MEMBER, "state_key": target,
              "content": {"membership": "invite"}, "origin_server_ts": int(time.time() * 1000),
              "depth": 5, "prev_events": ["$somewhere"], "auth_events": []}
        server = sender.split(":", 1)[1]
        return sign_event(add_content_hash(ev), server, self.key_of(server))

    async def send_invite(self, ev: dict, origin: str | None = None) -> tuple[int, Any]:
        body = {"event": ev, "room_version": "org.audiorooms.1", "invite_room_state": [
            {"type": "m.room.name", "state_key": "", "sender": ev["sender"],
             "content": {"name": "You are invited"}}]}
        return await self.fed("PUT", f"{F2}/invite/{q(ev['room_id'])}/"
                                     f"{q(compute_event_id(ev))}", body, origin=origin)


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def sw(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile-stage")
    async with aiohttp.ClientSession() as session:
        servers = ModuleServers(tmp, session)

        try:
            hs = await start_servers(servers.make_homeserver, names=("a", "b"))
            a, b = hs["a"], hs["b"]
            evil = EvilServer(SigningKey.generate(b.hs.signing_key.version))
            await servers.start(evil.server)
            for server in (a, b):
                server.hs.federation_client.servers[evil.name] = evil.url
            alice, erin, bob = await a.user("alice"), await a.user("erin"), await b.user("bob")
            w = StageWorld(a, b, evil, session, alice, bob, "", "", erin)
            w.room = await w.new_stage()
            w.b_room = await bob.create_room(preset="public_chat", name="On B")
            await alice.join(w.b_room)
            yield w
        finally:
            await servers.close()


# -- (a) a join must be built from the host's template ----------------------------------------

def _first_event(w: StageWorld, room: str) -> str:
    return w.a.hs.events.room_events(room, limit=1)[0][1]["event_id"]


FORGED_JOINS = {
    # The takeover's first step: a join claiming to be among the room's first events.
    "depth-early": lambda w, t, room: {"depth": 1},
    "depth-late": lambda w, t, room: {"depth": t["depth"] + 5},
    "prev-events-at-the-start": lambda w, t, room: {"prev_events": [_first_event(w, room)],
                                                    "depth": 2},
    "auth-events-changed": lambda w, t, room: {"auth_events": t["auth_events"][:1]},
    "content-key-not-the-joiners": lambda w, t, room: {
        "content": {"membership": "join", "org.audiorooms.role": "moderator"}},
    "displayname-not-a-string": lambda w, t, room: {
        "content": {"membership": "join", "displayname": ["x"]}},
    "extra-top-level-field": lambda w, t, room: {"redacts": "$x"},
}


@pytest.mark.parametrize("attack", list(FORGED_JOINS))
async def test_forged_send_join_is_refused_the_template_is_accepted(sw: StageWorld, attack):
    room = sw.room
    user = f"@mallory-{attack}:{sw.B}"
    template = await sw.make_join(room, user)
    before = await sw.record(room)

    forged = sw.join_from(template, **FORGED_JOINS[attack](sw, template, room))
    status, body = await sw.send_join(room, forged)
    assert (status, body.get("errcode")) in ((400, "M_BAD_JSON"), (403, "M_FORBIDDEN")), body
    assert not sw.a.hs.events.has_event(compute_event_id(forged))
    assert await sw.record(room) == before  # at once, on A
    assert not await sw.joined_on_a(room, user)

    # The control: the same join, built from the template as issued, gets in, and its place
    # in the host's order is after everyone already in the room.
    ev = sw.join_from(template, content={"membership": "join", "displayname": "M"})
    status, body = await sw.send_join(room, ev)
    assert status == 200, body
    assert body["event"]["unsigned"][ORDER] > max(
        e["unsigned"][ORDER] for e in body["state"])
    await sw.in_step(room)
    orders = await sw.orders(room)
    assert orders["a"] == orders["b"]
    assert orders["a"][user] == max(orders["a"].values())
    await sw.still_serving()


async def test_join_from_a_template_the_room_has_moved_past_is_accepted(sw: StageWorld):
    """Templates are stateless: others' events between make_join and send_join (a busy room)
    must not turn away an honest join."""
    room = sw.room
    user = f"@late-joiner:{sw.B}"
    template = await sw.make_join(room, user)
    for i in range(3):
        await sw.alice.send(room, f"meanwhile {i}")
    ev = sw.join_from(template)
    status, body = await sw.send_join(room, ev)
    assert status == 200, body
    await eventually(lambda: sw.joined_on_a(room, user))
    # The same join sent again (a retry) gets the same answer and changes nothing more.
    await sw.in_step(room)
    before = await sw.record(room)
    status, again = await sw.send_join(room, ev)
    assert status == 200 and again["event"] == body["event"], again
    assert await sw.record(room) == before


async def test_a_join_claiming_an_order_gets_the_hosts(sw: StageWorld):
    """``unsigned`` is not signed: an order written by the joiner is dropped, the host's
    place for the join is used (and shown to the joiner in the answer)."""
    room = sw.room
    user = f"@claims-order:{sw.B}"
    ev = sw.join_from(await sw.make_join(room, user))
    status, body = await sw.send_join(room, {**ev, "unsigned": {ORDER: 1}})
    assert status == 200, body
    order = body["event"]["unsigned"][ORDER]
    await sw.in_step(room)
    orders = await sw.orders(room)
    assert orders["a"][user] == orders["b"][user] == order == max(orders["a"].values()) > 1


# -- (b) the takeover ----------------------------------------------------------------------------

async def test_stage_takeover_is_refused(sw: StageWorld):
    room = await sw.new_stage()
    mallory = sw.mallory_b
    # The attacker's best: an early join is refused (see above), so it joins as the template
    # says, then announces a profile "from the start" and claims the first place in unsigned.
    await sw.join_properly(room, mallory)
    early = sw.pdu(MEMBER, {"membership": "join", "displayname": "first!"}, sender=mallory,
                   state_key=mallory, room=room, depth=1)
    assert "depth" in (await sw.pdu_result(early)).get("error", "")
    claims = sw.pdu(MEMBER, {"membership": "join", "displayname": "first!"}, sender=mallory,
                    state_key=mallory, room=room)
    assert await sw.pdu_result({**claims, "unsigned": {ORDER: 1}}) == {}
    await sw.in_step(room)

    # The moderator leaves: the derived moderator is erin, the longest-standing member in
    # the host's order, on the host and on the resident alike.
    await sw.alice.ok("POST", f"/rooms/{q(room)}/leave", {})
    await sw.in_step(room)
    assert sw.moderators(room) == {"a": [sw.erin.user_id], "b": [sw.erin.user_id]}
    orders = await sw.orders(room)
    assert orders["a"] == orders["b"]
    assert orders["a"][sw.erin.user_id] < orders["a"][sw.bob.user_id] < orders["a"][mallory]
    assert await sw.hallway_moderators(room) == [sw.erin.user_id]

    # What the attacker then tries, each refused by A, and nothing changes on A or B.
    attacks = [
        ("end-room", sw.pdu(stage.LIVE, {"live": False}, sender=mallory, state_key="",
                            room=room), "only moderators"),
        ("self-moderator", sw.pdu(stage.ROLE, {"role": "moderator", "muted": False},
                                  sender=mallory, state_key=mallory, room=room),
         "only moderators can put"),
        ("ban-local-member", sw.pdu(MEMBER, {"membership": "ban"}, sender=mallory,
                                    state_key=sw.erin.user_id, room=room), "power to ban"),
        ("kick-local-member", sw.pdu(MEMBER, {"membership": "leave"}, sender=mallory,
                                     state_key=sw.erin.user_id, room=room), "power to kick"),
        ("mute-derived-moderator", sw.pdu(stage.ROLE, {"role": "listener", "muted": True},
                                          sender=mallory, state_key=sw.erin.user_id,
                                          room=room), "change another user's role"),
    ]
    for name, pdu, why in attacks:
        before = await sw.record(room)
        result = await sw.pdu_result(pdu)
        assert why in result.get("error", ""), (name, result)
        assert not sw.a.hs.events.has_event(compute_event_id(pdu)), name
        await sw.unchanged_but_fence(room, before)
        assert sw.moderators(room) == {"a": [sw.erin.user_id], "b": [sw.erin.user_id]}, name

    # B's own copy of the rules (which re-checks what A relays) derives the same: bob, who
    # joined after erin, is refused by his own server.
    for etype, key, content in ((stage.ROLE, sw.bob.user_id, {"role": "moderator"}),
                                (stage.LIVE, "", {"live": False})):
        status, body = await sw.bob.request(
            "PUT", f"/rooms/{q(room)}/state/{etype}/{q(key)}", content)
        assert (status, body.get("errcode")) == (403, "M_FORBIDDEN"), body

    # The control: the same steps by the derived moderator go through, on both servers; she
    # removes the attacker, which would have been the other way round had depth counted.
    await sw.erin.ok("POST", f"/rooms/{q(room)}/ban", {"user_id": mallory})
    await eventually(lambda: _state_is(sw.bob, room, MEMBER, mallory, {"membership": "ban"}))
    await sw.erin.put_state(room, stage.ROLE, {"role": "moderator", "muted": False},
                            sw.erin.user_id)
    await sw.erin.put_state(room, stage.LIVE, {"live": False})
    await eventually(lambda: _state_is(sw.bob, room, stage.LIVE, "", {"live": False}))
    await sw.in_step(room)
    assert sw.moderators(room) == {"a": [sw.erin.user_id], "b": [sw.erin.user_id]}
    await sw.still_serving()


async def _state_is(client, room: str, etype: str, key: str, want: dict) -> bool:
    status, body = await client.request("GET", f"/rooms/{q(room)}/state/{etype}/{q(key)}")
    return status == 200 and body == want


# -- (c) a profile update with depth 1 -------------------------------------------------------

async def test_profile_update_with_early_depth_does_not_move_the_attacker_up(sw: StageWorld):
    room = await sw.new_stage()
    mallory = sw.mallory_b
    await sw.join_properly(room, mallory)
    before = await sw.record(room)
    forged = sw.pdu(MEMBER, {"membership": "join", "displayname": "early bird"},
                    sender=mallory, state_key=mallory, room=room, depth=1)
    result = await sw.pdu_result(forged)
    assert "depth" in result.get("error", ""), result
    await sw.unchanged_but_fence(room, before)

    # The control: the same update with the depth the host assigns is taken, and it puts the
    # attacker last in the host's order, not first.
    honest = sw.pdu(MEMBER, {"membership": "join", "displayname": "early bird"},
                    sender=mallory, state_key=mallory, room=room)
    assert await sw.pdu_result(honest) == {}
    await sw.in_step(room)
    await sw.alice.ok("POST", f"/rooms/{q(room)}/leave", {})
    await sw.in_step(room)
    assert sw.moderators(room) == {"a": [sw.erin.user_id], "b": [sw.erin.user_id]}
    members = {label: stage.stage_members(h.hs.rooms.state_view(room))["listener"]
               for label, h in (("a", sw.a), ("b", sw.b))}
    assert members["a"] == members["b"] == [sw.erin.user_id, sw.bob.user_id, mallory]


# -- residents take the order from the host only ------------------------------------------------

async def _b_relay(sw: StageWorld, body: str, order) -> dict:
    pdu = sw.pdu(content={"msgtype": "m.text", "body": body}, sender=sw.bob.user_id,
                 room=sw.b_room)
    return await sw.pdu_result({**pdu, "unsigned": {ORDER: order}} if order != "none" else pdu)


@pytest.mark.parametrize("order,why", [
    ("none", "no org.audiorooms.order"),
    ("3", "not an integer"),
    (0, "not an integer"),
    ("last", "not after"),
])
async def test_resident_refuses_a_relay_without_a_usable_order(sw: StageWorld, order, why):
    """A (resident in B's room) takes from B, its host, only events placed after what it
    has in B's order; the control is the hostile table's host relay with B's next order."""
    last = sw.a.hs.events.last_room_order(sw.b_room)
    result = await _b_relay(sw, f"order {order}", last if order == "last" else order)
    assert why in result.get("error", ""), result
    assert sw.a.hs.events.last_room_order(sw.b_room) == last
    assert await _b_relay(sw, "control", sw.b.hs.stream.next()) == {}


async def test_order_from_a_server_that_is_not_the_host_is_refused(sw: StageWorld):
    """E relays an event of B's room to A with an order: only B may do that."""
    await sw.evil_joins_b_room()
    await eventually(lambda: sw.joined_on_a(sw.b_room, sw.mallory))
    pdu = sw.pdu(content={"msgtype": "m.text", "body": "from E"}, sender=sw.mallory,
                 room=sw.b_room)
    result = await sw.pdu_result({**pdu, "unsigned": {ORDER: 2**53 - 1}}, origin=sw.E)
    assert "host" in result.get("error", ""), result
    assert not sw.a.hs.events.has_event(compute_event_id(pdu))


# -- (d) phantom invites -----------------------------------------------------------------------

async def _invites_of(client) -> dict:
    return (await client.sync())["rooms"]["invite"]


@pytest.mark.parametrize("case", ["our-namespace-from-B", "our-namespace-from-E",
                                  "room-of-a-third-server", "sender-not-on-origin"])
async def test_phantom_invite_is_refused(sw: StageWorld, case):
    target = sw.alice.user_id
    if case == "our-namespace-from-B":
        ev, origin, want = sw.invite(f"!x:{sw.A}", target), sw.B, (404, "M_NOT_FOUND")
    elif case == "our-namespace-from-E":
        ev, origin = sw.invite(f"!x2:{sw.A}", target, sender=sw.mallory), sw.E
        want = (404, "M_NOT_FOUND")
    elif case == "room-of-a-third-server":  # B is not its host, and A knows nothing of it
        ev, origin, want = sw.invite(f"!y:{sw.E}", target), sw.B, (403, "M_FORBIDDEN")
    else:  # E's user, in B's room (which B hosts), sent by B
        ev, origin, want = sw.invite(sw.b_room, target, sender=sw.mallory), sw.B, \
            (403, "M_FORBIDDEN")
    room = ev["room_id"]
    store = sw.a.hs.events
    rows_before = sw.a.hs.db.execute("SELECT COUNT(*) FROM events").fetchone()[0]
    membership_before = store.membership(room, target)  # alice is joined to B's room
    status, body = await sw.send_invite(ev, origin)
    assert (status, body.get("errcode")) == want, body
    assert not await _invited(sw.alice, room)
    assert not store.has_event(compute_event_id(ev))
    assert store.membership(room, target) == membership_before
    assert store.get_room(room) is None if room != sw.b_room else store.get_room(room)
    assert sw.a.hs.db.execute("SELECT COUNT(*) FROM events").fetchone()[0] == rows_before
    await sw.still_serving()


async def test_genuine_invite_from_the_host_shows_and_can_be_rejected(sw: StageWorld):
    """The control for phantom invites: B invites alice to a room B hosts."""
    room = await sw.bob.create_room(preset="private_chat", name="Invite from B")
    await sw.bob.ok("POST", f"/rooms/{q(room)}/invite", {"user_id": sw.alice.user_id})
    await eventually(lambda: _invited(sw.alice, room))
    await sw.alice.ok("POST", f"/rooms/{q(room)}/leave", {})
    assert not await _invited(sw.alice, room)
    await eventually(lambda: _state_is(sw.bob, room, MEMBER, sw.alice.user_id,
                                       {"membership": "leave"}))


async def test_invite_from_a_server_in_a_room_we_host(sw: StageWorld):
    """Also a control: bob (B, in A's room) invites a user of A into it; A knows B is in the
    room, so A countersigns, and B's invite then reaches the room through A."""
    room = await sw.alice.create_room(preset="private_chat", name="Private on A")
    await sw.alice.ok("POST", f"/rooms/{q(room)}/invite", {"user_id": sw.bob.user_id})
    await eventually(lambda: _invited(sw.bob, room))
    await sw.bob.join(room)
    olga = await sw.a.user("olga")
    await sw.bob.ok("POST", f"/rooms/{q(room)}/invite", {"user_id": olga.user_id})
    await eventually(lambda: _invited(olga, room))
    await olga.join(room)
    await eventually(lambda: sw.joined_on_a(room, olga.user_id))


async def _invited(client, room: str) -> bool:
    return room in await _invites_of(client)
