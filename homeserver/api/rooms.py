"""Client API: rooms, membership, messages, state, sync, directory."""
from __future__ import annotations

from aiohttp import web

from ..config import Config
from ..errors import InvalidParam
from ..handlers.directory import DirectoryHandler, PublicRoomsQuery
from ..handlers.events import client_event
from ..handlers.membership import MembershipHandler
from ..handlers.rooms import RoomHandler
from ..handlers.sync import SyncHandler, thread_counts_from_filter, timeline_limit_from_filter
from ..storage.events import FilterStore
from .http import guest_ok, int_param, json_response, read_json, read_optional_json, requester

C = "/_matrix/client/{v:(r0|v3)}"
# Path parameters: aiohttp's match_info is already percent-decoded (%2F included), exactly once;
# decoding it again would turn an alias such as "#100%25:hs" into "#100%:hs".
SMALL = 65536
# The spec's PublicRoomsChunk keys. Directory entries also carry the stage's namespaced fields
# (for the hallway and federation); clients get these keys only, since SDKs such as matrix-nio
# build their room objects from the chunk and fail on any other key.
PUBLIC_ROOM_KEYS = ("avatar_url", "canonical_alias", "guest_can_join", "join_rule", "name",
                    "num_joined_members", "room_id", "room_type", "topic", "world_readable")


class RoomServlets:
    def __init__(self, config: Config, rooms: RoomHandler, membership: MembershipHandler,
                 sync: SyncHandler, directory: DirectoryHandler, filters: FilterStore):
        self.config = config
        self.rooms = rooms
        self.membership = membership
        self.sync_handler = sync
        self.directory = directory
        self.filters = filters
        self.event_limit = config.limits.max_event_bytes

    def routes(self) -> list[web.RouteDef]:
        R = C + "/rooms/{room_id}"
        return [
            web.post(C + "/createRoom", self.create_room),
            web.post(C + "/join/{room:[^/]+}", self.join),
            web.post(R + "/join", self.join),
            web.post(R + "/leave", self.leave),
            web.post(R + "/forget", self.forget),
            web.post(R + "/{action:(invite|kick|ban|unban)}", self.change_membership),
            web.put(R + "/send/{type}/{txn_id}", self.send),
            web.put(R + "/redact/{event_id}/{txn_id}", self.redact),
            web.get(R + "/state", self.get_state),
            web.get(R + "/state/{type}", self.get_state_event),
            web.get(R + "/state/{type}/{state_key:.*}", self.get_state_event),
            web.put(R + "/state/{type}", self.put_state),
            web.put(R + "/state/{type}/{state_key:.*}", self.put_state),
            web.get(R + "/messages", self.messages),
            web.get(R + "/members", self.members),
            web.get(R + "/joined_members", self.joined_members),
            web.get(R + "/event/{event_id}", self.get_event),
            web.get(R + "/aliases", self.room_aliases),
            web.get(C + "/joined_rooms", self.joined_rooms),
            web.get(C + "/sync", self.sync),
            web.get(C + "/directory/room/{alias}", self.get_alias),
            web.put(C + "/directory/room/{alias}", self.put_alias),
            web.delete(C + "/directory/room/{alias}", self.delete_alias),
            web.get(C + "/directory/list/room/{room_id}", self.get_visibility),
            web.put(C + "/directory/list/room/{room_id}", self.put_visibility),
            web.get(C + "/publicRooms", self.public_rooms),
            web.post(C + "/publicRooms", self.public_rooms),
        ]

    async def create_room(self, request):
        req = requester(request)
        body = await read_json(request, self.config.limits.max_request_bytes, canonical=True)
        return json_response(await self.membership.create_room(req, body))

    @guest_ok
    async def join(self, request):
        req = requester(request)
        await read_optional_json(request, SMALL)
        target = request.match_info.get("room") or request.match_info["room_id"]
        room_id = await self.membership.join(req, target, request.query.getall(
            "server_name", []) + request.query.getall("via", []))
        return json_response({"room_id": room_id})

    @guest_ok
    async def leave(self, request):
        req = requester(request)
        await read_optional_json(request, SMALL)
        await self.membership.leave(req, request.match_info["room_id"])
        return json_response({})

    async def forget(self, request):
        req = requester(request)
        self.rooms.forget(req, request.match_info["room_id"])
        return json_response({})

    async def change_membership(self, request):
        req = requester(request)
        body = await read_json(request, SMALL)
        await self.membership.set_membership(req, request.match_info["room_id"], body,
                                             request.match_info["action"])
        return json_response({})

    async def send(self, request):
        req = requester(request)
        body = await read_json(request, self.event_limit, canonical=True)
        event_id = self.rooms.send_message(req, request.match_info["room_id"],
                                           request.match_info["type"],
                                           request.match_info["txn_id"], body)
        return json_response({"event_id": event_id})

    async def redact(self, request):
        req = requester(request)
        body = await read_json(request, SMALL)
        event_id = self.rooms.redact(req, request.match_info["room_id"],
                                     request.match_info["event_id"],
                                     request.match_info["txn_id"], body)
        return json_response({"event_id": event_id})

    @guest_ok
    async def get_state(self, request):
        req = requester(request)
        events = self.rooms.get_state(req, request.match_info["room_id"])
        return json_response([client_event(e) for e in events])

    @guest_ok
    async def get_state_event(self, request):
        req = requester(request)
        ev = self.rooms.get_state_event(req, request.match_info["room_id"],
                                        request.match_info["type"],
                                        request.match_info.get("state_key", ""))
        if request.query.get("format") == "event":
            return json_response(client_event(ev))
        return json_response(ev["content"])

    async def put_state(self, request):
        req = requester(request)
        body = await read_json(request, self.event_limit, canonical=True)
        event_id = self.rooms.put_state(req, request.match_info["room_id"],
                                        request.match_info["type"],
                                        request.match_info.get("state_key", ""), body)
        return json_response({"event_id": event_id})

    @guest_ok
    async def messages(self, request):
        req = requester(request)
        q = request.query
        return json_response(self.sync_handler.messages(
            req, request.match_info["room_id"], q.get("from"), q.get("dir", "b"),
            int_param(request, "limit", 10), q.get("to")))

    @guest_ok
    async def members(self, request):
        req = requester(request)
        q = request.query
        chunk = self.sync_handler.members(req, request.match_info["room_id"],
                                          q.get("membership"), q.get("not_membership"))
        return json_response({"chunk": chunk})

    @guest_ok
    async def joined_members(self, request):
        req = requester(request)
        return json_response(self.sync_handler.joined_members(req, request.match_info["room_id"]))

    @guest_ok
    async def get_event(self, request):
        req = requester(request)
        return json_response(self.sync_handler.event(req, request.match_info["room_id"],
                                                     request.match_info["event_id"]))

    async def room_aliases(self, request):
        req = requester(request)
        return json_response({"aliases": self.directory.room_aliases(
            req, request.match_info["room_id"])})

    @guest_ok
    async def joined_rooms(self, request):
        req = requester(request)
        return json_response({"joined_rooms": self.rooms.joined_rooms(req)})

    @guest_ok
    async def sync(self, request):
        req = requester(request)
        q = request.query
        timeout = int_param(request, "timeout", 0)
        full_state = q.get("full_state", "false")
        if full_state not in ("true", "false"):
            raise InvalidParam("full_state must be 'true' or 'false'")
        filt = q.get("filter")
        saved = self.filters.get(req.user_id, filt) if filt and not filt.startswith("{") \
            else None
        limit = timeline_limit_from_filter(filt, self.config.limits.sync_timeline_limit, saved)
        by_thread = thread_counts_from_filter(filt, saved)
        return json_response(await self.sync_handler.sync(
            req, q.get("since"), timeout, full_state == "true", limit,
            q.get("set_presence", "online"), thread_counts=by_thread))

    @guest_ok
    async def get_alias(self, request):
        return json_response(await self.directory.get_alias_async(
            request.match_info["alias"]))

    async def put_alias(self, request):
        req = requester(request)
        body = await read_json(request, SMALL)
        self.directory.create_alias(req, request.match_info["alias"],
                                    body.get("room_id"))
        return json_response({})

    async def delete_alias(self, request):
        req = requester(request)
        self.directory.delete_alias(req, request.match_info["alias"])
        return json_response({})

    async def get_visibility(self, request):
        return json_response(self.directory.get_visibility(request.match_info["room_id"]))

    async def put_visibility(self, request):
        req = requester(request)
        body = await read_json(request, SMALL)
        self.directory.set_visibility(req, request.match_info["room_id"], body.get("visibility"))
        return json_response({})

    @guest_ok
    async def public_rooms(self, request):
        body = await read_json(request, SMALL) if request.method == "POST" else {}
        q = PublicRoomsQuery.parse(body, request.query)
        result = await self.directory.public_rooms_async(q.limit, q.since, q.search, q.server)
        result["chunk"] = [{k: e[k] for k in PUBLIC_ROOM_KEYS if k in e}
                           for e in result.get("chunk", []) if isinstance(e, dict)]
        return json_response(result)
