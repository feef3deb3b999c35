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
