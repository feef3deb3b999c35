"""Room aliases and the public room directory."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from federation.pdus import server_of
from federation.servername import is_valid_server_name

from .. import rules
from ..errors import BadJson, Forbidden, InvalidParam, MatrixError, NotFound
from ..storage.events import EventStore
from . import hallway_schema as schema
from .accounts import Requester
from .remote import RemoteQueries
from .rooms import ALIAS, ROOM_ID, RoomHandler


@dataclass(frozen=True)
class PublicRoomsQuery:
    """A publicRooms request, client or federation, GET (query) or POST (body): one parser."""
    limit: int | None = None
    since: str | None = None
    search: str | None = None
    server: str | None = None

    @classmethod
    def parse(cls, body: dict, query: Mapping[str, str]) -> PublicRoomsQuery:
        limit: Any = body.get("limit")
        if limit is None and query.get("limit") is not None:
            try:
                limit = int(query["limit"])
            except ValueError:
                raise InvalidParam("'limit' must be an integer") from None
        if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool)):
            raise BadJson("limit must be an integer")
        since = body.get("since", query.get("since"))
        if since is not None and not isinstance(since, str):
            raise InvalidParam("since is not a valid pagination token")
        filt = body.get("filter") or {}
        if not isinstance(filt, dict):
            raise BadJson("filter must be an object")
        search = filt.get("generic_search_term")
        if search is not None and not isinstance(search, str):
            raise BadJson("filter.generic_search_term must be a string")
        server = body.get("server") or query.get("server")
        if server is not None and not (isinstance(server, str) and is_valid_server_name(server)):
            # Checked before anything is dialled: the name becomes a URL (SSRF guard).
            raise InvalidParam("server is not a valid server name")
        return cls(limit, since, search, server or None)


class DirectoryHandler:
    def __init__(self, server_name: str, store: EventStore, rooms: RoomHandler,
                 remote: RemoteQueries | None = None):
        self.server_name = server_name
        self.store = store
        self.rooms = rooms
        self.remote = remote  # None: a server that answers for its own rooms only
        # Each adds fields to a room's directory entry (the audio stage adds live/counts);
        # make_app connects them.
        self.summary_extenders: list[Callable[[str, Any], dict]] = []
        # Told when a room is made public or private, and who pulled our directory (the
        # hallway pushes to them); make_app connects them.
        self.visibility_listeners: list[Callable[[str, bool], None]] = []
        self.pull_listeners: list[Callable[[str], None]] = []
        # room_id -> True to keep the room out of every listing (publicRooms, the hallway,
        # other servers' directories shown to our users): app.py, rooms an admin blocked.
        self.hidden_checks: list[Callable[[str], bool]] = []

    def _check_alias(self, alias: str, local: bool = True) -> None:
        if not ALIAS.match(alias) or len(alias) > 255:
            raise InvalidParam(f"{alias!r} is not a valid room alias")
        if local and server_of(alias) != self.server_name:
            raise InvalidParam("Room alias must be on this server")

    def create_alias(self, req: Requester, alias: str, room_id) -> None:
        self._check_alias(alias)
        if not isinstance(room_id, str) or not ROOM_ID.match(room_id):
            raise InvalidParam("room_id must be a room ID")
        if not self.store.current_state_ids(room_id):
            raise NotFound(f"Unknown room {room_id}")
        m = self.store.membership(room_id, req.user_id)
        if not m or m[0] != "join":
            raise Forbidden("You must be in the room to give it an alias")
        if not self.store.add_alias(alias, room_id, req.user_id):
            raise MatrixError(f"Room alias {alias} already exists", "M_UNKNOWN", 409)

    def get_alias(self, alias: str) -> dict:
        self._check_alias(alias, local=False)
        row = self.store.get_alias(alias)
        if row is None:
            raise NotFound(f"Room alias {alias} not found")
        return {"room_id": row[0], "servers": [self.server_name]}

    def delete_alias(self, req: Requester, alias: str) -> None:
        self._check_alias(alias)
        row = self.store.get_alias(alias)
        if row is None:
            raise NotFound(f"Room alias {alias} not found")
        room_id, creator = row
        if creator != req.user_id:
            pl = rules.power_levels(self.rooms.state_view(room_id))
            if rules.user_level(pl, req.user_id) < rules.required_level(
                    pl, "m.room.canonical_alias", True):
                raise Forbidden("You may not delete this alias")
        self.store.delete_alias(alias)

    def room_aliases(self, req: Requester, room_id: str) -> list[str]:
        self.rooms.visible_upto(req, room_id)
        return self.store.aliases_for_room(room_id)

    def set_visibility(self, req: Requester, room_id: str, visibility) -> None:
        if visibility not in ("public", "private"):
            raise InvalidParam("visibility must be 'public' or 'private'")
        self.rooms.visible_upto(req, room_id)
        pl = rules.power_levels(self.rooms.state_view(room_id))
        if rules.user_level(pl, req.user_id) < rules.required_level(
                pl, "m.room.canonical_alias", True):
            raise Forbidden("You may not change this room's visibility")
        self.store.set_room_public(room_id, visibility == "public")
        for listener in self.visibility_listeners:
            listener(room_id, visibility == "public")

    def is_public(self, room_id: str) -> bool:
        room = self.store.get_room(room_id)
        return bool(room and room["is_public"])

    def get_visibility(self, room_id: str) -> dict:
        room = self.store.get_room(room_id)
        if room is None:
            raise NotFound(f"Unknown room {room_id}")
        return {"visibility": "public" if room["is_public"] else "private"}

    def room_summary(self, room_id: str) -> dict:
        """One publicRooms chunk entry."""
        view = self.rooms.state_view(room_id)
        get = lambda t, k: (view.get((t, "")) or {}).get("content", {}).get(k)  # noqa: E731
        entry = {
            "room_id": room_id,
            "num_joined_members": self.store.count_members(room_id),
            "world_readable": get("m.room.history_visibility", "history_visibility")
            == "world_readable",
            "guest_can_join": get("m.room.guest_access", "guest_access") == "can_join",
            "join_rule": get("m.room.join_rules", "join_rule") or "invite",
        }
        for key, (t, k) in {"name": ("m.room.name", "name"), "topic": ("m.room.topic", "topic"),
                            "canonical_alias": ("m.room.canonical_alias", "alias"),
                            "avatar_url": ("m.room.avatar", "url"),
                            "room_type": ("m.room.create", "type")}.items():
            v = get(t, k)
            if isinstance(v, str):
                entry[key] = v
        for extend in self.summary_extenders:
            entry.update(extend(room_id, view))
        return entry

    def public_rooms(self, limit: int | None = None, since: str | None = None,
                     search: str | None = None) -> dict:
        if since is not None and not isinstance(since, str):  # both APIs pass bodies' values
            raise InvalidParam("since is not a valid pagination token")
        if search is not None and not isinstance(search, str):
            raise BadJson("filter.generic_search_term must be a string")
        entries = [self.room_summary(r) for r in self.store.public_room_ids()
                   if not self.hidden(r)]
        if search:
            s = search.lower()
            entries = [e for e in entries if any(s in (e.get(k) or "").lower()
                       for k in ("name", "topic", "canonical_alias"))]
        entries.sort(key=lambda e: (-e["num_joined_members"], e["room_id"]))
        total = len(entries)
        try:
            offset = int(since) if since else 0
        except ValueError:
            raise InvalidParam("since is not a valid pagination token") from None
        if offset < 0:
            raise InvalidParam("since is not a valid pagination token")
        end = total if limit is None else offset + max(0, limit)
        out = {"chunk": entries[offset:end], "total_room_count_estimate": total}
        if end < total:
            out["next_batch"] = str(end)
        if offset > 0:
            out["prev_batch"] = str(max(0, offset - (limit or offset)))
        return out

    def hidden(self, room_id: object) -> bool:
        return isinstance(room_id, str) and any(check(room_id) for check in self.hidden_checks)

    def public_rooms_for_federation(self, origin: str, limit: int | None = None,
                                    since: str | None = None, search: str | None = None) -> dict:
        answer = self.public_rooms(limit, since, search)
        for listener in self.pull_listeners:
            listener(origin)
        return answer

    def alias_for_federation(self, alias: str) -> dict:
        """GET /_matrix/federation/v1/query/directory: the room and the servers in it."""
        answer = self.get_alias(alias)
        servers = self.store.room_servers(answer["room_id"]) | {self.server_name}
        return {"room_id": answer["room_id"], "servers": sorted(servers)}

    async def get_alias_async(self, alias: str) -> dict:
        if self.remote is not None and ALIAS.match(alias) and \
                server_of(alias) != self.server_name:
            room_id = await self.remote.resolve_remote_alias(alias)
            return {"room_id": room_id, "servers": [server_of(room_id)]}
        return self.get_alias(alias)

    async def public_rooms_async(self, limit, since, search, server) -> dict:
        if server and server != self.server_name:
            if self.remote is None:
                raise NotFound(f"Cannot reach the directory of {server}")
            answer = await self.remote.remote_public_rooms(server, limit, since, search)
            try:  # entries checked one by one: what our clients get is well-formed
                checked = schema.public_rooms_answer(answer)
            except schema.Invalid as e:
                raise MatrixError(f"{server} sent an unusable directory: {e}", "M_UNKNOWN",
                                  502) from None
            if isinstance(checked.get("chunk"), list):
                checked["chunk"] = [e for e in checked["chunk"]
                                    if not self.hidden(e.get("room_id"))]
            return checked
        return self.public_rooms(limit, since, search)
