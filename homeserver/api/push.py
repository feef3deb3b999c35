"""Client API: push rules (``/pushrules/``) and pushers (``/pushers``, ``/pushers/set``)."""
from __future__ import annotations

from aiohttp import web

from ..handlers.push import PushRulesHandler
from .http import json_response, read_json, requester

C = "/_matrix/client/{v:(r0|v3)}"
SMALL = 65536


class PushServlets:
    def __init__(self, rules: PushRulesHandler):
        self.rules = rules

    def routes(self) -> list[web.RouteDef]:
        P = C + "/pushrules"
        R = P + "/{scope}/{kind}/{rule_id}"
        return [
            web.get(P + "/", self.all_rules),
            web.get(P, self.all_rules),
            web.get(P + "/{scope}/", self.scope_rules),
            web.get(P + "/{scope}", self.scope_rules),
            web.get(P + "/{scope}/{kind}/", self.kind_rules),
            web.get(P + "/{scope}/{kind}", self.kind_rules),
            web.get(R, self.get_rule),
            web.put(R, self.put_rule),
            web.delete(R, self.delete_rule),
            web.get(R + "/{attr:(enabled|actions)}", self.get_attribute),
            web.put(R + "/{attr:(enabled|actions)}", self.set_attribute),
            web.get(C + "/pushers", self.pushers),
            web.post(C + "/pushers/set", self.set_pusher),
        ]

    @staticmethod
    def _rule_path(request) -> tuple[str, str, str]:
        m = request.match_info
        return m["scope"], m["kind"], m["rule_id"]

    async def all_rules(self, request):
        return json_response(self.rules.all_rules(requester(request)))

    async def scope_rules(self, request):
        return json_response(self.rules.scope_rules(requester(request),
                                                    request.match_info["scope"]))

    async def kind_rules(self, request):
        m = request.match_info
        return json_response(self.rules.kind_rules(requester(request), m["scope"], m["kind"]))

    async def get_rule(self, request):
        return json_response(self.rules.get_rule(requester(request), *self._rule_path(request)))

    async def put_rule(self, request):
        req = requester(request)
        body = await read_json(request, SMALL)
        self.rules.put_rule(req, *self._rule_path(request), body,
                            request.query.get("before"), request.query.get("after"))
        return json_response({})

    async def delete_rule(self, request):
        self.rules.delete_rule(requester(request), *self._rule_path(request))
        return json_response({})

    async def get_attribute(self, request):
        return json_response(self.rules.get_attribute(
            requester(request), *self._rule_path(request), request.match_info["attr"]))

    async def set_attribute(self, request):
        req = requester(request)
        body = await read_json(request, SMALL)
        self.rules.set_attribute(req, *self._rule_path(request), request.match_info["attr"],
                                 body)
        return json_response({})

    async def pushers(self, request):
        return json_response({"pushers": self.rules.pushers(requester(request))})

    async def set_pusher(self, request):
        req = requester(request)
        body = await read_json(request, SMALL)
        self.rules.set_pusher(req, body)
        return json_response({})
