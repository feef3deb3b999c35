"""Hostile directory answers against a real server A's hallway and publicRooms?server=.

E ("evil") is a tiny aiohttp server that A federates with (it is in A's federation.servers) and
that answers federated ``publicRooms`` with whatever the case says. Every case differs from the
control only in the attack: the control's good entries must still be listed (a bad entry is
dropped, not the whole answer), the hallway must answer 200 for A's users, A's own live room
must still be listed, and A must have logged no internal error.
"""
from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestServer, unused_port

from homeserver.app import make_app
from tests.conftest import ServerHandle, homeserver_config

pytestmark = pytest.mark.asyncio(loop_scope="module")

H = "/_matrix/client/unstable/org.audiorooms/hallway"
NS = "org.audiorooms."
AUDIO = {"type": "org.audiorooms.audio"}


class EvilDirectory:
    """Answers federated publicRooms with ``self.answer`` (JSON) or ``self.raw`` (bytes)."""

    def __init__(self):
        self.port = unused_port()
        self.name = f"127.0.0.1:{self.port}"
        self.url = f"http://{self.name}"
        self.answer: Any = {"chunk": []}
        self.raw: bytes | None = None
        self.asked = 0
        app = web.Application()
        app.router.add_get("/_matrix/federation/v1/publicRooms", self.public_rooms)
        app.router.add_post("/_matrix/federation/v1/publicRooms", self.public_rooms)
        self.server = TestServer(app, host="127.0.0.1", port=self.port)

    async def public_rooms(self, request):
        self.asked += 1
        if self.raw is not None:
            return web.Response(body=self.raw, content_type="application/json")
        return web.json_response(self.answer)

    def entry(self, n: int, **changes) -> dict:
        """A well-formed hallway entry of E's own live room number ``n``."""
        e = {"room_id": f"!room{n}:{self.name}", "num_joined_members": 3 + n,
             "world_readable": True, "guest_can_join": True, "join_rule": "public",
             "name": f"E room {n}", "topic": "talk", "room_type": "org.audiorooms.audio",
             NS + "live": True, NS + "host": self.name,
             NS + "speakers": [{"user_id": f"@host{n}:{self.name}", "displayname": "Host",
                                "moderator": True}],
             NS + "speaker_count": 1, NS + "listener_count": 2 + n, NS + "clubs": [],
             NS + "live_since": 1_700_000_000_000 + n}
        for k, v in changes.items():
            if v is DELETE:
                e.pop(k, None)
            else:
                e[k] = v
        return e


DELETE = object()


@dataclass
class World:
    a: ServerHandle
    evil: EvilDirectory
    alice: Any
    own_room: str  # A's live public audio room

    async def hallway(self) -> tuple[int, Any]:
        return await self.alice.request("GET", H, params={"refresh": "true", "limit": "1000"})

    async def directory(self) -> tuple[int, Any]:
        return await self.alice.request("GET", "/publicRooms",
                                        params={"server": self.evil.name})


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hallway")
    evil = EvilDirectory()
    await evil.server.start_server()
    port = unused_port()
    config = homeserver_config(tmp / "a", port, federation={
        "servers": {evil.name: evil.url}, "request_timeout_seconds": 5})
    app = make_app(config)
    server = TestServer(app, host="127.0.0.1", port=port)
    await server.start_server()
    async with aiohttp.ClientSession() as session:
        try:
            a = ServerHandle.of(config, app, server, session)
            alice = await a.user("alice")
            room = await alice.create_room(preset="public_chat", visibility="public",
                                           name="A live", creation_content=AUDIO)
            await alice.put_state(room, "org.audiorooms.live", {"live": True})
            yield World(a, evil, alice, room)
        finally:
            await server.close()
            await evil.server.close()


# -- the cases: (id, the answer E gives, the room numbers that must be listed) -----------------

def good(w: World) -> list:
    return [w.evil.entry(1), w.evil.entry(2)]


def with_bad(bad: Callable[[EvilDirectory], Any]) -> Callable[[World], list]:
    """The control's two good entries with one bad entry between them."""
    return lambda w: [w.evil.entry(1), bad(w.evil), w.evil.entry(2)]


HALLWAY_CASES: list[tuple[str, Callable[[World], list]]] = [
    ("control", good),
    ("live-since-text", with_bad(lambda e: e.entry(3, **{NS + "live_since": "yesterday"}))),
    ("live-since-float-like-huge", with_bad(lambda e: e.entry(3, **{NS + "live_since": 2**60}))),
    ("scheduled-for-text", with_bad(lambda e: e.entry(
        3, **{NS + "live": False, NS + "scheduled_for": "soon"}))),
    ("listener-count-missing", with_bad(lambda e: e.entry(3, **{NS + "listener_count": DELETE}))),
    ("listener-count-negative", with_bad(lambda e: e.entry(3, **{NS + "listener_count": -5}))),
    ("listener-count-bool", with_bad(lambda e: e.entry(3, **{NS + "listener_count": True}))),
    ("live-not-bool", with_bad(lambda e: e.entry(3, **{NS + "live": "yes"}))),
    ("room-id-missing", with_bad(lambda e: e.entry(3, room_id=DELETE))),
    ("room-id-not-a-room-id", with_bad(lambda e: e.entry(3, room_id="hello world"))),
    ("room-id-not-a-string", with_bad(lambda e: e.entry(3, room_id=["!x:y"]))),
    ("name-not-a-string", with_bad(lambda e: e.entry(3, name={"evil": 1}))),
    ("speakers-not-a-list", with_bad(lambda e: e.entry(3, **{NS + "speakers": "everyone"}))),
    ("speaker-not-an-object", with_bad(lambda e: e.entry(3, **{NS + "speakers": [7]}))),
    ("too-many-speakers", with_bad(lambda e: e.entry(3, **{NS + "speakers": [
        {"user_id": f"@s{i}:{e.name}", "displayname": "s", "moderator": False}
        for i in range(101)]}))),
    ("clubs-not-room-ids", with_bad(lambda e: e.entry(3, **{NS + "clubs": [None]}))),
    ("entry-not-an-object", with_bad(lambda e: "junk")),
    # E speaks for its own rooms only: a room of another server, or the host field lying.
    ("room-of-another-server", with_bad(lambda e: e.entry(
        3, room_id="!stolen:other.example.org", **{NS + "host": "other.example.org"}))),
    ("host-field-lies", with_bad(lambda e: e.entry(3, **{NS + "host": "other.example.org"}))),
    ("room-on-a-port-suffix-of-E", with_bad(lambda e: e.entry(
        3, room_id=f"!x:127.0.0.1:1{e.port}", **{NS + "host": f"127.0.0.1:1{e.port}"}))),
]


@pytest.mark.parametrize("case_id,answer", HALLWAY_CASES, ids=[c[0] for c in HALLWAY_CASES])
async def test_hostile_hallway_entry(world: World, case_id, answer, caplog):
    caplog.set_level(logging.WARNING)
    world.evil.raw = None
    world.evil.answer = {"chunk": answer(world)}
    for _ in range(2):  # the second answer comes from the cache when not refreshed
        status, page = await world.hallway()
        assert status == 200, page
        listed = {e["room_id"] for e in page["live"]}
        assert listed == {world.own_room, f"!room1:{world.evil.name}",
                          f"!room2:{world.evil.name}"}, listed
        assert page["upcoming"] == []
        status, page = await world.alice.request("GET", H)  # cached, not refreshed
        assert status == 200, page
    for e in page["live"]:  # what is served is well-typed
        assert isinstance(e[NS + "listener_count"], int)
        assert isinstance(e[NS + "live_since"], int)
    _no_errors(caplog)


async def test_good_fields_survive_and_long_text_is_cut(world: World, caplog):
    caplog.set_level(logging.WARNING)
    world.evil.raw = None
    world.evil.answer = {"chunk": [world.evil.entry(
        1, name="N\u202eame\x00\x07 " + "x" * 1000, extra_field={"smuggled": True},
        **{NS + "scheduled_for": 4102444800000})]}
    status, page = await world.hallway()
    assert status == 200, page
    e = next(x for x in page["live"] if x["room_id"] == f"!room1:{world.evil.name}")
    assert "extra_field" not in e
    assert e["name"].startswith("Name x") and len(e["name"]) <= 255
    assert "\u202e" not in e["name"] and "\x07" not in e["name"]
    assert e[NS + "scheduled_for"] == 4102444800000
    assert e[NS + "speakers"][0]["user_id"] == f"@host1:{world.evil.name}"
    _no_errors(caplog)


async def test_entries_per_server_are_bounded(world: World, caplog):
    caplog.set_level(logging.WARNING)
    world.evil.raw = None
    world.evil.answer = {"chunk": [world.evil.entry(i) for i in range(1, 701)]}
    status, page = await world.hallway()
    assert status == 200, page
    assert page["total_live"] == 500 + 1  # E's first 500 and A's own room
    _no_errors(caplog)


UNUSABLE_ANSWERS = [
    ("chunk-not-a-list", lambda w: {"chunk": {"a": 1}}),
    ("chunk-missing", lambda w: {"rooms": []}),
    ("answer-a-list", lambda w: [w.evil.entry(9)]),
    ("answer-a-string", lambda w: "nope"),
]


@pytest.mark.parametrize("case_id,answer", UNUSABLE_ANSWERS, ids=[c[0] for c in UNUSABLE_ANSWERS])
async def test_failed_answer_is_not_cached(world: World, case_id, answer, caplog):
    """A good answer is listed; an unusable one afterwards leaves the last good list in place
    (it is never cached); a good one after that is listed again."""
    caplog.set_level(logging.WARNING)
    world.evil.raw = None
    world.evil.answer = {"chunk": [world.evil.entry(1)]}
    _, page = await world.hallway()
    assert f"!room1:{world.evil.name}" in {e["room_id"] for e in page["live"]}
    world.evil.answer = answer(world)
    status, page = await world.hallway()
    assert status == 200, page
    assert {e["room_id"] for e in page["live"]} == {world.own_room, f"!room1:{world.evil.name}"}
    world.evil.answer = {"chunk": [world.evil.entry(4)]}
    _, page = await world.hallway()
    assert {e["room_id"] for e in page["live"]} == {world.own_room, f"!room4:{world.evil.name}"}
    _no_errors(caplog)


async def test_not_json_answer_keeps_last_good_list(world: World, caplog):
    caplog.set_level(logging.WARNING)
    world.evil.raw = None
    world.evil.answer = {"chunk": [world.evil.entry(5)]}
    await world.hallway()
    world.evil.raw = b'{"chunk": [ {"room_id": '
    status, page = await world.hallway()
    assert status == 200, page
    assert f"!room5:{world.evil.name}" in {e["room_id"] for e in page["live"]}
    _no_errors(caplog)


# -- publicRooms?server=E: what A passes on to its client --------------------------------------

DIRECTORY_CASES: list[tuple[str, Callable[[EvilDirectory], Any]]] = [
    ("control", lambda e: _plain(e, 3)),
    ("entry-not-an-object", lambda e: [1, "x", None, [], _plain(e, 3)[0]]),
    ("room-id-not-a-string", lambda e: {**_plain(e, 3)[0], "room_id": 5}),
    ("members-not-an-int", lambda e: {**_plain(e, 3)[0], "num_joined_members": "many"}),
    ("world-readable-missing", lambda e: {k: v for k, v in _plain(e, 3)[0].items()
                                          if k != "world_readable"}),
    ("alias-not-an-alias", lambda e: {**_plain(e, 3)[0], "canonical_alias": "click me"}),
]


def _plain(e: EvilDirectory, n: int) -> list[dict]:
    return [{"room_id": f"!plain{n}:{e.name}", "num_joined_members": n, "world_readable": False,
             "guest_can_join": False, "name": f"plain {n}",
             "canonical_alias": f"#plain{n}:{e.name}"}]


@pytest.mark.parametrize("case_id,bad", DIRECTORY_CASES, ids=[c[0] for c in DIRECTORY_CASES])
async def test_hostile_public_rooms_entry(world: World, case_id, bad, caplog):
    caplog.set_level(logging.WARNING)
    world.evil.raw = None
    good_entry = _plain(world.evil, 1)[0]
    extra = bad(world.evil)
    extra = extra if isinstance(extra, list) else [extra]
    world.evil.answer = {"chunk": [good_entry, *extra], "total_room_count_estimate": "lots",
                         "next_batch": "n1"}
    status, page = await world.directory()
    assert status == 200, page
    ids = [e["room_id"] for e in page["chunk"]]
    want = [good_entry["room_id"]] + (["!plain3:" + world.evil.name] if case_id in (
        "control", "entry-not-an-object") else [])
    assert ids == want, page
    assert all(isinstance(e, dict) and isinstance(e["num_joined_members"], int)
               for e in page["chunk"])
    assert "total_room_count_estimate" not in page and page["next_batch"] == "n1"
    _no_errors(caplog)
    await _still_serving(world)


async def test_public_rooms_answer_not_a_directory(world: World, caplog):
    caplog.set_level(logging.WARNING)
    world.evil.raw = None
    world.evil.answer = {"chunk": "nope"}
    status, body = await world.directory()
    assert status == 502 and body["errcode"] == "M_UNKNOWN", body
    world.evil.answer = {"chunk": copy.deepcopy(_plain(world.evil, 1))}
    status, body = await world.directory()
    assert status == 200 and [e["room_id"] for e in body["chunk"]] == [
        f"!plain1:{world.evil.name}"]
    _no_errors(caplog)
    await _still_serving(world)


def _no_errors(caplog) -> None:
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]


async def _still_serving(world: World) -> None:
    status, _ = await world.alice.request("GET", "/_matrix/client/versions")
    assert status == 200
    await world.alice.send(world.own_room, f"still alive {time.time()}")
