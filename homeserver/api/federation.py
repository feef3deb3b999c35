"""Server-server HTTP endpoints. Every federation request except key fetches must carry a valid
X-Matrix signature of its origin; the servlets only parse, authenticate and render."""
from __future__ import annotations

import asyncio
from collections.abc import Callable

from aiohttp import web

from federation.exceptions import SignatureError, XMatrixError
from federation.keyring import Keyring, NotaryRequestError
from federation.queue import OutboundQueue
from federation.xmatrix import parse_authorization, verify_request

from ..config import RateLimit
from ..errors import BadJson, InvalidParam, LimitExceeded, MatrixError
from ..handlers.accounts import AccountHandler
from ..handlers.directory import DirectoryHandler, PublicRoomsQuery
from ..handlers.federation import FederationHandler
from ..handlers.inbound_limit import InboundGate
from ..handlers.ratelimit import RateLimiter
from ..handlers.room_host import RoomHost
from .http import client_ip, int_param, json_response, read_json

# match_info is already percent-decoded once (see api/rooms.py); X-Matrix signatures cover
# request.raw_path, which stays as sent.
F1 = "/_matrix/federation/v1"
F2 = "/_matrix/federation/v2"
TXN_LIMIT = 50 * 65536 + 100 * 65536  # 50 PDUs and 100 EDUs at their size limit


class Unauthorized(MatrixError):
    status, errcode = 401, "M_UNAUTHORIZED"


def claimed_origin(request: web.Request) -> str:
    """The origin an X-Matrix header names (not yet verified), or "" if there is none."""
    try:
        return parse_authorization(request.headers.get("Authorization", "")).origin
    except XMatrixError:
        return ""


class FederationServlets:
    def __init__(self, server_name: str, handler: FederationHandler, host: RoomHost,
                 keyring: Keyring, queue: OutboundQueue, accounts: AccountHandler,
                 directory: DirectoryHandler, inbound: InboundGate, max_body: int = 1048576,
                 notary_fetches: RateLimiter | None = None):
        self.server_name = server_name
        # the notary's outbound key fetches, per requester (client IP)
        self.notary_fetches = notary_fetches or RateLimiter(RateLimit(0.5, 20))
        self.inbound = inbound  # how many transactions are worked on at once, per origin
        self.handler = handler
        self.host = host
        self.keyring = keyring
        self.queue = queue
        self.accounts = accounts
        self.directory = directory
        self.max_body = max_body

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/_matrix/key/v2/server", self.key_server),
            web.get("/_matrix/key/v2/server/{key_id}", self.key_server),
            web.get("/_matrix/key/v2/query/{server_name}", self.key_query_get),
            web.get("/_matrix/key/v2/query/{server_name}/{key_id}", self.key_query_get),
            web.post("/_matrix/key/v2/query", self.key_query_post),
            web.get(F1 + "/version", self.version),
            web.put(F1 + "/send/{txn_id}", self.send_transaction),
            web.get(F1 + "/make_join/{room_id}/{user_id}", self.make_join),
            web.put(F2 + "/send_join/{room_id}/{event_id}", self.send_join),
            web.put(F2 + "/invite/{room_id}/{event_id}", self.invite),
            web.get(F1 + "/state/{room_id}", self.state),
            web.get(F1 + "/state_ids/{room_id}", self.state_ids),
            web.get(F1 + "/event/{event_id}", self.event),
            web.get(F1 + "/backfill/{room_id}", self.backfill),
            web.get(F1 + "/query/profile", self.query_profile),
            web.get(F1 + "/query/directory", self.query_directory),
            web.get(F1 + "/publicRooms", self.public_rooms),
            web.post(F1 + "/publicRooms", self.public_rooms),
        ]

    # authentication ------------------------------------------------------------------------

    async def authenticate(self, request: web.Request, limit: int | None = None
                           ) -> tuple[str, dict | None]:
        """Verify the X-Matrix header over method, URI, origin, destination and body.
        Returns (origin, parsed body or None)."""
        header = request.headers.get("Authorization")
        if not header:
            raise Unauthorized("Missing Authorization header")
        try:
            auth = parse_authorization(header)  # syntax, then origin/destination names
        except XMatrixError as e:
            raise Unauthorized(f"Malformed X-Matrix header: {e}") from None
        if auth.destination is not None and auth.destination != self.server_name:
            raise Unauthorized(f"This request is for {auth.destination}, not for us")
        if auth.origin == self.server_name:
            raise Unauthorized("Invalid origin")
        body = None
        if request.method in ("PUT", "POST"):
            body = await read_json(request, limit or self.max_body)
            await asyncio.sleep(0)  # parsing a big body was one step; let others run
        try:
            key = await self.keyring.get_verify_key(auth.origin, auth.key)
            verify_request(auth, key, request.method, request.raw_path, self.server_name, body)
        except (SignatureError, ValueError) as e:
            raise Unauthorized(f"Invalid signature: {e}") from None
        self.queue.wake(auth.origin)  # it is up: deliver what we hold for it now
        return auth.origin, body

    # keys ----------------------------------------------------------------------------------

    async def key_server(self, request):
        return json_response(self.keyring.own_key_response())

    async def key_query_get(self, request):
        server = request.match_info["server_name"]
        key_id = request.match_info.get("key_id")
        try:
            keys = await self.keyring.notary_query({server: {key_id: {}} if key_id else {}},
                                                   self._may_fetch(request))
        except NotaryRequestError as e:
            raise InvalidParam(str(e)) from None
        return json_response({"server_keys": keys})

    async def key_query_post(self, request):
        body = await read_json(request, 65536)
        try:  # at most 20 server names, 32 key IDs each (federation/keyring.py)
            keys = await self.keyring.notary_query(body.get("server_keys"),
                                                   self._may_fetch(request))
        except NotaryRequestError as e:
            raise BadJson(str(e)) from None
        return json_response({"server_keys": keys})

    def _may_fetch(self, request: web.Request) -> Callable[[str], bool]:
        """Whether this requester may make us dial one more server for its keys."""
        requester = client_ip(request)

        def may(server: str) -> bool:
            try:
                self.notary_fetches.check(requester)
            except LimitExceeded:
                return False
            return True
        return may

    async def version(self, request):
        await self.authenticate(request)
        from homeserver import __version__
        return json_response({"server": {"name": "audiorooms-homeserver",
                                         "version": __version__}})

    # rooms ---------------------------------------------------------------------------------

    async def send_transaction(self, request):
        # A few transactions per origin at a time, the rest wait (before their bodies are
        # even parsed): a flood from one server cannot take every turn of the event loop.
        # The origin is the header's claim; a request that is not signed by it fails below.
        async with self.inbound.slot(claimed_origin(request)) as work:
            origin, body = await self.authenticate(request, TXN_LIMIT)
            return json_response(await self.handler.on_transaction(
                origin, request.match_info["txn_id"], body or {}, work))

    async def make_join(self, request):
        origin, _ = await self.authenticate(request)
        versions = request.query.getall("ver", [])
        return json_response(self.host.make_join(
            origin, request.match_info["room_id"],
            request.match_info["user_id"], versions))

    async def send_join(self, request):
        origin, body = await self.authenticate(request)
        return json_response(await self.host.send_join(
            origin, request.match_info["room_id"],
            request.match_info["event_id"], body,
            omit_members=request.query.get("omit_members", "").lower() == "true"))

    async def invite(self, request):
        origin, body = await self.authenticate(request)
        return json_response(await self.handler.on_invite(
            origin, request.match_info["room_id"],
            request.match_info["event_id"], body or {}))

    async def state(self, request):
        origin, _ = await self.authenticate(request)
        return json_response(self.host.room_state(origin, request.match_info["room_id"]))

    async def state_ids(self, request):
        origin, _ = await self.authenticate(request)
        return json_response(self.host.room_state_ids(origin, request.match_info["room_id"]))

    async def event(self, request):
        origin, _ = await self.authenticate(request)
        return json_response(self.host.get_event(origin, request.match_info["event_id"]))

    async def backfill(self, request):
        origin, _ = await self.authenticate(request)
        limit = int_param(request, "limit", 20)
        return json_response(self.host.backfill(
            origin, request.match_info["room_id"], request.query.getall("v", []),
            20 if limit is None else limit))

    # queries -------------------------------------------------------------------------------

    async def query_profile(self, request):
        await self.authenticate(request)
        return json_response(self.accounts.profile_for_federation(
            request.query.get("user_id", ""), request.query.get("field")))

    async def query_directory(self, request):
        await self.authenticate(request)
        return json_response(self.directory.alias_for_federation(
            request.query.get("room_alias", "")))

    async def public_rooms(self, request):
        origin, body = await self.authenticate(request)
        q = PublicRoomsQuery.parse(body or {}, request.query)
        return json_response(self.directory.public_rooms_for_federation(
            origin, q.limit, q.since, q.search))
