"""Client and federation API: end-to-end encryption keys (upload, query, claim, changes,
cross-signing) and device lists for other servers. Key backups: api/room_keys.py."""
from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from ..handlers.cross_signing import CrossSigning
from ..handlers.e2e_keys import E2EKeysHandler
from ..handlers.sync import parse_token
from .http import json_response, read_json, requester

C = "/_matrix/client/{v:(r0|v3)}"
F1 = "/_matrix/federation/v1"
BODY = 262144


class KeyServlets:
    def __init__(self, keys: E2EKeysHandler, cross_signing: CrossSigning,
                 current_position: Callable[[], int],
                 authenticate: Callable[..., Awaitable[tuple[str, dict | None]]]):
        self.keys = keys
        self.cross_signing = cross_signing
        self.current_position = current_position
        self.authenticate = authenticate  # X-Matrix (api/federation.py)

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post(C + "/keys/upload", self.upload),
            web.post(C + "/keys/upload/{device_id}", self.upload),
            web.post(C + "/keys/query", self.query),
            web.post(C + "/keys/claim", self.claim),
            web.get(C + "/keys/changes", self.changes),
            web.post(C + "/keys/device_signing/upload", self.device_signing_upload),
            web.post("/_matrix/client/unstable/keys/device_signing/upload",
                     self.device_signing_upload),
            web.post(C + "/keys/signatures/upload", self.signatures_upload),
            web.post("/_matrix/client/unstable/keys/signatures/upload",
                     self.signatures_upload),
            web.post(F1 + "/user/keys/query", self.federation_query),
            web.post(F1 + "/user/keys/claim", self.federation_claim),
            web.get(F1 + "/user/devices/{user_id}", self.federation_user_devices),
        ]

    async def upload(self, request):
        req = requester(request)
        body = await read_json(request, BODY)
        return json_response(self.keys.upload(req, body))

    async def query(self, request):
        req = requester(request)
        return json_response(await self.keys.query(req, await read_json(request, BODY)))

    async def claim(self, request):
        req = requester(request)
        return json_response(await self.keys.claim(req, await read_json(request, BODY)))

    async def changes(self, request):
        req = requester(request)
        since = parse_token(request.query.get("from"), "from") or 0
        to = parse_token(request.query.get("to"), "to")
        upto = min(self.current_position(), self.current_position() if to is None else to)
        return json_response(self.keys.device_lists.changes(req.user_id, since, upto))

    async def device_signing_upload(self, request):
        req = requester(request)
        await self.cross_signing.upload(req, await read_json(request, BODY))
        return json_response({})

    async def signatures_upload(self, request):
        req = requester(request)
        return json_response(await self.cross_signing.upload_signatures(
            req, await read_json(request, BODY)))

    async def federation_query(self, request):
        origin, body = await self.authenticate(request, BODY)
        return json_response(self.keys.federation_query(origin, body or {}))

    async def federation_claim(self, request):
        origin, body = await self.authenticate(request, BODY)
        return json_response(self.keys.federation_claim(origin, body or {}))

    async def federation_user_devices(self, request):
        origin, _ = await self.authenticate(request)
        return json_response(self.keys.federation_user_devices(
            origin, request.match_info["user_id"]))
