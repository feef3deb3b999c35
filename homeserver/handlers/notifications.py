"""Unread notification counts: every new event is evaluated against the push rules of each
local joined member but its sender; the notifying ones are counted in sync's
``unread_notifications`` until the user reads the room.

"Read" is, for now, the user's own latest event in the room (``mark_read``). Read receipts will
move the same position: call ``mark_read`` from the receipt handler then.
"""
from __future__ import annotations

import logging

from ..push_rules import PushContext, evaluate
from ..rules import power_levels
from ..storage.events import EventStore
from ..storage.push import PushStore
from .push import PushRulesHandler
from .rooms import RoomHandler

log = logging.getLogger(__name__)


class NotificationCounter:
    def __init__(self, store: PushStore, events: EventStore, rooms: RoomHandler,
                 rules: PushRulesHandler):
        self.store = store
        self.events = events
        self.rooms = rooms
        self.rules = rules

    def on_event(self, event: dict, stream: int) -> None:
        """An event listener (RoomHandler.event_listeners): count it for whom it notifies."""
        try:
            self._count(event, stream)
        except Exception:  # counting must never stop an event from being delivered
            log.exception("push rule evaluation failed for %s", event.get("event_id"))

    def _count(self, event: dict, stream: int) -> None:
        room_id, sender = event["room_id"], event.get("sender", "")
        if self.rooms.is_local_user(sender):
            self.mark_read(sender, room_id, stream)
        members = self.events.room_members(room_id)
        local = [u for u in members if u != sender and self.rooms.is_local_user(u)]
        if not local:
            return
        # Per room, once: what every member's conditions share.
        state = self.rooms.state_view(room_id)
        levels = power_levels(state)
        hits: list[tuple[str, bool]] = []
        for user_id in local:
            member = self.events.state_event(room_id, "m.room.member", user_id)
            name = (member or {}).get("content", {}).get("displayname")
            ctx = PushContext(user_id, name if isinstance(name, str) else None, len(members),
                              levels)
            result = evaluate(self.rules.ruleset(user_id), event, ctx)
            if result is not None and result.notify:
                hits.append((user_id, result.highlight))
        if hits:
            self.store.add_notifications(room_id, stream, hits)

    def mark_read(self, user_id: str, room_id: str, stream: int) -> None:
        """The user has read the room up to ``stream``. Today: the user's own events. Read
        receipts (m.read) are to call this too, once they exist."""
        self.store.mark_read(user_id, room_id, stream)

    def unread_notifications(self, user_id: str, room_id: str) -> dict:
        notifications, highlights = self.store.unread_counts(user_id, room_id)
        return {"highlight_count": highlights, "notification_count": notifications}
