"""A small Matrix client for tests: raw HTTP against a real server, so assertions see exactly
what a client would (status codes, errcodes, bodies)."""
from __future__ import annotations

import itertools
from urllib.parse import quote

import aiohttp

_txn = itertools.count()


class MatrixResponseError(AssertionError):
    pass


class Client:
    def __init__(self, session: aiohttp.ClientSession, base_url: str, token: str | None = None,
                 user_id: str | None = None):
        self.session = session
        self.base = base_url.rstrip("/")
        self.token = token
        self.user_id = user_id

    async def request(self, method: str, path: str, body=None, *, params=None, raw=None,
                      token: bool = True, headers=None) -> tuple[int, dict | list]:
        if not path.startswith("/_"):
            path = "/_matrix/client/v3" + path
        hdrs = dict(headers or {})
        if token and self.token:
            hdrs["Authorization"] = f"Bearer {self.token}"
        kwargs = {"params": params, "headers": hdrs}
        if raw is not None:
            kwargs["data"] = raw
        elif body is not None:
            kwargs["json"] = body
        async with self.session.request(method, self.base + path, **kwargs) as resp:
            try:
                data = await resp.json(content_type=None)
            except ValueError:
                data = {"_text": await resp.text()}
            return resp.status, data

    async def ok(self, method: str, path: str, body=None, **kw):
        status, data = await self.request(method, path, body, **kw)
        if status != 200:
            raise MatrixResponseError(f"{method} {path} -> {status} {data}")
        return data

    # conveniences ---------------------------------------------------------------------------

    async def register(self, username: str, password: str = "correct horse") -> dict:
        data = await self.ok("POST", "/register", {"username": username, "password": password,
                                                   "auth": {"type": "m.login.dummy"}})
        self.token, self.user_id = data["access_token"], data["user_id"]
        return data

    async def create_room(self, **body) -> str:
        return (await self.ok("POST", "/createRoom", body))["room_id"]

    async def join(self, room: str) -> str:
        return (await self.ok("POST", f"/join/{quote(room)}", {}))["room_id"]

    async def send(self, room_id: str, body: str, etype: str = "m.room.message") -> str:
        data = await self.ok("PUT", f"/rooms/{quote(room_id)}/send/{etype}/t{next(_txn)}",
                             {"msgtype": "m.text", "body": body})
        return data["event_id"]

    async def state(self, room_id: str, etype: str, state_key: str = "") -> dict:
        return await self.ok("GET", f"/rooms/{quote(room_id)}/state/{etype}/{quote(state_key)}")

    async def put_state(self, room_id: str, etype: str, content: dict,
                        state_key: str = "") -> str:
        return (await self.ok("PUT", f"/rooms/{quote(room_id)}/state/{etype}/"
                              f"{quote(state_key)}", content))["event_id"]

    async def sync(self, since: str | None = None, timeout: int = 0, **params) -> dict:
        q = {"timeout": str(timeout), **params}
        if since:
            q["since"] = since
        return await self.ok("GET", "/sync", params=q)

    async def messages(self, room_id: str, **params) -> dict:
        return await self.ok("GET", f"/rooms/{quote(room_id)}/messages", params=params)


def timeline_bodies(sync: dict, room_id: str) -> list[str]:
    room = sync["rooms"]["join"].get(room_id, {})
    return [e["content"]["body"] for e in room.get("timeline", {}).get("events", [])
            if e["type"] == "m.room.message"]
