"""Federation media (the spec's authenticated media, server-server part).

``GET /_matrix/federation/v1/media/download/{mediaId}`` (and ``/thumbnail/{mediaId}``) answer
``multipart/mixed``: a first part of JSON metadata (``{}`` today), then a second part that is
either the bytes (with their own Content-Type and Content-Disposition) or empty with a
``Location`` header: a URL the file can be fetched from without authentication.

Receiving: ``download`` streams the file into a sink, counting bytes as they arrive and stopping
at the limit (MediaTooLarge), so a server answering more than it may costs us at most the limit.
A ``Location`` is followed once, only to an http(s) URL, through the same federation client (so
the same address guard) and with no further redirects. Sending: ``envelope`` gives the bytes
that go before and after the file.
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlencode

import aiohttp

from .client import FederationClient, RemoteServerError
from .exceptions import FederationError

METADATA_MAX_BYTES = 64 * 1024
CHUNK = 64 * 1024
_BOUNDARY_RE = re.compile(r"[0-9A-Za-z'()+_,./:=?-]{1,70}")
_FILENAME_RE = re.compile(r"filename\*?=(?:utf-8'')?\"?([^\";]*)\"?", re.IGNORECASE)


class MediaTooLarge(FederationError):
    """The remote file is over the size limit; nothing more of it is read."""


class BadMediaResponse(RemoteServerError):
    """The answer is not the multipart response the spec describes."""


@dataclass(frozen=True)
class RemoteMedia:
    content_type: str | None
    filename: str | None
    size: int


def envelope(boundary: str, content_type: str, disposition: str,
             metadata: dict | None = None) -> tuple[bytes, bytes]:
    """The multipart/mixed framing around a file: (bytes before it, bytes after it)."""
    if _BOUNDARY_RE.fullmatch(boundary) is None:
        raise ValueError("invalid multipart boundary")
    meta = json.dumps(metadata or {}, separators=(",", ":"))
    head = (f"--{boundary}\r\nContent-Type: application/json\r\n\r\n{meta}\r\n"
            f"--{boundary}\r\nContent-Type: {content_type}\r\n"
            f"Content-Disposition: {disposition}\r\n\r\n").encode()
    return head, f"\r\n--{boundary}--\r\n".encode()


def filename_of(disposition: str | None) -> str | None:
    """The file name a Content-Disposition gives, if any (percent-decoded)."""
    if not disposition:
        return None
    m = _FILENAME_RE.search(disposition)
    if not m or not m.group(1):
        return None
    return unquote(m.group(1))[:255] or None


async def download(client: FederationClient, origin: str, media_id: str,
                   sink: Callable[[bytes], None], max_bytes: int,
                   thumbnail: dict | None = None) -> RemoteMedia:
    """Fetch ``media_id`` from ``origin`` into ``sink``; at most ``max_bytes`` of it."""
    path = f"/_matrix/federation/v1/media/{'thumbnail' if thumbnail else 'download'}/" \
           f"{quote(media_id, safe='')}"
    if thumbnail:
        path += "?" + urlencode(thumbnail)
    async with client.stream(origin, path) as resp:
        if resp.status != 200:
            raise RemoteServerError(f"{origin} answered {resp.status} for media {media_id}",
                                    resp.status)
        if resp.content_type != "multipart/mixed":
            raise BadMediaResponse(f"{origin} answered {resp.content_type}, not"
                                   " multipart/mixed", resp.status)
        try:
            reader = aiohttp.MultipartReader(resp.headers, resp.content)
            meta_part = await reader.next()
            if not isinstance(meta_part, aiohttp.BodyPartReader):
                raise BadMediaResponse(f"{origin}: no metadata part")
            raw = bytearray()
            while chunk := await meta_part.read_chunk(8192):
                raw += chunk
                if len(raw) > METADATA_MAX_BYTES:
                    raise BadMediaResponse(f"{origin}: metadata part too large")
            try:
                if not isinstance(json.loads(raw), dict):
                    raise ValueError("not an object")
            except (ValueError, RecursionError):
                raise BadMediaResponse(f"{origin}: metadata part is not a JSON object") \
                    from None
            part = await reader.next()
            if not isinstance(part, aiohttp.BodyPartReader):
                raise BadMediaResponse(f"{origin}: no file part")
            ctype = part.headers.get("Content-Type")
            name = filename_of(part.headers.get("Content-Disposition"))
            location = part.headers.get("Location")
            if location:
                return await _follow(client, origin, location, sink, max_bytes)
            size = 0
            while chunk := await part.read_chunk(CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise MediaTooLarge(f"{origin}: media {media_id} is over {max_bytes} bytes")
                sink(chunk)
            return RemoteMedia(ctype, name, size)
        except (ValueError, AssertionError) as e:  # aiohttp's multipart parser on garbage
            raise BadMediaResponse(f"{origin}: malformed multipart answer: {e}") from None


async def _follow(client: FederationClient, origin: str, location: str,
                  sink: Callable[[bytes], None], max_bytes: int) -> RemoteMedia:
    async with client.stream(origin, "", url=location) as resp:
        if resp.status != 200:
            raise RemoteServerError(f"{origin}'s media location answered {resp.status}",
                                    resp.status)
        if resp.content_length is not None and resp.content_length > max_bytes:
            raise MediaTooLarge(f"{origin}: media is over {max_bytes} bytes")
        size = 0
        while chunk := await resp.content.read(CHUNK):
            size += len(chunk)
            if size > max_bytes:
                raise MediaTooLarge(f"{origin}: media is over {max_bytes} bytes")
            sink(chunk)
        return RemoteMedia(resp.headers.get("Content-Type"),
                           filename_of(resp.headers.get("Content-Disposition")), size)
