"""The media repository's metadata: one row per file held, ours and cached remote copies.

The bytes are on disk (handlers/content_repo.py decides where); this holds what we know of them.
"""
from __future__ import annotations

from dataclasses import dataclass

from .database import Database


@dataclass(frozen=True)
class MediaInfo:
    origin: str
    media_id: str
    content_type: str
    size: int
    upload_name: str | None
    sha256: str
    user_id: str | None
    created_ts: int


_COLUMNS = "origin, media_id, content_type, size, upload_name, sha256, user_id, created_ts"


class MediaStore:
    def __init__(self, db: Database):
        self.db = db

    def add(self, info: MediaInfo) -> None:
        with self.db.transaction() as c:
            c.execute(f"INSERT OR REPLACE INTO media ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?)",
                      (info.origin, info.media_id, info.content_type, info.size,
                       info.upload_name, info.sha256, info.user_id, info.created_ts))

    def get(self, origin: str, media_id: str) -> MediaInfo | None:
        row = self.db.execute(f"SELECT {_COLUMNS} FROM media WHERE origin = ? AND media_id = ?",
                              (origin, media_id)).fetchone()
        return MediaInfo(*row) if row else None

    def delete(self, origin: str, media_id: str) -> None:
        with self.db.transaction() as c:
            c.execute("DELETE FROM media WHERE origin = ? AND media_id = ?", (origin, media_id))

    def count(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM media").fetchone()[0]

    # async uploads (/create, then PUT) -----------------------------------------------------

    def add_pending(self, media_id: str, user_id: str, expires_ts: int, now_ts: int,
                    max_per_user: int) -> bool:
        """Reserve ``media_id`` for ``user_id``; False if they hold ``max_per_user`` already."""
        with self.db.transaction() as c:
            c.execute("DELETE FROM media_pending WHERE expires_ts <= ?", (now_ts,))
            held = c.execute("SELECT COUNT(*) FROM media_pending WHERE user_id = ?",
                             (user_id,)).fetchone()[0]
            if held >= max_per_user:
                return False
            c.execute("INSERT INTO media_pending (media_id, user_id, expires_ts) VALUES (?,?,?)",
                      (media_id, user_id, expires_ts))
        return True

    def pending(self, media_id: str) -> tuple[str, int] | None:
        """(user_id, expires_ts) of a reserved media ID."""
        row = self.db.execute("SELECT user_id, expires_ts FROM media_pending WHERE media_id = ?",
                              (media_id,)).fetchone()
        return (row[0], row[1]) if row else None

    def complete_pending(self, info: MediaInfo) -> None:
        with self.db.transaction() as c:
            self.add(info)
            c.execute("DELETE FROM media_pending WHERE media_id = ?", (info.media_id,))
