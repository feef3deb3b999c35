"""The user directory: who a user may find by name, in SQL.

Table ``user_directory`` has one row per user ever seen joined to a room here (local or remote)
with the display name and avatar of their latest join event; ``user_directory_search`` is its
full-text index (FTS5) over user ID and display name. Triggers on ``memberships`` (migration 11)
keep both up to date in the transaction that stores the membership, whichever path stored it.

Who is visible is decided at query time from ``memberships``: a user joined to a room the
searcher is joined to, or joined to a room whose join rule is public. A search reads at most
``CANDIDATES`` index hits (best-ranked first) and stops after ``limit + 1`` visible ones.
"""
from __future__ import annotations

import logging
import re
import sqlite3

from .database import Database

log = logging.getLogger(__name__)

CANDIDATES = 2000  # index hits considered per search, best-ranked first

# Who the searcher may see: someone sharing a joined room, or joined to a public room.
_VISIBLE = """(EXISTS (
        SELECT 1 FROM memberships mine JOIN memberships theirs ON theirs.room_id = mine.room_id
        WHERE mine.user_id = :searcher AND mine.membership = 'join'
          AND theirs.user_id = d.user_id AND theirs.membership = 'join')
   OR EXISTS (
        SELECT 1 FROM memberships m
        JOIN current_state cs ON cs.room_id = m.room_id AND cs.type = 'm.room.join_rules'
             AND cs.state_key = ''
        JOIN events jr ON jr.event_id = cs.event_id
        WHERE m.user_id = d.user_id AND m.membership = 'join'
          AND json_extract(jr.json, '$.content.join_rule') = 'public'))"""

_SEARCH = f"""
SELECT d.user_id, d.display_name, d.avatar_url
FROM (SELECT rowid AS rid, rank FROM user_directory_search
      WHERE user_directory_search MATCH :query ORDER BY rank LIMIT :candidates) AS hits
JOIN user_directory d ON d.rowid = hits.rid
WHERE {_VISIBLE}
ORDER BY hits.rank, d.user_id
LIMIT :limit
"""

# PostgreSQL has no FTS5 table (migrations_postgres.py): each word must start a word of the
# user ID or display name, matched by a case-insensitive regular expression on the table itself.
_PG_SEARCH = """
SELECT d.user_id, d.display_name, d.avatar_url FROM user_directory d
WHERE {words} AND """ + _VISIBLE + """
ORDER BY d.user_id
LIMIT :limit
"""


def word_regex(word: str) -> str:
    """A POSIX regex matching ``word`` at the start of a word (every other character
    escaped, so no word is read as regex syntax)."""
    escaped = "".join("\\" + ch if not ch.isalnum() else ch for ch in word)
    return "(^|[^[:alnum:]])" + escaped


def fts_query(words: list[str]) -> str:
    """An FTS5 query matching rows that have, for every word, a token starting with it. Each
    word is a quoted string (the tokenizer splits it as it split the indexed text), so no word
    can be read as query syntax."""
    return " ".join('"' + w.replace('"', '""') + '"*' for w in words)


class UserDirectoryStore:
    def __init__(self, db: Database):
        self.db = db

    def search(self, searcher: str, words: list[str], limit: int) -> list[tuple]:
        """Up to ``limit`` visible users, (user_id, display_name, avatar_url), matching every
        word as a prefix of a word of their user ID or display name, best matches first."""
        if self.db.engine == "postgres":
            # split as FTS5's unicode61 tokenizer splits: runs of letters and digits
            words = [t for w in words for t in re.findall(r"[^\W_]+", w)][:16]
            if not words:
                return []
            clauses = " AND ".join(
                f"(d.user_id ~* :w{i} OR COALESCE(d.display_name, '') ~* :w{i})"
                for i in range(len(words))) or "TRUE"
            params: dict = {f"w{i}": word_regex(w) for i, w in enumerate(words)}
            params.update(searcher=searcher, limit=limit)
            return self.db.execute(_PG_SEARCH.format(words=clauses), params).fetchall()
        try:
            return self.db.execute(_SEARCH, {
                "query": fts_query(words), "candidates": CANDIDATES, "searcher": searcher,
                "limit": limit}).fetchall()
        except sqlite3.OperationalError as e:  # a query FTS5 refuses: nothing matches it
            log.warning("user directory search for %r refused: %s", words, e)
            return []

    def get(self, user_id: str) -> tuple | None:
        return self.db.execute(
            "SELECT user_id, display_name, avatar_url FROM user_directory WHERE user_id = ?",
            (user_id,)).fetchone()
