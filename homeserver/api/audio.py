"""Unstable audio-room endpoints under /_matrix/client/unstable/org.audiorooms."""
from __future__ import annotations

from aiohttp import web

from ..handlers.audio import AudioRoomHandler
from .http import int_param, json_response, requester

U = "/_matrix/client/unstable/org.audiorooms"


class AudioServlets:
    def __init__(self, audio: AudioRoomHandler):
        self.audio = audio

    def routes(self) -> list[web.RouteDef]:
        return [web.get(U + "/hallway", self.hallway)]

    async def hallway(self, request):
        requester(request)
        q = request.query
        return json_response(await self.audio.hallway(
            int_param(request, "limit", 20), q.get("since"), q.get("club"),
            q.get("refresh") == "true"))
