"""Client API: server-side room key backups, ``/room_keys/version[/{version}]`` and
``/room_keys/keys[/{roomId}[/{sessionId}]]?version=`` (rules in handlers/room_keys.py)."""
from __future__ import annotations

from aiohttp import web

from ..errors import NotFound
from ..handlers.room_keys import RoomKeysHandler, parse_version
from .http import json_response, read_json, requester

C = "/_matrix/client/{v:(r0|v3)}"
VERSION_BODY = 65536


class RoomKeyServlets:
    def __init__(self, room_keys: RoomKeysHandler, max_body: int):
        self.room_keys = room_keys
        self.max_body = max_body  # key uploads: limits.max_request_bytes

    def routes(self) -> list[web.RouteDef]:
        v, keys = C + "/room_keys/version", C + "/room_keys/keys"
        return [
            web.post(v, self.create_version),
            web.get(v, self.get_version),
            web.get(v + "/{version}", self.get_version),
            web.put(v + "/{version}", self.update_version),
            web.delete(v + "/{version}", self.delete_version),
            web.put(keys, self.put_keys),
            web.get(keys, self.get_keys),
            web.delete(keys, self.delete_keys),
            web.put(keys + "/{room_id}", self.put_keys),
            web.get(keys + "/{room_id}", self.get_keys),
            web.delete(keys + "/{room_id}", self.delete_keys),
            web.put(keys + "/{room_id}/{session_id}", self.put_keys),
            web.get(keys + "/{room_id}/{session_id}", self.get_keys),
            web.delete(keys + "/{room_id}/{session_id}", self.delete_keys),
            # Anything else under /room_keys: "none here", never M_UNRECOGNIZED (which
            # clients take for a server without backups at all).
            web.route("*", C + "/room_keys/{rest:.*}", self.not_found),
        ]

    async def create_version(self, request):
        req = requester(request)
        return json_response(self.room_keys.create_version(
            req, await read_json(request, VERSION_BODY)))

    async def get_version(self, request):
        req = requester(request)
        version = parse_version(request.match_info.get("version"), required=False)
        return json_response(self.room_keys.get_version(req, version))

    async def update_version(self, request):
        req = requester(request)
        version = parse_version(request.match_info["version"])
        assert version is not None
        return json_response(self.room_keys.update_version(
            req, version, await read_json(request, VERSION_BODY)))

    async def delete_version(self, request):
        req = requester(request)
        version = parse_version(request.match_info["version"])
        assert version is not None
        return json_response(self.room_keys.delete_version(req, version))

    @staticmethod
    def _where(request) -> tuple[int | None, str | None, str | None]:
        return (parse_version(request.query.get("version")),
                request.match_info.get("room_id"), request.match_info.get("session_id"))

    async def put_keys(self, request):
        req = requester(request)
        version, room_id, session_id = self._where(request)
        body = await read_json(request, self.max_body)
        return json_response(self.room_keys.put_keys(req, version, room_id, session_id, body))

    async def get_keys(self, request):
        req = requester(request)
        return json_response(self.room_keys.get_keys(req, *self._where(request)))

    async def delete_keys(self, request):
        req = requester(request)
        return json_response(self.room_keys.delete_keys(req, *self._where(request)))

    async def not_found(self, request):
        requester(request)
        raise NotFound("No such key backup resource")
