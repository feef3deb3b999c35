"""Unread notification counts: every new event is evaluated against the push rules of each
local joined member but its sender; the notifying ones are counted in sync's
``unread_notifications`` until the user reads the room, and pushed to the user's HTTP pushers
(handlers/pusher_delivery.py queues them in the same transaction and delivers them later).

"Read" is the user's own latest event in the room or their latest read receipt (public or
private, unthreaded or "main"), whichever is further: both move the position through
``mark_read``.
"""
from __future__ import annotations

import logging
import secrets

from ..push_rules import PushContext, evaluate
from ..rules import power_levels
from ..storage.events import EventStore
from ..storage.push import PushStore
from .push import PushRulesHandler
from .pusher_delivery import PusherDelivery
from .rooms import RoomHandler

log = logging.getLogger(__name__)
# A member no event can name: with the spec's default rules, every member an event does not name
# (not its state_key, not in m.mentions, neither localpart nor display name in its body) gets
# exactly this member's outcome, so a room of thousands costs one evaluation, not thousands.
UNNAMED = f"@unnamed-{secrets.token_hex(16)}:invalid"


class NotificationCounter:
    def __init__(self, store: PushStore, events: EventStore, rooms: RoomHandler,
                 rules: PushRulesHandler, pushers: PusherDelivery | None = None):
        self.store = store
        self.events = events
        self.rooms = rooms
        self.rules = rules
        # HTTP pushers: a notification for a user with pushers queues a push in the same
        # transaction (None: counts only).
        self.pushers = pushers

    def on_event(self, event: dict, stream: int) -> None:
        """An event listener (RoomHandler.event_listeners): count it for whom it notifies."""
        try:
            self._count(event, stream)
        except Exception:  # counting must never stop an event from being delivered
            log.exception("push rule evaluation failed for %s", event.get("event_id"))

    def _count(self, event: dict, stream: int) -> None:
        room_id, sender = event["room_id"], event.get("sender", "")
        # Our sender has read the room up to their own event.
        reader = sender if self.rooms.is_local_user(sender) else None
        members = self.events.room_members(room_id)
        local = [u for u in members if u != sender and self.rooms.is_local_user(u)]
        invitee = _invitee(event)
        if invitee is not None and invitee != sender and invitee not in local \
                and self.rooms.is_local_user(invitee):
            local.append(invitee)  # not a member yet: .m.rule.invite_for_me is for them
        if not local:
            if reader is not None:
                self.mark_read(reader, room_id, stream)
            return
        # Per room, once: what every member's conditions share.
        state = self.rooms.state_view(room_id)
        levels = power_levels(state)
        count = len(members)
        named, body = _named_by(event)
        generic: list = []  # the unnamed member's outcome (None: no rule matched), once needed
        # An event that names the stand-in itself is evaluated member by member.
        one_by_one = body is not None and UNNAMED[1:].split(":")[0] in body
        hits: list[tuple[str, bool]] = []
        pushes: list[tuple] = []
        for user_id in local:
            name = None
            if body is not None or user_id in named or self.rules.is_customised(user_id):
                member = state.get(("m.room.member", user_id))
                raw = (member or {}).get("content", {}).get("displayname")
                name = raw if isinstance(raw, str) else None
            if self.rules.is_customised(user_id) or user_id in named or one_by_one or (
                    body is not None and _mentioned_in(body, user_id, name)):
                result = evaluate(self.rules.ruleset(user_id), event,
                                  PushContext(user_id, name, count, levels))
            else:
                if not generic:
                    generic.append(evaluate(self.rules.ruleset(UNNAMED), event,
                                            PushContext(UNNAMED, None, count, levels)))
                result = generic[0]
            if result is not None and result.notify:
                hits.append((user_id, result.highlight))
                if self.pushers is not None and self.pushers.has_pushers(user_id):
                    pushes.extend(self.pushers.queue_rows(user_id, event["event_id"],
                                                          result.actions))
        if hits or reader is not None:  # one commit for the read position and the hits
            self.store.add_notifications(room_id, stream, hits, pushes, reader=reader)
        if pushes and self.pushers is not None:
            self.pushers.queued(pushes)

    def mark_read(self, user_id: str, room_id: str, stream: int) -> None:
        """The user has read the room up to ``stream`` (their own event, or a read receipt)."""
        self.store.mark_read(user_id, room_id, stream)

    def unread_notifications(self, user_id: str, room_id: str) -> dict:
        notifications, highlights = self.store.unread_counts(user_id, room_id)
        return {"highlight_count": highlights, "notification_count": notifications}


def _invitee(event: dict) -> str | None:
    """The user an invite event invites, if it is one."""
    content = event.get("content")
    if event.get("type") == "m.room.member" and isinstance(content, dict) \
            and content.get("membership") == "invite" and isinstance(event.get("state_key"), str):
        return event["state_key"]
    return None


def _named_by(event: dict) -> tuple[set[str], str | None]:
    """Users the event names by ID (its state_key, m.mentions.user_ids), and its body
    lowercased (None: no text body, so no name or localpart can match it)."""
    named: set[str] = set()
    if isinstance(event.get("state_key"), str):
        named.add(event["state_key"])
    raw = event.get("content")
    content: dict = raw if isinstance(raw, dict) else {}
    mentions = content.get("m.mentions")
    if isinstance(mentions, dict) and isinstance(mentions.get("user_ids"), list):
        named.update(u for u in mentions["user_ids"] if isinstance(u, str))
    body = content.get("body")
    return named, body.lower() if isinstance(body, str) else None


def _mentioned_in(body: str, user_id: str, name: str | None) -> bool:
    """Whether the body might name the user (a substring test: the rules' word matching is
    stricter, so this only decides who is evaluated one by one)."""
    localpart = user_id[1:].split(":", 1)[0].lower()
    return localpart in body or (name is not None and name.lower() in body)
