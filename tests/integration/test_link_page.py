"""Shareable room links (issue 17): ``/r/<alias or room ID>`` is the web client's page with the
room's title, Open Graph tags and preview, every value escaped; private and unknown rooms get a
generic page (and 404 as JSON); a room on another server is previewed through federation."""
from __future__ import annotations

import html
import json
import re
from urllib.parse import quote, unquote

from tests.integration.federation_helpers import eventually, start_servers

AUDIO = {"type": "org.audiorooms.audio"}
U = "/_matrix/client/unstable/org.audiorooms"
EVIL = "<script>alert(1)</script>"
TOPIC = 'Fish & "chips" </title><b>bold</b>'
PREVIEW = re.compile(r'<script type="application/json" id="room-preview">(.*?)</script>', re.S)


async def page(session, url: str) -> tuple[int, str, str]:
    async with session.get(url) as resp:
        return resp.status, resp.headers.get("Content-Type", ""), await resp.text()


def meta(text: str, prop: str) -> str | None:
    m = re.search(r'<meta (?:property|name)="' + re.escape(prop) + r'" content="([^"]*)">', text)
    return html.unescape(m.group(1)) if m else None


def title(text: str) -> str:
    m = re.search(r"<title>(.*?)</title>", text, re.S)
    assert m, "no <title>"
    return html.unescape(m.group(1))


async def test_link_page_for_alias_and_id_escapes_everything(homeserver):
    alice = await homeserver.user("alice")
    await alice.ok("PUT", f"/profile/{quote(alice.user_id)}/displayname", {"displayname": "Al"})
    room = await alice.create_room(preset="public_chat", visibility="public",
                                   creation_content=AUDIO, name=EVIL, topic=TOPIC,
                                   room_alias_name="evil")
    await alice.put_state(room, "org.audiorooms.live", {"live": True})
    bob = await homeserver.user("bob")
    await bob.join(room)
    alias = f"#evil:{homeserver.server_name}"
    base = homeserver.url
    index = (await page(homeserver.session, base + "/"))[2]
    for ref in (quote(alias), quote(alias[1:]), room, quote(room)):
        status, ctype, text = await page(homeserver.session, f"{base}/r/{ref}")
        assert status == 200 and ctype.startswith("text/html"), (ref, status)
        assert EVIL not in text and "<b>bold</b>" not in text  # nothing injected
        assert title(text) == EVIL
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
        assert meta(text, "og:title") == EVIL
        assert meta(text, "og:description") == TOPIC
        assert meta(text, "og:type") == "website"
        assert unquote(meta(text, "og:url") or "") == unquote(f"{base}/r/{ref}")
        m = PREVIEW.search(text)
        assert m and "<" not in m.group(1) and ">" not in m.group(1)
        preview = json.loads(m.group(1))
        assert preview["room_id"] == room and preview["alias"] == alias
        assert preview["name"] == EVIL and preview["topic"] == TOPIC
        assert preview["live"] is True and preview["stage"] == ["Al"]
        assert preview["listener_count"] == 1 and preview["host"] == homeserver.server_name
        assert preview["guest_access"] == "can_join"
        # The page is the web client (same scripts as /), so it can route to the link view.
        assert '<script type="module" src="/static/js/main.js"></script>' in text
        assert text.count("<title>") == 1 and index.split("</head>")[1] == text.split("</head>")[1]

    # The same preview as JSON, no token needed, by alias or ID; a guest joining is counted.
    anon = homeserver.client()
    by_alias = await anon.ok("GET", f"{U}/rooms/{quote(alias, safe='')}/preview", token=False)
    assert by_alias == preview
    guest = homeserver.client()
    creds = await guest.ok("POST", "/register", {}, params={"kind": "guest"})
    guest.token = creds["access_token"]
    await guest.join(room)
    by_id = await anon.ok("GET", f"{U}/rooms/{quote(room, safe='')}/preview", token=False)
    assert by_id["listener_count"] == 2
    # A guest may read it too (the allow-list has it).
    await guest.ok("GET", f"{U}/rooms/{quote(room, safe='')}/preview")


async def test_private_and_unknown_rooms_get_a_generic_page(homeserver):
    alice = await homeserver.user("alice")
    secret = await alice.create_room(name="Secret plans", topic="do not tell",
                                     room_alias_name="secret", creation_content=AUDIO)
    # A public-joinable room not in the directory is not previewed either.
    unlisted = await alice.create_room(preset="public_chat", name="Unlisted plans",
                                       creation_content=AUDIO)
    for ref in (secret, quote(f"#secret:{homeserver.server_name}"), unlisted,
                quote(f"#nothing:{homeserver.server_name}"), quote("!nope:" + homeserver.server_name),
                "not-a-room", quote("#x:unknown.example")):
        status, _, text = await page(homeserver.session, f"{homeserver.url}/r/{ref}")
        assert status == 200
        assert title(text) == "Audio rooms"
        assert "plans" not in text and "do not tell" not in text
        assert PREVIEW.search(text) is None
        assert meta(text, "og:type") == "website"
        status, err = await homeserver.client().request(
            "GET", f"{U}/rooms/{quote(ref, safe='')}/preview", token=False)
        assert (status, err["errcode"]) == (404, "M_NOT_FOUND"), ref


async def test_link_to_a_room_on_another_server_previews_it_through_federation(
        make_homeserver):
    hs = await start_servers(make_homeserver, names=("a", "b"))
    a, b = hs["a"], hs["b"]
    alice = await a.user("alice")
    room = await alice.create_room(preset="public_chat", visibility="public",
                                   creation_content=AUDIO, name="Across", topic="From A",
                                   room_alias_name="across")
    await alice.put_state(room, "org.audiorooms.live", {"live": True})
    alias = f"#across:{a.server_name}"

    async def b_preview(ref):
        status, data = await b.client().request(
            "GET", f"{U}/rooms/{quote(ref, safe='')}/preview", token=False)
        return data if status == 200 else None

    by_alias = await eventually(lambda: b_preview(alias))
    assert by_alias["room_id"] == room and by_alias["name"] == "Across"
    assert by_alias["host"] == a.server_name and by_alias["live"] is True
    assert by_alias["guest_access"] == "can_join"
    by_id = await b_preview(room)
    assert by_id["room_id"] == room and by_id["topic"] == "From A"
    status, _, text = await page(b.session, f"{b.url}/r/{quote(alias)}")
    assert status == 200 and title(text) == "Across"
    assert json.loads(PREVIEW.search(text).group(1))["host"] == a.server_name
    # A private room on A: B knows nothing of it either.
    hidden = await alice.create_room(name="Hidden", creation_content=AUDIO)
    assert await b_preview(hidden) is None
