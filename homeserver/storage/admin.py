"""SQL for the admin API (homeserver/handlers/admin*.py): account listing and flags, room
listing, blocked rooms, room deletions and purges, registration tokens."""
from __future__ import annotations

import json
import time

from .database import Database


def _now() -> int:
    return int(time.time() * 1000)


USER_ORDER = {"name": "u.user_id", "displayname": "u.displayname", "is_guest": "u.is_guest",
              "admin": "u.is_admin", "deactivated": "u.deactivated",
              "avatar_url": "u.avatar_url", "creation_ts": "u.created_ts",
              "last_seen_ts": "last_seen_ts", "shadow_banned": "u.user_id",
              "user_type": "u.user_id", "locked": "u.user_id"}

# Tables whose rows belong to one room: what a purge deletes (by room_id).
ROOM_TABLES = ("current_state", "memberships", "room_aliases", "push_notifications",
               "push_read_upto", "push_read_upto_threads", "receipts", "event_relations",
               "push_queue")


def _like(term: str) -> str:
    return "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


class AdminStore:
    def __init__(self, db: Database):
        self.db = db

    # accounts ------------------------------------------------------------------------------

    def list_users(self, start: int, limit: int, name: str | None, guests: bool,
                   deactivated: bool, admins: bool | None, order_by: str,
                   backwards: bool) -> tuple[list[dict], int]:
        where: list[str] = []
        args: list = []
        if name:
            where.append("(u.user_id LIKE ? ESCAPE '\\' OR LOWER(u.displayname) LIKE ?"
                         " ESCAPE '\\')")
            args += [_like(name), _like(name.lower())]
        if not guests:
            where.append("u.is_guest = 0")
        if not deactivated:
            where.append("u.deactivated = 0")
        if admins is not None:
            where.append("u.is_admin = ?")
            args.append(int(admins))
        clause = (" WHERE " + " AND ".join(where)) if where else ""
        total = self.db.execute(f"SELECT COUNT(*) FROM users u{clause}", args).fetchone()[0]
        direction = "DESC" if backwards else "ASC"
        rows = self.db.execute(
            "SELECT u.user_id, u.is_guest, u.is_admin, u.deactivated, u.displayname,"
            " u.avatar_url, u.created_ts, u.erased,"
            " (SELECT MAX(d.last_seen_ts) FROM devices d WHERE d.user_id = u.user_id)"
            f" AS last_seen_ts FROM users u{clause}"
            f" ORDER BY {USER_ORDER[order_by]} {direction}, u.user_id {direction}"
            " LIMIT ? OFFSET ?", [*args, limit, start]).fetchall()
        return [self._user_row(r) for r in rows], total

    @staticmethod
    def _user_row(r) -> dict:
        return {"name": r[0], "user_type": None, "is_guest": bool(r[1]), "admin": bool(r[2]),
                "deactivated": bool(r[3]), "shadow_banned": False, "displayname": r[4],
                "avatar_url": r[5], "creation_ts": r[6], "approved": True,
                "erased": bool(r[7]), "last_seen_ts": r[8], "locked": False}

    def get_user(self, user_id: str) -> dict | None:
        r = self.db.execute(
            "SELECT u.user_id, u.is_guest, u.is_admin, u.deactivated, u.displayname,"
            " u.avatar_url, u.created_ts, u.erased,"
            " (SELECT MAX(d.last_seen_ts) FROM devices d WHERE d.user_id = u.user_id)"
            " FROM users u WHERE u.user_id = ?", (user_id,)).fetchone()
        return self._user_row(r) if r else None

    def is_admin(self, user_id: str) -> bool:
        row = self.db.execute("SELECT is_admin FROM users WHERE user_id = ? AND deactivated = 0",
                              (user_id,)).fetchone()
        return bool(row and row[0])

    def set_admin(self, user_id: str, admin: bool) -> None:
        with self.db.transaction() as c:
            c.execute("UPDATE users SET is_admin = ? WHERE user_id = ?", (int(admin), user_id))

    def set_password_hash(self, user_id: str, password_hash: str | None) -> None:
        with self.db.transaction() as c:
            c.execute("UPDATE users SET password_hash = ? WHERE user_id = ?",
                      (password_hash, user_id))

    def set_deactivated(self, user_id: str, deactivated: bool, erase: bool = False) -> None:
        """Deactivation drops the password too (as Synapse), so only an admin can bring the
        account back, with a new one."""
        with self.db.transaction() as c:
            if deactivated:
                c.execute("UPDATE users SET deactivated = 1, password_hash = NULL,"
                          " erased = MAX(erased, ?) WHERE user_id = ?", (int(erase), user_id))
                c.execute("DELETE FROM pushers WHERE user_id = ?", (user_id,))
                c.execute("DELETE FROM user_directory WHERE user_id = ?", (user_id,))
            else:
                c.execute("UPDATE users SET deactivated = 0, erased = 0 WHERE user_id = ?",
                          (user_id,))

    def whois(self, user_id: str) -> list[tuple[str, str | None, int | None]]:
        return self.db.execute(
            "SELECT device_id, last_seen_ip, last_seen_ts FROM devices WHERE user_id = ?"
            " ORDER BY device_id LIMIT 1000", (user_id,)).fetchall()

    def pushers(self, user_id: str) -> list[dict]:
        return [json.loads(r[0]) for r in self.db.execute(
            "SELECT pusher_json FROM pushers WHERE user_id = ? LIMIT 1000", (user_id,))]

    def user_media(self, user_id: str, origin: str, start: int, limit: int,
                   backwards: bool) -> tuple[list[dict], int]:
        total = self.db.execute("SELECT COUNT(*) FROM media WHERE user_id = ? AND origin = ?",
                                (user_id, origin)).fetchone()[0]
        rows = self.db.execute(
            "SELECT media_id, content_type, size, upload_name, created_ts FROM media"
            " WHERE user_id = ? AND origin = ? ORDER BY created_ts"
            f" {'DESC' if backwards else 'ASC'}, media_id LIMIT ? OFFSET ?",
            (user_id, origin, limit, start)).fetchall()
        return [{"media_id": r[0], "media_type": r[1], "media_length": r[2],
                 "upload_name": r[3], "created_ts": r[4], "last_access_ts": None,
                 "quarantined_by": None, "safe_from_quarantine": False} for r in rows], total

    MEDIA_ORDER = {"user_id": "m.user_id", "displayname": "u.displayname",
                   "media_length": "media_length", "media_count": "media_count"}

    def media_statistics(self, origin: str, start: int, limit: int, order_by: str,
                         backwards: bool, search: str | None) -> tuple[list[dict], int]:
        """Per user: how many files they uploaded here and their bytes (Synapse's
        statistics/users/media)."""
        where, args = "m.origin = ? AND m.user_id IS NOT NULL", [origin]
        if search:
            where += " AND (m.user_id LIKE ? ESCAPE '\\' OR u.displayname LIKE ? ESCAPE '\\')"
            args += ["@" + _like(search) + ":%", _like(search)]  # the localpart, as Synapse
        base = (f"FROM media m LEFT JOIN users u ON u.user_id = m.user_id WHERE {where}"
                " GROUP BY m.user_id, u.displayname")
        total = self.db.execute(f"SELECT COUNT(*) FROM (SELECT m.user_id {base}) AS uploaders",
                                args).fetchone()[0]
        direction = "DESC" if backwards else "ASC"
        rows = self.db.execute(
            "SELECT m.user_id, u.displayname, COUNT(*) AS media_count,"
            f" COALESCE(SUM(m.size), 0) AS media_length {base}"
            f" ORDER BY {self.MEDIA_ORDER.get(order_by, 'm.user_id')} {direction}, m.user_id"
            " LIMIT ? OFFSET ?", [*args, limit, start]).fetchall()
        return [{"user_id": r[0], "displayname": r[1], "media_count": r[2],
                 "media_length": r[3]} for r in rows], total

    # rooms ---------------------------------------------------------------------------------

    def room_ids(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT room_id FROM rooms ORDER BY created_ts")]

    def rooms_of_server(self, server: str) -> list[tuple[str, int]]:
        """(room_id, the room's newest stream ordering) of every room with a member of
        ``server`` joined, by room ID."""
        return [(r, n or 0) for r, n in self.db.execute(
            "SELECT m.room_id, (SELECT MAX(stream_ordering) FROM events e"
            " WHERE e.room_id = m.room_id) FROM memberships m WHERE m.membership = 'join'"
            " AND substr(m.user_id, instr(m.user_id, ':') + 1) = ?"
            " GROUP BY m.room_id ORDER BY m.room_id", (server,))]

    def room_row(self, room_id: str) -> dict | None:
        r = self.db.execute("SELECT room_id, room_version, creator, is_public, room_type,"
                            " created_ts FROM rooms WHERE room_id = ?", (room_id,)).fetchone()
        if r is None:
            return None
        return dict(zip(("room_id", "version", "creator", "public", "room_type",
                         "created_ts"), r, strict=True))

    def member_counts(self, room_id: str, server_name: str) -> tuple[int, int]:
        """(joined members, joined members of this server)."""
        rows = self.db.execute("SELECT user_id FROM memberships WHERE room_id = ?"
                               " AND membership = 'join'", (room_id,)).fetchall()
        local = sum(1 for (u,) in rows if u.split(":", 1)[-1] == server_name)
        return len(rows), local

    def state_event_count(self, room_id: str) -> int:
        return self.db.execute("SELECT COUNT(*) FROM current_state WHERE room_id = ?",
                               (room_id,)).fetchone()[0]

    def device_count(self, user_ids: list[str]) -> int:
        n = 0
        for i in range(0, len(user_ids), 500):
            chunk = user_ids[i:i + 500]
            n += self.db.execute(
                f"SELECT COUNT(*) FROM devices WHERE user_id IN ({','.join('?' * len(chunk))})",
                chunk).fetchone()[0]
        return n

    def block_room(self, room_id: str, by: str) -> None:
        with self.db.transaction() as c:
            c.execute("INSERT OR IGNORE INTO blocked_rooms (room_id, user_id, blocked_ts)"
                      " VALUES (?,?,?)", (room_id, by, _now()))

    def is_blocked(self, room_id: str) -> bool:
        return self.db.execute("SELECT 1 FROM blocked_rooms WHERE room_id = ?",
                               (room_id,)).fetchone() is not None

    def purge_room(self, room_id: str) -> None:
        """Every row of the room goes: its events (and what points at them), state,
        memberships, aliases, receipts, unread counts, room account data."""
        with self.db.transaction() as c:
            c.execute("DELETE FROM txn_ids WHERE event_id IN"
                      " (SELECT event_id FROM events WHERE room_id = ?)", (room_id,))
            c.execute("DELETE FROM events WHERE room_id = ?", (room_id,))
            for table in ROOM_TABLES:
                c.execute(f"DELETE FROM {table} WHERE room_id = ?", (room_id,))
            c.execute("DELETE FROM account_data WHERE room_id = ?", (room_id,))
            c.execute("DELETE FROM rooms WHERE room_id = ?", (room_id,))

    # room deletions (Synapse's delete_id tasks) --------------------------------------------

    def add_deletion(self, delete_id: str, room_id: str) -> None:
        with self.db.transaction() as c:
            c.execute("INSERT INTO room_deletions (delete_id, room_id, status, created_ts)"
                      " VALUES (?,?,'scheduled',?)", (delete_id, room_id, _now()))
            # bounded: the newest 10000 tasks are kept
            c.execute("DELETE FROM room_deletions WHERE delete_id NOT IN (SELECT delete_id"
                      " FROM room_deletions ORDER BY created_ts DESC LIMIT 10000)")

    def set_deletion(self, delete_id: str, status: str, result: dict | None = None,
                     error: str | None = None) -> None:
        with self.db.transaction() as c:
            c.execute("UPDATE room_deletions SET status = ?, result = ?, error = ?"
                      " WHERE delete_id = ?",
                      (status, json.dumps(result) if result is not None else None, error,
                       delete_id))

    def _deletion(self, r) -> dict:
        out = {"delete_id": r[0], "room_id": r[1], "status": r[2],
               "shutdown_room": json.loads(r[3]) if r[3] else
               {"kicked_users": [], "failed_to_kick_users": [], "local_aliases": [],
                "new_room_id": None}}
        if r[4]:
            out["error"] = r[4]
        return out

    def deletions_for_room(self, room_id: str) -> list[dict]:
        rows = self.db.execute("SELECT delete_id, room_id, status, result, error FROM"
                               " room_deletions WHERE room_id = ? ORDER BY created_ts",
                               (room_id,)).fetchall()
        return [self._deletion(r) for r in rows]

    def deletion(self, delete_id: str) -> dict | None:
        r = self.db.execute("SELECT delete_id, room_id, status, result, error FROM"
                            " room_deletions WHERE delete_id = ?", (delete_id,)).fetchone()
        return self._deletion(r) if r else None

    def running_deletion(self, room_id: str) -> bool:
        return self.db.execute("SELECT 1 FROM room_deletions WHERE room_id = ? AND status IN"
                               " ('scheduled', 'active')", (room_id,)).fetchone() is not None

    def fail_unfinished_deletions(self) -> None:
        """At start: a deletion a restart interrupted is reported failed (ask again)."""
        with self.db.transaction() as c:
            c.execute("UPDATE room_deletions SET status = 'failed', error = 'interrupted by a"
                      " restart' WHERE status IN ('scheduled', 'active')")

    # event reports -------------------------------------------------------------------------

    def list_reports(self, start: int, limit: int, backwards: bool, room_id: str | None,
                     user_id: str | None) -> tuple[list[tuple], int]:
        where = ["event_id IS NOT NULL"]
        args: list = []
        if room_id:
            where.append("room_id = ?")
            args.append(room_id)
        if user_id:
            where.append("user_id LIKE ? ESCAPE '\\'")
            args.append(_like(user_id))
        clause = " WHERE " + " AND ".join(where)
        total = self.db.execute(f"SELECT COUNT(*) FROM event_reports{clause}",
                                args).fetchone()[0]
        rows = self.db.execute(
            "SELECT id, received_ts, room_id, event_id, user_id, reason, score FROM"
            f" event_reports{clause} ORDER BY received_ts {'DESC' if backwards else 'ASC'},"
            f" id {'DESC' if backwards else 'ASC'} LIMIT ? OFFSET ?",
            [*args, limit, start]).fetchall()
        return rows, total

    def report(self, report_id: int) -> tuple | None:
        return self.db.execute(
            "SELECT id, received_ts, room_id, event_id, user_id, reason, score FROM"
            " event_reports WHERE id = ? AND event_id IS NOT NULL", (report_id,)).fetchone()

    def delete_report(self, report_id: int) -> bool:
        with self.db.transaction() as c:
            return c.execute("DELETE FROM event_reports WHERE id = ? AND event_id IS NOT NULL",
                             (report_id,)).rowcount == 1


class RegistrationTokenStore:
    """Synapse's registration tokens: ``pending`` counts sign-ups that passed the token stage
    and are not finished yet; both pending and completed count against ``uses_allowed``."""

    COLUMNS = ("token", "uses_allowed", "pending", "completed", "expiry_time")

    def __init__(self, db: Database):
        self.db = db

    def _row(self, r) -> dict:
        return dict(zip(self.COLUMNS, r, strict=True))

    def list(self, valid: bool | None, now_ms: int) -> list[dict]:
        rows = self.db.execute("SELECT token, uses_allowed, pending, completed, expiry_time"
                               " FROM registration_tokens ORDER BY token LIMIT 10000").fetchall()
        out = [self._row(r) for r in rows]
        if valid is not None:
            out = [t for t in out if self.usable(t, now_ms) == valid]
        return out

    @staticmethod
    def usable(t: dict, now_ms: int) -> bool:
        if t["uses_allowed"] is not None and t["pending"] + t["completed"] >= t["uses_allowed"]:
            return False
        return t["expiry_time"] is None or t["expiry_time"] > now_ms

    def get(self, token: str) -> dict | None:
        r = self.db.execute("SELECT token, uses_allowed, pending, completed, expiry_time"
                            " FROM registration_tokens WHERE token = ?", (token,)).fetchone()
        return self._row(r) if r else None

    def create(self, token: str, uses_allowed: int | None, expiry_time: int | None) -> bool:
        with self.db.transaction() as c:
            cur = c.execute("INSERT OR IGNORE INTO registration_tokens (token, uses_allowed,"
                            " expiry_time) VALUES (?,?,?)", (token, uses_allowed, expiry_time))
            return cur.rowcount == 1

    def update(self, token: str, fields: dict) -> bool:
        if not fields:
            return self.get(token) is not None
        assert set(fields) <= {"uses_allowed", "expiry_time"}
        sets = ", ".join(f"{k} = ?" for k in fields)
        with self.db.transaction() as c:
            cur = c.execute(f"UPDATE registration_tokens SET {sets} WHERE token = ?",
                            [*fields.values(), token])
            return cur.rowcount == 1

    def delete(self, token: str) -> bool:
        with self.db.transaction() as c:
            return c.execute("DELETE FROM registration_tokens WHERE token = ?",
                             (token,)).rowcount == 1

    def take_pending(self, token: str, now_ms: int) -> bool:
        """Count one more pending use if the token is usable now (atomically)."""
        with self.db.transaction() as c:
            cur = c.execute(
                "UPDATE registration_tokens SET pending = pending + 1 WHERE token = ?"
                " AND (uses_allowed IS NULL OR pending + completed < uses_allowed)"
                " AND (expiry_time IS NULL OR expiry_time > ?)", (token, now_ms))
            return cur.rowcount == 1

    def complete(self, token: str) -> None:
        with self.db.transaction() as c:
            c.execute("UPDATE registration_tokens SET pending = MAX(pending - 1, 0),"
                      " completed = completed + 1 WHERE token = ?", (token,))

    def release_pending(self, token: str) -> None:
        with self.db.transaction() as c:
            c.execute("UPDATE registration_tokens SET pending = MAX(pending - 1, 0)"
                      " WHERE token = ?", (token,))
