"""Migration 12 (unread counts by thread) keeps what a server had counted: old notifications
are in the main timeline, and an old read position still covers every thread."""
from __future__ import annotations

import sqlite3

from homeserver.storage.database import Database
from homeserver.storage.database import split_statements as _split
from homeserver.storage.migrations import MIGRATIONS
from homeserver.storage.push import PushStore


def test_old_counts_and_read_positions_survive_migration_12(tmp_path):
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY,"
                 " applied_ts INTEGER NOT NULL)")
    for version, sql in MIGRATIONS:
        if version < 12:
            for stmt in _split(sql):
                conn.execute(stmt)
            conn.execute("INSERT INTO schema_migrations VALUES (?, 0)", (version,))
    conn.executemany("INSERT INTO push_notifications VALUES (?,?,?,?)",
                     [("@bob:x", "!r:x", 5, 0), ("@bob:x", "!r:x", 7, 1),
                      ("@bob:x", "!r:x", 9, 0), ("@carol:x", "!r:x", 9, 0)])
    conn.execute("INSERT INTO push_read_upto VALUES ('@bob:x', '!r:x', 6)")
    conn.close()

    store = PushStore(Database(path))
    assert store.unread_counts("@bob:x", "!r:x") == {"main": (2, 1)}
    assert store.unread_counts("@carol:x", "!r:x") == {"main": (1, 0)}
    # The old position covers a thread's notifications after the migration too.
    store.add_notifications("!r:x", 4, [("@bob:x", True)], thread_id="$root")
    store.add_notifications("!r:x", 10, [("@bob:x", False)], thread_id="$root")
    assert store.unread_counts("@bob:x", "!r:x") == {"main": (2, 1), "$root": (1, 0)}
    assert store.badge_count("@bob:x", by_room=False) == 3
    # A thread's position covers that thread only; an unthreaded one, everything.
    store.mark_read("@bob:x", "!r:x", 10, "$root")
    assert store.unread_counts("@bob:x", "!r:x") == {"main": (2, 1)}
    store.add_notifications("!r:x", 11, [("@bob:x", False)], thread_id="$root")
    store.mark_read("@bob:x", "!r:x", 8, "main")
    assert store.unread_counts("@bob:x", "!r:x") == {"main": (1, 0), "$root": (1, 0)}
    store.mark_read("@bob:x", "!r:x", 11)
    assert store.unread_counts("@bob:x", "!r:x") == {}
    assert store.badge_count("@bob:x", by_room=True) == 0
