"""User directory search (``POST /user_directory/search``).

Who can be found: users who share a joined room with the searcher (remote users included, with
the display name of their member event) and users joined to a room whose join rule is public.
How they are matched: every whitespace-separated word of the search term must be the start of a
word of the user's ID or display name, case- and accent-insensitively (``ali`` and ``smi`` find
``@alice:example.org`` "Alice Smith"; ``lice`` does not), as Synapse matches. The SQL lives in
``storage/user_directory.py``; this module checks the request and shapes the answer.
"""
from __future__ import annotations

from ..errors import BadJson, InvalidParam
from ..storage.user_directory import UserDirectoryStore
from .accounts import Requester

MAX_TERM_CHARS = 256
MAX_WORDS = 8
DEFAULT_LIMIT = 10
MAX_LIMIT = 50


def search_words(term: str) -> list[str]:
    """The words to match: at most ``MAX_WORDS``, each with a letter or digit in it (a word of
    punctuation alone, like ``@``, matches no token, so it is dropped)."""
    words = [w for w in term.split() if any(ch.isalnum() for ch in w)]
    return words[:MAX_WORDS]


class UserDirectoryHandler:
    def __init__(self, store: UserDirectoryStore):
        self.store = store

    def search(self, req: Requester, body: dict) -> dict:
        term = body.get("search_term")
        if not isinstance(term, str):
            raise BadJson("'search_term' must be a string")
        if len(term) > MAX_TERM_CHARS:
            raise InvalidParam(f"'search_term' is longer than {MAX_TERM_CHARS} characters")
        limit = body.get("limit", DEFAULT_LIMIT)
        if not isinstance(limit, int) or isinstance(limit, bool):
            raise BadJson("'limit' must be an integer")
        if limit < 1:
            raise InvalidParam("'limit' must be at least 1")
        limit = min(limit, MAX_LIMIT)
        words = search_words(term)
        if not words:
            return {"results": [], "limited": False}
        rows = self.store.search(req.user_id, words, limit + 1)
        results = []
        for user_id, display_name, avatar_url in rows[:limit]:
            entry = {"user_id": user_id}
            if display_name is not None:
                entry["display_name"] = display_name
            if avatar_url is not None:
                entry["avatar_url"] = avatar_url
            results.append(entry)
        return {"results": results, "limited": len(rows) > limit}
