"""Client API: devices (list, get, rename, delete behind user-interactive auth)."""
from __future__ import annotations

from aiohttp import web

from ..handlers.devices import DeviceHandler
from .http import json_response, read_json, read_optional_json, requester

C = "/_matrix/client/{v:(r0|v3)}"
SMALL = 65536


class DeviceServlets:
    def __init__(self, devices: DeviceHandler):
        self.devices = devices

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get(C + "/devices", self.list_devices),
            web.get(C + "/devices/{device_id}", self.get_device),
            web.put(C + "/devices/{device_id}", self.put_device),
            web.delete(C + "/devices/{device_id}", self.delete_device),
            web.post(C + "/delete_devices", self.delete_devices),
        ]

    async def list_devices(self, request):
        return json_response(self.devices.list_devices(requester(request)))

    async def get_device(self, request):
        return json_response(self.devices.get_device(requester(request),
                                                     request.match_info["device_id"]))

    async def put_device(self, request):
        req = requester(request)
        body = await read_json(request, SMALL)
        self.devices.rename(req, request.match_info["device_id"], body)
        return json_response({})

    async def delete_device(self, request):
        req = requester(request)
        body = await read_optional_json(request, SMALL)
        await self.devices.delete_device(req, request.match_info["device_id"], body)
        return json_response({})

    async def delete_devices(self, request):
        req = requester(request)
        body = await read_json(request, SMALL)
        await self.devices.delete_devices(req, body)
        return json_response({})
