"""GET /rooms/{roomId}/context/{eventId}: an event with the events around it and the room's
state, for a user who may read it (a member, or anyone if history is world-readable).

Tokens are the stream positions /messages and /sync use: ``start`` pages back from the oldest
event returned, ``end`` forward from the newest. ``filter`` is a RoomEventFilter (types,
not_types, senders, not_senders with ``*`` wildcards in types, lazy_load_members); as the spec
says it applies to events_before, events_after and state, never to the event itself.
"""
from __future__ import annotations

import json
import re
from typing import Any

from ..errors import InvalidParam
from ..storage.events import EventStore, StreamCounter
from .accounts import Requester
from .events import client_event
from .relations import MAX_LIMIT, RelationsHandler
from .rooms import RoomHandler, StateView
from .sync import make_token

MAX_FILTER_ENTRIES = 100


class EventFilter:
    """The parts of a RoomEventFilter that /context honours."""

    def __init__(self, raw: str | None):
        filt: Any = {}
        if raw:
            try:
                filt = json.loads(raw)
            except ValueError:
                raise InvalidParam("filter is not valid JSON") from None
        if not isinstance(filt, dict):
            raise InvalidParam("filter must be a JSON object")
        self.types = _patterns(filt, "types")
        self.not_types = _patterns(filt, "not_types")
        self.senders = _strings(filt, "senders")
        self.not_senders = _strings(filt, "not_senders")
        lazy = filt.get("lazy_load_members", False)
        if not isinstance(lazy, bool):
            raise InvalidParam("lazy_load_members must be a boolean")
        self.lazy_load_members = lazy

    def allows(self, ev: dict) -> bool:
        etype, sender = ev.get("type", ""), ev.get("sender", "")
        if self.not_types and any(p.match(etype) for p in self.not_types):
            return False
        if self.types is not None and not any(p.match(etype) for p in self.types):
            return False
        if sender in self.not_senders:
            return False
        return self.senders is None or sender in self.senders


def _strings(filt: dict, key: str) -> Any:
    value = filt.get(key)
    if value is None:
        return None if key in ("types", "senders") else set()
    if not isinstance(value, list) or len(value) > MAX_FILTER_ENTRIES \
            or not all(isinstance(v, str) and len(v) <= 255 for v in value):
        raise InvalidParam(f"filter '{key}' must be a list of at most "
                           f"{MAX_FILTER_ENTRIES} strings")
    return set(value)


def _patterns(filt: dict, key: str) -> list[re.Pattern] | None:
    values = _strings(filt, key)
    if values is None:
        return None
    return [re.compile("^" + ".*".join(re.escape(p) for p in v.split("*")) + "$")
            for v in values]


class ContextHandler:
    def __init__(self, store: EventStore, rooms: RoomHandler, relations: RelationsHandler,
                 stream: StreamCounter):
        self.store = store
        self.rooms = rooms
        self.relations = relations
        self.stream = stream

    def context(self, req: Requester, room_id: str, event_id: str, limit: int = 10,
                filter_json: str | None = None) -> dict:
        filt = EventFilter(filter_json)
        limit = max(0, min(limit, MAX_LIMIT))
        self.rooms.known_room(room_id)
        upto, member = self.relations.visibility(req, room_id)
        event = self.relations.visible_event(room_id, event_id, upto)
        pos = self.store.stream_ordering_of(event_id) or 0
        n_before = limit // 2
        n_after = limit - n_before
        before = self.store.room_events(room_id, upto=pos - 1, limit=n_before,
                                        backwards=True) if n_before else []
        top = self.stream.current if upto is None else upto
        after = self.store.room_events(room_id, after=pos, upto=top,
                                       limit=n_after) if n_after else []
        start = (before[-1][0] if before else pos) - 1
        end = after[-1][0] if after else pos
        events_before = [ev for _, ev in before if filt.allows(ev)]
        events_after = [ev for _, ev in after if filt.allows(ev)]
        rendered = self.relations.render(req.user_id, room_id,
                                         [event, *events_before, *events_after], upto)
        state_view = self.rooms.visible_state(req, room_id) if member \
            else self.rooms.state_view(room_id)
        return {
            "event": rendered[0],
            "events_before": rendered[1:1 + len(events_before)],
            "events_after": rendered[1 + len(events_before):],
            "start": make_token(max(start, 0)),
            "end": make_token(end),
            "state": self._state(state_view, filt, [event, *events_before, *events_after]),
        }

    def _state(self, view: StateView, filt: EventFilter, events: list[dict]) -> list[dict]:
        if filt.lazy_load_members:
            # Only the members who sent the events returned (Synapse's lazy loading).
            senders = {e.get("sender") for e in events}
            keys = [k for k in view if k[0] != "m.room.member" or k[1] in senders]
        else:
            keys = list(view)
        out = []
        for key in keys:
            ev = view.get(key)
            if ev is not None and filt.allows(ev):
                out.append(client_event(ev))
        return out
