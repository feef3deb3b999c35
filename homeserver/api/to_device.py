"""Client API: ``PUT /sendToDevice/{eventType}/{txnId}``."""
from __future__ import annotations

from aiohttp import web

from ..handlers.to_device import ToDeviceHandler
from .http import json_response, read_json, requester

C = "/_matrix/client/{v:(r0|v3)}"


class ToDeviceServlets:
    def __init__(self, to_device: ToDeviceHandler, max_body: int):
        self.to_device = to_device
        self.max_body = max_body

    def routes(self) -> list[web.RouteDef]:
        return [web.put(C + "/sendToDevice/{event_type}/{txn_id}", self.send)]

    async def send(self, request):
        req = requester(request)
        # canonical: it may travel in a signed federation request, which has no floats
        body = await read_json(request, self.max_body, canonical=True)
        self.to_device.send(req, request.match_info["event_type"],
                            request.match_info["txn_id"], body)
        return json_response({})
