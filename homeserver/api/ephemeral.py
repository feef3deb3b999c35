"""Client API: receipts, read markers and typing (a room's ephemeral events)."""
from __future__ import annotations

from aiohttp import web

from ..handlers.receipts import ReceiptHandler
from ..handlers.typing import TypingHandler
from .http import json_response, read_json, read_optional_json, requester

C = "/_matrix/client/{v:(r0|v3)}"
SMALL = 65536


class EphemeralServlets:
    def __init__(self, receipts: ReceiptHandler, typing: TypingHandler):
        self.receipts = receipts
        self.typing = typing

    def routes(self) -> list[web.RouteDef]:
        R = C + "/rooms/{room_id}"
        return [
            web.put(R + "/typing/{user_id}", self.set_typing),
            web.post(R + "/receipt/{type}/{event_id}", self.receipt),
            web.post(R + "/read_markers", self.read_markers),
        ]

    async def set_typing(self, request):
        req = requester(request)
        body = await read_json(request, SMALL)
        self.typing.set_typing(req, request.match_info["room_id"],
                               request.match_info["user_id"], body)
        return json_response({})

    async def receipt(self, request):
        req = requester(request)
        body = await read_optional_json(request, SMALL)
        self.receipts.send_receipt(req, request.match_info["room_id"], request.match_info["type"],
                                   request.match_info["event_id"], body)
        return json_response({})

    async def read_markers(self, request):
        req = requester(request)
        body = await read_json(request, SMALL)
        self.receipts.set_read_markers(req, request.match_info["room_id"], body)
        return json_response({})
