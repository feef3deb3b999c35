"""Client API: the user directory, TURN credentials, the well-known files and reports."""
from __future__ import annotations

from aiohttp import web

from ..config import Config
from ..handlers.reports import ReportHandler
from ..handlers.user_directory import UserDirectoryHandler
from ..handlers.voip import TurnHandler
from ..handlers.well_known import client_well_known, server_well_known
from .http import guest_ok, json_response, read_json, read_optional_json, requester

C = "/_matrix/client/{v:(r0|v3)}"
SMALL = 65536


class ClientMiscServlets:
    def __init__(self, config: Config, directory: UserDirectoryHandler, turn: TurnHandler,
                 reports: ReportHandler):
        self.config = config
        self.directory = directory
        self.turn = turn
        self.reports = reports

    def routes(self) -> list[web.RouteDef]:
        R = C + "/rooms/{room_id}"
        return [
            web.post(C + "/user_directory/search", self.user_directory_search),
            web.get(C + "/voip/turnServer", self.turn_server),
            web.get("/.well-known/matrix/client", self.well_known_client),
            web.get("/.well-known/matrix/server", self.well_known_server),
            web.post(R + "/report/{event_id}", self.report_event),
            web.post(R + "/report", self.report_room),
        ]

    async def user_directory_search(self, request):
        req = requester(request)
        body = await read_json(request, SMALL)
        return json_response(self.directory.search(req, body))

    @guest_ok
    async def turn_server(self, request):
        return json_response(self.turn.turn_server(requester(request)))

    async def well_known_client(self, request):
        return json_response(client_well_known(self.config))

    async def well_known_server(self, request):
        return json_response(server_well_known(self.config))

    async def report_event(self, request):
        req = requester(request)
        body = await read_optional_json(request, SMALL)
        self.reports.report_event(req, request.match_info["room_id"],
                                  request.match_info["event_id"], body)
        return json_response({})

    async def report_room(self, request):
        req = requester(request)
        body = await read_json(request, SMALL)
        self.reports.report_room(req, request.match_info["room_id"], body)
        return json_response({})
