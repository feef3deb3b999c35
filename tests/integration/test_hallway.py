"""The hallway with live rooms on three servers: federated list, counts, order, pagination."""
from urllib.parse import quote

from tests.integration.federation_helpers import eventually, start_servers

AUDIO = {"type": "org.audiorooms.audio"}
H = "/_matrix/client/unstable/org.audiorooms/hallway"


async def test_hallway_lists_live_rooms_of_three_servers_with_counts_and_pages(make_homeserver):
    hs = await start_servers(make_homeserver)
    hosts = {n: await hs[n].user(f"host{n}") for n in "abc"}
    fans = [await hs[n].user(f"fan{n}{i}") for n in "abc" for i in range(2)]  # 6 listeners
    # (server, name, listeners to join): distinct listener counts give a definite order.
    plan = [("a", "A-big", 5), ("b", "B-mid", 3), ("c", "C-small", 1), ("a", "A-empty", 0),
            ("b", "B-two", 2)]
    rooms = {}
    for server, name, n in plan:
        rooms[name] = await hosts[server].create_room(
            preset="public_chat", visibility="public", name=name, topic=f"topic {name}",
            creation_content=AUDIO)
        for fan in fans[:n]:
            await fan.join(rooms[name])
    # One room on stage with a remote speaker, one private room that must not be listed.
    await hosts["a"].put_state(rooms["A-big"], "org.audiorooms.role", {"role": "speaker"},
                               fans[0].user_id)
    await hosts["c"].create_room(preset="private_chat", name="secret", creation_content=AUDIO)

    viewer = fans[3]  # on server B

    async def full_list():
        seen, since = [], None
        while True:
            params = {"limit": "2", "refresh": "true"}
            if since:
                params["since"] = since
            page = await viewer.ok("GET", H, params=params)
            assert len(page["live"]) <= 2
            seen += page["live"]
            since = page.get("next_batch")
            if not since:
                return seen

    def ready(entries):
        by_name = {e.get("name"): e for e in entries}
        big = by_name.get("A-big")
        return entries if len(by_name) == 5 and big and big["org.audiorooms.speaker_count"] == 2 \
            else None

    entries = await eventually(lambda: _call(full_list, ready), timeout=15)
    assert [e["name"] for e in entries] == ["A-big", "B-mid", "B-two", "C-small", "A-empty"]
    by_name = {e["name"]: e for e in entries}
    for server, name, _n in plan:
        e = by_name[name]
        assert e["org.audiorooms.host"] == hs[server].server_name
        assert e["topic"] == f"topic {name}"
        assert e["org.audiorooms.live"] is True
    assert by_name["A-big"]["org.audiorooms.listener_count"] == 4  # 5 joined, 1 on stage
    assert {s["displayname"] for s in by_name["A-big"]["org.audiorooms.speakers"]} == \
        {"hosta", "fana0"}
    assert by_name["B-mid"]["org.audiorooms.listener_count"] == 3
    assert by_name["A-empty"]["org.audiorooms.speaker_count"] == 1
    assert "secret" not in by_name

    # Counts stay live: two listeners leave B-mid and the hallway on C shows it.
    for fan in fans[:2]:
        await fan.ok("POST", f"/rooms/{rooms['B-mid']}/leave", {})
    on_c = fans[5]

    async def b_mid_count():
        page = await on_c.ok("GET", H, params={"refresh": "true", "limit": "10"})
        e = next((x for x in page["live"] if x["room_id"] == rooms["B-mid"]), None)
        return e and e["org.audiorooms.listener_count"] == 1

    assert await eventually(b_mid_count)


async def _call(fn, check):
    return check(await fn())


async def test_speakers_photos_reach_other_servers_hallways(make_homeserver):
    """The faces on the stage are the product: a speaker's photo (their member event's mxc
    avatar) is in the hallway entry, here and on another server."""
    hs = await start_servers(make_homeserver, names=("a", "b"))
    host, viewer = await hs["a"].user("host"), await hs["b"].user("viewer")
    status, up = await host.request("POST", "/_matrix/media/v3/upload",
                                    raw=b"\x89PNG\r\n\x1a\n" + b"\0" * 32,
                                    headers={"Content-Type": "image/png"})
    assert status == 200, up
    await host.ok("PUT", f"/profile/{quote(host.user_id)}/avatar_url",
                  {"avatar_url": up["content_uri"]})
    room = await host.create_room(preset="public_chat", visibility="public", name="Faces",
                                  creation_content=AUDIO)

    def face(page):
        for e in page["live"]:
            if e["room_id"] == room:
                [s] = e["org.audiorooms.speakers"]
                return s.get("avatar_url")
        return None

    assert face(await host.ok("GET", H)) == up["content_uri"]

    async def remote():
        return face(await viewer.ok("GET", H, params={"refresh": "true"}))

    assert await eventually(remote, timeout=15) == up["content_uri"]
