"""Client API: versions, registration, login, logout, whoami, profiles, account data, filters,
and Synapse's shared-secret admin registration."""
from __future__ import annotations

from aiohttp import web

from ..config import Config
from ..errors import InvalidParam, MatrixError, NotFound
from ..handlers.account_data import AccountDataHandler
from ..handlers.accounts import USER_ID, AccountHandler
from ..handlers.ratelimit import RateLimiter
from .http import client_ip, guest_ok, json_response, read_json, read_optional_json, requester

C = "/_matrix/client/{v:(r0|v3)}"
SMALL = 65536


class AccountServlets:
    def __init__(self, config: Config, accounts: AccountHandler,
                 account_data: AccountDataHandler, login_limiter: RateLimiter,
                 register_limiter: RateLimiter, guest_limiter: RateLimiter):
        self.config = config
        self.accounts = accounts
        self.account_data = account_data
        self.login_limiter = login_limiter
        self.register_limiter = register_limiter
        self.guest_limiter = guest_limiter  # register?kind=guest, per client IP

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/_matrix/client/versions", self.versions),
            web.get(C + "/login", self.login_flows),
            web.post(C + "/login", self.login),
            web.post(C + "/logout", self.logout),
            web.post(C + "/logout/all", self.logout_all),
            web.post(C + "/register", self.register),
            web.get(C + "/register/available", self.register_available),
            web.get(C + "/account/whoami", self.whoami),
            web.get(C + "/capabilities", self.capabilities),
            web.get(C + "/profile/{user_id}", self.get_profile),
            web.get(C + "/profile/{user_id}/{field:(displayname|avatar_url)}",
                    self.get_profile_field),
            web.put(C + "/profile/{user_id}/{field:(displayname|avatar_url)}",
                    self.put_profile_field),
            web.get(C + "/user/{user_id}/account_data/{type}", self.get_account_data),
            web.put(C + "/user/{user_id}/account_data/{type}", self.put_account_data),
            web.get(C + "/user/{user_id}/rooms/{room_id}/account_data/{type}",
                    self.get_account_data),
            web.put(C + "/user/{user_id}/rooms/{room_id}/account_data/{type}",
                    self.put_account_data),
            web.post(C + "/user/{user_id}/filter", self.post_filter),
            web.get(C + "/user/{user_id}/filter/{filter_id}", self.get_filter),
            web.get("/_synapse/admin/v1/register", self.admin_nonce),
            web.post("/_synapse/admin/v1/register", self.admin_register),
        ]

    @guest_ok
    async def versions(self, request):
        # v1.11 matters: Element-class clients pick the authenticated media paths from it, and
        # those are the only ones we serve (v1.10's /relations recurse is in too).
        return json_response({"versions": ["r0.6.1", "v1.1", "v1.2", "v1.3", "v1.4", "v1.5",
                                           "v1.6", "v1.7", "v1.8", "v1.9", "v1.10", "v1.11"],
                              "unstable_features": {"org.audiorooms": True,
                                                    # authenticated media (MSC3916)
                                                    "org.matrix.msc3916.stable": True}})

    @guest_ok
    async def capabilities(self, request):
        requester(request)
        return json_response({"capabilities": {
            "m.change_password": {"enabled": False},
            "m.room_versions": {"default": "org.audiorooms.1",
                                "available": {"org.audiorooms.1": "stable"}}}})

    @guest_ok
    async def login_flows(self, request):
        return json_response({"flows": [{"type": "m.login.password"}]})

    @guest_ok
    async def login(self, request):
        self.login_limiter.check(client_ip(request))
        body = await read_json(request, SMALL)
        return json_response(await self.accounts.login(body))

    @guest_ok
    async def logout(self, request):
        self.accounts.logout(requester(request))
        return json_response({})

    async def logout_all(self, request):
        self.accounts.logout_all(requester(request))
        return json_response({})

    @guest_ok
    async def register(self, request):
        kind = request.query.get("kind", "user")
        if kind == "guest":
            if self.accounts.guests_enabled:  # refused at once if off, costing no slot
                self.guest_limiter.check(client_ip(request))
            body = await read_optional_json(request, SMALL)
        else:
            self.register_limiter.check(client_ip(request))
            body = await read_json(request, SMALL)
        return json_response(await self.accounts.register_request(kind, body))

    @guest_ok
    async def register_available(self, request):
        username = request.query.get("username")
        if not username:
            raise MatrixError("username is required", "M_MISSING_PARAM", 400)
        self.accounts.check_username_available(username)
        return json_response({"available": True})

    @guest_ok
    async def whoami(self, request):
        req = requester(request)
        return json_response({"user_id": req.user_id, "device_id": req.device_id,
                              "is_guest": req.is_guest})

    def _user_param(self, request) -> str:
        user_id = request.match_info["user_id"]
        if not USER_ID.match(user_id) or len(user_id) > 255:
            raise InvalidParam(f"{user_id!r} is not a valid user ID")
        return user_id

    @guest_ok
    async def get_profile(self, request):
        return json_response(await self.accounts.get_any_profile(self._user_param(request)))

    @guest_ok
    async def get_profile_field(self, request):
        profile = await self.accounts.get_any_profile(self._user_param(request))
        field = request.match_info["field"]
        if field not in profile:
            raise NotFound(f"No {field} set for this user")
        return json_response({field: profile[field]})

    async def put_profile_field(self, request):
        req = requester(request)
        user_id = self._user_param(request)
        field = request.match_info["field"]
        body = await read_json(request, SMALL)
        if field not in body:
            raise MatrixError(f"{field} is required", "M_MISSING_PARAM", 400)
        self.accounts.set_profile_field(req, user_id, field, body[field])
        return json_response({})

    async def get_account_data(self, request):
        req = requester(request)
        return json_response(self.account_data.get(
            req, self._user_param(request), request.match_info.get("room_id", ""),
            request.match_info["type"]))

    async def put_account_data(self, request):
        req = requester(request)
        user_id = self._user_param(request)
        body = await read_json(request, self.config.limits.max_event_bytes)
        self.account_data.put(req, user_id, request.match_info.get("room_id", ""),
                              request.match_info["type"], body)
        return json_response({})

    async def post_filter(self, request):
        req = requester(request)
        user_id = self._user_param(request)
        body = await read_json(request, SMALL)
        return json_response({"filter_id": self.account_data.add_filter(req, user_id, body)})

    async def get_filter(self, request):
        req = requester(request)
        return json_response(self.account_data.get_filter(
            req, self._user_param(request), request.match_info["filter_id"]))

    async def admin_nonce(self, request):
        return json_response({"nonce": self.accounts.new_nonce()})

    async def admin_register(self, request):
        body = await read_json(request, SMALL)
        return json_response(await self.accounts.admin_register(body))
