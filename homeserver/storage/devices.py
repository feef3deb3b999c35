"""Devices: a user's logged-in sessions, each with its access tokens, display name and when and
from where it was last seen."""
from __future__ import annotations

import time

from .database import Database


def _now() -> int:
    return int(time.time() * 1000)


DEVICE_FIELDS = ("device_id", "display_name", "last_seen_ts", "last_seen_ip")


class DeviceStore:
    def __init__(self, db: Database):
        self.db = db

    def keep_device(self, user_id: str, device_id: str, display_name: str | None) -> list[bytes]:
        """Create the device if it is new (with ``display_name``); if it exists, its old
        access tokens are revoked (a new login on it replaces them). Returns their hashes."""
        with self.db.transaction() as c:
            rows = c.execute("SELECT token_hash FROM access_tokens WHERE user_id=? AND"
                             " device_id=?", (user_id, device_id)).fetchall()
            c.execute("DELETE FROM access_tokens WHERE user_id=? AND device_id=?",
                      (user_id, device_id))
            c.execute("INSERT OR IGNORE INTO devices (user_id, device_id, display_name,"
                      " created_ts) VALUES (?,?,?,?)", (user_id, device_id, display_name, _now()))
        return [r[0] for r in rows]

    def list_devices(self, user_id: str) -> list[dict]:
        rows = self.db.execute(
            "SELECT device_id, display_name, last_seen_ts, last_seen_ip FROM devices"
            " WHERE user_id = ? ORDER BY created_ts, device_id", (user_id,)).fetchall()
        return [dict(zip(DEVICE_FIELDS, r, strict=True)) for r in rows]

    def get_device(self, user_id: str, device_id: str) -> dict | None:
        row = self.db.execute(
            "SELECT device_id, display_name, last_seen_ts, last_seen_ip FROM devices"
            " WHERE user_id = ? AND device_id = ?", (user_id, device_id)).fetchone()
        return None if row is None else dict(zip(DEVICE_FIELDS, row, strict=True))

    def rename(self, user_id: str, device_id: str, display_name: str | None) -> bool:
        with self.db.transaction() as c:
            return c.execute("UPDATE devices SET display_name = ? WHERE user_id = ? AND"
                             " device_id = ?", (display_name, user_id, device_id)).rowcount == 1

    def delete_devices(self, user_id: str, device_ids: list[str]) -> list[bytes]:
        """Delete the devices and their access tokens; returns the revoked token hashes."""
        hashes: list[bytes] = []
        with self.db.transaction() as c:
            for device_id in device_ids:
                hashes += [r[0] for r in c.execute(
                    "SELECT token_hash FROM access_tokens WHERE user_id=? AND device_id=?",
                    (user_id, device_id))]
                c.execute("DELETE FROM access_tokens WHERE user_id=? AND device_id=?",
                          (user_id, device_id))
                c.execute("DELETE FROM devices WHERE user_id=? AND device_id=?",
                          (user_id, device_id))
        return hashes

    def delete_all_devices(self, user_id: str) -> None:
        with self.db.transaction() as c:
            c.execute("DELETE FROM devices WHERE user_id = ?", (user_id,))

    def record_last_seen(self, seen: list[tuple[int, str, str, str]]) -> None:
        """[(ts, ip, user_id, device_id)] in one transaction (a periodic flush)."""
        if not seen:
            return
        with self.db.transaction() as c:
            c.executemany("UPDATE devices SET last_seen_ts = ?, last_seen_ip = ?"
                          " WHERE user_id = ? AND device_id = ?", seen)
