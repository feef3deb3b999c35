"""What one process of a server tells the others (PostgreSQL LISTEN/NOTIFY; SQLite: nobody).

Several ``homeserver run`` processes on one PostgreSQL database serve one server name. The
database is the truth; what each process keeps in memory must follow what the others commit:
- ``event``: an event was committed (sent inside its transaction, so it arrives exactly when
  the event is visible, and never for one that rolled back). Receivers drop the room's cached
  state, latest event and members, move their stream position, wake the room's long-polls and
  run their own per-process reactions (the SFU's stage rights, the ACL cache).
- ``wake``: something for these users' /sync (account data, to-device, receipts, device
  lists, presence, typing) at a stream position.
- ``tokens``: a user's access tokens were revoked or changed: cached ones go.

Messages are JSON, at most 7,900 bytes each (PostgreSQL's NOTIFY limit is 8,000), and carry
the sender's random ``origin`` so a process ignores its own. They come from our own database,
but are still checked field by field before use: a malformed one is logged and dropped.
"""
from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable, Iterable

log = logging.getLogger(__name__)

MAX_PAYLOAD = 7900


class ProcessBus:
    def __init__(self, db):
        self.db = db
        self.origin = secrets.token_hex(8)
        self._handlers: dict[str, Callable[[dict], None]] = {}
        self.received = 0  # messages from other processes (read by tests and metrics)
        self.enabled = db.engine == "postgres"

    def subscribe(self, kind: str, handler: Callable[[dict], None]) -> None:
        self._handlers[kind] = handler

    def start(self) -> None:
        if self.enabled:
            self.db.listen(self._on_payload, self._on_reconnected)

    def _on_reconnected(self) -> None:
        """Messages may have been lost while the connection was down: whoever subscribed to
        ``resync`` starts again from the database."""
        handler = self._handlers.get("resync")
        if handler is not None:
            handler({})

    def publish(self, kind: str, body: dict) -> None:
        """Send now, or at commit when inside a transaction."""
        if not self.enabled:
            return
        payload = json.dumps({"o": self.origin, "k": kind, **body}, separators=(",", ":"))
        if len(payload.encode()) > MAX_PAYLOAD:
            raise ValueError(f"process bus message {kind} too big")
        self.db.notify(payload)

    def publish_users(self, kind: str, users: Iterable[str], body: dict) -> None:
        """``body`` plus ``users``, split over as many messages as the list needs."""
        if not self.enabled:
            return
        chunk: list[str] = []
        size = 0
        for u in users:
            if size + len(u) + 4 > MAX_PAYLOAD - 400 and chunk:
                self.publish(kind, {**body, "users": chunk})
                chunk, size = [], 0
            chunk.append(u)
            size += len(u.encode()) + 3
        if chunk:
            self.publish(kind, {**body, "users": chunk})

    def _on_payload(self, payload: str) -> None:
        try:
            msg = json.loads(payload)
        except ValueError:
            log.warning("process bus: a message that is not JSON, dropped")
            return
        if not isinstance(msg, dict) or msg.get("o") == self.origin:
            return
        handler = self._handlers.get(msg.get("k"))  # type: ignore[arg-type]
        if handler is None:
            return
        self.received += 1
        try:
            handler(msg)
        except Exception:  # one bad message must not stop the others
            log.exception("process bus: handling %s failed", msg.get("k"))


def str_field(msg: dict, key: str, limit: int = 512) -> str | None:
    v = msg.get(key)
    return v if isinstance(v, str) and 0 < len(v) <= limit else None


def int_field(msg: dict, key: str) -> int | None:
    v = msg.get(key)
    return v if isinstance(v, int) and not isinstance(v, bool) and v >= 0 else None


def users_field(msg: dict) -> list[str]:
    v = msg.get("users")
    if not isinstance(v, list):
        return []
    return [u for u in v[:2000] if isinstance(u, str) and len(u) <= 255]
