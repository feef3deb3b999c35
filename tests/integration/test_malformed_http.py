"""Garbage on the HTTP port: refused, logged once a minute per peer at WARNING, never a
traceback at ERROR (which anyone could use to flood the log); the server keeps serving."""
from __future__ import annotations

import asyncio
import logging

from homeserver.api.log_filters import MalformedHttpFilter

MALFORMED = [
    b"GET /_matrix/client/versions HTTP/1.1\r\nHost: x\r\nno colon in this header\r\n\r\n",
    b"GET /_matrix/client/versions HTTP/9.9x\r\nHost: x\r\n\r\n",
    b"POST /_matrix/client/v3/login HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"zz\r\nnot a chunk\r\n0\r\n\r\n",
    b"GET /\x00\x01\x02 HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
]


async def _send_raw(port: int, data: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        await writer.drain()
        return await asyncio.wait_for(reader.read(65536), 5)
    finally:
        writer.close()


async def test_fifty_malformed_requests_one_warning_no_error(homeserver, caplog):
    caplog.set_level(logging.DEBUG, logger="aiohttp.server")
    caplog.set_level(logging.INFO)
    port = homeserver.config.listeners[0].port
    # control: a well-formed request over the same raw socket is served
    ok = await _send_raw(port, b"GET /_matrix/client/versions HTTP/1.1\r\nHost: x\r\n"
                               b"Connection: close\r\n\r\n")
    assert ok.startswith(b"HTTP/1.1 200"), ok[:200]
    answers = [await _send_raw(port, MALFORMED[i % len(MALFORMED)]) for i in range(50)]
    assert all(a.split(b"\r\n", 1)[0].split(b" ")[1] == b"400" for a in answers), \
        {a[:40] for a in answers}
    server_records = [r for r in caplog.records if r.name.startswith("aiohttp")]
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]
    warnings = [r for r in server_records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert "malformed HTTP request from 127.0.0.1" in warnings[0].getMessage()
    assert warnings[0].exc_info is None and not warnings[0].exc_text
    client = await homeserver.user("alice")  # still serving
    status, _ = await client.request("GET", "/_matrix/client/versions")
    assert status == 200


def test_filter_logs_each_peer_once_a_minute_and_counts_the_rest():
    from aiohttp.http_exceptions import BadHttpMessage
    now = [1000.0]
    f = MalformedHttpFilter(clock=lambda: now[0])

    garbage = BadHttpMessage("bad")

    def record(peer: str, exc: BaseException | None = garbage) -> logging.LogRecord:
        return logging.LogRecord("aiohttp.server", logging.ERROR, __file__, 1,
                                 "Error handling request from %s", (peer,),
                                 (type(exc), exc, None) if exc else None)

    first = record("10.0.0.1")
    assert f.filter(first) and first.levelno == logging.WARNING and first.exc_info is None
    assert not any(f.filter(record("10.0.0.1")) for _ in range(9))
    assert f.filter(record("10.0.0.2"))  # another peer has its own minute
    now[0] += 61
    later = record("10.0.0.1")
    assert f.filter(later) and "9 more" in later.getMessage()
    bug = record("10.0.0.1", RuntimeError("a bug in a handler"))  # not garbage: untouched
    assert f.filter(bug) and bug.levelno == logging.ERROR and bug.exc_info is not None
