"""Who may set which role, hand, live state and RSVP for whom, across two servers.

Server A hosts every room (so A orders it); its creator, alice on A, is the moderator. Actors
are on A (local to the host) and on B (remote). Each case gets a fresh audio room with the same
cast, brought to the case's starting point by ``before`` steps:

    alice (A) moderator     sam (A) speaker      erin (A) listener     olga (A) not in the room
                            carl (B) speaker     bob (B) listener      nina (B) not in the room

A FORBIDDEN case is shown twice:
  (a) the actor's own server refuses the client's ``PUT /rooms/{id}/state/{type}/{key}`` with
      403 M_FORBIDDEN (for B's users that is B's copy of the rules, before anything is sent);
  (b) the same event, built and signed as the actor's server would sign it, still cannot get
      in: for B's users it is PUT to A in a signed transaction, whose 200 answer carries a
      per-PDU error, and for A's users A's room handler refuses it (``append_event`` raises
      Forbidden; there is no server between a local user and the host to forge it on).
  Afterwards A's and B's current state are exactly as before (checked after a fence message
  A sent later has reached B, so anything A had wrongly relayed would have arrived).
An ALLOWED case asserts 200 and the state that both servers end with.
"""
from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from urllib.parse import quote

import aiohttp
import pytest
import pytest_asyncio

from federation.pdus import to_pdu
from federation.signing import add_content_hash, compute_event_id, sign_event
from federation.xmatrix import sign_request
from homeserver.errors import Forbidden
from homeserver.handlers.events import auth_event_ids
from tests.conftest import ServerHandle
from tests.integration.federation_helpers import ModuleServers, eventually, start_servers

pytestmark = pytest.mark.asyncio(loop_scope="module")

AUDIO = {"type": "org.audiorooms.audio"}
TYPES = {"role": "org.audiorooms.role", "hand": "org.audiorooms.hand",
         "live": "org.audiorooms.live", "rsvp": "org.audiorooms.rsvp"}
CAST = {"alice": "a", "sam": "a", "erin": "a", "olga": "a",
        "carl": "b", "bob": "b", "nina": "b"}
MEMBERS = ("sam", "erin", "carl", "bob")  # who joins each room (alice creates it)


def q(s: str) -> str:
    return quote(s, safe="")


# -- the cases ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Step:
    actor: str
    kind: str  # role | hand | live | rsvp | leave
    target: str = ""  # a cast name; "" for live
    content: dict = field(default_factory=dict)


def role(actor, target, r, muted=None):
    return Step(actor, "role", target, {"role": r, **({} if muted is None else {"muted": muted})})


def hand(actor, target, raised):
    return Step(actor, "hand", target, {"raised": raised})


def live(actor, is_live, **extra):
    return Step(actor, "live", "", {"live": is_live, **extra})


def rsvp(actor, target, going):
    return Step(actor, "rsvp", target, {"going": going})


def leave(actor):
    return Step(actor, "leave")


PROMOTE_BOB = (role("alice", "bob", "moderator"),)
MUTE_CARL = (role("alice", "carl", "speaker", True),)


@dataclass(frozen=True)
class Case:
    id: str
    step: Step
    allowed: bool
    why: str = ""  # FORBIDDEN: a substring of the reason, in the 403 and in the PDU error
    before: tuple[Step, ...] = ()
    after: tuple[Step, ...] = ()  # ALLOWED: further steps, each also allowed
    # ALLOWED: (kind, target, content) that every server ends with; default: the step's own.
    expect: tuple[tuple[str, str, dict | None], ...] | None = None


F, OK = False, True
CASES = [
    # -- roles: nobody puts themself on stage or makes themself a moderator
    Case("local-listener-puts-self-on-stage", role("erin", "erin", "speaker"), F,
         "only moderators can put"),
    Case("remote-listener-puts-self-on-stage", role("bob", "bob", "speaker"), F,
         "only moderators can put"),
    Case("local-listener-makes-self-moderator", role("erin", "erin", "moderator"), F,
         "only moderators can put"),
    Case("remote-listener-makes-self-moderator", role("bob", "bob", "moderator"), F,
         "only moderators can put"),
    Case("remote-speaker-makes-self-moderator", role("carl", "carl", "moderator"), F,
         "only moderators can put"),
    Case("remote-speaker-back-on-stage-after-stepping-down", role("carl", "carl", "speaker"), F,
         "only moderators can put", before=(role("carl", "carl", "listener"),)),
    Case("remote-speaker-puts-listener-on-stage", role("carl", "bob", "speaker"), F,
         "change another user's role"),
    Case("local-listener-takes-remote-speaker-off-stage", role("erin", "carl", "listener"), F,
         "change another user's role"),
    Case("remote-listener-mutes-moderator", role("bob", "alice", "moderator", True), F,
         "change another user's role"),
    Case("remote-demoted-moderator-moves-others", role("bob", "erin", "speaker"), F,
         "change another user's role",
         before=PROMOTE_BOB + (role("alice", "bob", "listener"),)),
    Case("local-moderator-gives-role-to-non-member", role("alice", "nina", "speaker"), F,
         "is not in the room"),
    # -- muting
    Case("remote-speaker-muted-by-moderator-unmutes", role("carl", "carl", "speaker", False), F,
         "a moderator muted you", before=MUTE_CARL),
    Case("local-speaker-muted-by-moderator-unmutes", role("sam", "sam", "speaker"), F,
         "a moderator muted you", before=(role("alice", "sam", "speaker", True),)),
    Case("remote-speaker-muted-by-moderator-remutes-self", role("carl", "carl", "speaker", True),
         F, "a moderator muted you", before=MUTE_CARL),
    # -- content that is not a role
    Case("local-moderator-sets-invalid-role", role("alice", "bob", "superstar"), F,
         "role must be one of"),
    Case("remote-listener-sets-invalid-role", role("bob", "bob", "host"), F,
         "role must be one of"),
    Case("remote-speaker-muted-not-bool", role("carl", "carl", "speaker", "yes"), F,
         "muted must be true or false"),
    Case("local-moderator-muted-not-bool", role("alice", "carl", "speaker", 1), F,
         "muted must be true or false"),
    # -- hands
    Case("remote-listener-raises-other-users-hand", hand("bob", "erin", True), F,
         "another user's hand"),
    Case("remote-listener-lowers-other-users-hand", hand("bob", "erin", False), F,
         "another user's hand", before=(hand("erin", "erin", True),)),
    Case("local-moderator-raises-someones-hand", hand("alice", "bob", True), F,
         "another user's hand"),
    Case("remote-moderator-raises-someones-hand", hand("bob", "erin", True), F,
         "another user's hand", before=PROMOTE_BOB),
    Case("remote-hand-not-bool", Step("bob", "hand", "bob", {"raised": "yes"}), F,
         "raised must be true or false"),
    Case("remote-non-member-raises-hand", hand("nina", "nina", True), F, "is not in the room"),
    Case("local-non-member-raises-hand", hand("olga", "olga", True), F, "is not in the room"),
    Case("remote-user-who-left-raises-hand", hand("bob", "bob", True), F, "is not in the room",
         before=(leave("bob"),)),
    # -- live
    Case("remote-listener-ends-room", live("bob", False), F, "only moderators"),
    Case("local-speaker-ends-room", live("sam", False), F, "only moderators"),
    Case("remote-speaker-schedules-room", live("carl", False, scheduled_for=4102444800000), F,
         "only moderators"),
    Case("local-moderator-live-not-bool", Step("alice", "live", "", {"live": "no"}), F,
         "live must be true or false"),
    # -- RSVP
    Case("remote-rsvp-for-someone-else", rsvp("bob", "erin", True), F,
         "state belonging to another user"),
    Case("local-rsvp-for-someone-else", rsvp("erin", "bob", True), F,
         "state belonging to another user"),
    Case("remote-rsvp-going-not-bool", Step("bob", "rsvp", "bob", {"going": "maybe"}), F,
         "going must be true or false"),

    # -- ALLOWED ---------------------------------------------------------------------------------
    Case("local-moderator-puts-remote-listener-on-stage", role("alice", "bob", "speaker"), OK),
    Case("local-moderator-mutes-remote-speaker", role("alice", "carl", "speaker", True), OK),
    Case("local-moderator-lowers-remote-hand", hand("alice", "bob", False), OK,
         before=(hand("bob", "bob", True),)),
    Case("remote-user-raises-own-hand", hand("bob", "bob", True), OK),
    Case("remote-user-lowers-own-hand", hand("bob", "bob", False), OK,
         before=(hand("bob", "bob", True),)),
    Case("local-user-raises-then-lowers-own-hand", hand("erin", "erin", True), OK,
         after=(hand("erin", "erin", False),), expect=(("hand", "erin", {"raised": False}),)),
    Case("remote-speaker-mutes-then-unmutes-self", role("carl", "carl", "speaker", True), OK,
         after=(role("carl", "carl", "speaker", False),),
         expect=(("role", "carl", {"role": "speaker", "muted": False}),)),
    Case("local-speaker-mutes-self", role("sam", "sam", "speaker", True), OK),
    Case("remote-speaker-steps-down", role("carl", "carl", "listener"), OK),
    Case("remote-speaker-muted-by-moderator-steps-down", role("carl", "carl", "listener"), OK,
         before=MUTE_CARL),
    Case("local-moderator-ends-room", live("alice", False), OK),
    Case("local-moderator-schedules-room", live("alice", False, scheduled_for=4102444800000), OK),
    Case("remote-user-rsvps", rsvp("bob", "bob", True), OK),
    Case("local-moderator-promotes-remote-to-moderator", role("alice", "bob", "moderator"), OK),
    Case("remote-moderator-moves-others", role("bob", "erin", "speaker"), OK, before=PROMOTE_BOB,
         after=(role("bob", "carl", "listener"), role("bob", "sam", "speaker", True)),
         expect=(("role", "erin", {"role": "speaker"}), ("role", "carl", {"role": "listener"}),
                 ("role", "sam", {"role": "speaker", "muted": True}))),
    Case("remote-moderator-unmutes-speaker-muted-by-creator",
         role("bob", "carl", "speaker", False), OK, before=PROMOTE_BOB + MUTE_CARL),
    Case("remote-moderator-lowers-local-hand", hand("bob", "erin", False), OK,
         before=PROMOTE_BOB + (hand("erin", "erin", True),)),
    Case("remote-moderator-ends-room", live("bob", False), OK, before=PROMOTE_BOB),
    Case("local-moderator-demotes-remote-moderator", role("alice", "bob", "listener"), OK,
         before=PROMOTE_BOB),
    Case("remote-moderator-steps-down", role("bob", "bob", "listener"), OK, before=PROMOTE_BOB),
]
assert len({c.id for c in CASES}) == len(CASES)


# -- the world ---------------------------------------------------------------------------------

class World:
    def __init__(self, hs: dict[str, ServerHandle], clients: dict, session):
        self.hs, self.clients, self.session = hs, clients, session

    def uid(self, name: str) -> str:
        return self.clients[name].user_id

    def server(self, name: str) -> ServerHandle:
        return self.hs[CAST[name]]

    def state_ids(self, label: str, room: str) -> dict:
        return dict(self.hs[label].hs.events.current_state_ids(room))  # a copy, not the cache

    async def in_step(self, room: str) -> None:
        """Wait until B has everything A has ordered so far (B applies what A relays)."""
        latest = self.hs["a"].hs.events.latest_event(room)[0]
        await eventually(lambda: self.hs["b"].hs.events.has_event(latest))
        assert self.state_ids("a", room) == self.state_ids("b", room)

    async def settled(self, room: str, step: Step) -> None:
        """Wait until A has ordered the (allowed) step, then until B has caught up with A:
        a step taken on B is only forwarded to A when B's client gets its 200."""
        sender = self.uid(step.actor)
        if step.kind == "leave":
            key, content = ("m.room.member", sender), {"membership": "leave"}
        else:
            key, content = (TYPES[step.kind], self.key_of(step)), step.content

        def ordered():
            ev = self.hs["a"].hs.events.state_event(room, *key)
            return ev is not None and ev["sender"] == sender and ev["content"] == content
        await eventually(ordered)
        await self.in_step(room)

    async def new_room(self, before: tuple[Step, ...]) -> str:
        alice = self.clients["alice"]
        room = await alice.create_room(preset="public_chat", name="Stage permissions",
                                       creation_content=AUDIO)
        for name in MEMBERS:
            await self.clients[name].join(room)
        for name in ("sam", "carl"):
            await alice.put_state(room, TYPES["role"], {"role": "speaker", "muted": False},
                                  self.uid(name))
        await self.in_step(room)
        for step in before:
            status, body = await self.put(room, step)
            assert status == 200, (step, body)
            await self.settled(room, step)
        return room

    def key_of(self, step: Step) -> str:
        return self.uid(step.target) if step.target else ""

    async def put(self, room: str, step: Step):
        c = self.clients[step.actor]
        if step.kind == "leave":
            return await c.request("POST", f"/rooms/{q(room)}/leave", {})
        return await c.request(
            "PUT", f"/rooms/{q(room)}/state/{TYPES[step.kind]}/{q(self.key_of(step))}",
            step.content)

    async def get(self, label: str, room: str, kind: str, target: str):
        """The state's content as a member on that server reads it (None: no such state)."""
        observer = self.clients["alice" if label == "a" else "carl"]
        key = self.uid(target) if target else ""
        status, body = await observer.request(
            "GET", f"/rooms/{q(room)}/state/{TYPES[kind]}/{q(key)}")
        assert status in (200, 404), body
        return body if status == 200 else None

    def forge(self, room: str, step: Step) -> dict:
        """The event as the actor's server would build and sign it, from its copy of the room."""
        handle = self.server(step.actor)
        store = handle.hs.events
        sender, etype, key = self.uid(step.actor), TYPES[step.kind], self.key_of(step)
        event_id, depth, _ = store.latest_event(room)
        ev = {"room_id": room, "sender": sender, "type": etype, "state_key": key,
              "content": dict(step.content), "origin_server_ts": int(time.time() * 1000),
              "depth": depth + 1, "prev_events": [event_id],
              "auth_events": auth_event_ids(etype, sender, key, step.content,
                                            store.current_state_ids(room))}
        ev = sign_event(add_content_hash(ev), handle.server_name, handle.hs.signing_key)
        ev["event_id"] = compute_event_id(ev)
        return ev

    async def send_txn_to_a(self, origin: ServerHandle, pdus: list[dict]) -> tuple[int, dict]:
        a = self.hs["a"]
        path = f"/_matrix/federation/v1/send/{uuid.uuid4().hex}"
        body = {"origin": origin.server_name, "origin_server_ts": int(time.time() * 1000),
                "pdus": [to_pdu(p) for p in pdus], "edus": []}
        auth = sign_request(origin.hs.signing_key, "PUT", path, origin.server_name,
                            a.server_name, body)
        async with self.session.put(a.url + path, json=body,
                                    headers={"Authorization": auth}) as resp:
            return resp.status, await resp.json()

    async def fence(self, room: str) -> None:
        """A message from A that B must have before B's state is compared."""
        event_id = await self.clients["alice"].send(room, "fence")
        await eventually(lambda: self.hs["b"].hs.events.has_event(event_id))


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("stage-permissions")
    async with aiohttp.ClientSession() as session:
        servers = ModuleServers(tmp, session)

        hs = await start_servers(servers.make_homeserver, names=("a", "b"))
        clients = {name: await hs[label].user(name) for name, label in CAST.items()}
        try:
            yield World(hs, clients, session)
        finally:
            await servers.close()


# -- the table ---------------------------------------------------------------------------------

@pytest.mark.parametrize("case", [c for c in CASES if not c.allowed],
                         ids=[c.id for c in CASES if not c.allowed])
async def test_forbidden(world: World, case: Case):
    room = await world.new_room(case.before)
    step = case.step
    before = {label: world.state_ids(label, room) for label in ("a", "b")}
    shown = {label: await world.get(label, room, step.kind, step.target) for label in ("a", "b")}

    # (a) the actor's own server refuses the client.
    status, body = await world.put(room, step)
    assert (status, body.get("errcode")) == (403, "M_FORBIDDEN"), body
    assert case.why in body["error"], body

    # (b) the event signed by the actor's server does not get in either.
    event = world.forge(room, step)
    if CAST[step.actor] == "b":
        status, answer = await world.send_txn_to_a(world.hs["b"], [event])
        assert status == 200, answer
        assert list(answer["pdus"]) == [event["event_id"]], answer
        error = answer["pdus"][event["event_id"]].get("error")
        assert error and case.why in error, answer
    else:
        with pytest.raises(Forbidden, match=case.why):
            world.hs["a"].hs.rooms.append_event(event)
    assert not world.hs["a"].hs.events.has_event(event["event_id"])

    await world.fence(room)
    after = {label: world.state_ids(label, room) for label in ("a", "b")}
    assert after == before
    for label in ("a", "b"):
        assert await world.get(label, room, step.kind, step.target) == shown[label]


@pytest.mark.parametrize("case", [c for c in CASES if c.allowed],
                         ids=[c.id for c in CASES if c.allowed])
async def test_allowed(world: World, case: Case):
    room = await world.new_room(case.before)
    for step in (case.step, *case.after):
        status, body = await world.put(room, step)
        assert status == 200, (step, body)
        await world.settled(room, step)
    expect = case.expect or ((case.step.kind, case.step.target, case.step.content),)
    for label in ("a", "b"):
        for kind, target, content in expect:
            await eventually(lambda: _is(world.get(label, room, kind, target), content))
    await world.in_step(room)


async def _is(coro, want):
    return (await coro) == want


async def test_forging_works_when_the_rules_allow(world: World):
    """The control for (b): the same forging, for events the rules allow, gets in."""
    room = await world.new_room(())
    raise_hand = hand("bob", "bob", True)
    event = world.forge(room, raise_hand)
    status, answer = await world.send_txn_to_a(world.hs["b"], [event])
    assert (status, answer) == (200, {"pdus": {event["event_id"]: {}}})
    await world.settled(room, raise_hand)
    lower = hand("alice", "bob", False)
    world.hs["a"].hs.rooms.append_event(world.forge(room, lower))
    await world.settled(room, lower)
    for label in ("a", "b"):
        assert await world.get(label, room, "hand", "bob") == {"raised": False}


async def test_table_size():
    forbidden = [c for c in CASES if not c.allowed]
    assert len(CASES) >= 22 and len(forbidden) >= 11
    assert all(c.why for c in forbidden) and not any(c.why for c in CASES if c.allowed)


async def test_remote_join_of_a_crowded_audio_room(world: World):
    """A join from B gets the room's whole state from A in send_join: hundreds of KB for an
    audience of a few hundred, which B must read whole (it once read only what was buffered,
    parsed nothing and failed the join: "the room state has no m.room.create")."""
    alice = world.clients["alice"]
    room = await alice.create_room(preset="public_chat", name="Crowded", creation_content=AUDIO)
    a = world.hs["a"]
    for i in range(200):  # local joins, straight through A's room handler: set-up, not the test
        user_id = f"@crowd{i}:{a.server_name}"
        if not a.hs.users.user_exists(user_id):
            a.hs.users.create_user(user_id, None, f"crowd {i}")
        a.hs.rooms.send_event(room, user_id, "m.room.member",
                              {"membership": "join", "displayname": f"crowd {i}" * 8}, user_id)
    bob = world.clients["bob"]
    await bob.join(room)
    members = await bob.ok("GET", f"/rooms/{q(room)}/joined_members")
    assert len(members["joined"]) == 202
    await bob.put_state(room, TYPES["hand"], {"raised": True}, bob.user_id)
    await world.settled(room, hand("bob", "bob", True))


async def test_concurrent_remote_joins_keep_every_member(world: World):
    """An audience arriving at once from B: B's joins run concurrently, and B must end with
    every member A has (adopting each join's state snapshot wiped joins applied meanwhile)."""
    room = await world.clients["alice"].create_room(preset="public_chat", name="Rush",
                                                    creation_content=AUDIO)
    crowd = [await world.hs["b"].user(f"rush{i}") for i in range(24)]
    await asyncio.gather(*(c.join(room) for c in crowd))
    want = {world.uid("alice"), *(c.user_id for c in crowd)}

    async def members(label):
        return set(world.hs[label].hs.events.room_members(room)) == want
    for label in ("a", "b"):
        await eventually(lambda: members(label))
    await world.in_step(room)
    # Each joined user can act at once on their own server.
    await asyncio.gather(*(c.put_state(room, TYPES["hand"], {"raised": True}, c.user_id)
                           for c in crowd[:5]))
