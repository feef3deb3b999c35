"""Synapse's admin API for rooms: list, details, members, state, deletion (v1 at once, v2 in
the background with its delete_status). Admins only (see admin.py)."""
from __future__ import annotations

from aiohttp import web

from ..errors import InvalidParam
from ..handlers.admin_rooms import AdminRooms
from ..handlers.registration_tokens import parse_bool
from .admin import MAX_LIMIT, SMALL, A, AdminAuth, direction, nonneg_int
from .http import json_response, read_optional_json

R = "/{room_id:![^/]+}"


class AdminRoomServlets:
    def __init__(self, rooms: AdminRooms, auth: AdminAuth):
        self.rooms = rooms
        self.auth = auth

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get(A + "/v1/rooms", self.list_rooms),
            web.get(A + "/v1/rooms" + R, self.room),
            web.get(A + "/v1/rooms" + R + "/members", self.members),
            web.get(A + "/v1/rooms" + R + "/state", self.state),
            web.delete(A + "/v1/rooms" + R, self.delete_v1),
            web.delete(A + "/v2/rooms" + R, self.delete_v2),
            web.get(A + "/v2/rooms" + R + "/delete_status", self.delete_status),
            web.get(A + "/v2/rooms/delete_status/{delete_id}", self.delete_status_by_id),
        ]

    async def list_rooms(self, request):
        self.auth(request)
        q = request.query
        search = q.get("search_term")
        if search == "":
            raise InvalidParam("search_term cannot be an empty string")
        if search is not None and len(search) > 255:
            raise InvalidParam("search_term is too long")
        return json_response(self.rooms.list_rooms(
            nonneg_int(request, "from", 0), min(nonneg_int(request, "limit", 100), MAX_LIMIT),
            q.get("order_by", "name"), direction(request), search,
            parse_bool(q.get("public_rooms"), "public_rooms"),
            parse_bool(q.get("empty_rooms"), "empty_rooms")))

    async def room(self, request):
        self.auth(request)
        return json_response(self.rooms.room_details(request.match_info["room_id"]))

    async def members(self, request):
        self.auth(request)
        return json_response(self.rooms.members(request.match_info["room_id"]))

    async def state(self, request):
        self.auth(request)
        return json_response(self.rooms.state(request.match_info["room_id"]))

    async def delete_v1(self, request):
        req = self.auth(request)
        body = await read_optional_json(request, SMALL)
        return json_response(await self.rooms.delete_now(req, request.match_info["room_id"],
                                                         body))

    async def delete_v2(self, request):
        req = self.auth(request)
        body = await read_optional_json(request, SMALL)
        return json_response(self.rooms.start_delete(req, request.match_info["room_id"], body))

    async def delete_status(self, request):
        self.auth(request)
        return json_response(self.rooms.delete_status(request.match_info["room_id"]))

    async def delete_status_by_id(self, request):
        self.auth(request)
        return json_response(self.rooms.delete_status_by_id(request.match_info["delete_id"]))
