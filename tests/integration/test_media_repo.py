"""The media repository over real HTTP: upload, authenticated download (Range, headers),
thumbnails, remote media over federation, avatars; and hostile input, each refusal leaving
nothing stored and the server serving."""
from __future__ import annotations

import hashlib
import io
import os

from PIL import Image

from tests.integration.federation_helpers import start_servers

C1 = "/_matrix/client/v1/media"
CSP = ("sandbox; default-src 'none'; script-src 'none'; plugin-types application/pdf; "
       "style-src 'unsafe-inline'; media-src 'self'; object-src 'self';")


def png_bytes(w: int = 640, h: int = 480, fmt: str = "PNG") -> bytes:
    im = Image.new("RGB", (w, h))
    for x in range(0, w, 8):  # not a flat colour, so it does not compress to nothing
        for y in range(0, h, 8):
            im.putpixel((x, y), ((x * 7) % 256, (y * 3) % 256, (x ^ y) % 256))
    buf = io.BytesIO()
    im.save(buf, fmt)
    return buf.getvalue()


async def upload(client, data: bytes, content_type: str = "application/octet-stream",
                 filename: str | None = None) -> tuple[int, dict]:
    params = {"filename": filename} if filename else None
    return await client.request("POST", "/_matrix/media/v3/upload", raw=data, params=params,
                                headers={"Content-Type": content_type})


async def uploaded(client, data: bytes, content_type: str = "application/octet-stream",
                   filename: str | None = None) -> tuple[str, str]:
    status, body = await upload(client, data, content_type, filename)
    assert status == 200, body
    uri = body["content_uri"]
    assert uri.startswith("mxc://")
    server, media_id = uri[len("mxc://"):].split("/")
    return server, media_id


async def get(client, path: str, headers: dict | None = None, token: bool = True):
    """(status, headers, body bytes)."""
    hdrs = dict(headers or {})
    if token and client.token:
        hdrs["Authorization"] = f"Bearer {client.token}"
    async with client.session.get(client.base + path, headers=hdrs) as resp:
        return resp.status, resp.headers, await resp.read()


def held(handle) -> dict:
    return handle.hs.content_repo.stats()


async def still_serving(handle) -> None:
    async with handle.session.get(handle.url + "/_matrix/client/versions") as resp:
        assert resp.status == 200


async def test_upload_then_download_by_another_user(homeserver):
    alice = await homeserver.user("alice")
    bob = await homeserver.user("bob")
    data = os.urandom(300_000)
    server, media_id = await uploaded(alice, data, "application/octet-stream", "notes.bin")
    assert server == homeserver.server_name
    status, headers, body = await get(bob, f"{C1}/download/{server}/{media_id}")
    assert status == 200
    assert hashlib.sha256(body).hexdigest() == hashlib.sha256(data).hexdigest()
    assert headers["Content-Type"] == "application/octet-stream"
    assert headers["Content-Disposition"] == 'attachment; filename="notes.bin"'
    assert headers["Content-Security-Policy"] == CSP
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Cross-Origin-Resource-Policy"] == "cross-origin"
    assert "ETag" in headers and "immutable" in headers["Cache-Control"]
    # The file name in the path names the download.
    status, headers, body = await get(bob, f"{C1}/download/{server}/{media_id}/other.bin")
    assert status == 200 and body == data
    assert headers["Content-Disposition"] == 'attachment; filename="other.bin"'
    # An image is served inline; config tells the limit.
    png = png_bytes(64, 48)
    server, media_id = await uploaded(alice, png, "image/png", "été.png")
    status, headers, body = await get(bob, f"{C1}/download/{server}/{media_id}")
    assert (status, body, headers["Content-Type"]) == (200, png, "image/png")
    assert headers["Content-Disposition"] == "inline; filename*=utf-8''%C3%A9t%C3%A9.png"
    assert (await bob.ok("GET", f"{C1}/config"))["m.upload.size"] == 50 * 1024 * 1024
    # The metadata is in the database, the file under the store.
    info = homeserver.hs.content_repo.store.get(server, media_id)
    assert info.sha256 == hashlib.sha256(png).hexdigest() and info.user_id == alice.user_id
    assert info.size == len(png) and info.upload_name == "été.png"


async def test_range_requests(homeserver):
    alice = await homeserver.user("alice")
    data = bytes(range(256)) * 40
    server, media_id = await uploaded(alice, data)
    path = f"{C1}/download/{server}/{media_id}"
    status, headers, body = await get(alice, path, {"Range": "bytes=100-199"})
    assert status == 206 and body == data[100:200]
    assert headers["Content-Range"] == f"bytes 100-199/{len(data)}"
    status, headers, body = await get(alice, path, {"Range": "bytes=-10"})
    assert status == 206 and body == data[-10:]
    status, headers, _ = await get(alice, path, {"Range": f"bytes={len(data) + 5}-"})
    assert status == 416 and headers["Content-Range"] == f"bytes */{len(data)}"
    # A conditional request with the ETag is answered 304.
    _, headers, _ = await get(alice, path)
    status, _, body = await get(alice, path, {"If-None-Match": headers["ETag"]})
    assert status == 304 and body == b""


async def test_download_needs_a_token_and_legacy_is_refused(homeserver):
    alice = await homeserver.user("alice")
    server, media_id = await uploaded(alice, b"hello")
    status, headers, body = await get(alice, f"{C1}/download/{server}/{media_id}", token=False)
    assert status == 401 and b"M_MISSING_TOKEN" in body
    assert headers["Content-Security-Policy"] == CSP
    status, _, body = await get(alice, f"{C1}/thumbnail/{server}/{media_id}?width=9&height=9",
                                token=False)
    assert status == 401 and b"M_MISSING_TOKEN" in body
    for legacy in (f"/_matrix/media/v3/download/{server}/{media_id}",
                   f"/_matrix/media/r0/download/{server}/{media_id}",
                   f"/_matrix/media/v3/thumbnail/{server}/{media_id}?width=32&height=32"):
        for token in (False, True):
            status, _, body = await get(alice, legacy, token=token)
            assert status == 404 and b"M_NOT_FOUND" in body
    status, _, body = await get(alice, f"{C1}/download/{server}/nosuchmedia")
    assert status == 404 and b"M_NOT_FOUND" in body
    status, _, body = await get(alice, f"{C1}/config", token=False)
    assert status == 401
    status, _ = await upload(alice.__class__(alice.session, alice.base), b"x")
    assert status == 401
    assert held(homeserver)["rows"] == 1


async def test_download_across_servers(make_homeserver):
    hs = await start_servers(make_homeserver, names=("a", "b"))
    alice = await hs["a"].user("alice")
    bob = await hs["b"].user("bob")
    data = png_bytes(320, 200)
    server, media_id = await uploaded(alice, data, "image/png", "pic.png")
    path = f"{C1}/download/{server}/{media_id}"
    status, headers, body = await get(bob, path)
    assert status == 200, body
    assert hashlib.sha256(body).hexdigest() == hashlib.sha256(data).hexdigest()
    assert headers["Content-Type"] == "image/png"
    # Cached: b holds the file and its row, and a second download is served from the cache.
    info = hs["b"].hs.content_repo.store.get(server, media_id)
    assert info is not None and info.sha256 == hashlib.sha256(data).hexdigest()
    assert info.upload_name == "pic.png"
    await hs["a"].server.close()
    status, _, body = await get(bob, path)
    assert status == 200 and body == data


def decoded(body: bytes) -> Image.Image:
    im = Image.open(io.BytesIO(body))
    im.load()
    return im


async def test_thumbnails_of_png_and_jpeg(homeserver):
    alice = await homeserver.user("alice")
    bob = await homeserver.user("bob")
    for fmt, ctype in (("PNG", "image/png"), ("JPEG", "image/jpeg")):
        server, media_id = await uploaded(alice, png_bytes(1000, 750, fmt), ctype)
        path = f"{C1}/thumbnail/{server}/{media_id}"
        status, headers, body = await get(bob, path + "?width=320&height=240&method=scale")
        assert status == 200, body
        assert headers["Content-Type"] == ctype
        assert headers["Content-Security-Policy"] == CSP
        im = decoded(body)
        assert im.format == fmt and im.size == (320, 240)
        status, _, body = await get(bob, path + "?width=96&height=96&method=crop&animated=true")
        assert status == 200 and decoded(body).size == (96, 96)
        # Asked sizes are served from standard ones: 50x50 crop comes from 96x96.
        status, _, body = await get(bob, path + "?width=50&height=50&method=crop")
        assert status == 200 and decoded(body).size == (96, 96)
    # Thumbnails are kept: asking again does not decode again.
    stats = held(homeserver)
    status, _, _ = await get(bob, f"{C1}/thumbnail/{server}/{media_id}?width=320&height=240")
    assert status == 200 and held(homeserver) == stats
    # A small image is not upscaled.
    server, media_id = await uploaded(alice, png_bytes(20, 10), "image/png")
    status, _, body = await get(bob, f"{C1}/thumbnail/{server}/{media_id}?width=640&height=480")
    assert status == 200 and decoded(body).size == (20, 10)
    # Bad parameters are refused.
    for q in ("width=0&height=10", "width=10", "width=a&height=1", "width=10&height=10&method=x",
              "width=100000&height=10"):
        status, _, body = await get(bob, f"{C1}/thumbnail/{server}/{media_id}?{q}")
        assert status == 400, q


async def test_thumbnail_of_remote_media(make_homeserver):
    hs = await start_servers(make_homeserver, names=("a", "b"))
    alice = await hs["a"].user("alice")
    bob = await hs["b"].user("bob")
    server, media_id = await uploaded(alice, png_bytes(800, 600), "image/png")
    status, headers, body = await get(
        bob, f"{C1}/thumbnail/{server}/{media_id}?width=32&height=32&method=crop")
    assert status == 200, body
    assert headers["Content-Type"] == "image/png" and decoded(body).size == (32, 32)
    # allow_remote=false does not fetch what is not cached.
    _, other = await uploaded(alice, b"not fetched yet")
    status, _, body = await get(bob, f"{C1}/download/{server}/{other}?allow_remote=false")
    assert status == 404


async def test_avatar_end_to_end(make_homeserver):
    hs = await start_servers(make_homeserver, names=("a", "b"))
    alice = await hs["a"].user("alice")
    bob = await hs["b"].user("bob")
    server, media_id = await uploaded(alice, png_bytes(128, 128), "image/png", "me.png")
    mxc = f"mxc://{server}/{media_id}"
    room = await alice.create_room(preset="public_chat")
    await bob.join(room)
    from urllib.parse import quote
    for bad in ("https://evil.example/x.png", "mxc://", "mxc://a.b/", "mxc://a.b/x/y",
                "mxc://a.b/../../etc", "mxc://bad name/x", 5):
        status, body = await alice.request("PUT", f"/profile/{quote(alice.user_id)}/avatar_url",
                                           {"avatar_url": bad})
        assert status == 400, bad
    await alice.ok("PUT", f"/profile/{quote(alice.user_id)}/avatar_url", {"avatar_url": mxc})
    assert (await bob.ok("GET", f"/profile/{quote(alice.user_id)}"))["avatar_url"] == mxc
    await alice.put_state(room, "m.room.avatar", {"url": mxc})

    async def bob_sees_avatar():
        member = await bob.state(room, "m.room.member", alice.user_id)
        if member.get("avatar_url") != mxc:
            return False
        # the room's avatar comes after the member event: 404 until it has arrived
        status, avatar = await bob.request(
            "GET", f"/rooms/{quote(room)}/state/m.room.avatar/")
        return status == 200 and avatar.get("url") == mxc
    from tests.integration.federation_helpers import eventually
    await eventually(bob_sees_avatar)
    status, _, body = await get(bob, f"{C1}/download/{server}/{media_id}")
    assert status == 200 and decoded(body).size == (128, 128)
    # Removing it is allowed.
    await alice.ok("PUT", f"/profile/{quote(alice.user_id)}/avatar_url", {"avatar_url": ""})


async def test_create_then_upload(homeserver):
    alice = await homeserver.user("alice")
    bob = await homeserver.user("bob")
    created = await alice.ok("POST", "/_matrix/media/v1/create")
    server, media_id = created["content_uri"][len("mxc://"):].split("/")
    assert created["unused_expires_at"] > 0
    path = f"{C1}/download/{server}/{media_id}"
    status, _, body = await get(bob, path)
    assert status == 504 and b"M_NOT_YET_UPLOADED" in body
    put = f"/_matrix/media/v3/upload/{server}/{media_id}"
    # Only its creator may fill it, once.
    status, body = await bob.request("PUT", put, raw=b"bob's", headers={
        "Content-Type": "text/plain"})
    assert status == 403
    status, body = await alice.request("PUT", put, raw=b"alice's", headers={
        "Content-Type": "text/plain"})
    assert status == 200 and body == {}
    status, headers, body = await get(bob, path)
    assert status == 200 and body == b"alice's" and headers["Content-Type"] == "text/plain"
    status, body = await alice.request("PUT", put, raw=b"again")
    assert status == 409 and body["errcode"] == "M_CANNOT_OVERWRITE_MEDIA"
    # IDs it did not hand out cannot be uploaded to.
    for target in (f"{server}/nOtCrEaTeD", f"other.server/{media_id}", f"{server}/..%2Fx"):
        status, body = await alice.request("PUT", f"/_matrix/media/v3/upload/{target}",
                                           raw=b"x")
        assert status in (400, 403, 404), target
    assert held(homeserver)["rows"] == 1
