"""Synapse's admin API (``/_synapse/admin``) for accounts, registration tokens, event reports
and server notices; rooms are in admin_rooms.py. Every route answers 401 without a token and
403 ``M_FORBIDDEN`` to anyone but a server admin. Rules are in homeserver/handlers/admin*.py."""
from __future__ import annotations

from aiohttp import web

from ..errors import InvalidParam, MatrixError
from ..handlers.accounts import Requester
from ..handlers.admin import AdminHandler
from ..handlers.admin_rooms import AdminRooms
from ..handlers.ratelimit import RateLimiter
from ..handlers.registration_tokens import RegistrationTokens, parse_bool
from ..storage.admin import USER_ORDER
from .http import guest_ok, json_response, read_json, read_optional_json, requester

A = "/_synapse/admin"
SMALL = 65536
MAX_LIMIT = 10_000


def nonneg_int(request: web.Request, name: str, default: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or len(raw) > 15:
        raise InvalidParam(f"Query parameter {name} must be a string representing a positive"
                           " integer.")
    return int(raw)


def direction(request: web.Request, default: str = "f") -> bool:
    """True for backwards (dir=b)."""
    d = request.query.get("dir", default)
    if d not in ("f", "b"):
        raise InvalidParam("Unknown direction: dir must be 'f' or 'b'")
    return d == "b"


class AdminAuth:
    """Who may use the admin API: shared by the admin servlets."""

    def __init__(self, admin: AdminHandler):
        self.admin = admin

    def __call__(self, request: web.Request) -> Requester:
        req = requester(request)
        self.admin.require_admin(req)
        return req


class AccountDeactivationServlet:
    """The client API's own deactivation (``POST /account/deactivate``, behind
    user-interactive auth): any user, for their own account; the admin deactivation's path."""

    def __init__(self, admin: AdminHandler):
        self.admin = admin

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/_matrix/client/{v:(r0|v3)}/account/deactivate", self.deactivate)]

    async def deactivate(self, request):
        req = requester(request)
        body = await read_optional_json(request, SMALL)
        await self.admin.deactivate_own(req, body)
        # no identity server binding is kept here, so none was removed
        return json_response({"id_server_unbind_result": "no-support"})


class AdminServlets:
    def __init__(self, admin: AdminHandler, rooms: AdminRooms, tokens: RegistrationTokens,
                 validity_limiter: RateLimiter, registration_open: bool):
        self.admin = admin
        self.rooms = rooms
        self.tokens = tokens
        self.auth = AdminAuth(admin)
        self.validity_limiter = validity_limiter
        self.registration_open = registration_open

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get(A + "/v2/users", self.list_users),
            web.get(A + "/v2/users/{user_id}", self.get_user),
            web.put(A + "/v2/users/{user_id}", self.put_user),
            web.post(A + "/v1/deactivate/{user_id}", self.deactivate),
            web.post(A + "/v1/reset_password/{user_id}", self.reset_password),
            web.get(A + "/v1/whois/{user_id}", self.whois),
            web.get(A + "/v1/users/{user_id}/admin", self.get_admin_flag),
            web.get(A + "/v1/users/{user_id}/joined_rooms", self.joined_rooms),
            web.get(A + "/v2/users/{user_id}/devices", self.devices),
            web.delete(A + "/v2/users/{user_id}/devices/{device_id}", self.delete_device),
            web.get(A + "/v1/users/{user_id}/pushers", self.pushers),
            web.get(A + "/v1/users/{user_id}/media", self.media),
            web.put(A + "/v1/users/{user_id}/admin", self.put_admin_flag),
            web.get(A + "/v1/server_version", self.server_version),
            web.get(A + "/v1/statistics/users/media", self.media_statistics),
            web.post(A + "/v1/send_server_notice", self.server_notice),
            web.put(A + "/v1/send_server_notice/{txn_id}", self.server_notice),
            web.get(A + "/v1/registration_tokens", self.list_tokens),
            web.post(A + "/v1/registration_tokens/new", self.new_token),
            web.get(A + "/v1/registration_tokens/{token}", self.get_token),
            web.put(A + "/v1/registration_tokens/{token}", self.put_token),
            web.delete(A + "/v1/registration_tokens/{token}", self.delete_token),
            web.get(A + "/v1/event_reports", self.list_reports),
            web.get(A + "/v1/event_reports/{report_id}", self.get_report),
            web.delete(A + "/v1/event_reports/{report_id}", self.delete_report),
            web.get("/_matrix/client/v1/register/m.login.registration_token/validity",
                    self.token_validity),
        ]

    # users ---------------------------------------------------------------------------------

    async def list_users(self, request):
        self.auth(request)
        q = request.query
        order_by = q.get("order_by", "name")
        if order_by not in USER_ORDER:
            raise InvalidParam(f"order_by must be one of {', '.join(USER_ORDER)}")
        guests = parse_bool(q.get("guests"), "guests")
        return json_response(self.admin.list_users(
            nonneg_int(request, "from", 0), min(nonneg_int(request, "limit", 100), MAX_LIMIT),
            q.get("name"), q.get("user_id"), True if guests is None else guests,
            bool(parse_bool(q.get("deactivated"), "deactivated")),
            parse_bool(q.get("admins"), "admins"), order_by, direction(request)))

    async def get_user(self, request):
        self.auth(request)
        return json_response(self.admin.get_user(request.match_info["user_id"]))

    async def put_user(self, request):
        req = self.auth(request)
        body = await read_json(request, SMALL)
        status, out = await self.admin.put_user(req, request.match_info["user_id"], body)
        return json_response(out, status)

    async def deactivate(self, request):
        self.auth(request)
        body = await read_optional_json(request, SMALL)
        erase = body.get("erase", False)
        if not isinstance(erase, bool):
            raise MatrixError("Param 'erase' must be a boolean, if given", "M_BAD_JSON")
        await self.admin.deactivate(request.match_info["user_id"], erase)
        return json_response({"id_server_unbind_result": "success"})

    async def reset_password(self, request):
        req = self.auth(request)
        body = await read_json(request, SMALL)
        await self.admin.reset_password(req, request.match_info["user_id"], body)
        return json_response({})

    async def whois(self, request):
        req = requester(request)  # a user may ask about themself, as in Synapse
        return json_response(self.admin.whois(req, request.match_info["user_id"]))

    async def get_admin_flag(self, request):
        self.auth(request)
        user = self.admin.get_user(request.match_info["user_id"])
        return json_response({"admin": user["admin"]})

    async def put_admin_flag(self, request):
        req = self.auth(request)
        body = await read_json(request, SMALL)
        if not isinstance(body.get("admin"), bool):
            raise MatrixError("Param 'admin' must be a boolean", "M_MISSING_PARAM")
        await self.admin.put_user(req, request.match_info["user_id"], {"admin": body["admin"]})
        return json_response({})

    async def joined_rooms(self, request):
        self.auth(request)
        return json_response(self.admin.joined_rooms(request.match_info["user_id"]))

    async def devices(self, request):
        self.auth(request)
        return json_response(self.admin.list_devices(request.match_info["user_id"]))

    async def delete_device(self, request):
        self.auth(request)
        self.admin.delete_device(request.match_info["user_id"], request.match_info["device_id"])
        return json_response({})

    async def pushers(self, request):
        self.auth(request)
        return json_response(self.admin.pushers(request.match_info["user_id"]))

    async def media(self, request):
        self.auth(request)
        return json_response(self.admin.media(
            request.match_info["user_id"], nonneg_int(request, "from", 0),
            min(nonneg_int(request, "limit", 100), MAX_LIMIT), direction(request)))

    async def media_statistics(self, request):
        self.auth(request)
        q = request.query
        order_by = q.get("order_by", "user_id")
        if order_by not in ("user_id", "displayname", "media_length", "media_count"):
            raise InvalidParam("order_by must be user_id, displayname, media_length or"
                               " media_count")
        return json_response(self.admin.media_statistics(
            nonneg_int(request, "from", 0), min(nonneg_int(request, "limit", 100), MAX_LIMIT),
            order_by, direction(request), q.get("search_term")))

    @guest_ok
    async def server_version(self, request):
        return json_response({"server_version": "audiorooms"})

    async def server_notice(self, request):
        self.auth(request)
        body = await read_json(request, SMALL)
        return json_response(self.rooms.send_server_notice(body))

    # registration tokens -------------------------------------------------------------------

    async def list_tokens(self, request):
        self.auth(request)
        valid = parse_bool(request.query.get("valid"), "valid")
        return json_response(self.tokens.list_tokens(valid))

    async def new_token(self, request):
        self.auth(request)
        body = await read_optional_json(request, SMALL)
        return json_response(self.tokens.create(body))

    async def get_token(self, request):
        self.auth(request)
        return json_response(self.tokens.get(request.match_info["token"]))

    async def put_token(self, request):
        self.auth(request)
        body = await read_optional_json(request, SMALL)
        return json_response(self.tokens.update(request.match_info["token"], body))

    async def delete_token(self, request):
        self.auth(request)
        self.tokens.delete(request.match_info["token"])
        return json_response({})

    @guest_ok
    async def token_validity(self, request):
        self.validity_limiter.check(request.remote or "?")
        if not self.registration_open:
            raise MatrixError("Registration has been disabled", "M_FORBIDDEN", 403)
        token = request.query.get("token")
        if token is None:
            raise MatrixError("Missing string query parameter 'token'", "M_MISSING_PARAM")
        return json_response({"valid": self.tokens.is_valid(token)})

    # event reports -------------------------------------------------------------------------

    async def list_reports(self, request):
        self.auth(request)
        q = request.query
        return json_response(self.admin.list_reports(
            nonneg_int(request, "from", 0), min(nonneg_int(request, "limit", 100), MAX_LIMIT),
            direction(request, "b"), q.get("room_id"), q.get("user_id")))

    def _report_id(self, request) -> int:
        raw = request.match_info["report_id"]
        if not raw.isdigit() or len(raw) > 15:
            raise InvalidParam("The report_id parameter must be a string representing a"
                               " positive integer.")
        return int(raw)

    async def get_report(self, request):
        self.auth(request)
        return json_response(self.admin.get_report(self._report_id(request)))

    async def delete_report(self, request):
        self.auth(request)
        self.admin.delete_report(self._report_id(request))
        return json_response({})
