"""End-to-end encryption keys: devices' identity keys, one-time and fallback keys, cross-signing
keys and the signatures others add to them; device list changes (on the sync stream) and the
devices of other servers' users as we last heard them."""
from __future__ import annotations

import json

from .database import Database
from .events import StreamCounter


def _dump(obj: dict) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


class E2EKeyStore:
    def __init__(self, db: Database, stream: StreamCounter):
        self.db = db
        self.stream = stream

    # device keys ---------------------------------------------------------------------------

    def set_device_keys(self, user_id: str, device_id: str, keys: dict) -> None:
        with self.db.transaction() as c:
            c.execute("INSERT OR REPLACE INTO e2e_device_keys (user_id, device_id, json)"
                      " VALUES (?,?,?)", (user_id, device_id, _dump(keys)))

    def device_keys(self, user_id: str, device_ids: list[str] | None = None) -> dict[str, dict]:
        """{device_id: keys} of the user's devices (those named, or all)."""
        rows = self.db.execute("SELECT device_id, json FROM e2e_device_keys WHERE user_id = ?"
                               " ORDER BY device_id", (user_id,)).fetchall()
        wanted = None if not device_ids else set(device_ids)
        return {d: json.loads(j) for d, j in rows if wanted is None or d in wanted}

    def delete_device(self, user_id: str, device_id: str) -> None:
        with self.db.transaction() as c:
            for table in ("e2e_device_keys", "e2e_one_time_keys", "e2e_fallback_keys"):
                c.execute(f"DELETE FROM {table} WHERE user_id = ? AND device_id = ?",
                          (user_id, device_id))
            c.execute("DELETE FROM e2e_signatures WHERE user_id = ? AND key_id = ?",
                      (user_id, device_id))

    # one-time and fallback keys ------------------------------------------------------------

    def one_time_key_ids(self, user_id: str, device_id: str,
                         key_ids: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
        """Of the (algorithm, key_id) given, those stored: {(alg, key_id): json}."""
        out = {}
        for alg, kid in key_ids:
            row = self.db.execute(
                "SELECT json FROM e2e_one_time_keys WHERE user_id=? AND device_id=? AND"
                " algorithm=? AND key_id=?", (user_id, device_id, alg, kid)).fetchone()
            if row is not None:
                out[(alg, kid)] = row[0]
        return out

    def add_one_time_keys(self, user_id: str, device_id: str,
                          keys: list[tuple[str, str, dict]], max_total: int) -> bool:
        """Add [(algorithm, key_id, key)] unless the device would then hold more than
        ``max_total``; False (nothing added) if it would."""
        with self.db.transaction() as c:
            n = c.execute("SELECT COUNT(*) FROM e2e_one_time_keys WHERE user_id=? AND"
                          " device_id=?", (user_id, device_id)).fetchone()[0]
            if n + len(keys) > max_total:
                return False
            c.executemany("INSERT OR IGNORE INTO e2e_one_time_keys (user_id, device_id,"
                          " algorithm, key_id, json) VALUES (?,?,?,?,?)",
                          [(user_id, device_id, a, k, _dump(v)) for a, k, v in keys])
        return True

    def one_time_key_counts(self, user_id: str, device_id: str) -> dict[str, int]:
        return dict(self.db.execute(
            "SELECT algorithm, COUNT(*) FROM e2e_one_time_keys WHERE user_id=? AND device_id=?"
            " GROUP BY algorithm", (user_id, device_id)).fetchall())

    def set_fallback_key(self, user_id: str, device_id: str, algorithm: str, key_id: str,
                         key: dict) -> None:
        """A new fallback key replaces the old one (unused); the same one again keeps its
        used flag."""
        with self.db.transaction() as c:
            row = c.execute("SELECT key_id, json FROM e2e_fallback_keys WHERE user_id=? AND"
                            " device_id=? AND algorithm=?",
                            (user_id, device_id, algorithm)).fetchone()
            if row is not None and (row[0], row[1]) == (key_id, _dump(key)):
                return
            c.execute("INSERT OR REPLACE INTO e2e_fallback_keys (user_id, device_id, algorithm,"
                      " key_id, json, used) VALUES (?,?,?,?,?,0)",
                      (user_id, device_id, algorithm, key_id, _dump(key)))

    def unused_fallback_types(self, user_id: str, device_id: str) -> list[str]:
        return [r[0] for r in self.db.execute(
            "SELECT algorithm FROM e2e_fallback_keys WHERE user_id=? AND device_id=? AND"
            " used = 0 ORDER BY algorithm", (user_id, device_id))]

    def claim(self, user_id: str, device_id: str, algorithm: str) -> tuple[str, dict] | None:
        """Take one one-time key of ``algorithm`` (deleted in the same transaction, so it is
        given out once), else the fallback key (marked used); None if neither exists."""
        with self.db.transaction() as c:
            row = c.execute("SELECT key_id, json FROM e2e_one_time_keys WHERE user_id=? AND"
                            " device_id=? AND algorithm=? ORDER BY key_id LIMIT 1",
                            (user_id, device_id, algorithm)).fetchone()
            if row is not None:
                c.execute("DELETE FROM e2e_one_time_keys WHERE user_id=? AND device_id=? AND"
                          " algorithm=? AND key_id=?", (user_id, device_id, algorithm, row[0]))
                return f"{algorithm}:{row[0]}", json.loads(row[1])
            row = c.execute("SELECT key_id, json FROM e2e_fallback_keys WHERE user_id=? AND"
                            " device_id=? AND algorithm=?",
                            (user_id, device_id, algorithm)).fetchone()
            if row is None:
                return None
            c.execute("UPDATE e2e_fallback_keys SET used = 1 WHERE user_id=? AND device_id=?"
                      " AND algorithm=?", (user_id, device_id, algorithm))
            return f"{algorithm}:{row[0]}", json.loads(row[1])

    # cross-signing keys and signatures -----------------------------------------------------

    def set_cross_signing_key(self, user_id: str, usage: str, key: dict) -> None:
        with self.db.transaction() as c:
            c.execute("INSERT OR REPLACE INTO e2e_cross_signing_keys (user_id, usage, json)"
                      " VALUES (?,?,?)", (user_id, usage, _dump(key)))

    def cross_signing_keys(self, user_id: str) -> dict[str, dict]:
        """{usage: key} ("master", "self_signing", "user_signing")."""
        return {u: json.loads(j) for u, j in self.db.execute(
            "SELECT usage, json FROM e2e_cross_signing_keys WHERE user_id = ?", (user_id,))}

    def add_signature(self, user_id: str, key_id: str, signer: str, signer_key_id: str,
                      signature: str) -> None:
        with self.db.transaction() as c:
            c.execute("INSERT OR REPLACE INTO e2e_signatures (user_id, key_id, signer,"
                      " signer_key_id, signature) VALUES (?,?,?,?,?)",
                      (user_id, key_id, signer, signer_key_id, signature))

    def signatures(self, user_id: str, key_id: str) -> list[tuple[str, str, str]]:
        """[(signer, signer_key_id, signature)] added to the user's device or key."""
        return self.db.execute(
            "SELECT signer, signer_key_id, signature FROM e2e_signatures WHERE user_id=? AND"
            " key_id=? LIMIT 1000", (user_id, key_id)).fetchall()

    # device list changes, on the sync stream -----------------------------------------------

    def record_change(self, user_id: str, sent: bool = False) -> tuple[int, int | None]:
        """Note that the user's device list changed: (its stream position, the previous
        position ``sent`` to other servers as an m.device_list_update, or None)."""
        prev = self.last_sent(user_id)
        with self.db.transaction() as c:
            pos = self.stream.next_marked("device_lists")
            c.execute("INSERT INTO device_list_changes (user_id, stream_ordering, sent)"
                      " VALUES (?,?,?)", (user_id, pos, int(sent)))
        return pos, prev

    def last_sent(self, user_id: str) -> int | None:
        """The stream_id of the user's last m.device_list_update: where the chain is."""
        return self.db.execute("SELECT MAX(stream_ordering) FROM device_list_changes WHERE"
                               " user_id = ? AND sent = 1", (user_id,)).fetchone()[0]

    def changed_between(self, after: int, upto: int, limit: int = 10_000) -> list[str]:
        return [r[0] for r in self.db.execute(
            "SELECT DISTINCT user_id FROM device_list_changes WHERE stream_ordering > ? AND"
            " stream_ordering <= ? LIMIT ?", (after, upto, limit))]

    def membership_changes(self, room_ids: list[str], after: int,
                           upto: int) -> list[tuple[str, str, str]]:
        """[(room_id, user_id, membership)] that began in (after, upto] in these rooms."""
        out: list[tuple[str, str, str]] = []
        for room_id in room_ids:
            out += self.db.execute(
                "SELECT room_id, user_id, membership FROM memberships WHERE room_id = ? AND"
                " stream_ordering > ? AND stream_ordering <= ? LIMIT 10000",
                (room_id, after, upto)).fetchall()
        return out

    # other servers' users' devices ---------------------------------------------------------

    def remote_stream_id(self, user_id: str) -> int | None:
        row = self.db.execute("SELECT stream_id FROM remote_device_lists WHERE user_id = ?",
                              (user_id,)).fetchone()
        return None if row is None else row[0]

    def remote_devices(self, user_id: str) -> dict[str, dict]:
        return {d: json.loads(j) for d, j in self.db.execute(
            "SELECT device_id, json FROM remote_devices WHERE user_id = ? ORDER BY device_id",
            (user_id,))}

    def replace_remote_devices(self, user_id: str, stream_id: int,
                               devices: dict[str, dict]) -> None:
        with self.db.transaction() as c:
            c.execute("DELETE FROM remote_devices WHERE user_id = ?", (user_id,))
            c.executemany("INSERT INTO remote_devices (user_id, device_id, json)"
                          " VALUES (?,?,?)", [(user_id, d, _dump(k)) for d, k in devices.items()])
            c.execute("INSERT OR REPLACE INTO remote_device_lists (user_id, stream_id)"
                      " VALUES (?,?)", (user_id, stream_id))

    def update_remote_device(self, user_id: str, device_id: str, keys: dict | None,
                             stream_id: int) -> None:
        """One device changed (``keys``) or was deleted (None) at ``stream_id``."""
        with self.db.transaction() as c:
            if keys is None:
                c.execute("DELETE FROM remote_devices WHERE user_id=? AND device_id=?",
                          (user_id, device_id))
            else:
                c.execute("INSERT OR REPLACE INTO remote_devices (user_id, device_id, json)"
                          " VALUES (?,?,?)", (user_id, device_id, _dump(keys)))
            c.execute("INSERT OR REPLACE INTO remote_device_lists (user_id, stream_id)"
                      " VALUES (?,?)", (user_id, stream_id))

    def forget_remote_user(self, user_id: str) -> None:
        with self.db.transaction() as c:
            c.execute("DELETE FROM remote_devices WHERE user_id = ?", (user_id,))
            c.execute("DELETE FROM remote_device_lists WHERE user_id = ?", (user_id,))
            c.execute("DELETE FROM e2e_cross_signing_keys WHERE user_id = ?", (user_id,))
