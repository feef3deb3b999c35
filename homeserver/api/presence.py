"""Client API: presence (a user's online / unavailable / offline and status message)."""
from __future__ import annotations

from aiohttp import web

from ..handlers.presence import PresenceHandler
from .http import json_response, read_json, requester

C = "/_matrix/client/{v:(r0|v3)}"
SMALL = 65536


class PresenceServlets:
    def __init__(self, presence: PresenceHandler):
        self.presence = presence

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get(C + "/presence/{user_id}/status", self.get_status),
            web.put(C + "/presence/{user_id}/status", self.put_status),
        ]

    async def get_status(self, request):
        req = requester(request)
        return json_response(self.presence.get_status(req, request.match_info["user_id"]))

    async def put_status(self, request):
        req = requester(request)
        body = await read_json(request, SMALL)
        self.presence.set_status(req, request.match_info["user_id"], body)
        return json_response({})
