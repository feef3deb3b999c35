"""Users, access tokens and the server's signing keys."""
from __future__ import annotations

import time

from .database import Database


def _now() -> int:
    return int(time.time() * 1000)


class UserStore:
    def __init__(self, db: Database):
        self.db = db

    def create_user(self, user_id: str, password_hash: str | None, displayname: str | None,
                    is_admin: bool = False) -> bool:
        """Insert a user; False if the ID is taken."""
        with self.db.transaction() as c:
            cur = c.execute(
                "INSERT OR IGNORE INTO users (user_id, password_hash, displayname, is_admin,"
                " created_ts) VALUES (?, ?, ?, ?, ?)",
                (user_id, password_hash, displayname, int(is_admin), _now()),
            )
            return cur.rowcount == 1

    def create_guest(self, displayname_prefix: str, server_name: str) -> str | None:
        """A guest with the next free numeric localpart (as Synapse); None if none was free
        in a few tries (a race with another registration)."""
        with self.db.transaction() as c:
            # Numeric localparts are kept for guests (and the accounts they became).
            row = c.execute(
                "SELECT MAX(CAST(substr(user_id, 2, instr(user_id, ':') - 2) AS INTEGER))"
                " FROM users WHERE substr(user_id, 2, instr(user_id, ':') - 2)"
                " NOT GLOB '*[^0-9]*'").fetchone()
            n = int(row[0] or 0) + 1
            for _ in range(50):
                user_id = f"@{n}:{server_name}"
                cur = c.execute(
                    "INSERT OR IGNORE INTO users (user_id, password_hash, displayname, is_admin,"
                    " created_ts, is_guest) VALUES (?, NULL, ?, 0, ?, 1)",
                    (user_id, f"{displayname_prefix} {n}", _now()))
                if cur.rowcount == 1:
                    return user_id
                n += 1
        return None

    def is_guest(self, user_id: str) -> bool:
        row = self.db.execute("SELECT is_guest FROM users WHERE user_id = ?",
                              (user_id,)).fetchone()
        return bool(row and row[0])

    def upgrade_guest(self, user_id: str, password_hash: str) -> bool:
        """The guest becomes a full account with the same ID; its tokens stop expiring."""
        with self.db.transaction() as c:
            cur = c.execute("UPDATE users SET is_guest = 0, password_hash = ? WHERE user_id = ?"
                            " AND is_guest = 1", (password_hash, user_id))
            if cur.rowcount != 1:
                return False
            c.execute("UPDATE access_tokens SET valid_until_ms = NULL WHERE user_id = ?",
                      (user_id,))
        return True

    def get_user(self, user_id: str) -> dict | None:
        row = self.db.execute(
            "SELECT user_id, password_hash, displayname, avatar_url, is_admin, deactivated"
            " FROM users WHERE user_id = ?", (user_id,)).fetchone()
        if row is None:
            return None
        return dict(zip(("user_id", "password_hash", "displayname", "avatar_url", "is_admin",
                         "deactivated"), row, strict=True))

    def user_exists(self, user_id: str) -> bool:
        return self.db.execute("SELECT 1 FROM users WHERE user_id = ?", (user_id,)).fetchone() \
            is not None

    def set_profile_field(self, user_id: str, field: str, value: str | None) -> None:
        assert field in ("displayname", "avatar_url")
        with self.db.transaction() as c:
            c.execute(f"UPDATE users SET {field} = ? WHERE user_id = ?", (value, user_id))

    def add_access_token(self, token_hash: bytes, user_id: str, device_id: str,
                         valid_until_ms: int | None = None) -> None:
        with self.db.transaction() as c:
            c.execute(
                "INSERT INTO access_tokens (token_hash, user_id, device_id, created_ts,"
                " valid_until_ms) VALUES (?, ?, ?, ?, ?)",
                (token_hash, user_id, device_id, _now(), valid_until_ms))

    def get_token(self, token_hash: bytes) -> tuple[bytes, str, str, int | None, int] | None:
        """(hash, user ID, device ID, valid until (ms) or None, is guest)."""
        return self.db.execute(
            "SELECT t.token_hash, t.user_id, t.device_id, t.valid_until_ms, u.is_guest"
            " FROM access_tokens t JOIN users u ON u.user_id = t.user_id"
            " WHERE t.token_hash = ?", (token_hash,)).fetchone()

    def delete_token(self, token_hash: bytes) -> None:
        with self.db.transaction() as c:
            c.execute("DELETE FROM access_tokens WHERE token_hash = ?", (token_hash,))

    def delete_all_tokens(self, user_id: str) -> list[bytes]:
        with self.db.transaction() as c:
            rows = c.execute("SELECT token_hash FROM access_tokens WHERE user_id = ?",
                             (user_id,)).fetchall()
            c.execute("DELETE FROM access_tokens WHERE user_id = ?", (user_id,))
        return [r[0] for r in rows]


class KeyStore:
    """The server's own ed25519 signing keys (seed stored base64, as Synapse's key file)."""

    def __init__(self, db: Database):
        self.db = db

    def current_key(self) -> tuple[str, str] | None:
        return self.db.execute(
            "SELECT key_id, seed FROM server_signing_keys WHERE expired_ts IS NULL"
            " ORDER BY created_ts DESC LIMIT 1").fetchone()

    def add_key(self, key_id: str, seed_b64: str) -> None:
        with self.db.transaction() as c:
            c.execute("INSERT INTO server_signing_keys (key_id, seed, created_ts) VALUES (?,?,?)",
                      (key_id, seed_b64, _now()))

    def old_keys(self) -> list[tuple[str, str, int]]:
        return self.db.execute(
            "SELECT key_id, seed, expired_ts FROM server_signing_keys"
            " WHERE expired_ts IS NOT NULL").fetchall()
