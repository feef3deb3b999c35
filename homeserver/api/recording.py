"""Clips of recorded audio rooms: the client endpoint and the host's federation endpoint."""
from __future__ import annotations

from aiohttp import web

from ..handlers.recording import CLIP_PATH, RecordingHandler
from .http import json_response, read_json, requester

U = "/_matrix/client/unstable/org.audiorooms"


class RecordingServlets:
    def __init__(self, recording: RecordingHandler, federation_servlets, max_body: int = 4096):
        self.recording = recording
        self.fed = federation_servlets
        self.max_body = max_body

    def routes(self) -> list[web.RouteDef]:
        return [web.post(U + "/rooms/{room_id}/clip", self.clip),
                web.post(CLIP_PATH + "{room_id}", self.remote_clip)]

    async def clip(self, request):
        req = requester(request)
        body = await read_json(request, self.max_body)
        return json_response(await self.recording.clip(req, request.match_info["room_id"],
                                                       body))

    async def remote_clip(self, request):
        origin, body = await self.fed.authenticate(request, self.max_body)
        return json_response(await self.recording.clip_for_remote(
            origin, request.match_info["room_id"], body or {}))
