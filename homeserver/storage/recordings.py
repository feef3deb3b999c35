"""Recordings of audio rooms: where each one's packets are kept and how far it has got.

``state`` goes ``recording`` -> ``mixing`` -> ``done`` (or ``failed``); a row left in
``recording`` or ``mixing`` by a crash is picked up at the next start.
"""
from __future__ import annotations

from dataclasses import dataclass

from .database import Database

_COLUMNS = ("id, room_id, path, started_ts, started_by, ended_ts, stopped_by, state,"
            " content_uri, event_id")


@dataclass(frozen=True)
class RecordingRow:
    id: str
    room_id: str
    path: str
    started_ts: int
    started_by: str
    ended_ts: int | None
    stopped_by: str | None
    state: str
    content_uri: str | None
    event_id: str | None


class RecordingStore:
    def __init__(self, db: Database):
        self.db = db

    def add(self, rec_id: str, room_id: str, path: str, started_ts: int,
            started_by: str) -> None:
        with self.db.transaction() as c:
            c.execute("INSERT INTO recordings (id, room_id, path, started_ts, started_by, state)"
                      " VALUES (?,?,?,?,?, 'recording')",
                      (rec_id, room_id, path, started_ts, started_by))

    def get(self, rec_id: str) -> RecordingRow | None:
        row = self.db.execute(f"SELECT {_COLUMNS} FROM recordings WHERE id = ?",
                              (rec_id,)).fetchone()
        return RecordingRow(*row) if row else None

    def active(self, room_id: str) -> RecordingRow | None:
        row = self.db.execute(f"SELECT {_COLUMNS} FROM recordings WHERE room_id = ?"
                              " AND state = 'recording' ORDER BY started_ts DESC LIMIT 1",
                              (room_id,)).fetchone()
        return RecordingRow(*row) if row else None

    def unfinished(self) -> list[RecordingRow]:
        rows = self.db.execute(f"SELECT {_COLUMNS} FROM recordings"
                               " WHERE state IN ('recording', 'mixing') ORDER BY started_ts")
        return [RecordingRow(*r) for r in rows]

    def stopped(self, rec_id: str, ended_ts: int, stopped_by: str | None) -> None:
        with self.db.transaction() as c:
            c.execute("UPDATE recordings SET state = 'mixing', ended_ts = ?, stopped_by = ?"
                      " WHERE id = ? AND state = 'recording'", (ended_ts, stopped_by, rec_id))

    def finished(self, rec_id: str, state: str, content_uri: str | None,
                 event_id: str | None) -> None:
        with self.db.transaction() as c:
            c.execute("UPDATE recordings SET state = ?, content_uri = ?, event_id = ?"
                      " WHERE id = ?", (state, content_uri, event_id, rec_id))
