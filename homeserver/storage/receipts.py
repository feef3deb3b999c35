"""Read receipts: the newest receipt of each (room, type, user, thread), at a sync position.

A receipt takes a position on the one stream shared with events and account data, so /sync
serves only the receipts that changed since the client's token.
"""
from __future__ import annotations

from .database import Database
from .events import StreamCounter

# (receipt_type, user_id, thread_id or "", event_id, ts)
Receipt = tuple[str, str, str, str, int]


class ReceiptStore:
    def __init__(self, db: Database, stream: StreamCounter):
        self.db = db
        self.stream = stream
        # room -> position of its newest receipt (0: none), so an incremental /sync asks the
        # database only about rooms whose receipts changed since its token.
        self._newest: dict[str, int] = {}
        # Several processes on PostgreSQL write receipts: then the table is asked each time.
        self._cached = db.engine == "sqlite"

    def put(self, room_id: str, receipt_type: str, user_id: str, thread_id: str | None,
            event_id: str, ts: int) -> int:
        with self.db.transaction() as c:
            pos = self.stream.next()
            c.execute(
                "INSERT OR REPLACE INTO receipts (room_id, receipt_type, user_id, thread_id,"
                " event_id, ts, stream_ordering) VALUES (?,?,?,?,?,?,?)",
                (room_id, receipt_type, user_id, thread_id or "", event_id, ts, pos))
        self._newest[room_id] = pos
        return pos

    def newest(self, room_id: str) -> int:
        pos = self._newest.get(room_id) if self._cached else None
        if pos is None:
            row = self.db.execute("SELECT MAX(stream_ordering) FROM receipts WHERE room_id = ?",
                                  (room_id,)).fetchone()
            pos = self._newest[room_id] = row[0] or 0
        return pos

    def get(self, room_id: str, receipt_type: str, user_id: str,
            thread_id: str | None) -> str | None:
        """The event ID of the current receipt, if any."""
        row = self.db.execute(
            "SELECT event_id FROM receipts WHERE room_id=? AND receipt_type=? AND user_id=?"
            " AND thread_id=?", (room_id, receipt_type, user_id, thread_id or "")).fetchone()
        return row[0] if row else None

    def changed_since(self, room_id: str, since: int | None, upto: int) -> list[Receipt]:
        """The room's receipts set after ``since`` (all if None) and at or before ``upto``."""
        if since is not None and self.newest(room_id) <= since:
            return []
        return self.db.execute(
            "SELECT receipt_type, user_id, thread_id, event_id, ts FROM receipts"
            " WHERE room_id = ? AND stream_ordering > ? AND stream_ordering <= ?"
            " ORDER BY stream_ordering", (room_id, since or 0, upto)).fetchall()
