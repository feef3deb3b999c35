"""A minimal remote "server" for tests: it publishes its own ed25519 key under the name it is
given, swallows whatever transactions are sent to it, and signs the requests it sends (X-Matrix)
and the events it makes, byte for byte as a federating server would."""
from __future__ import annotations

import json
import time
from typing import Any

import aiohttp
import yarl
from aiohttp import web
from aiohttp.test_utils import TestServer, unused_port

from federation.signing import SigningKey, add_content_hash, compute_event_id, sign_event, sign_json
from federation.xmatrix import sign_request

F1 = "/_matrix/federation/v1"
F2 = "/_matrix/federation/v2"


class KeyedServer:
    def __init__(self, name: str | None = None, key: SigningKey | None = None):
        self.key = key or SigningKey.generate()
        self.port = unused_port()
        self.name = name or f"127.0.0.1:{self.port}"
        self.url = f"http://127.0.0.1:{self.port}"
        self.received = 0  # transactions sent to us
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get("/_matrix/key/v2/server", self.keys)
        app.router.add_put(F1 + "/send/{txn}", self.swallow)
        self.server = TestServer(app, host="127.0.0.1", port=self.port)

    async def start(self) -> None:
        await self.server.start_server()

    async def close(self) -> None:
        await self.server.close()

    async def keys(self, request):
        body = {"server_name": self.name,
                "valid_until_ts": int(time.time() * 1000) + 3600_000,
                "verify_keys": {self.key.key_id: {"key": self.key.verify_key.public_base64}},
                "old_verify_keys": {}}
        return web.json_response(sign_json(body, self.name, self.key))

    async def swallow(self, request):
        await request.read()
        self.received += 1
        return web.json_response({"pdus": {}})

    # sending -------------------------------------------------------------------------------

    async def request(self, session: aiohttp.ClientSession, to_url: str, to_name: str,
                      method: str, path: str, body: Any = None) -> tuple[int, Any]:
        headers = {"Authorization": sign_request(self.key, method, path, self.name, to_name,
                                                 body)}
        data = None
        if body is not None:
            data = json.dumps(body, separators=(",", ":")).encode()
            headers["Content-Type"] = "application/json"
        url = yarl.URL(to_url + path, encoded=True)
        async with session.request(method, url, data=data, headers=headers) as resp:
            text = await resp.text()
            try:
                return resp.status, json.loads(text)
            except ValueError:
                return resp.status, {"_text": text}

    def event(self, **fields) -> dict:
        """A hashed and signed event with ``fields`` (its ``event_id`` added)."""
        ev = dict(fields)
        ev.setdefault("origin_server_ts", int(time.time() * 1000))
        ev = sign_event(add_content_hash(ev), self.name, self.key)
        return dict(ev, event_id=compute_event_id(ev))

    async def join(self, session: aiohttp.ClientSession, to_url: str, to_name: str,
                   room_id: str, user_id: str) -> dict:
        """make_join then send_join of ``user_id`` (one of ours) into ``room_id``."""
        from urllib.parse import quote
        q = lambda s: quote(s, safe="")  # noqa: E731
        status, made = await self.request(
            session, to_url, to_name, "GET",
            f"{F1}/make_join/{q(room_id)}/{q(user_id)}?ver=org.audiorooms.1")
        assert status == 200, made
        ev = {k: made["event"][k] for k in ("room_id", "sender", "type", "state_key", "depth",
                                            "prev_events", "auth_events", "content")}
        joined = self.event(**ev)
        pdu = {k: v for k, v in joined.items() if k != "event_id"}
        status, sent = await self.request(
            session, to_url, to_name, "PUT",
            f"{F2}/send_join/{q(room_id)}/{q(joined['event_id'])}", pdu)
        assert status == 200, sent
        return joined
