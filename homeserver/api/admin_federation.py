"""Synapse's admin API for federation destinations: list, one, reset_connection. Admins only
(see admin.py); the rules are in homeserver/handlers/admin_federation.py."""
from __future__ import annotations

from aiohttp import web

from ..errors import InvalidParam
from ..handlers.admin_federation import AdminDestinations
from .admin import MAX_LIMIT, A, AdminAuth, direction, nonneg_int
from .http import json_response

D = A + "/v1/federation/destinations"


class AdminFederationServlets:
    def __init__(self, destinations: AdminDestinations, auth: AdminAuth):
        self.destinations = destinations
        self.auth = auth

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get(D, self.list_destinations),
            web.get(D + "/{destination}", self.destination),
            web.get(D + "/{destination}/rooms", self.rooms),
            web.post(D + "/{destination}/reset_connection", self.reset_connection),
        ]

    async def list_destinations(self, request):
        self.auth(request)
        q = request.query
        search = q.get("destination")
        if search is not None and len(search) > 255:
            raise InvalidParam("destination is too long")
        return json_response(self.destinations.list(
            nonneg_int(request, "from", 0), min(nonneg_int(request, "limit", 100), MAX_LIMIT),
            q.get("order_by", "destination"), direction(request), search))

    async def destination(self, request):
        self.auth(request)
        return json_response(self.destinations.get(request.match_info["destination"]))

    async def reset_connection(self, request):
        self.auth(request)
        return json_response(self.destinations.reset_connection(
            request.match_info["destination"]))

    async def rooms(self, request):
        self.auth(request)
        return json_response(self.destinations.rooms(
            request.match_info["destination"], nonneg_int(request, "from", 0),
            min(nonneg_int(request, "limit", 100), MAX_LIMIT), direction(request)))
