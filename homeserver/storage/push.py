"""Push rules, pushers, their delivery queue and per-user unread notification counts (SQL
only)."""
from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass

from .database import Database

PusherKey = tuple[str, str, str]  # (user_id, app_id, pushkey)
MAIN = "main"  # the main timeline, as a thread ID (events in no thread)


@dataclass(frozen=True)
class QueuedPush:
    id: int
    room_id: str
    event_id: str
    tweaks: dict
    created_ts: int  # ms


class PushStore:
    def __init__(self, db: Database):
        self.db = db

    # user rules ------------------------------------------------------------------------------

    def user_rules(self, user_id: str) -> list[tuple[str, dict, bool]]:
        """[(kind, rule, enabled)] of the user's own rules, each kind in priority order."""
        rows = self.db.execute(
            "SELECT kind, rule_json, enabled FROM push_rules WHERE user_id = ?"
            " ORDER BY kind, position", (user_id,))
        return [(k, json.loads(r), bool(e)) for k, r, e in rows]

    def position(self, user_id: str, kind: str, rule_id: str) -> int | None:
        row = self.db.execute(
            "SELECT position FROM push_rules WHERE user_id=? AND kind=? AND rule_id=?",
            (user_id, kind, rule_id)).fetchone()
        return row[0] if row else None

    def enabled(self, user_id: str, kind: str, rule_id: str) -> bool | None:
        row = self.db.execute(
            "SELECT enabled FROM push_rules WHERE user_id=? AND kind=? AND rule_id=?",
            (user_id, kind, rule_id)).fetchone()
        return bool(row[0]) if row else None

    def put_rule(self, user_id: str, kind: str, rule: dict, *, before: str | None = None,
                 after: str | None = None) -> None:
        """Add or replace a rule. With ``before``/``after`` (a rule of the same kind, known to
        exist) it moves next to that rule; without, a new rule goes first and an existing one
        keeps its place."""
        rule_id = rule["rule_id"]
        with self.db.transaction() as c:
            old = self.position(user_id, kind, rule_id)
            enabled = self.enabled(user_id, kind, rule_id)
            anchor = before or after
            if anchor is None and old is not None:
                pos = old
            elif anchor is None:
                row = c.execute("SELECT MIN(position) FROM push_rules WHERE user_id=? AND kind=?",
                                (user_id, kind)).fetchone()
                pos = (row[0] if row[0] is not None else 1) - 1
            else:
                c.execute("DELETE FROM push_rules WHERE user_id=? AND kind=? AND rule_id=?",
                          (user_id, kind, rule_id))
                ref = self.position(user_id, kind, anchor)
                assert ref is not None
                pos = ref if before else ref + 1
                # Open a gap at pos: every rule from there on moves one down.
                c.execute("UPDATE push_rules SET position = position + 1 WHERE user_id=?"
                          " AND kind=? AND position >= ?", (user_id, kind, pos))
            c.execute(
                "INSERT OR REPLACE INTO push_rules (user_id, kind, rule_id, position, enabled,"
                " rule_json) VALUES (?,?,?,?,?,?)",
                (user_id, kind, rule_id, pos, 1 if enabled is None else int(enabled),
                 json.dumps(rule)))

    def delete_rule(self, user_id: str, kind: str, rule_id: str) -> bool:
        with self.db.transaction() as c:
            cur = c.execute("DELETE FROM push_rules WHERE user_id=? AND kind=? AND rule_id=?",
                            (user_id, kind, rule_id))
        return cur.rowcount > 0

    def set_user_rule_field(self, user_id: str, kind: str, rule_id: str, *,
                            enabled: bool | None = None, actions: list | None = None) -> None:
        with self.db.transaction() as c:
            if enabled is not None:
                c.execute("UPDATE push_rules SET enabled=? WHERE user_id=? AND kind=?"
                          " AND rule_id=?", (int(enabled), user_id, kind, rule_id))
            if actions is not None:
                row = c.execute("SELECT rule_json FROM push_rules WHERE user_id=? AND kind=?"
                                " AND rule_id=?", (user_id, kind, rule_id)).fetchone()
                if row:
                    rule = {**json.loads(row[0]), "actions": actions}
                    c.execute("UPDATE push_rules SET rule_json=? WHERE user_id=? AND kind=?"
                              " AND rule_id=?", (json.dumps(rule), user_id, kind, rule_id))

    # the user's changes to server-default rules ------------------------------------------------

    def default_changes(self, user_id: str) -> dict[str, tuple[bool | None, list | None]]:
        rows = self.db.execute(
            "SELECT rule_id, enabled, actions_json FROM push_rule_defaults WHERE user_id = ?",
            (user_id,))
        return {r: (None if e is None else bool(e), None if a is None else json.loads(a))
                for r, e, a in rows}

    def change_default(self, user_id: str, rule_id: str, *, enabled: bool | None = None,
                       actions: list | None = None) -> None:
        with self.db.transaction() as c:
            c.execute("INSERT OR IGNORE INTO push_rule_defaults (user_id, rule_id)"
                      " VALUES (?, ?)", (user_id, rule_id))
            if enabled is not None:
                c.execute("UPDATE push_rule_defaults SET enabled=? WHERE user_id=?"
                          " AND rule_id=?", (int(enabled), user_id, rule_id))
            if actions is not None:
                c.execute("UPDATE push_rule_defaults SET actions_json=? WHERE user_id=?"
                          " AND rule_id=?", (json.dumps(actions), user_id, rule_id))

    # pushers ---------------------------------------------------------------------------------

    def pushers(self, user_id: str) -> list[dict]:
        rows = self.db.execute("SELECT pusher_json FROM pushers WHERE user_id = ?"
                               " ORDER BY created_ts", (user_id,))
        return [json.loads(r) for (r,) in rows]

    def set_pusher(self, user_id: str, pusher: dict, append: bool) -> list[str]:
        """Store the pusher; returns the other users whose pusher of this app_id and pushkey
        it replaced (``append`` false, as the spec says), so their deliveries stop too."""
        app_id, pushkey = pusher["app_id"], pusher["pushkey"]
        others: list[str] = []
        with self.db.transaction() as c:
            if not append:
                others = [u for (u,) in c.execute(
                    "SELECT user_id FROM pushers WHERE app_id=? AND pushkey=? AND user_id != ?",
                    (app_id, pushkey, user_id))]
                for other in others:
                    self.delete_pusher(other, app_id, pushkey)
            c.execute("INSERT OR REPLACE INTO pushers (user_id, app_id, pushkey, pusher_json,"
                      " created_ts) VALUES (?,?,?,?,?)",
                      (user_id, app_id, pushkey, json.dumps(pusher), int(time.time() * 1000)))
        return others

    def delete_pusher(self, user_id: str, app_id: str, pushkey: str) -> None:
        """The pusher and whatever was still queued for it."""
        with self.db.transaction() as c:
            c.execute("DELETE FROM pushers WHERE user_id=? AND app_id=? AND pushkey=?",
                      (user_id, app_id, pushkey))
            c.execute("DELETE FROM push_queue WHERE user_id=? AND app_id=? AND pushkey=?",
                      (user_id, app_id, pushkey))

    def pusher_keys(self, user_ids: list[str] | None = None) -> list[PusherKey]:
        """(user_id, app_id, pushkey) of every pusher (of ``user_ids`` if given)."""
        if user_ids is None:
            rows = self.db.execute("SELECT user_id, app_id, pushkey FROM pushers"
                                   " ORDER BY created_ts")
            return [(u, a, k) for u, a, k in rows]
        out: list[PusherKey] = []
        for user_id in user_ids:
            out.extend((user_id, a, k) for a, k in self.db.execute(
                "SELECT app_id, pushkey FROM pushers WHERE user_id=? ORDER BY created_ts",
                (user_id,)))
        return out

    def pusher(self, key: PusherKey) -> tuple[dict, int] | None:
        """The pusher as it was set, and when (ms)."""
        row = self.db.execute("SELECT pusher_json, created_ts FROM pushers WHERE user_id=?"
                              " AND app_id=? AND pushkey=?", key).fetchone()
        return (json.loads(row[0]), row[1]) if row else None

    # the delivery queue of HTTP pushers --------------------------------------------------------

    def queued_pushers(self) -> list[PusherKey]:
        """Pushers with queued notifications, in the order their oldest one was queued."""
        rows = self.db.execute("SELECT user_id, app_id, pushkey FROM push_queue"
                               " GROUP BY user_id, app_id, pushkey ORDER BY MIN(id)")
        return [(u, a, k) for u, a, k in rows]

    def next_queued(self, key: PusherKey) -> QueuedPush | None:
        row = self.db.execute(
            "SELECT id, room_id, event_id, tweaks_json, created_ts FROM push_queue"
            " WHERE user_id=? AND app_id=? AND pushkey=? ORDER BY id LIMIT 1", key).fetchone()
        if row is None:
            return None
        return QueuedPush(row[0], row[1], row[2], json.loads(row[3]), row[4])

    def delete_queued(self, row_id: int) -> None:
        with self.db.transaction() as c:
            c.execute("DELETE FROM push_queue WHERE id = ?", (row_id,))

    # unread notifications ----------------------------------------------------------------------
    # A notification is in a thread (its root's event ID) or the main timeline ("main"). The
    # user's unthreaded read position (push_read_upto) covers every thread; a threaded one
    # (push_read_upto_threads: "main" or a root) covers its own thread only. A thread's count is
    # what is after both.

    def add_notifications(self, room_id: str, stream: int, hits: list[tuple[str, bool]],
                          pushes: Sequence[tuple] = (), reader: str | None = None,
                          thread_id: str = MAIN) -> None:
        """One notifying event (in ``thread_id``) for each (user_id, highlight), and in the
        same transaction the pushes it queues: (user_id, app_id, pushkey, event_id,
        tweaks_json, created_ts), and ``reader``'s read position in the event's thread (the
        sender's own event) moved up to it."""
        with self.db.transaction() as c:
            if reader is not None:
                self.mark_read(reader, room_id, stream, thread_id)  # joins this transaction
            c.executemany(
                "INSERT OR REPLACE INTO push_notifications (user_id, room_id, stream_ordering,"
                " highlight, thread_id) VALUES (?,?,?,?,?)",
                [(u, room_id, stream, int(h), thread_id) for u, h in hits])
            if pushes:
                c.executemany(
                    "INSERT INTO push_queue (user_id, app_id, pushkey, room_id, event_id,"
                    " tweaks_json, created_ts) VALUES (?,?,?,?,?,?,?)",
                    [(u, a, k, room_id, e, t, ts) for u, a, k, e, t, ts in pushes])

    def mark_read(self, user_id: str, room_id: str, stream: int,
                  thread_id: str | None = None) -> None:
        """The user has read the room (``thread_id`` None: unthreaded, every thread) or one
        thread ("main" or a root) up to ``stream``: earlier notifications there are dropped."""
        with self.db.transaction() as c:
            if thread_id is None:
                c.execute(
                    "INSERT INTO push_read_upto (user_id, room_id, stream_ordering)"
                    " VALUES (?,?,?) ON CONFLICT (user_id, room_id) DO UPDATE SET stream_ordering"
                    " = MAX(push_read_upto.stream_ordering, excluded.stream_ordering)",
                    (user_id, room_id, stream))
                # Threaded positions it passes say nothing more.
                c.execute("DELETE FROM push_read_upto_threads WHERE user_id=? AND room_id=?"
                          " AND stream_ordering <= ?", (user_id, room_id, stream))
                c.execute("DELETE FROM push_notifications WHERE user_id=? AND room_id=?"
                          " AND stream_ordering <= ?", (user_id, room_id, stream))
                return
            c.execute(
                "INSERT INTO push_read_upto_threads (user_id, room_id, thread_id,"
                " stream_ordering) VALUES (?,?,?,?) ON CONFLICT (user_id, room_id, thread_id)"
                " DO UPDATE SET stream_ordering = MAX(push_read_upto_threads.stream_ordering,"
                " excluded.stream_ordering)", (user_id, room_id, thread_id, stream))
            c.execute("DELETE FROM push_notifications WHERE user_id=? AND room_id=?"
                      " AND stream_ordering <= ? AND thread_id = ?",
                      (user_id, room_id, stream, thread_id))

    def unread_counts(self, user_id: str, room_id: str) -> dict[str, tuple[int, int]]:
        """{thread ID ("main" or a root): (notifications, highlights)} after the user's read
        positions in the room; threads with none are left out."""
        rows = self.db.execute(
            "SELECT n.thread_id, COUNT(*), COALESCE(SUM(n.highlight), 0)"
            " FROM push_notifications n LEFT JOIN push_read_upto_threads t"
            " ON t.user_id = n.user_id AND t.room_id = n.room_id AND t.thread_id = n.thread_id"
            " WHERE n.user_id = ? AND n.room_id = ? AND n.stream_ordering > COALESCE("
            "(SELECT stream_ordering FROM push_read_upto WHERE user_id = ? AND room_id = ?), 0)"
            " AND n.stream_ordering > COALESCE(t.stream_ordering, 0) GROUP BY n.thread_id",
            (user_id, room_id, user_id, room_id))
        return {thread: (n, h) for thread, n, h in rows}

    def badge_count(self, user_id: str, by_room: bool) -> int:
        """The user's unread notifications over all rooms: rooms with any, or their number."""
        what = "COUNT(DISTINCT n.room_id)" if by_room else "COUNT(*)"
        row = self.db.execute(
            f"SELECT {what} FROM push_notifications n LEFT JOIN push_read_upto r"
            " ON r.user_id = n.user_id AND r.room_id = n.room_id"
            " LEFT JOIN push_read_upto_threads t ON t.user_id = n.user_id"
            " AND t.room_id = n.room_id AND t.thread_id = n.thread_id"
            " WHERE n.user_id = ? AND n.stream_ordering > COALESCE(r.stream_ordering, 0)"
            " AND n.stream_ordering > COALESCE(t.stream_ordering, 0)",
            (user_id,)).fetchone()
        return row[0]
