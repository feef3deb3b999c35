"""How a process follows what the server's other processes commit (see process_bus.py).

Sending side: each committed event (inside its transaction), each wake of /sync long-polls,
each revocation of access tokens, each item queued for another server, typing changes (each
process keeps its own typing sets), push rule changes (each caches rules) and presence (each
holds everyone's in memory; the process that set a user's presence last, or sees their syncs,
times it out). Receiving side: the
same effects this process would have had if it had done the work itself, minus the work done
once per server (federation sends, push notifications, notices), which stays with the process
that committed.
"""
from __future__ import annotations

import logging
from collections.abc import Callable

from .background import soon
from .process_bus import ProcessBus, int_field, str_field, users_field

log = logging.getLogger(__name__)


class ProcessFollower:
    def __init__(self, bus: ProcessBus, events, stream, rooms, notifier, accounts, queue,
                 typing, push_rules, presence):
        self.bus = bus
        self.events = events
        self.stream = stream
        self.rooms = rooms
        self.notifier = notifier
        self.accounts = accounts
        self.queue = queue
        self.typing = typing
        self.push_rules = push_rules
        self.presence = presence
        # Per-process reactions to any event of the server, wherever it was committed (the
        # SFU's stage rights, caches); called with (event, stream).
        self.event_listeners: list[Callable[[dict, int], None]] = []

    def wire(self) -> None:
        """Connect the sending side to the stores and handlers, the receiving side to the bus."""
        if not self.bus.enabled:
            return
        self.events.on_persist = self._persisted
        self.notifier.publish = self._woke
        self.accounts.tokens_revoked = self._tokens_revoked
        self.queue.store.on_enqueue = self._enqueued
        self.typing.shared = self._typing_changed
        self.push_rules.shared = self._push_rules_changed
        self.presence.shared = self._presence_changed
        self.bus.subscribe("event", self._in_task(self._on_event))
        self.bus.subscribe("wake", self._on_wake)
        self.bus.subscribe("tokens", self._on_tokens)
        self.bus.subscribe("outbox", self._on_outbox)
        self.bus.subscribe("typing", self._in_task(self._on_typing))
        self.bus.subscribe("push_rules", self._on_push_rules)
        self.bus.subscribe("presence", self._in_task(self._on_presence))
        self.bus.subscribe("resync", self._on_resync)

    # sending --------------------------------------------------------------------------------

    def _persisted(self, event: dict, stream: int) -> None:
        body = {"r": event["room_id"], "s": stream, "e": event["event_id"],
                "st": event.get("state_key") is not None}
        redacts = (event.get("content") or {}).get("redacts") \
            if event["type"] == "m.room.redaction" else None
        if isinstance(redacts, str) and len(redacts) <= 255:
            body["x"] = redacts
        self.bus.publish("event", body)

    def _woke(self, users: list[str]) -> None:
        self.bus.publish_users("wake", users, {"s": self.stream.current})

    def _tokens_revoked(self, hashes: list[bytes], user_id: str | None) -> None:
        if user_id is not None:
            self.bus.publish("tokens", {"u": user_id})
        for i in range(0, len(hashes), 100):
            self.bus.publish("tokens", {"h": [h.hex() for h in hashes[i:i + 100]]})

    def _enqueued(self, destinations: list[str]) -> None:
        for i in range(0, len(destinations), 50):
            self.bus.publish("outbox", {"d": destinations[i:i + 50]})

    def _typing_changed(self, room_id: str, user_id: str, typing: bool, timeout_ms: int) -> None:
        self.bus.publish("typing", {"r": room_id, "u": user_id, "t": typing, "ms": timeout_ms})

    def _push_rules_changed(self, user_id: str) -> None:
        self.bus.publish("push_rules", {"u": user_id})

    def _presence_changed(self, user_id: str, p) -> None:
        if p is None:  # we time this user out from now on
            self.bus.publish("presence", {"u": user_id})
        else:
            self.bus.publish("presence", {"u": user_id, "st": p.state, "m": p.status_msg,
                                          "a": p.last_active_ts, "s": p.pos})

    # receiving ------------------------------------------------------------------------------

    @staticmethod
    def _in_task(handler: Callable[[dict], None]) -> Callable[[dict], None]:
        """Reading the database waits for it: do that in a task of its own (with a portal),
        not in the loop's callback."""
        def spawn(msg: dict) -> None:
            soon(handler, msg)
        return spawn

    def _on_event(self, msg: dict) -> None:
        room_id, stream, event_id = str_field(msg, "r"), int_field(msg, "s"), \
            str_field(msg, "e")
        if room_id is None or stream is None or event_id is None:
            return
        self.events.invalidate_room(room_id, state=msg.get("st") is True)
        redacts = str_field(msg, "x")
        if redacts is not None:
            self.events.forget_event(redacts)
        self.stream.advance(stream)
        event = self.events.get_event(event_id)
        if event is None:
            return
        self.notifier.notify_users(self.rooms.woken_by(event), local_only=True)
        for listener in self.event_listeners:
            try:
                listener(event, stream)
            except Exception:  # one listener's failure must not stop the others
                log.exception("per-process event listener failed")

    def _on_resync(self, _msg: dict) -> None:
        """The LISTEN connection was down: what we cached may be stale and waiting long-polls
        may have missed their wake. Everything is read again from the database."""
        log.warning("following the other processes again after a lost connection")
        self.events.invalidate_all()
        self.push_rules.forget_all()
        self.accounts.forget_all_tokens()
        self.notifier.wake_all()

    def _on_wake(self, msg: dict) -> None:
        stream = int_field(msg, "s")
        if stream is not None:
            self.stream.advance(stream)
        self.notifier.notify_users(users_field(msg), local_only=True)

    def _on_tokens(self, msg: dict) -> None:
        user_id = str_field(msg, "u", 255)
        if user_id is not None:
            self.accounts.forget_user_tokens(user_id)
        hashes = msg.get("h")
        if isinstance(hashes, list):
            drop = []
            for h in hashes[:100]:
                try:
                    drop.append(bytes.fromhex(h))
                except (TypeError, ValueError):
                    continue
            self.accounts.forget_cached_tokens(drop)

    def _on_outbox(self, msg: dict) -> None:
        dests = msg.get("d")
        if isinstance(dests, list):
            for d in dests[:50]:
                if isinstance(d, str) and 0 < len(d) <= 255:
                    self.queue.wake_owner(d)

    def _on_typing(self, msg: dict) -> None:
        room_id, user_id, ms = str_field(msg, "r"), str_field(msg, "u", 255), \
            int_field(msg, "ms")
        typing = msg.get("t")
        if room_id is not None and user_id is not None and ms is not None and \
                isinstance(typing, bool):
            self.typing.apply_elsewhere(room_id, user_id, typing, ms)

    def _on_push_rules(self, msg: dict) -> None:
        user_id = str_field(msg, "u", 255)
        if user_id is not None:
            self.push_rules.forget(user_id)

    def _on_presence(self, msg: dict) -> None:
        user_id = str_field(msg, "u", 255)
        if user_id is None:
            return
        if "st" not in msg:
            self.presence.owned_elsewhere(user_id)
            return
        state, pos, active = str_field(msg, "st", 16), int_field(msg, "s"), int_field(msg, "a")
        status = msg.get("m")
        if state is None or pos is None or active is None or \
                not (status is None or (isinstance(status, str) and len(status) <= 4096)):
            return
        self.stream.advance(pos)
        self.presence.apply_elsewhere(user_id, state, status, active, pos)
