"""Hostile media input: oversized bodies (declared and chunked), script-bearing uploads, images
that are not images, path traversal in media IDs and server names, and remote servers that
answer with too much or with garbage. Each is refused with the right code, nothing is stored
(no database row, no file), and the server keeps serving."""
from __future__ import annotations

import asyncio
import io
import struct
import zlib

import yarl
from aiohttp import web
from PIL import Image

from federation.xmatrix import sign_request
from tests.integration.keyed_server import F1, KeyedServer
from tests.integration.test_media_repo import (
    C1,
    CSP,
    get,
    held,
    png_bytes,
    still_serving,
    upload,
    uploaded,
)

LIMIT = 1024 * 1024
SMALL = {"media_repository": {"max_upload_bytes": LIMIT}}


def stored_files(handle) -> list[str]:
    root = handle.hs.content_repo.root
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


async def raw_request(handle, head: bytes, body_parts=(), read_timeout: float = 10.0) -> bytes:
    """Send ``head`` then ``body_parts`` on a raw socket while reading the answer."""
    port = handle.config.listeners[0].port
    reader, writer = await asyncio.open_connection("127.0.0.1", port)

    async def send():
        try:
            writer.write(head)
            for part in body_parts:
                writer.write(part)
                await writer.drain()
        except (ConnectionError, OSError):
            pass  # the server stopped reading: expected once it refused
    sender = asyncio.create_task(send())
    try:
        answer = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), read_timeout)
        length = int(next((ln.split(b":")[1] for ln in answer.split(b"\r\n")
                           if ln.lower().startswith(b"content-length:")), b"0"))
        answer += await asyncio.wait_for(reader.readexactly(length), read_timeout)
    finally:
        sender.cancel()
        writer.close()
    return answer


async def test_two_gigabyte_content_length_refused_before_reading(make_homeserver):
    hs = await make_homeserver("a", **SMALL)
    alice = await hs.user("alice")
    head = (f"POST /_matrix/media/v3/upload HTTP/1.1\r\nHost: x\r\n"
            f"Authorization: Bearer {alice.token}\r\nContent-Type: image/png\r\n"
            f"Content-Length: {2 * 1024 ** 3}\r\n\r\n").encode()
    answer = await raw_request(hs, head, [b"\x89PNG" + b"\0" * 1000])
    assert answer.startswith(b"HTTP/1.1 413") and b"M_TOO_LARGE" in answer
    assert held(hs)["rows"] == 0 and stored_files(hs) == []
    await still_serving(hs)


async def test_chunked_body_over_the_limit_cut_off(make_homeserver):
    hs = await make_homeserver("a", **SMALL)
    alice = await hs.user("alice")
    head = (f"POST /_matrix/media/v3/upload HTTP/1.1\r\nHost: x\r\n"
            f"Authorization: Bearer {alice.token}\r\n"
            f"Transfer-Encoding: chunked\r\n\r\n").encode()
    chunk = b"\xab" * 65536
    frames = [b"%x\r\n" % len(chunk) + chunk + b"\r\n"] * 40 + [b"0\r\n\r\n"]  # 2.5 MB
    answer = await raw_request(hs, head, frames)
    assert answer.startswith(b"HTTP/1.1 413") and b"M_TOO_LARGE" in answer
    assert held(hs)["rows"] == 0 and stored_files(hs) == []
    await still_serving(hs)
    # Just under the limit, chunked, is fine; and an aiohttp client's streamed body too.
    ok = b"%x\r\n" % LIMIT + b"\x01" * LIMIT + b"\r\n0\r\n\r\n"
    answer = await raw_request(hs, head, [ok])
    assert answer.startswith(b"HTTP/1.1 200") and b"mxc://" in answer

    async def too_much():
        for _ in range(20):
            yield chunk * 2
    async with hs.session.post(hs.url + "/_matrix/media/v3/upload", data=too_much(),
                               headers={"Authorization": f"Bearer {alice.token}"}) as resp:
        assert resp.status == 413
    assert held(hs)["rows"] == 1 and len(stored_files(hs)) == 1
    # A declared length over the limit, with a client that sends it.
    status, body = await upload(alice, b"x" * (LIMIT + 1))
    assert status == 413 and body["errcode"] == "M_TOO_LARGE"
    assert held(hs)["rows"] == 1 and len(stored_files(hs)) == 1
    await still_serving(hs)


async def test_svg_and_html_are_attachments_with_csp(homeserver):
    alice = await homeserver.user("alice")
    bob = await homeserver.user("bob")
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    html = b"<html><body><script>fetch('/steal?'+document.cookie)</script></body></html>"
    for data, ctype in ((svg, "image/svg+xml"), (html, "text/html"),
                        (html, "text/html; charset=utf-8"), (html, "application/xhtml+xml"),
                        (svg, "text/xml")):
        server, media_id = await uploaded(alice, data, ctype, "x.html")
        for path in (f"{C1}/download/{server}/{media_id}",
                     f"{C1}/download/{server}/{media_id}/y.svg"):
            status, headers, body = await get(bob, path)
            assert status == 200 and body == data
            assert headers["Content-Disposition"].startswith("attachment"), ctype
            assert headers["Content-Security-Policy"] == CSP
            assert headers["X-Content-Type-Options"] == "nosniff"
        # No thumbnail is made of them.
        status, _, body = await get(bob, f"{C1}/thumbnail/{server}/{media_id}"
                                         "?width=32&height=32")
        assert status == 400
    # HTML claiming to be a PNG is stored as application/octet-stream: an attachment.
    server, media_id = await uploaded(alice, html, "image/png")
    status, headers, _ = await get(bob, f"{C1}/download/{server}/{media_id}")
    assert headers["Content-Type"] == "application/octet-stream"
    assert headers["Content-Disposition"] == "attachment"
    # A JPEG claiming to be a PNG is stored as what it is.
    server, media_id = await uploaded(alice, png_bytes(10, 10, "JPEG"), "image/png")
    status, headers, _ = await get(bob, f"{C1}/download/{server}/{media_id}")
    assert headers["Content-Type"] == "image/jpeg"
    # A malformed Content-Type is not echoed back.
    for weird in ("text/html<script>", "/", "a" * 300 + "/b", "text"):
        server, media_id = await uploaded(alice, html, weird)
        status, headers, _ = await get(bob, f"{C1}/download/{server}/{media_id}")
        assert headers["Content-Type"] == "application/octet-stream", weird
        assert headers["Content-Disposition"] == "attachment"


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + \
        struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


async def test_images_that_are_not_images_get_no_thumbnail(homeserver):
    alice = await homeserver.user("alice")
    real = png_bytes(100, 100)
    bomb = io.BytesIO()
    Image.new("1", (6000, 6000)).save(bomb, "PNG")  # 36 megapixels in a few KB
    huge_header = b"\x89PNG\r\n\x1a\n" + png_chunk(
        b"IHDR", struct.pack(">IIBBBBB", 100000, 100000, 8, 2, 0, 0, 0)) + \
        png_chunk(b"IEND", b"")
    cases = {
        "not a png": (b"GIF89a but really text" * 10, "image/png"),
        "truncated png": (real[:200], "image/png"),
        "corrupt png": (real[:60] + bytes(len(real) - 60), "image/png"),
        "bomb": (bomb.getvalue(), "image/png"),
        "header bomb": (huge_header, "image/png"),
        "tiff claimed png": (b"II*\x00" + b"\0" * 100, "image/png"),
        "png magic, octet-stream": (real[:8] + b"junk" * 100, "application/octet-stream"),
    }
    for label, (data, ctype) in cases.items():
        server, media_id = await uploaded(alice, data, ctype)
        status, headers, body = await get(
            alice, f"{C1}/thumbnail/{server}/{media_id}?width=96&height=96&method=crop")
        assert status == 400, (label, status, body)
        assert headers["Content-Security-Policy"] == CSP
        await still_serving(homeserver)
    # No thumbnail file was written for any of them.
    assert not [f for f in stored_files(homeserver) if f.startswith("thumbnails")]


async def test_path_traversal_in_media_ids(homeserver, tmp_path):
    alice = await homeserver.user("alice")
    server, media_id = await uploaded(alice, b"fine")
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"TOP SECRET")
    bad = [
        f"{server}/..%2F..%2F..%2Fsecret.txt", f"{server}/..%2F..%2Fhomeserver.db",
        f"{server}/a%2F..%2Fb", f"{server}/..", f"{server}/.", f"{server}/%2E%2E",
        f"{server}/{media_id}%00", f"{server}/{'a' * 300}", f"{server}/a.b",
        f"..%2F..%2F/{media_id}", "..%2F..%2Fsecret.txt/x", f"%2E%2E/{media_id}",
        f"{server}%2F..%2F..%2F/{media_id}", f"bad%20name/{media_id}",
    ]
    for p in bad:
        for prefix in (f"{C1}/download/", f"{C1}/thumbnail/"):
            url = yarl.URL(homeserver.url + prefix + p + "?width=32&height=32", encoded=True)
            async with homeserver.session.get(
                    url, headers={"Authorization": f"Bearer {alice.token}"}) as resp:
                body = await resp.read()
                assert resp.status in (400, 404), (p, resp.status)
                assert b"TOP SECRET" not in body and b"SQLite" not in body
    # a/../b with the dots as sent (no client-side normalising).
    url = yarl.URL(f"{homeserver.url}{C1}/download/{server}/a/../{media_id}", encoded=True)
    async with homeserver.session.get(
            url, headers={"Authorization": f"Bearer {alice.token}"}) as resp:
        assert resp.status in (400, 404) or await resp.read() == b"fine"
    assert held(homeserver)["rows"] == 1
    await still_serving(homeserver)


class HostileOrigin(KeyedServer):
    """A federating server whose media answers are whatever the test wants."""

    def __init__(self):
        super().__init__()
        self.fetches = 0
        self.auth_headers: list[str] = []
        router = self.server.app.router
        router.add_get(F1 + "/media/download/{media_id}", self.media)
        router.add_get("/elsewhere/{what}", self.elsewhere)

    async def elsewhere(self, request):
        size = int(request.match_info["what"])
        return web.Response(body=b"\x02" * size, content_type="application/octet-stream")

    async def media(self, request):
        self.fetches += 1
        self.auth_headers.append(request.headers.get("Authorization", ""))
        kind = request.match_info["media_id"]
        boundary = "b0undary"
        meta = f"--{boundary}\r\nContent-Type: application/json\r\n\r\n{{}}\r\n".encode()
        if kind == "garbage":
            return web.Response(body=b"<html>nope</html>", content_type="text/html")
        if kind == "badmeta":
            meta = f"--{boundary}\r\nContent-Type: application/json\r\n\r\n[1,\r\n".encode()
        if kind.startswith("loc"):
            target = {"locbig": f"{self.url}/elsewhere/{10 * LIMIT}",
                      "locsmall": f"{self.url}/elsewhere/1000",
                      "locfile": "file:///etc/passwd",
                      "locprivate": "http://10.255.255.1/x"}[kind]
            body = meta + f"--{boundary}\r\nLocation: {target}\r\n\r\n\r\n--{boundary}--\r\n" \
                .encode()
            return web.Response(body=body,
                                content_type=f"multipart/mixed; boundary={boundary}")
        size = 10 * LIMIT if kind == "big" else 5000
        if kind == "slow":
            await asyncio.sleep(0.5)
        resp = web.StreamResponse(headers={
            "Content-Type": f"multipart/mixed; boundary={boundary}"})
        await resp.prepare(request)
        await resp.write(meta + f"--{boundary}\r\nContent-Type: image/png\r\n\r\n".encode())
        for _ in range(size // 5000):
            await resp.write(b"\x03" * 5000)
        await resp.write(f"\r\n--{boundary}--\r\n".encode())
        return resp


async def test_hostile_remote_media(make_homeserver):
    origin = HostileOrigin()
    await origin.start()
    try:
        hs = await make_homeserver("a", federation={"servers": {origin.name: origin.url},
                                                    "request_timeout_seconds": 10}, **SMALL)
        alice = await hs.user("alice")

        async def dl(media_id):
            return await get(alice, f"{C1}/download/{origin.name}/{media_id}")
        # 10 MB when the limit is 1 MB: refused, nothing kept.
        status, _, body = await dl("big")
        assert status == 502 and b"M_TOO_LARGE" in body
        assert origin.auth_headers[-1].startswith(f'X-Matrix origin="{hs.server_name}"')
        status, _, body = await dl("locbig")
        assert status == 502 and b"M_TOO_LARGE" in body
        for kind in ("garbage", "badmeta", "locfile", "locprivate"):
            status, _, body = await dl(kind)
            assert status == 502, (kind, body)
        assert held(hs)["rows"] == 0 and stored_files(hs) == []
        await still_serving(hs)
        # A Location to a plain URL is followed (through the same guarded client).
        status, _, body = await dl("locsmall")
        assert status == 200 and body == b"\x02" * 1000
        # Concurrent downloads of the same media share one fetch; then it is cached.
        before = origin.fetches
        answers = await asyncio.gather(*[dl("slow") for _ in range(5)])
        assert all(a[0] == 200 and a[2] == b"\x03" * 5000 for a in answers)
        status, _, _ = await dl("slow")
        assert status == 200 and origin.fetches == before + 1
        assert held(hs)["rows"] == 2
    finally:
        await origin.close()


async def test_federation_media_endpoint_needs_x_matrix(make_homeserver, http_session):
    origin = KeyedServer()
    await origin.start()
    try:
        hs = await make_homeserver("a", federation={"servers": {origin.name: origin.url}})
        alice = await hs.user("alice")
        server, media_id = await uploaded(alice, b"for servers", "text/plain", "a.txt")
        path = f"{F1}/media/download/{media_id}"
        async with http_session.get(hs.url + path) as resp:
            assert resp.status == 401
        status, body = await origin.request(http_session, hs.url, hs.server_name, "GET", path)
        assert status == 200
        text = body["_text"]
        assert "application/json" in text and "for servers" in text
        assert 'inline; filename="a.txt"' in text
        status, body = await origin.request(http_session, hs.url, hs.server_name, "GET",
                                            f"{F1}/media/download/..%2Fx")
        assert status in (400, 404)
        # Thumbnails too, of images only.
        _, png_id = await uploaded(alice, png_bytes(400, 300), "image/png")
        thumb = f"{F1}/media/thumbnail/{png_id}?width=96&height=96&method=crop"
        async with http_session.get(hs.url + thumb) as resp:
            assert resp.status == 401
        auth = sign_request(origin.key, "GET", thumb, origin.name, hs.server_name, None)
        async with http_session.get(yarl.URL(hs.url + thumb, encoded=True),
                                    headers={"Authorization": auth}) as resp:
            assert resp.status == 200 and resp.content_type == "multipart/mixed"
            raw = await resp.read()
        png = raw[raw.index(b"\x89PNG"):raw.rindex(b"\r\n--")]
        assert Image.open(io.BytesIO(png)).size == (96, 96)
        status, body = await origin.request(
            http_session, hs.url, hs.server_name, "GET",
            f"{F1}/media/thumbnail/{media_id}?width=96&height=96")
        assert status == 400
        # Another server's media (even if cached here) is not served on: only our own.
        status, body = await origin.request(http_session, hs.url, hs.server_name, "GET",
                                            f"{F1}/media/download/nosuchmedia")
        assert status == 404 and body["errcode"] == "M_NOT_FOUND"
    finally:
        await origin.close()
