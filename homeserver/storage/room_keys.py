"""Server-side room key backups' tables: each user's backup versions and the session keys in
them. The rules (which version is current, which key is better, the bounds) are the handler's
(homeserver/handlers/room_keys.py); every method here is one transaction."""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from .database import Database


@dataclass(frozen=True)
class SessionKey:
    first_message_index: int
    forwarded_count: int
    is_verified: bool
    session_data: dict

    def render(self) -> dict:
        return {"first_message_index": self.first_message_index,
                "forwarded_count": self.forwarded_count, "is_verified": self.is_verified,
                "session_data": self.session_data}


def _dump(obj: dict) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


class RoomKeyStore:
    def __init__(self, db: Database):
        self.db = db

    # versions ------------------------------------------------------------------------------

    def create_version(self, user_id: str, algorithm: str, auth_data: dict,
                       keep: int) -> tuple[int, list[int]]:
        """A new version, numbered after every one the user ever had, which becomes current.
        Beyond ``keep`` live versions the oldest are deleted with their keys. Returns the new
        version and those deleted."""
        with self.db.transaction() as c:
            row = c.execute("SELECT MAX(version) FROM room_key_versions WHERE user_id = ?",
                            (user_id,)).fetchone()
            version = (row[0] or 0) + 1
            c.execute("INSERT INTO room_key_versions (user_id, version, algorithm, auth_data)"
                      " VALUES (?,?,?,?)", (user_id, version, algorithm, _dump(auth_data)))
            old = [r[0] for r in c.execute(
                "SELECT version FROM room_key_versions WHERE user_id = ? AND deleted = 0"
                " ORDER BY version DESC LIMIT -1 OFFSET ?", (user_id, keep))]
            for v in old:
                self._delete_version(c, user_id, v)
            c.execute("DELETE FROM room_key_versions WHERE user_id = ? AND deleted = 1",
                      (user_id,))  # the new one holds the highest number now
        return version, old

    def version_info(self, user_id: str, version: int | None = None) -> dict | None:
        """The version (the current one if None) unless deleted: {version, algorithm,
        auth_data, etag, count}."""
        if version is None:
            row = self.db.execute(
                "SELECT version, algorithm, auth_data, etag FROM room_key_versions"
                " WHERE user_id = ? AND deleted = 0 ORDER BY version DESC LIMIT 1",
                (user_id,)).fetchone()
        else:
            row = self.db.execute(
                "SELECT version, algorithm, auth_data, etag FROM room_key_versions"
                " WHERE user_id = ? AND version = ? AND deleted = 0",
                (user_id, version)).fetchone()
        if row is None:
            return None
        return {"version": row[0], "algorithm": row[1], "auth_data": json.loads(row[2]),
                "etag": row[3], "count": self.count(user_id, row[0])}

    def update_auth_data(self, user_id: str, version: int, auth_data: dict) -> bool:
        with self.db.transaction() as c:
            return c.execute("UPDATE room_key_versions SET auth_data = ? WHERE user_id = ?"
                             " AND version = ? AND deleted = 0",
                             (_dump(auth_data), user_id, version)).rowcount == 1

    def delete_version(self, user_id: str, version: int) -> bool:
        """The version and its keys go (its number is never given again)."""
        with self.db.transaction() as c:
            return self._delete_version(c, user_id, version)

    @staticmethod
    def _delete_version(c, user_id: str, version: int) -> bool:
        c.execute("DELETE FROM room_keys WHERE user_id = ? AND version = ?", (user_id, version))
        done = c.execute("UPDATE room_key_versions SET deleted = 1, auth_data = '{}'"
                         " WHERE user_id = ? AND version = ? AND deleted = 0",
                         (user_id, version)).rowcount == 1
        # Only the highest number must stay (so none is given twice): the user's rows stay
        # within the live versions plus one, however many were created and deleted.
        c.execute("DELETE FROM room_key_versions WHERE user_id = ? AND deleted = 1 AND"
                  " version < (SELECT MAX(version) FROM room_key_versions WHERE user_id = ?)",
                  (user_id, user_id))
        return done

    # keys ----------------------------------------------------------------------------------

    def count(self, user_id: str, version: int) -> int:
        return self.db.execute("SELECT COUNT(*) FROM room_keys WHERE user_id = ? AND"
                               " version = ?", (user_id, version)).fetchone()[0]

    def count_all(self, user_id: str) -> int:
        """Keys in all of the user's versions."""
        return self.db.execute("SELECT COUNT(*) FROM room_keys WHERE user_id = ?",
                               (user_id,)).fetchone()[0]

    def get_keys(self, user_id: str, version: int, room_id: str | None = None,
                 session_id: str | None = None,
                 limit: int = 1_000_000) -> dict[str, dict[str, SessionKey]]:
        """{room_id: {session_id: key}} of the version, narrowed to a room or a session."""
        where, args = _scope(user_id, version, room_id, session_id)
        sql = ("SELECT room_id, session_id, first_message_index, forwarded_count, is_verified,"
               " session_data FROM room_keys WHERE " + where +
               " ORDER BY room_id, session_id LIMIT ?")
        args.append(limit)
        out: dict[str, dict[str, SessionKey]] = {}
        for r, s, fmi, fc, verified, data in self.db.execute(sql, args):
            out.setdefault(r, {})[s] = SessionKey(fmi, fc, bool(verified), json.loads(data))
        return out

    def put_keys(self, user_id: str, version: int,
                 keys: list[tuple[str, str, SessionKey]],
                 better: Callable[[SessionKey, SessionKey], bool],
                 max_total: int) -> tuple[int, int, int] | None:
        """Store (room_id, session_id, key) rows where no key is stored for the session or
        ``better(new, old)``; the version's etag moves on if anything changed. None (nothing
        stored) if the user's keys would then number more than ``max_total``. Else returns
        (changed, count, etag)."""
        with self.db.transaction() as c:
            total = c.execute("SELECT COUNT(*) FROM room_keys WHERE user_id = ?",
                              (user_id,)).fetchone()[0]
            writes = []
            for room_id, session_id, key in keys:
                row = c.execute(
                    "SELECT first_message_index, forwarded_count, is_verified, session_data"
                    " FROM room_keys WHERE user_id = ? AND version = ? AND room_id = ? AND"
                    " session_id = ?", (user_id, version, room_id, session_id)).fetchone()
                if row is None:
                    total += 1
                elif not better(key, SessionKey(row[0], row[1], bool(row[2]),
                                                json.loads(row[3]))):
                    continue
                writes.append((user_id, version, room_id, session_id, key.first_message_index,
                               key.forwarded_count, int(key.is_verified),
                               _dump(key.session_data)))
            if total > max_total:
                return None  # nothing written
            c.executemany("INSERT OR REPLACE INTO room_keys (user_id, version, room_id,"
                          " session_id, first_message_index, forwarded_count, is_verified,"
                          " session_data) VALUES (?,?,?,?,?,?,?,?)", writes)
            changed = len(writes)
            if changed:
                c.execute("UPDATE room_key_versions SET etag = etag + 1 WHERE user_id = ? AND"
                          " version = ?", (user_id, version))
            count = c.execute("SELECT COUNT(*) FROM room_keys WHERE user_id = ? AND"
                              " version = ?", (user_id, version)).fetchone()[0]
            etag = c.execute("SELECT etag FROM room_key_versions WHERE user_id = ? AND"
                             " version = ?", (user_id, version)).fetchone()[0]
        return changed, count, etag

    def delete_keys(self, user_id: str, version: int, room_id: str | None = None,
                    session_id: str | None = None) -> tuple[int, int]:
        """Delete the version's keys (of a room, or one session); the etag moves on.
        Returns (count, etag) after."""
        where, args = _scope(user_id, version, room_id, session_id)
        sql = "DELETE FROM room_keys WHERE " + where
        with self.db.transaction() as c:
            c.execute(sql, args)
            c.execute("UPDATE room_key_versions SET etag = etag + 1 WHERE user_id = ? AND"
                      " version = ?", (user_id, version))
            count = c.execute("SELECT COUNT(*) FROM room_keys WHERE user_id = ? AND"
                              " version = ?", (user_id, version)).fetchone()[0]
            etag = c.execute("SELECT etag FROM room_key_versions WHERE user_id = ? AND"
                             " version = ?", (user_id, version)).fetchone()[0]
        return count, etag


def _scope(user_id: str, version: int, room_id: str | None,
           session_id: str | None) -> tuple[str, list]:
    """The WHERE clause (and its arguments) for a version's keys, narrowed to a room or to
    one session of it: the same for reading and deleting."""
    where = "user_id = ? AND version = ?"
    args: list = [user_id, version]
    if room_id is not None:
        where += " AND room_id = ?"
        args.append(room_id)
        if session_id is not None:
            where += " AND session_id = ?"
            args.append(session_id)
    return where, args
