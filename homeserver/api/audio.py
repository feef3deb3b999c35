"""Unstable audio-room endpoints under /_matrix/client/unstable/org.audiorooms."""
from __future__ import annotations

from aiohttp import web

from ..handlers.audio import AudioRoomHandler
from .http import guest_ok, int_param, json_response, read_json, requester

U = "/_matrix/client/unstable/org.audiorooms"


class AudioServlets:
    def __init__(self, audio: AudioRoomHandler):
        self.audio = audio

    def routes(self) -> list[web.RouteDef]:
        return [web.get(U + "/hallway", self.hallway)]

    @guest_ok
    async def hallway(self, request):
        requester(request)
        q = request.query
        limit = int_param(request, "limit")
        return json_response(await self.audio.hallway(
            20 if limit is None else limit, q.get("since"), q.get("club"),
            q.get("refresh") == "true"))


class MediaServlets:
    """Client audio sessions and the federation relay endpoint (X-Matrix verified)."""

    def __init__(self, media, federation_servlets, max_body: int = 65536 + 1024):
        self.media = media
        self.fed = federation_servlets
        self.max_body = max_body

    def routes(self) -> list[web.RouteDef]:
        R = U + "/rooms/{room_id}"
        return [
            web.post(R + "/media", self.open_session),
            web.put(R + "/media/{session_id}", self.renegotiate_session),
            web.delete(R + "/media/{session_id}", self.close_session),
            web.get(R + "/speakers", self.speakers),
            web.post("/_matrix/federation/unstable/org.audiorooms/media/{room_id}/relay",
                     self.relay),
        ]

    @guest_ok
    async def open_session(self, request):
        req = requester(request)
        body = await read_json(request, self.max_body)
        return json_response(await self.media.open_session(
            req, request.match_info["room_id"], body))

    @guest_ok
    async def renegotiate_session(self, request):
        req = requester(request)
        body = await read_json(request, self.max_body)
        return json_response(await self.media.renegotiate_session(
            req, request.match_info["room_id"], request.match_info["session_id"], body))

    @guest_ok
    async def close_session(self, request):
        req = requester(request)
        await self.media.close_session(req, request.match_info["room_id"],
                                       request.match_info["session_id"])
        return json_response({})

    @guest_ok
    async def speakers(self, request):
        req = requester(request)
        return json_response(await self.media.speakers(req, request.match_info["room_id"]))

    async def relay(self, request):
        origin, body = await self.fed.authenticate(request, self.max_body)
        return json_response(await self.media.accept_relay(
            origin, request.match_info["room_id"], body or {}))
