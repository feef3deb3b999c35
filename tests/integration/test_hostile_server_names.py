"""Server names compared exactly, never by suffix, on a real server A.

A user, alias or room ID belongs to the server named after its first ':' (federation.pdus.
server_of). A check such as ``user_id.endswith(":" + server)`` takes ``@x:evil.example:<A>`` for
A's own, and ``@bob:127.0.0.1:<port>`` for a server named just ``<port>``. Each case sends the
attack and its control (identical but for the name) and asserts the refusal, that nothing
changed, and that A still serves.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest
import pytest_asyncio

from tests.conftest import ServerHandle
from tests.integration.federation_helpers import ModuleServers, eventually, start_servers
from tests.integration.keyed_server import KeyedServer

pytestmark = pytest.mark.asyncio(loop_scope="module")

AUDIO = {"type": "org.audiorooms.audio"}
RELAY = "/_matrix/federation/unstable/org.audiorooms/media/{}/relay"


def q(s: str) -> str:
    return quote(s, safe="")


@dataclass
class World:
    a: ServerHandle
    b: ServerHandle
    port_named: KeyedServer  # a server named just B's port number
    session: aiohttp.ClientSession
    alice: Any
    bob: Any
    room: str  # A's audio room, scheduled (not live); bob (on B) is in it

    @property
    def A(self) -> str:
        return self.a.server_name

    async def still_serving(self) -> None:
        status, _ = await self.alice.request("GET", "/_matrix/client/versions")
        assert status == 200
        await self.alice.send(self.room, "still here")


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("names")
    async with aiohttp.ClientSession() as session:
        servers = ModuleServers(tmp, session)

        hs = await start_servers(servers.make_homeserver, names=("a", "b"))
        a, b = hs["a"], hs["b"]
        b_port = b.server_name.rsplit(":", 1)[1]
        evil = KeyedServer(name=b_port)  # "@bob:127.0.0.1:<b_port>".endswith(":<b_port>")
        await evil.start()
        a.hs.federation_client.servers[evil.name] = evil.url
        try:
            alice, bob = await a.user("alice"), await b.user("bob")
            room = await alice.create_room(
                preset="public_chat", name="Names", creation_content=AUDIO,
                initial_state=[{"type": "org.audiorooms.live", "state_key": "",
                                "content": {"live": False, "scheduled_for": 4102444800000}}])
            await bob.join(room)

            async def bob_in():
                m = await alice.ok("GET", f"/rooms/{q(room)}/joined_members")
                return bob.user_id in m["joined"]
            await eventually(bob_in)
            yield World(a, b, evil, session, alice, bob, room)
        finally:
            await evil.close()
            await servers.close()


@pytest.mark.parametrize("attack", [False, True], ids=["control", "attack"])
async def test_alias_of_a_server_ending_like_ours(world: World, attack, caplog):
    caplog.set_level(logging.WARNING)
    server = f"evil.example:{world.A}" if attack else world.A
    alias = f"#names{int(attack)}:{server}"
    status, body = await world.alice.request("PUT", f"/directory/room/{q(alias)}",
                                             {"room_id": world.room})
    if attack:
        assert status == 400 and body["errcode"] == "M_INVALID_PARAM", body
        assert world.a.hs.events.get_alias(alias) is None
    else:
        assert status == 200, body
        assert world.a.hs.events.get_alias(alias)[0] == world.room
    await world.still_serving()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.parametrize("attack", [False, True], ids=["control", "attack"])
async def test_login_as_user_of_a_server_ending_like_ours(world: World, attack):
    user = f"@alice:evil.example:{world.A}" if attack else world.alice.user_id
    status, body = await world.a.client().request("POST", "/login", {
        "type": "m.login.password", "identifier": {"type": "m.id.user", "user": user},
        "password": "correct horse"})
    if attack:
        assert status == 403 and body["errcode"] == "M_FORBIDDEN", body
    else:
        assert status == 200 and body["user_id"] == world.alice.user_id, body
    await world.still_serving()


@pytest.mark.parametrize("attack", [False, True], ids=["control", "attack"])
async def test_profile_query_for_user_of_a_server_ending_like_ours(world: World, attack):
    """B asks A for a profile over federation: A answers for its own users only."""
    from federation.client import RemoteServerError
    user = f"@alice:evil.example:{world.A}" if attack else world.alice.user_id
    try:
        body = await world.b.hs.federation_client.request(
            world.A, "GET", "/_matrix/federation/v1/query/profile", query={"user_id": user})
        status = 200
    except RemoteServerError as e:
        status, body = e.status or 0, e.body
    if attack:
        assert status == 404 and body["errcode"] == "M_NOT_FOUND", body
    else:
        assert status == 200, body
    await world.still_serving()


@pytest.mark.parametrize("attack", [False, True], ids=["control", "attack"])
async def test_media_relay_from_server_named_like_a_members_port(world: World, attack, caplog):
    """Only a server with members in the room may ask for its audio. The control is B (bob's
    server): it passes the membership check and is refused only because the room is not live.
    The attack is a server named just B's port number: a suffix match would let it in."""
    caplog.set_level(logging.WARNING)
    body = {"type": "offer", "sdp": "v=0\r\n"}
    path = RELAY.format(q(world.room))
    if attack:
        # Over HTTP the name is refused first: a bare port is not a server name.
        status, answer = await world.port_named.request(world.session, world.a.url, world.A,
                                                        "POST", path, body)
        assert status == 401 and answer["errcode"] == "M_UNAUTHORIZED", answer
        assert "not a valid server name" in answer["error"], answer
        # Behind it, the handler's own membership check compares servers exactly.
        from homeserver.errors import Forbidden
        with pytest.raises(Forbidden, match="no members"):
            await world.a.hs.media.accept_relay(world.port_named.name, world.room, body)
    else:
        b = world.b.hs.federation_client
        answer = await _signed_as_b(world, b, path, body)
        assert answer == (403, "ORG.AUDIOROOMS_NOT_LIVE"), answer
    assert world.room not in world.a.hs.sfu.rooms  # no audio was set up
    await world.still_serving()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def _signed_as_b(world: World, client, path: str, body: dict) -> tuple[int, str]:
    from federation.client import RemoteServerError
    try:
        await client.request(world.A, "POST", path, body)
    except RemoteServerError as e:
        return e.status or 0, e.body.get("errcode", "")
    return 200, ""
