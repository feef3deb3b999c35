"""The audio endpoints answer bad input and SFU failures with Matrix errors, not 500s, and the
server keeps serving: unusable offers (400 M_BAD_JSON), unknown sessions (404 M_NOT_FOUND), no
room for another connection (503), a cluster's lost worker (503), on the client endpoints and
on the federation relay endpoint."""
from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from aiohttp.test_utils import unused_port

from federation.client import RemoteServerError
from media.testing import AudioClient
from tests.integration.federation_helpers import eventually, start_servers

AUDIO = {"type": "org.audiorooms.audio"}
U = "/_matrix/client/unstable/org.audiorooms"


async def an_offer() -> str:
    client = AudioClient()
    try:
        return await client.offer()
    finally:
        await client.close()


async def still_serving(client, room: str) -> None:
    status, _ = await client.request("GET", "/_matrix/client/versions", token=False)
    assert status == 200
    await client.ok("PUT", f"/rooms/{quote(room)}/send/m.room.message/t{unused_port()}",
                    {"msgtype": "m.text", "body": "still here"})


async def test_bad_offers_and_unknown_sessions_are_matrix_errors(make_homeserver):
    hs = await start_servers(make_homeserver, names=("a",))
    alice = await hs["a"].user("alice")
    bob = await hs["a"].user("bob")
    room = await alice.create_room(preset="public_chat", creation_content=AUDIO)
    await bob.join(room)
    media = f"{U}/rooms/{quote(room)}/media"
    offer = await an_offer()
    no_ice = re.sub(r"a=ice-(ufrag|pwd):[^\r\n]*\r\n", "", offer)
    video_only = offer.replace("m=audio", "m=video")  # no audio transceiver at all
    for body in ({"type": "offer", "sdp": "v=0 nonsense"},
                 {"type": "offer", "sdp": video_only},
                 {"type": "offer", "sdp": no_ice},
                 {"type": "offer", "sdp": 42},
                 {"type": "answer", "sdp": offer},
                 {"sdp": offer}):
        status, err = await alice.request("POST", media, body)
        assert (status, err["errcode"]) == (400, "M_BAD_JSON"), (body, err)
    status, err = await alice.request("POST", f"{U}/rooms/{quote('!nope:a')}/media",
                                      {"type": "offer", "sdp": offer})
    assert (status, err["errcode"]) == (404, "M_NOT_FOUND")

    status, err = await alice.request("DELETE", f"{media}/no-such-session")
    assert (status, err["errcode"]) == (404, "M_NOT_FOUND")
    mine = await alice.ok("POST", media, {"type": "offer", "sdp": offer})
    status, err = await bob.request("DELETE", f"{media}/{mine['session_id']}")  # not his
    assert (status, err["errcode"]) == (404, "M_NOT_FOUND")

    # and the server goes on: the session works, closes, and the room takes messages
    assert mine["type"] == "answer" and mine["sdp"].startswith("v=0")
    assert await alice.ok("DELETE", f"{media}/{mine['session_id']}") == {}
    status, err = await alice.request("DELETE", f"{media}/{mine['session_id']}")
    assert (status, err["errcode"]) == (404, "M_NOT_FOUND")
    await still_serving(alice, room)


async def test_no_room_for_another_connection_is_a_503_not_a_500(make_homeserver):
    port = unused_port()
    hs = await start_servers(make_homeserver, names=("a",),
                             media={"udp_port_range": [port, port]})
    alice = await hs["a"].user("alice")
    room = await alice.create_room(preset="public_chat", creation_content=AUDIO)
    media = f"{U}/rooms/{quote(room)}/media"
    first = await alice.ok("POST", media, {"type": "offer", "sdp": await an_offer()})
    status, err = await alice.request("POST", media, {"type": "offer", "sdp": await an_offer()})
    assert (status, err["errcode"]) == (503, "M_UNKNOWN"), err
    assert "another audio connection" in err["error"]
    # the port comes back when the first session leaves
    await alice.ok("DELETE", f"{media}/{first['session_id']}")
    again = await alice.ok("POST", media, {"type": "offer", "sdp": await an_offer()})
    await alice.ok("DELETE", f"{media}/{again['session_id']}")
    await still_serving(alice, room)


async def test_a_lost_sfu_worker_is_a_503_on_the_client_and_relay_endpoints(make_homeserver):
    hs = await start_servers(make_homeserver, names=("a", "b"), media={"workers": 1})
    a, b = hs["a"], hs["b"]
    alice = await a.user("alice")
    bob = await b.user("bob")
    room = await alice.create_room(preset="public_chat", creation_content=AUDIO)
    await bob.join(room)
    await eventually(lambda: bob.ok("GET", f"/rooms/{quote(room)}/joined_members"))
    offer = await an_offer()
    relay = f"/_matrix/federation/unstable/org.audiorooms/media/{quote(room, safe='')}/relay"

    # a relay offer the host's worker cannot use is the relaying server's 400
    with pytest.raises(RemoteServerError) as bad:
        await b.hs.federation_client.request(a.server_name, "POST", relay,
                                             {"type": "offer", "sdp": "v=0 nonsense"})
    assert (bad.value.status, bad.value.body.get("errcode")) == (400, "M_BAD_JSON")

    worker = a.hs.sfu.workers[0]
    worker.process.kill()
    await worker.process.wait()
    await eventually(lambda: worker.peer.closed.is_set())

    status, err = await alice.request("POST", f"{U}/rooms/{quote(room)}/media",
                                      {"type": "offer", "sdp": offer})
    assert (status, err["errcode"]) == (503, "M_UNKNOWN"), err
    with pytest.raises(RemoteServerError) as lost:
        await b.hs.federation_client.request(a.server_name, "POST", relay,
                                             {"type": "offer", "sdp": offer})
    assert (lost.value.status, lost.value.body.get("errcode")) == (503, "M_UNKNOWN")
    await still_serving(alice, room)
