"""To-device messages' tables: each device's inbox at positions on the sync stream, the send
transactions that make /sendToDevice idempotent, and the message IDs of received
``m.direct_to_device`` EDUs (a retried transaction must not deliver twice)."""
from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from .database import Database
from .events import StreamCounter

TXN_KEEP_MS = 24 * 3600 * 1000  # a client retries a send within minutes, not days
RECEIVED_KEEP_MS = 7 * 24 * 3600 * 1000  # a remote retries until we answer; a week is ample


def _now() -> int:
    return int(time.time() * 1000)


class ToDeviceStore:
    def __init__(self, db: Database, stream: StreamCounter, inbox_cap: int = 10_000):
        self.db = db
        self.stream = stream
        self.inbox_cap = inbox_cap  # per device: beyond it the oldest messages are dropped

    @contextmanager
    def atomic(self) -> Iterator[None]:
        """One transaction around a send: its inbox rows, outbox rows and its txn record."""
        with self.db.transaction():
            yield

    # the inbox -----------------------------------------------------------------------------

    def add(self, messages: Iterable[tuple[str, str, str, str, dict]]) -> tuple[set[str], int]:
        """Store (user, device, sender, type, content) rows, each at a new stream position.
        Returns the recipients' user IDs and how many old messages the cap dropped."""
        users: set[str] = set()
        devices: set[tuple[str, str]] = set()
        dropped = 0
        with self.db.transaction() as c:
            pos = 0
            for user_id, device_id, sender, etype, content in messages:
                pos = self.stream.next()
                c.execute("INSERT INTO device_inbox (user_id, device_id, stream_pos, sender,"
                          " type, content) VALUES (?,?,?,?,?,?)",
                          (user_id, device_id, pos, sender, etype,
                           json.dumps(content, ensure_ascii=False, separators=(",", ":"))))
                users.add(user_id)
                devices.add((user_id, device_id))
            if pos:  # the counter resumes after it after a restart, even once all are deleted
                c.execute("INSERT OR REPLACE INTO stream_marks (name, pos) VALUES (?,?)",
                          ("to_device", pos))
            for user_id, device_id in devices:
                row = c.execute(
                    "SELECT stream_pos FROM device_inbox WHERE user_id = ? AND device_id = ?"
                    " ORDER BY stream_pos DESC LIMIT 1 OFFSET ?",
                    (user_id, device_id, self.inbox_cap)).fetchone()
                if row is not None:
                    dropped += c.execute(
                        "DELETE FROM device_inbox WHERE user_id = ? AND device_id = ?"
                        " AND stream_pos <= ?", (user_id, device_id, row[0])).rowcount
        return users, dropped

    def pending(self, user_id: str, device_id: str, after: int | None, upto: int,
                limit: int) -> list[tuple[int, str, str, dict]]:
        """(position, sender, type, content) of the device's messages in (after, upto]."""
        return [(pos, sender, etype, json.loads(content)) for pos, sender, etype, content in
                self.db.execute(
                    "SELECT stream_pos, sender, type, content FROM device_inbox"
                    " WHERE user_id = ? AND device_id = ? AND stream_pos > ? AND stream_pos <= ?"
                    " ORDER BY stream_pos LIMIT ?",
                    (user_id, device_id, after or 0, upto, limit))]

    def delete_upto(self, user_id: str, device_id: str, upto: int) -> int:
        """The device acknowledged everything up to ``upto``."""
        with self.db.transaction() as c:
            return c.execute("DELETE FROM device_inbox WHERE user_id = ? AND device_id = ?"
                             " AND stream_pos <= ?", (user_id, device_id, upto)).rowcount

    def count(self, user_id: str | None = None) -> int:
        if user_id is None:
            return self.db.execute("SELECT COUNT(*) FROM device_inbox").fetchone()[0]
        return self.db.execute("SELECT COUNT(*) FROM device_inbox WHERE user_id = ?",
                               (user_id,)).fetchone()[0]

    # idempotency ---------------------------------------------------------------------------

    def txn_seen(self, user_id: str, device_id: str, txn_id: str) -> bool:
        return self.db.execute(
            "SELECT 1 FROM to_device_txns WHERE user_id = ? AND device_id = ? AND txn_id = ?",
            (user_id, device_id, txn_id)).fetchone() is not None

    def record_txn(self, user_id: str, device_id: str, txn_id: str) -> None:
        now = _now()
        with self.db.transaction() as c:
            c.execute("DELETE FROM to_device_txns WHERE created_ts < ?", (now - TXN_KEEP_MS,))
            c.execute("INSERT OR IGNORE INTO to_device_txns (user_id, device_id, txn_id,"
                      " created_ts) VALUES (?,?,?,?)", (user_id, device_id, txn_id, now))

    def first_receipt(self, origin: str, message_id: str) -> bool:
        """Record a received EDU's message ID; False if it was received before."""
        now = _now()
        with self.db.transaction() as c:
            c.execute("DELETE FROM to_device_received WHERE received_ts < ?",
                      (now - RECEIVED_KEEP_MS,))
            return c.execute("INSERT OR IGNORE INTO to_device_received (origin, message_id,"
                             " received_ts) VALUES (?,?,?)",
                             (origin, message_id, now)).rowcount == 1
