"""The Matrix media repository's HTTP endpoints: upload, authenticated download, thumbnail and
config for clients, and the X-Matrix authenticated download/thumbnail for other servers.

The legacy unauthenticated ``/_matrix/media/v3/download`` and ``/thumbnail`` answer 404
``M_NOT_FOUND``, as the spec (v1.11) lets a server do for media uploaded after its "freeze":
all of ours is. Every answer of a media endpoint, errors included, carries a sandboxing
Content-Security-Policy, ``nosniff`` and a cross-origin resource policy; a file is served inline
only if its type cannot run script (media_rules.INLINE_TYPES), else as an attachment.
"""
from __future__ import annotations

import functools
import secrets

from aiohttp import web

from federation.media import envelope

from ..errors import MatrixError, MissingParam, NotFound
from ..handlers.content_repo import ContentRepository
from ..handlers.media_rules import content_disposition
from .http import CORS_HEADERS, error_response, guest_ok, int_param, json_response, requester

C1 = "/_matrix/client/v1/media"
LEGACY = "/_matrix/media/{v:(r0|v1|v3)}"
F1 = "/_matrix/federation/v1/media"
UPLOAD_CHUNK = 64 * 1024
SECURITY_HEADERS = {
    "Content-Security-Policy": "sandbox; default-src 'none'; script-src 'none'; "
                               "plugin-types application/pdf; style-src 'unsafe-inline'; "
                               "media-src 'self'; object-src 'self';",
    "X-Content-Type-Options": "nosniff",
    "Cross-Origin-Resource-Policy": "cross-origin",
}
# Media never changes under its ID; authenticated media is for the requester only.
CACHE_CONTROL = "private, max-age=31536000, immutable"


def media_endpoint(handler):
    """Adds the security headers to every answer, errors included."""
    @functools.wraps(handler)
    async def wrapped(self, request):
        try:
            resp = await handler(self, request)
        except MatrixError as e:
            resp = error_response(e)
        if not resp.prepared:  # a streamed answer set them itself
            resp.headers.update(SECURITY_HEADERS)
        return resp
    return wrapped


class ContentRepoServlets:
    def __init__(self, repo: ContentRepository, federation_servlets):
        self.repo = repo
        self.fed = federation_servlets  # its authenticate() checks X-Matrix

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post(LEGACY + "/upload", self.upload),
            web.post("/_matrix/media/v1/create", self.create),
            web.put(LEGACY + "/upload/{server_name}/{media_id}", self.upload),
            web.get(LEGACY + "/config", self.config),
            web.get(LEGACY + "/download/{tail:.*}", self.legacy),
            web.get(LEGACY + "/thumbnail/{tail:.*}", self.legacy),
            web.get(C1 + "/config", self.config),
            web.get(C1 + "/download/{server_name}/{media_id}", self.download),
            web.get(C1 + "/download/{server_name}/{media_id}/{file_name}", self.download),
            web.get(C1 + "/thumbnail/{server_name}/{media_id}", self.thumbnail),
            web.get(F1 + "/download/{media_id}", self.federation_download),
            web.get(F1 + "/thumbnail/{media_id}", self.federation_thumbnail),
        ]

    @media_endpoint
    async def upload(self, request):
        req = requester(request)
        media_id = request.match_info.get("media_id")  # PUT: the bytes of a /create
        if media_id is not None:
            self.repo.check_pending(request.match_info["server_name"], media_id, req.user_id)
        upload = self.repo.begin_upload(request.content_length)  # 413 before reading a byte
        try:
            async for chunk in request.content.iter_chunked(UPLOAD_CHUNK):
                upload.write(chunk)
            uri = self.repo.finish_upload(upload, req.user_id,
                                          request.headers.get("Content-Type"),
                                          request.query.get("filename"), media_id)
        finally:
            upload.discard()
        return json_response({} if media_id else {"content_uri": uri})

    @media_endpoint
    async def create(self, request):
        return json_response(self.repo.create(requester(request).user_id))

    @guest_ok
    @media_endpoint
    async def config(self, request):
        requester(request)
        return json_response(self.repo.config())

    @media_endpoint
    async def legacy(self, request):
        raise NotFound("Unauthenticated media is not served: use /_matrix/client/v1/media")

    @guest_ok
    @media_endpoint
    async def download(self, request):
        requester(request)
        m = request.match_info
        media = await self.repo.get(m["server_name"], m["media_id"], _allow_remote(request))
        name = m.get("file_name") or media.info.upload_name
        return _file(media.path, media.info.content_type,
                     content_disposition(media.info.content_type, name))

    @guest_ok
    @media_endpoint
    async def thumbnail(self, request):
        requester(request)
        m = request.match_info
        width, height = _required_int(request, "width"), _required_int(request, "height")
        path, ctype = await self.repo.thumbnail(
            m["server_name"], m["media_id"], width, height,
            request.query.get("method", "scale"), _allow_remote(request))
        return _file(path, ctype, content_disposition(ctype, None))

    @media_endpoint
    async def federation_download(self, request):
        await self.fed.authenticate(request)
        media = self.repo.get_local(request.match_info["media_id"])
        info = media.info
        with open(media.path, "rb") as f:
            return await _multipart(request, f, info.size, info.content_type,
                                    content_disposition(info.content_type, info.upload_name))

    @media_endpoint
    async def federation_thumbnail(self, request):
        await self.fed.authenticate(request)
        media = self.repo.get_local(request.match_info["media_id"])
        path, ctype = await self.repo.thumbnail_of(
            media, _required_int(request, "width"), _required_int(request, "height"),
            request.query.get("method", "scale"))
        with open(path, "rb") as f:
            size = path.stat().st_size
            return await _multipart(request, f, size, ctype, content_disposition(ctype, None))


def _allow_remote(request: web.Request) -> bool:
    return request.query.get("allow_remote", "true").lower() != "false"


def _required_int(request: web.Request, name: str) -> int:
    value = int_param(request, name)
    if value is None:
        raise MissingParam(f"'{name}' is required")
    return value


def _file(path, content_type: str, disposition: str) -> web.FileResponse:
    """The file with Range, ETag and conditional requests (aiohttp's FileResponse)."""
    return web.FileResponse(path, headers={
        **CORS_HEADERS, "Content-Type": content_type, "Content-Disposition": disposition,
        "Cache-Control": CACHE_CONTROL})


async def _multipart(request: web.Request, f, size: int, content_type: str,
                     disposition: str) -> web.StreamResponse:
    boundary = secrets.token_hex(16)
    head, tail = envelope(boundary, content_type, disposition)
    resp = web.StreamResponse(headers={
        "Content-Type": f"multipart/mixed; boundary={boundary}",
        "Content-Length": str(len(head) + size + len(tail)), **SECURITY_HEADERS})
    await resp.prepare(request)
    await resp.write(head)
    sent = 0
    while sent < size and (chunk := f.read(min(UPLOAD_CHUNK, size - sent))):
        await resp.write(chunk)
        sent += len(chunk)
    await resp.write(tail)
    await resp.write_eof()
    return resp
