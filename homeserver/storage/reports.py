"""Reports of events and rooms by users, kept for the server's admins."""
from __future__ import annotations

import time

from .database import Database

_COLUMNS = ("id", "room_id", "event_id", "user_id", "reason", "score", "received_ts")


class ReportStore:
    def __init__(self, db: Database):
        self.db = db

    def add(self, room_id: str, event_id: str | None, user_id: str, reason: str | None,
            score: int | None) -> int:
        with self.db.transaction() as c:
            cur = c.execute(
                "INSERT INTO event_reports (room_id, event_id, user_id, reason, score,"
                " received_ts) VALUES (?,?,?,?,?,?)",
                (room_id, event_id, user_id, reason, score, int(time.time() * 1000)))
            return int(cur.lastrowid or 0)

    def list(self, limit: int = 100, before_id: int | None = None) -> list[dict]:
        """Newest first, ``limit`` at a time; ``before_id`` pages back."""
        rows = self.db.execute(
            "SELECT id, room_id, event_id, user_id, reason, score, received_ts"
            " FROM event_reports WHERE id < ? ORDER BY id DESC LIMIT ?",
            (before_id if before_id is not None else 2**63 - 1, max(0, min(limit, 1000))))
        return [dict(zip(_COLUMNS, r, strict=True)) for r in rows]
