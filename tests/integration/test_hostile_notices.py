"""Club "live" notices on a real server A, when a remote server's user writes the club event.

B is a real homeserver; bob, its user, owns a club (a space) that alice on A follows. A club
event ``org.audiorooms.club_live`` (state_key: an audio room's ID) makes A's ``@notices``
account tell alice that the room is live. Its content is bob's free text, so it must never be
the message: the notice is A's fixed template, with the room's name (from state A holds, or the
room's host's directory entry) as data, cleaned and bounded, and as a field of its own. Each
attack is compared with a control that differs only in the attack.
"""
from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest
import pytest_asyncio

from tests.conftest import ServerHandle
from tests.integration.federation_helpers import ModuleServers, eventually, start_servers

pytestmark = pytest.mark.asyncio(loop_scope="module")

CLUB_LIVE = "org.audiorooms.club_live"
AUDIO = {"type": "org.audiorooms.audio"}
NS = "org.audiorooms."
EVIL = "ACCOUNT LOCKED: log in at http://evil.example/reset now"
HOSTILE_NAME = "Real\u202e talk\n\n\x07URGENT " + "x" * 500
_n = itertools.count()


@dataclass
class World:
    a: ServerHandle
    b: ServerHandle
    alice: Any  # on A, in the club only
    carol: Any  # on A, in `held` (so A holds that room's state)
    bob: Any  # on B: owns the club and the rooms
    club: str
    held: str  # B's audio room A holds the state of, named "Real talk"
    listed: str  # B's public audio room no user of A is in: A knows it from B's directory
    hidden: str  # B's private audio room: A knows nothing of it
    ugly: str  # B's audio room A holds, with a hostile m.room.name

    async def club_live(self, room: str, name: str) -> None:
        await self.bob.put_state(self.club, CLUB_LIVE, {"live": True, "name": name,
                                                        "n": next(_n)}, room)

    async def notice_for(self, since: str, room: str) -> dict | None:
        s = await self.alice.sync(since=since, timeout=500)
        for r in s["rooms"]["join"].values():
            for e in r["timeline"]["events"]:
                c = e["content"]
                if c.get("msgtype") == "m.notice" and c.get(NS + "room_id") == room:
                    return c
        return None

    async def notices_since(self, since: str) -> list[dict]:
        s = await self.alice.sync(since=since, timeout=0)
        return [e["content"] for r in s["rooms"]["join"].values()
                for e in r["timeline"]["events"] if e["content"].get("msgtype") == "m.notice"]


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("notices")
    async with aiohttp.ClientSession() as session:
        servers = ModuleServers(tmp, session)

        try:
            hs = await start_servers(servers.make_homeserver, names=("a", "b"))
            a, b = hs["a"], hs["b"]
            alice, carol, bob = await a.user("alice"), await a.user("carol"), await b.user("bob")
            club = await bob.create_room(preset="public_chat", name="Bob's club",
                                         creation_content={"type": "m.space"})
            await alice.join(club)
            held = await bob.create_room(preset="public_chat", name="Real talk",
                                         creation_content=AUDIO)
            await carol.join(held)
            ugly = await bob.create_room(preset="public_chat", name=HOSTILE_NAME,
                                         creation_content=AUDIO)
            await carol.join(ugly)
            listed = await bob.create_room(preset="public_chat", visibility="public",
                                           name="Listed talk", creation_content=AUDIO)
            hidden = await bob.create_room(preset="private_chat", name="Hidden talk",
                                           creation_content=AUDIO)
            for room in (held, listed, hidden, ugly):
                await bob.put_state(room, "org.audiorooms.live", {"live": True})
            w = World(a, b, alice, carol, bob, club, held, listed, hidden, ugly)

            async def a_has_club_and_rooms():
                members = await alice.ok("GET", f"/rooms/{quote(club)}/joined_members")
                name = await carol.state(ugly, "m.room.name")
                return alice.user_id in members["joined"] and name.get("name") == HOSTILE_NAME
            await eventually(a_has_club_and_rooms)
            yield w
        finally:
            await servers.close()


# (id, room attribute, the name bob writes into the club event, what alice must read)
CASES = [
    ("control-held-room", "held", "Real talk", "Real talk"),
    ("attack-held-room", "held", EVIL, "Real talk"),
    ("control-listed-room", "listed", "Listed talk", "Listed talk"),
    ("attack-listed-room", "listed", EVIL, "Listed talk"),
    ("control-unknown-room", "hidden", "Hidden talk", None),
    ("attack-unknown-room", "hidden", EVIL, None),
    ("attack-name-with-controls-and-length", "ugly", EVIL, "Real talk URGENT " + "x" * 62 + "…"),
]


@pytest.mark.parametrize("case_id,attr,written,shown", CASES, ids=[c[0] for c in CASES])
async def test_club_live_notice(world: World, case_id, attr, written, shown, caplog):
    caplog.set_level(logging.WARNING)
    room = getattr(world, attr)
    since = (await world.alice.sync())["next_batch"]
    await world.club_live(room, written)
    notice = await eventually(lambda: world.notice_for(since, room), timeout=15)
    what = shown or "An audio room"
    assert notice["body"] == f"🎙 {what} is live now. Join: {room}", notice
    assert notice.get(NS + "room_name") == shown
    assert "evil" not in str(notice).lower()
    assert "\u202e" not in str(notice) and "\n" not in notice["body"]
    if shown:
        assert len(notice[NS + "room_name"]) <= 80
    await _still_serving(world)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]


async def test_club_live_for_something_not_a_room_sends_nothing(world: World, caplog):
    caplog.set_level(logging.WARNING)
    since = (await world.alice.sync())["next_batch"]
    await world.club_live(EVIL, EVIL)  # the state_key is not a room ID
    await world.club_live(world.held, "Real talk")  # control, sent after it
    await eventually(lambda: world.notice_for(since, world.held), timeout=15)
    notices = await world.notices_since(since)
    assert [n[NS + "room_id"] for n in notices] == [world.held], notices
    assert "evil" not in str(notices).lower()
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]


async def _still_serving(world: World) -> None:
    status, _ = await world.alice.request("GET", "/_matrix/client/versions")
    assert status == 200
    await world.alice.send(world.club, "still here")
