"""Presence: each user's last-known state (ours and other servers' users), at its position on
the sync stream."""
from __future__ import annotations

from .database import Database
from .events import StreamCounter


class PresenceStore:
    def __init__(self, db: Database, stream: StreamCounter):
        self.db = db
        self.stream = stream

    def save(self, user_id: str, state: str, status_msg: str | None,
             last_active_ts: int) -> int:
        """Store the user's new state at a new stream position, returned."""
        with self.db.transaction() as c:
            pos = self.stream.next_marked("presence")
            c.execute("INSERT OR REPLACE INTO presence (user_id, state, status_msg,"
                      " last_active_ts, stream_ordering) VALUES (?,?,?,?,?)",
                      (user_id, state, status_msg, last_active_ts, pos))
        return pos

    def load(self) -> list[tuple[str, str, str | None, int, int]]:
        """Every [(user_id, state, status_msg, last_active_ts, stream_ordering)], oldest
        change first."""
        return self.db.execute(
            "SELECT user_id, state, status_msg, last_active_ts, stream_ordering FROM presence"
            " ORDER BY stream_ordering").fetchall()
