"""Starting several federating homeservers in one test."""
from __future__ import annotations

import asyncio
import time

from aiohttp.test_utils import unused_port


async def start_servers(make_homeserver, names=("a", "b", "c"), **overrides):
    """Start servers that know each other's loopback URLs (no DNS, no TLS)."""
    ports = {n: unused_port() for n in names}
    servers = {n: f"127.0.0.1:{p}" for n, p in ports.items()}
    urls = {s: f"http://{s}" for s in servers.values()}
    handles = {}
    for n in names:
        handles[n] = await make_homeserver(
            n, port=ports[n],
            federation={"servers": urls, "retry_base_seconds": 0.05, "retry_max_seconds": 0.5,
                        "request_timeout_seconds": 5},
            **overrides)
    return handles


async def eventually(check, timeout: float = 10.0, interval: float = 0.05):
    """Poll an async or sync predicate until it returns a truthy value; return it."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if asyncio.iscoroutine(last):
            last = await last
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last value {last!r})")


async def room_bodies(client, room_id: str) -> list[str]:
    """All message bodies in the room, oldest first, as the client sees them."""
    data = await client.messages(room_id, dir="b", limit="1000")
    return [e["content"]["body"] for e in reversed(data["chunk"])
            if e["type"] == "m.room.message"]
