"""The bridge's SQLite state: links, event ID mappings, handled events, the last processed
positions (appservice transaction IDs, our homeserver's sync token), puppets.

Each write commits before it returns (WAL mode), so whatever the bridge acknowledged or
relayed survives a restart, and a restart neither loses nor duplicates anything.
"""
from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from .stage import Snapshot

SCHEMA = """
CREATE TABLE IF NOT EXISTS links (
    matrix_room TEXT PRIMARY KEY,
    audio_room TEXT NOT NULL UNIQUE,
    creator TEXT,
    source TEXT NOT NULL,
    join_event TEXT,
    snapshot TEXT NOT NULL DEFAULT '{}',
    created_ts INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    matrix_event TEXT UNIQUE,
    audio_event TEXT UNIQUE,
    matrix_room TEXT NOT NULL,
    audio_room TEXT NOT NULL,
    kind TEXT NOT NULL,
    matrix_sender TEXT,
    ts INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS handled (event_id TEXT PRIMARY KEY, ts INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS txns (txn_id TEXT PRIMARY KEY, ts INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS puppets (user_id TEXT PRIMARY KEY, displayname TEXT);
CREATE TABLE IF NOT EXISTS puppet_rooms (
    user_id TEXT NOT NULL, room_id TEXT NOT NULL, PRIMARY KEY (user_id, room_id)
)
"""
TXN_KEEP_MS = 7 * 24 * 3600 * 1000


def _now() -> int:
    return int(time.time() * 1000)


@dataclass
class Link:
    matrix_room: str
    audio_room: str
    creator: str | None
    source: str
    join_event: str | None
    snapshot: Snapshot


@dataclass(frozen=True)
class Mapping:
    matrix_event: str | None
    audio_event: str | None
    matrix_room: str
    audio_room: str
    kind: str
    matrix_sender: str | None


class BridgeStore:
    def __init__(self, path: str | Path):
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self.conn.row_factory = sqlite3.Row
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute("PRAGMA busy_timeout=5000")
        for stmt in SCHEMA.split(";"):
            if stmt.strip():
                self.conn.execute(stmt)

    def close(self) -> None:
        self.conn.close()

    # key/value positions --------------------------------------------------------------------

    def get(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def put(self, key: str, value: str | None) -> None:
        if value is None:
            self.conn.execute("DELETE FROM kv WHERE key = ?", (key,))
        else:
            self.conn.execute("INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)",
                              (key, value))

    # links ----------------------------------------------------------------------------------

    def _link(self, row) -> Link | None:
        if row is None:
            return None
        return Link(row["matrix_room"], row["audio_room"], row["creator"], row["source"],
                    row["join_event"], Snapshot.from_dict(json.loads(row["snapshot"])))

    def link_for_matrix(self, room_id: str) -> Link | None:
        return self._link(self.conn.execute(
            "SELECT * FROM links WHERE matrix_room = ?", (room_id,)).fetchone())

    def link_for_audio(self, room_id: str) -> Link | None:
        return self._link(self.conn.execute(
            "SELECT * FROM links WHERE audio_room = ?", (room_id,)).fetchone())

    def links(self) -> list[Link]:
        return [link for r in self.conn.execute("SELECT * FROM links")
                if (link := self._link(r)) is not None]

    def add_link(self, matrix_room: str, audio_room: str, creator: str | None, source: str,
                 join_event: str | None, snapshot: Snapshot) -> None:
        self.conn.execute(
            "INSERT INTO links (matrix_room, audio_room, creator, source, join_event, snapshot,"
            " created_ts) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (matrix_room, audio_room, creator, source, join_event,
             json.dumps(snapshot.to_dict()), _now()))

    def remove_link(self, matrix_room: str) -> None:
        self.conn.execute("DELETE FROM links WHERE matrix_room = ?", (matrix_room,))

    def save_snapshot(self, audio_room: str, snapshot: Snapshot) -> None:
        self.conn.execute("UPDATE links SET snapshot = ? WHERE audio_room = ?",
                          (json.dumps(snapshot.to_dict()), audio_room))

    # event mappings -------------------------------------------------------------------------

    def add_mapping(self, matrix_event: str | None, audio_event: str | None, matrix_room: str,
                    audio_room: str, kind: str, matrix_sender: str | None = None) -> None:
        self.conn.execute(
            "INSERT OR IGNORE INTO events (matrix_event, audio_event, matrix_room, audio_room,"
            " kind, matrix_sender, ts) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (matrix_event, audio_event, matrix_room, audio_room, kind, matrix_sender, _now()))

    def _mapping(self, row) -> Mapping | None:
        if row is None:
            return None
        return Mapping(row["matrix_event"], row["audio_event"], row["matrix_room"],
                       row["audio_room"], row["kind"], row["matrix_sender"])

    def by_matrix_event(self, event_id: str) -> Mapping | None:
        return self._mapping(self.conn.execute(
            "SELECT * FROM events WHERE matrix_event = ?", (event_id,)).fetchone())

    def by_audio_event(self, event_id: str) -> Mapping | None:
        return self._mapping(self.conn.execute(
            "SELECT * FROM events WHERE audio_event = ?", (event_id,)).fetchone())

    def audio_for_matrix(self, event_id: str) -> str | None:
        m = self.by_matrix_event(event_id)
        return m.audio_event if m else None

    def matrix_for_audio(self, event_id: str) -> str | None:
        m = self.by_audio_event(event_id)
        return m.matrix_event if m else None

    # events consumed without a counterpart (commands, refusals) -------------------------------

    def is_handled(self, event_id: str) -> bool:
        return self.conn.execute("SELECT 1 FROM handled WHERE event_id = ?",
                                 (event_id,)).fetchone() is not None

    def mark_handled(self, event_id: str) -> None:
        self.conn.execute("INSERT OR IGNORE INTO handled (event_id, ts) VALUES (?, ?)",
                          (event_id, _now()))

    # appservice transactions (keyed by appservice.transaction_key) ---------------------------

    def txn_done(self, txn_id: str) -> bool:
        return self.conn.execute("SELECT 1 FROM txns WHERE txn_id = ?",
                                 (txn_id,)).fetchone() is not None

    def mark_txn_done(self, txn_id: str) -> None:
        now = _now()
        self.conn.execute("INSERT OR IGNORE INTO txns (txn_id, ts) VALUES (?, ?)", (txn_id, now))
        self.conn.execute("DELETE FROM txns WHERE ts < ?", (now - TXN_KEEP_MS,))

    # puppets --------------------------------------------------------------------------------

    def puppet_displayname(self, user_id: str) -> tuple[bool, str | None]:
        """(registered, displayname as last set)."""
        row = self.conn.execute("SELECT displayname FROM puppets WHERE user_id = ?",
                                (user_id,)).fetchone()
        return (row is not None, row[0] if row else None)

    def set_puppet(self, user_id: str, displayname: str | None) -> None:
        self.conn.execute("INSERT OR REPLACE INTO puppets (user_id, displayname) VALUES (?, ?)",
                          (user_id, displayname))

    def puppet_in_room(self, user_id: str, room_id: str) -> bool:
        return self.conn.execute("SELECT 1 FROM puppet_rooms WHERE user_id = ? AND room_id = ?",
                                 (user_id, room_id)).fetchone() is not None

    def set_puppet_in_room(self, user_id: str, room_id: str, joined: bool) -> None:
        if joined:
            self.conn.execute("INSERT OR IGNORE INTO puppet_rooms VALUES (?, ?)",
                              (user_id, room_id))
        else:
            self.conn.execute("DELETE FROM puppet_rooms WHERE user_id = ? AND room_id = ?",
                              (user_id, room_id))
