"""The media repository's pure parts: media IDs, sniffing and content types, inline or
attachment, thumbnail sizes and the thumbnailer's refusals, mxc URIs, the federation multipart
framing, and the config section."""
from __future__ import annotations

import email
import io
from pathlib import Path

import pytest
from PIL import Image

from federation.media import envelope, filename_of
from homeserver.config import ConfigError, config_from_dict, media_store_path
from homeserver.handlers.accounts import is_mxc_uri
from homeserver.handlers.media_rules import (
    ThumbnailError,
    checked_content_type,
    content_disposition,
    make_thumbnail,
    new_media_id,
    sniff_image,
    thumbnail_size,
    valid_media_id,
)


def image_bytes(fmt: str, size=(40, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 10, 10)).save(buf, fmt)
    return buf.getvalue()


def test_media_ids():
    for _ in range(50):
        assert valid_media_id(new_media_id())
    for bad in ("", "..", ".", "a/b", "a/../b", "..%2F..%2Fetc%2Fpasswd", "a\0", "a.b",
                "a" * 256, "é", " a", "a\\b"):
        assert not valid_media_id(bad), bad
    assert valid_media_id("AbC-_09")


@pytest.mark.parametrize("fmt,ctype", [("PNG", "image/png"), ("JPEG", "image/jpeg"),
                                       ("GIF", "image/gif"), ("WEBP", "image/webp")])
def test_sniffing(fmt, ctype):
    data = image_bytes(fmt)
    assert sniff_image(data[:16]) == ctype
    assert checked_content_type(ctype, data[:64]) == ctype


def test_declared_types_checked_against_the_bytes():
    png, jpeg = image_bytes("PNG")[:64], image_bytes("JPEG")[:64]
    html = b"<html><script>alert(1)</script></html>"
    assert sniff_image(html) is None and sniff_image(b"") is None
    assert checked_content_type("image/png", html) == "application/octet-stream"
    assert checked_content_type("image/png", jpeg) == "image/jpeg"
    assert checked_content_type("IMAGE/PNG; x=1", png) == "IMAGE/PNG; x=1"
    assert checked_content_type("image/apng", png) == "image/apng"
    # Types we do not check are kept (and served as attachments unless inline-safe).
    assert checked_content_type("image/svg+xml", html) == "image/svg+xml"
    assert checked_content_type("text/plain", png) == "text/plain"
    for bad in (None, "", "text", "/", "text/html<x>", "a" * 100 + "/b", "text/plain\r\nX: y"):
        assert checked_content_type(bad, png) == "application/octet-stream", bad


def test_content_disposition():
    assert content_disposition("image/png", "a.png") == 'inline; filename="a.png"'
    assert content_disposition("image/png; charset=x", None) == "inline"
    for ctype in ("image/svg+xml", "text/html", "application/xhtml+xml", "text/xml",
                  "application/pdf", "application/javascript", "application/octet-stream"):
        assert content_disposition(ctype, "x").startswith("attachment"), ctype
    assert content_disposition("text/plain", 'a"; b.html') == \
        "inline; filename*=utf-8''a%22%3B%20b.html"
    assert content_disposition("text/plain", "bad\r\nname") == "inline"
    assert content_disposition("text/plain", "x/../y") == "inline"


def test_thumbnail_sizes():
    assert thumbnail_size(32, 32, "crop") == (32, 32, "crop")
    assert thumbnail_size(50, 40, "crop") == (96, 96, "crop")
    assert thumbnail_size(200, 200, "crop") == (320, 240, "scale")
    assert thumbnail_size(100, 100, "scale") == (320, 240, "scale")
    assert thumbnail_size(5000, 5000, "scale") == (800, 600, "scale")


def test_thumbnailer_decodes_only_what_the_bytes_are(tmp_path: Path):
    gif = tmp_path / "g"
    gif.write_bytes(image_bytes("GIF", (400, 300)))
    data, ctype = make_thumbnail(gif, "image/gif", 96, 96, "crop")
    assert ctype == "image/png" and Image.open(io.BytesIO(data)).size == (96, 96)
    # Sniffed as PNG but it is a GIF: the PNG plugin alone may open it, so it is refused.
    with pytest.raises(ThumbnailError):
        make_thumbnail(gif, "image/png", 96, 96, "crop")
    # Formats we never decode, whatever Pillow could do with them.
    for other in ("BMP", "TIFF", "ICO", "PPM"):
        p = tmp_path / other
        p.write_bytes(image_bytes(other))
        for claimed in ("image/bmp", "image/tiff", "image/svg+xml", "application/pdf"):
            with pytest.raises(ThumbnailError):
                make_thumbnail(p, claimed, 32, 32, "scale")
        with pytest.raises(ThumbnailError):
            make_thumbnail(p, "image/png", 32, 32, "scale")


def test_thumbnailer_refuses_bombs_before_decoding(tmp_path: Path):
    bomb = tmp_path / "bomb"
    Image.new("L", (5000, 5000)).save(bomb, "PNG")  # 25 megapixels
    with pytest.raises(ThumbnailError):
        make_thumbnail(bomb, "image/png", 32, 32, "crop")
    jpeg = tmp_path / "j"
    jpeg.write_bytes(image_bytes("JPEG", (1000, 500)))
    data, ctype = make_thumbnail(jpeg, "image/jpeg", 320, 240, "scale")
    assert ctype == "image/jpeg" and Image.open(io.BytesIO(data)).size == (320, 160)


def test_mxc_uris():
    assert is_mxc_uri("mxc://example.org/abcDEF-_1")
    assert is_mxc_uri("mxc://127.0.0.1:8448/x")
    for bad in ("mxc://example.org", "mxc://example.org/", "mxc:///x", "http://e.org/x",
                "mxc://e.org/a/b", "mxc://e.org/..", "mxc://bad host/x", "mxc://e.org/a.png"):
        assert not is_mxc_uri(bad), bad


def test_multipart_envelope_parses_as_mime():
    head, tail = envelope("abc123", "image/png", 'inline; filename="a.png"')
    raw = b"Content-Type: multipart/mixed; boundary=abc123\r\n\r\n" + head + b"PNGDATA" + tail
    msg = email.message_from_bytes(raw)
    parts = msg.get_payload()
    assert [p.get_content_type() for p in parts] == ["application/json", "image/png"]
    assert parts[0].get_payload() == "{}" and parts[1].get_payload() == "PNGDATA"
    assert filename_of(parts[1]["Content-Disposition"]) == "a.png"
    assert filename_of("attachment; filename*=utf-8''%C3%A9.txt") == "é.txt"
    assert filename_of("inline") is None and filename_of(None) is None
    with pytest.raises(ValueError):
        envelope("bad boundary\r\n", "x/y", "inline")


def test_media_repository_config(tmp_path):
    cfg = config_from_dict({"server_name": "e.org", "database": {"path": "/d/hs.db"}})
    assert cfg.media_repository.max_upload_bytes == 50 * 1024 * 1024
    assert media_store_path(cfg) == Path("/d/media")
    cfg = config_from_dict({"server_name": "e.org", "media_repository": {
        "max_upload_bytes": 10, "store_path": str(tmp_path)}})
    assert media_store_path(cfg) == tmp_path and cfg.media_repository.max_upload_bytes == 10
    for bad in ({"max_upload_bytes": 0}, {"max_upload_bytes": "1"}, {"store": "x"}):
        with pytest.raises(ConfigError, match="media_repository"):
            config_from_dict({"server_name": "e.org", "media_repository": bad})
