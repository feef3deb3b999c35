"""Durability of a real server process: what was acknowledged survives SIGKILL, and SIGTERM
shuts down cleanly.

The server runs exactly as an operator runs it: ``python -m homeserver generate-config`` into a
file, then ``python -m homeserver run --config``; the test waits for its "ready at" line.
"""
from __future__ import annotations

import asyncio
import signal
from urllib.parse import quote

import aiohttp
from aiohttp.test_utils import unused_port

from tests.integration.processes import generate_config
from tests.matrix_client import Client

PASSWORD = "correct horse battery"


async def all_messages(client: Client, room_id: str) -> list[dict]:
    """Every event of the room, oldest first, paginating /messages forwards."""
    out, token = [], None
    for _ in range(100):
        params = {"dir": "f", "limit": "100", **({"from": token} if token else {})}
        page = await client.messages(room_id, **params)
        out.extend(page["chunk"])
        if not page["chunk"] or "end" not in page:
            return out
        token = page["end"]
    raise AssertionError("pagination did not end")


async def test_acknowledged_events_survive_sigkill(tmp_path, servers):
    port = unused_port()
    config = generate_config(tmp_path, port)
    base = f"http://127.0.0.1:{port}"
    senders, per_sender = 4, 50

    first = servers(config)
    await first.start()
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        users = []
        for i in range(senders):
            c = Client(session, base)
            await c.register(f"user{i}", PASSWORD)
            users.append(c)
        room = await users[0].create_room(preset="public_chat", name="durable")
        for c in users[1:]:
            await c.join(room)
        acked: dict[str, list[str]] = {c.user_id: [] for c in users}

        async def sender(c: Client) -> None:
            for n in range(per_sender):
                acked[c.user_id].append(await c.send(room, f"{c.user_id} #{n}"))

        await asyncio.wait_for(asyncio.gather(*(sender(c) for c in users)), 120)
        first.proc.kill()  # no clean shutdown: straight after the last acknowledgement
        await asyncio.wait_for(first.proc.wait(), 10)
        assert first.proc.returncode == -signal.SIGKILL

        second = servers(config)
        await second.start()
        events = await all_messages(users[1], room)
        messages = [e for e in events if e["type"] == "m.room.message"]
        assert len(messages) == senders * per_sender
        for c in users:
            # Every acknowledged event is there, in the order its sender was told it was sent
            # (and the bodies say the same).
            mine = [e for e in messages if e["sender"] == c.user_id]
            assert [e["event_id"] for e in mine] == acked[c.user_id]
            assert [e["content"]["body"] for e in mine] == \
                [f"{c.user_id} #{n}" for n in range(per_sender)]
        # Access tokens survived; so did the accounts' passwords.
        for c in users:
            assert (await c.ok("GET", "/account/whoami"))["user_id"] == c.user_id
        fresh = Client(session, base)
        login = await fresh.ok("POST", "/login", {
            "type": "m.login.password", "password": PASSWORD,
            "identifier": {"type": "m.id.user", "user": "user0"}})
        assert login["user_id"] == users[0].user_id
        fresh.token = login["access_token"]
        assert room in (await fresh.ok("GET", "/joined_rooms"))["joined_rooms"]
        # The room keeps working after the restart: a new message follows the old ones.
        late = await fresh.send(room, "after restart")
        events = await all_messages(fresh, room)
        assert events[-1]["event_id"] == late
        assert (await fresh.ok("GET", f"/rooms/{quote(room)}/state/m.room.name/"))["name"] \
            == "durable"
        assert await second.terminate() == 0


async def test_sigterm_shuts_down_cleanly(tmp_path, servers):
    port = unused_port()
    config = generate_config(tmp_path, port)
    sp = servers(config)
    line = await sp.start()
    url = f"http://127.0.0.1:{port}/"
    assert url in line.split()
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        async with session.get(url + "_matrix/client/versions") as resp:
            assert resp.status == 200
    assert await sp.terminate(timeout=10) == 0
    log = sp.log.read_text()
    assert "Traceback" not in log, log
    # The port is free again: a new server can take it at once.
    again = servers(config)
    await again.start()
    assert await again.terminate(timeout=10) == 0
