"""Keeping the log readable when peers send garbage.

aiohttp's server logs every request it cannot parse (a bad request line, header or chunk) at
ERROR with a traceback, on the ``aiohttp.server`` logger: anyone can flood the log with them.
:class:`MalformedHttpFilter` turns those into one WARNING line per peer IP per minute, without
traceback, saying how many more were dropped; other records of that logger (a bug in a request
handler) are left as they are.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable

from aiohttp.http_exceptions import HttpProcessingError

WINDOW_S = 60.0
MAX_PEERS = 10_000  # remembered peers; beyond that the oldest are forgotten


class MalformedHttpFilter(logging.Filter):
    def __init__(self, window: float = WINDOW_S, clock: Callable[[], float] = time.monotonic):
        super().__init__()
        self.window = window
        self.clock = clock
        self._peers: dict[str, tuple[float, int]] = {}  # ip -> (window start, dropped since)

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if not isinstance(exc, HttpProcessingError):
            return True
        peer = str(record.args[0]) if isinstance(record.args, tuple) and record.args else "?"
        now = self.clock()
        start, dropped = self._peers.get(peer, (None, 0))
        if start is not None and now - start < self.window:
            self._peers[peer] = (start, dropped + 1)
            return False
        self._remember(peer, now)
        reason = (getattr(exc, "message", "") or type(exc).__name__).replace("\n", " ")[:200]
        record.msg = "malformed HTTP request from %s: %s%s"
        record.args = (peer, reason, f" ({dropped} more in the last minute not logged)"
                       if dropped else "")
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        return True

    def _remember(self, peer: str, now: float) -> None:
        self._peers.pop(peer, None)
        if len(self._peers) >= MAX_PEERS:
            for old in [p for p, (s, _) in self._peers.items() if now - s >= self.window]:
                del self._peers[old]
            while len(self._peers) >= MAX_PEERS:  # dicts keep insertion order: oldest first
                del self._peers[next(iter(self._peers))]
        self._peers[peer] = (now, 0)


def install_malformed_http_filter(logger: logging.Logger | None = None) -> MalformedHttpFilter:
    """Install the filter on aiohttp's server logger once per process; returns it."""
    logger = logger or logging.getLogger("aiohttp.server")
    for f in logger.filters:
        if isinstance(f, MalformedHttpFilter):
            return f
    f = MalformedHttpFilter()
    logger.addFilter(f)
    return f
