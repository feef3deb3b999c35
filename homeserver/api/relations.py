"""Client API: /relations, /threads (v1) and /context."""
from __future__ import annotations

from aiohttp import web

from ..errors import InvalidParam
from ..handlers.context import ContextHandler
from ..handlers.relations import RelationsHandler
from .http import int_param, json_response, requester

V1 = "/_matrix/client/v1/rooms/{room_id}"
C = "/_matrix/client/{v:(r0|v3)}/rooms/{room_id}"


class RelationServlets:
    def __init__(self, relations: RelationsHandler, context: ContextHandler):
        self.relations = relations
        self.context_handler = context

    def routes(self) -> list[web.RouteDef]:
        rel = V1 + "/relations/{event_id}"
        return [
            web.get(rel, self.get_relations),
            web.get(rel + "/{rel_type}", self.get_relations),
            web.get(rel + "/{rel_type}/{event_type}", self.get_relations),
            web.get(V1 + "/threads", self.threads),
            web.get(C + "/context/{event_id}", self.context),
        ]

    async def get_relations(self, request):
        req = requester(request)
        q = request.query
        recurse = q.get("recurse", q.get("org.matrix.msc3981.recurse", "false"))
        if recurse not in ("true", "false"):
            raise InvalidParam("recurse must be 'true' or 'false'")
        m = request.match_info
        return json_response(self.relations.get_relations(
            req, m["room_id"], m["event_id"], rel_type=m.get("rel_type"),
            event_type=m.get("event_type"), from_token=q.get("from"), to_token=q.get("to"),
            limit=int_param(request, "limit", 5), direction=q.get("dir", "b"),
            recurse=recurse == "true"))

    async def threads(self, request):
        req = requester(request)
        q = request.query
        return json_response(self.relations.get_threads(
            req, request.match_info["room_id"], q.get("include", "all"), q.get("from"),
            int_param(request, "limit", 5)))

    async def context(self, request):
        req = requester(request)
        return json_response(self.context_handler.context(
            req, request.match_info["room_id"], request.match_info["event_id"],
            int_param(request, "limit", 10), request.query.get("filter")))
