"""The media repository's pure rules: media IDs, sniffing, content types, how a file is served
(inline or as an attachment), thumbnail sizes, and the Pillow thumbnailer.

Only four image formats are ever decoded, each by its own Pillow plugin, chosen from the file's
magic bytes (never from a client's or a remote server's Content-Type): PNG, JPEG, GIF and WebP.
Nothing else is handed to an image library (CVE-2024-53863: Synapse thumbnailed whatever
Pillow could open, so every format plugin was attack surface). The pixel count is checked from
the header before anything is decoded.
"""
from __future__ import annotations

import io
import math
import re
import secrets
import warnings
from pathlib import Path
from urllib.parse import quote

from PIL import Image

# The spec's media ID grammar (the opaque part of an mxc URI), bounded: nothing else ever
# reaches a file name, so ``..``, ``/`` and ``%2F`` cannot name a path outside the store.
MEDIA_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,255}")
MAX_FILENAME = 255
MAX_PIXELS = 24_000_000  # 24 megapixels: a large photo; bombs are refused before decoding
Image.MAX_IMAGE_PIXELS = MAX_PIXELS  # Pillow's own bomb check, as a second line

# sniffed type -> the one Pillow plugin allowed to open it
THUMBNAIL_FORMATS = {"image/png": "PNG", "image/jpeg": "JPEG", "image/gif": "GIF",
                     "image/webp": "WEBP"}
# Declared types that must match the magic bytes (apng is a PNG).
CHECKED_IMAGE_TYPES = {"image/png": "image/png", "image/apng": "image/png",
                       "image/jpeg": "image/jpeg", "image/jpg": "image/jpeg",
                       "image/pjpeg": "image/jpeg", "image/gif": "image/gif",
                       "image/webp": "image/webp"}
# Served inline; everything else (SVG, HTML, XML, PDF, scripts...) as an attachment.
INLINE_TYPES = frozenset({
    "text/css", "text/plain", "text/csv", "application/json", "application/ld+json",
    "image/jpeg", "image/gif", "image/png", "image/apng", "image/webp", "image/avif",
    "video/mp4", "video/webm", "video/ogg", "video/quicktime",
    "audio/mp4", "audio/webm", "audio/aac", "audio/mpeg", "audio/ogg", "audio/wave",
    "audio/wav", "audio/x-wav", "audio/x-pn-wav", "audio/flac", "audio/x-flac"})
_CONTENT_TYPE_RE = re.compile(r"[A-Za-z0-9!#$&^_.+-]{1,64}/[A-Za-z0-9!#$&^_.+-]{1,64}"
                              r"(\s*;\s*[ -~]{0,120})?")
_SAFE_ASCII_NAME = re.compile(r"[A-Za-z0-9._ ()-]{1,255}")

# Standard thumbnail sizes (as Synapse's defaults): a request gets the smallest that covers it,
# so a client cannot make us store a thumbnail for every width and height.
THUMBNAIL_SIZES = [(32, 32, "crop"), (96, 96, "crop"), (320, 240, "scale"),
                   (640, 480, "scale"), (800, 600, "scale")]


class ThumbnailError(Exception):
    """The file could not be thumbnailed (not an image we decode, too big, or corrupt)."""


def new_media_id() -> str:
    return secrets.token_urlsafe(18)  # 24 characters of [A-Za-z0-9_-]


def valid_media_id(media_id: str) -> bool:
    return MEDIA_ID_RE.fullmatch(media_id) is not None


def sniff_image(head: bytes) -> str | None:
    """The image type the magic bytes say, for the four types we may decode; else None."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def media_type(content_type: str) -> str:
    """``image/png; x=y`` -> ``image/png``."""
    return content_type.split(";", 1)[0].strip().lower()


def checked_content_type(declared: str | None, head: bytes) -> str:
    """The type to store for an upload: the client's, unless it is malformed (then
    application/octet-stream) or claims an image type the bytes contradict (then the sniffed
    image type, or application/octet-stream if the bytes are no image we know)."""
    if not declared or _CONTENT_TYPE_RE.fullmatch(declared.strip()) is None:
        return "application/octet-stream"
    declared = declared.strip()
    expected = CHECKED_IMAGE_TYPES.get(media_type(declared))
    if expected is None:
        return declared
    sniffed = sniff_image(head)
    if sniffed == expected:
        return declared
    return sniffed or "application/octet-stream"


def valid_filename(name: str) -> bool:
    return 0 < len(name) <= MAX_FILENAME and not any(
        ord(ch) < 32 or ord(ch) == 127 or ch in "/\\" for ch in name)


def content_disposition(content_type: str, filename: str | None) -> str:
    """``inline`` only for types a browser cannot run script from; else ``attachment``."""
    kind = "inline" if media_type(content_type) in INLINE_TYPES else "attachment"
    if not filename or not valid_filename(filename):
        return kind
    if _SAFE_ASCII_NAME.fullmatch(filename):
        return f'{kind}; filename="{filename}"'
    return f"{kind}; filename*=utf-8''{quote(filename, safe='')}"


def thumbnail_size(width: int, height: int, method: str) -> tuple[int, int, str]:
    """The standard size a request is served from: the smallest of the method's sizes that is
    at least as large as asked, else the largest; crop falls back to scale sizes."""
    same = [s for s in THUMBNAIL_SIZES if s[2] == method] or THUMBNAIL_SIZES
    for w, h, m in same:
        if w >= width and h >= height:
            return w, h, m
    if method == "crop":
        return thumbnail_size(width, height, "scale")
    return same[-1]


def make_thumbnail(path: Path, sniffed: str, width: int, height: int,
                   method: str) -> tuple[bytes, str]:
    """Decode ``path`` (already sniffed as ``sniffed``) and return (thumbnail bytes, its
    content type). Blocking: run it in a thread. Never upscales."""
    fmt = THUMBNAIL_FORMATS.get(sniffed)
    if fmt is None:
        raise ThumbnailError(f"{sniffed} is not an image type we thumbnail")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path, formats=[fmt]) as im:
                w, h = im.size
                if w < 1 or h < 1 or w * h > MAX_PIXELS:
                    raise ThumbnailError(f"image of {w}x{h} pixels is over the limit")
                if fmt == "JPEG":
                    im.draft("RGB", (width, height))  # decode at a reduced scale
                im.seek(0)
                im.load()
                out = _resize(im, width, height, method)
    except ThumbnailError:
        raise
    except (OSError, ValueError, SyntaxError, EOFError, MemoryError,
            Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise ThumbnailError(f"cannot decode the image: {e}") from None
    buf = io.BytesIO()
    if fmt == "JPEG":
        out.convert("RGB").save(buf, "JPEG", quality=85)
        return buf.getvalue(), "image/jpeg"
    if out.mode not in ("RGB", "RGBA", "L", "LA", "P"):
        out = out.convert("RGBA")
    out.save(buf, "PNG")
    return buf.getvalue(), "image/png"


def _resize(im: Image.Image, width: int, height: int, method: str) -> Image.Image:
    w, h = im.size
    if method == "crop":
        scale = min(1.0, max(width / w, height / h))
        nw, nh = max(1, math.ceil(w * scale)), max(1, math.ceil(h * scale))
        resized = im.resize((nw, nh), Image.Resampling.LANCZOS) if scale < 1 else im.copy()
        cw, ch = min(width, nw), min(height, nh)
        left, top = (nw - cw) // 2, (nh - ch) // 2
        return resized.crop((left, top, left + cw, top + ch))
    out = im.copy()
    out.thumbnail((width, height), Image.Resampling.LANCZOS)
    return out
