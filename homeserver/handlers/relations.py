"""Relations: /relations, /threads, and the bundled aggregations on events served to clients.

What the index holds is decided when an event is stored (homeserver/storage/relations.py); the
rules here decide what a user may see and how aggregations are bundled, as the spec says
("Forming relationships between events", "Aggregations of child events"):

- ``m.thread``: ``latest_event`` (the newest reply, with its own edit bundled), ``count`` and
  ``current_user_participated``; only on events that are not themselves relations.
- ``m.replace``: the newest edit by the original's sender, of the original's type, served
  whole; not on redacted events, and never applied to the original's content.
- ``m.reference``: ``chunk`` of ``{"event_id"}`` (at most MAX_REFERENCES).
- No bundles on state events, nor on annotations and edits themselves.
"""
from __future__ import annotations

from ..errors import Forbidden, InvalidParam, NotFound
from ..storage.events import EventStore, StreamCounter
from ..storage.relations import (
    ANNOTATION,
    REFERENCE,
    REPLACE,
    THREAD,
    RelationStore,
    parse_relation,
)
from .accounts import Requester
from .events import client_event
from .rooms import RoomHandler
from .sync import make_token, parse_token

MAX_LIMIT = 100


class RelationsHandler:
    def __init__(self, store: EventStore, relations: RelationStore, rooms: RoomHandler,
                 stream: StreamCounter):
        self.store = store
        self.relations = relations
        self.rooms = rooms
        self.stream = stream

    # who may read what ----------------------------------------------------------------------

    def visibility(self, req: Requester, room_id: str, refuse=NotFound) -> tuple[int | None, bool]:
        """(newest position the user may read, None for all; whether they are or were a
        member). Non-members read a room only if its history is world-readable; otherwise
        ``refuse`` is raised (NotFound for an event's context and relations, as the spec
        says, so a stranger cannot tell whether an event exists)."""
        try:
            return self.rooms.visible_upto(req, room_id), True
        except Forbidden:
            hv = self.store.state_event(room_id, "m.room.history_visibility", "")
            if hv is not None and hv["content"].get("history_visibility") == "world_readable":
                return None, False
            raise refuse("You cannot see this room") from None

    def visible_event(self, room_id: str, event_id: str, upto: int | None) -> dict:
        ev = self.store.get_event(event_id)
        if ev is None or ev.get("room_id") != room_id:
            raise NotFound("Event not found")
        if upto is not None and (self.store.stream_ordering_of(event_id) or 0) > upto:
            raise NotFound("Event not found")
        return ev

    # bundled aggregations ---------------------------------------------------------------------

    def bundle(self, user_id: str, room_id: str, events: list[dict],
               upto: int | None = None, *, nested: bool = False) -> None:
        """Add ``unsigned["m.relations"]`` to client-format ``events`` (fresh dicts from
        client_event, never cached ones) of one room. Costs nothing in a room that has never
        had a relation."""
        if not events or not self.relations.room_has_relations(room_id):
            return
        candidates: dict[str, tuple[dict, tuple[str, str] | None]] = {}
        for ev in events:
            if ev.get("state_key") is not None or not isinstance(ev.get("event_id"), str):
                continue
            rel = parse_relation(ev)
            if rel is not None and rel[0] in (ANNOTATION, REPLACE):
                continue
            candidates[ev["event_id"]] = (ev, rel)
        kinds = self.relations.rel_types_of(room_id, list(candidates), upto)
        if not kinds:
            return
        bundles: dict[str, dict] = {}
        roots = [e for e, k in kinds.items() if THREAD in k and candidates[e][1] is None
                 and not nested]
        if roots:
            summaries = self.relations.thread_summaries(room_id, roots, user_id, upto)
            latest_ids = [s[1] for s in summaries.values()]
            latest = {e["event_id"]: client_event(e) for e in self.store.get_events(latest_ids)}
            self.bundle(user_id, room_id, list(latest.values()), upto, nested=True)
            for root, (count, latest_id, mine) in summaries.items():
                if latest_id not in latest:
                    continue
                bundles.setdefault(root, {})[THREAD] = {
                    "latest_event": latest[latest_id], "count": count,
                    "current_user_participated": mine
                    or candidates[root][0].get("sender") == user_id}
        originals = [(e, candidates[e][0].get("sender"), candidates[e][0].get("type"))
                     for e, k in kinds.items() if REPLACE in k
                     and "redacted_because" not in (candidates[e][0].get("unsigned") or {})]
        if originals:
            edits = self.relations.latest_edits(room_id, originals, upto)
            by_id = {e["event_id"]: e for e in self.store.get_events(edits.values())}
            for original, edit_id in edits.items():
                if edit_id in by_id:
                    bundles.setdefault(original, {})[REPLACE] = client_event(by_id[edit_id])
        refs = [e for e, k in kinds.items() if REFERENCE in k]
        for parent, ids in self.relations.references(room_id, refs, upto).items():
            bundles.setdefault(parent, {})[REFERENCE] = {
                "chunk": [{"event_id": i} for i in ids]}
        for event_id, agg in bundles.items():
            ev = candidates[event_id][0]
            unsigned = ev.get("unsigned")
            if not isinstance(unsigned, dict):
                unsigned = ev["unsigned"] = {}
            unsigned["m.relations"] = agg

    def render(self, user_id: str, room_id: str, events: list[dict],
               upto: int | None = None) -> list[dict]:
        out = [client_event(e) for e in events]
        self.bundle(user_id, room_id, out, upto)
        return out

    # GET /relations ---------------------------------------------------------------------------

    def get_relations(self, req: Requester, room_id: str, event_id: str, *,
                      rel_type: str | None = None, event_type: str | None = None,
                      from_token: str | None = None, to_token: str | None = None,
                      limit: int = 5, direction: str = "b", recurse: bool = False) -> dict:
        if direction not in ("b", "f"):
            raise InvalidParam("dir must be 'b' or 'f'")
        limit = max(1, min(limit, MAX_LIMIT))
        start = parse_token(from_token, "from")
        to = parse_token(to_token, "to")
        self.rooms.known_room(room_id)
        upto, _ = self.visibility(req, room_id)
        self.visible_event(room_id, event_id, upto)
        if direction == "b":
            top = self.stream.current if start is None else start
            rows = self.relations.children(
                room_id, event_id, rel_type=rel_type, event_type=event_type, after=to,
                upto=top if upto is None else min(top, upto), limit=limit + 1,
                backwards=True, recurse=recurse)
        else:
            bound = upto if to is None else (to if upto is None else min(to, upto))
            rows = self.relations.children(
                room_id, event_id, rel_type=rel_type, event_type=event_type,
                after=start or 0, upto=bound, limit=limit + 1, backwards=False,
                recurse=recurse)
        more = len(rows) > limit
        rows = rows[:limit]
        events = self.store.get_events([e for e, _ in rows])
        out: dict = {"chunk": self.render(req.user_id, room_id, events, upto)}
        if more:
            last = rows[-1][1]
            out["next_batch"] = make_token(last - 1 if direction == "b" else last)
        if from_token:
            out["prev_batch"] = from_token
        if recurse:
            out["recursion_depth"] = 3
        return out

    # GET /threads -------------------------------------------------------------------------------

    def get_threads(self, req: Requester, room_id: str, include: str = "all",
                    from_token: str | None = None, limit: int = 5) -> dict:
        if include not in ("all", "participated"):
            raise InvalidParam("include must be 'all' or 'participated'")
        limit = max(1, min(limit, MAX_LIMIT))
        before = parse_token(from_token, "from")
        self.rooms.known_room(room_id)
        upto, _ = self.visibility(req, room_id, refuse=Forbidden)
        rows = self.relations.threads(
            room_id, before=before, upto=upto, limit=limit + 1,
            participant=req.user_id if include == "participated" else None)
        more = len(rows) > limit
        rows = rows[:limit]
        roots = [e for e in self.store.get_events([r for r, _ in rows])
                 if e.get("room_id") == room_id and parse_relation(e) is None]
        out: dict = {"chunk": self.render(req.user_id, room_id, roots, upto)}
        if more:
            out["next_batch"] = make_token(rows[-1][1] - 1)
        return out
