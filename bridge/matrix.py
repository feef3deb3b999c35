"""A thin client-server API client over matrix-nio's AsyncClient transport.

Both homeservers are spoken to through ``MatrixApi``: nio builds the paths (``Api._build_path``)
and owns the HTTP session; responses stay plain dicts so the pure modules can read them. An
application service passes ``as_user=`` to masquerade as one of its users (``?user_id=``).
Errors are MatrixError with the HTTP status and errcode; ``transient`` says whether retrying
later may help (network errors, 5xx, 429).
"""
from __future__ import annotations

import json
import logging
from typing import Any

import aiohttp
import nio

log = logging.getLogger(__name__)
V1 = "/_matrix/client/v1"
V3 = "/_matrix/client/v3"


class MatrixError(Exception):
    def __init__(self, status: int, errcode: str, error: str, what: str = ""):
        super().__init__(f"{what}: {status} {errcode} {error}".strip(": "))
        self.status, self.errcode, self.error = status, errcode, error

    @property
    def transient(self) -> bool:
        return self.status == 0 or self.status >= 500 or self.status == 429

    @property
    def unknown_endpoint(self) -> bool:
        return self.errcode == "M_UNRECOGNIZED" or (self.status in (404, 405)
                                                     and self.errcode == "M_UNKNOWN")


class MatrixApi:
    def __init__(self, base_url: str, access_token: str | None = None, *,
                 user_id: str | None = None, timeout: float = 30.0, ssl: bool | None = None):
        self.base_url = base_url.rstrip("/")
        self.access_token = access_token
        self.user_id = user_id
        self.timeout = timeout
        self.client = nio.AsyncClient(self.base_url, user_id or "", ssl=ssl,
                                      config=nio.AsyncClientConfig(request_timeout=timeout))

    async def close(self) -> None:
        await self.client.close()

    async def call(self, method: str, parts: list[str], body: Any = None, *,
                   query: dict | None = None, as_user: str | None = None,
                   timeout: float | None = None, auth: bool = True,
                   base: str = V3) -> dict:
        q = {k: v for k, v in (query or {}).items() if v is not None}
        if as_user:
            q["user_id"] = as_user
        path = nio.Api._build_path(parts, q or None, base_path=base)
        headers = {"Content-Type": "application/json"}
        if auth and self.access_token:
            headers["Authorization"] = f"Bearer {self.access_token}"
        what = f"{method} {base}/{'/'.join(parts)}"
        try:
            resp = await self.client.send(
                method, path, data=None if body is None else json.dumps(body),
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=timeout or self.timeout))
            try:
                text = await resp.text()
            finally:
                resp.release()
        except (TimeoutError, aiohttp.ClientError, OSError) as e:
            raise MatrixError(0, "M_CONNECTION", f"{type(e).__name__}: {e}", what) from e
        try:
            data = json.loads(text) if text else {}
        except ValueError:
            data = {}
        if resp.status != 200:
            err = data if isinstance(data, dict) else {}
            raise MatrixError(resp.status, str(err.get("errcode", "M_UNKNOWN")),
                              str(err.get("error", text[:200])), what)
        return data if isinstance(data, dict) else {"result": data}

    # accounts -------------------------------------------------------------------------------

    async def login(self, user: str, password: str, device_name: str) -> dict:
        return await self.call("POST", ["login"], {
            "type": "m.login.password", "identifier": {"type": "m.id.user", "user": user},
            "password": password, "initial_device_display_name": device_name}, auth=False)

    async def whoami(self) -> dict:
        return await self.call("GET", ["account", "whoami"])

    async def register_appservice_user(self, localpart: str) -> None:
        """Create a user in the appservice's namespace (needs the as_token); in use is fine."""
        try:
            await self.call("POST", ["register"], {
                "type": "m.login.application_service", "username": localpart,
                "inhibit_login": True})
        except MatrixError as e:
            if e.errcode != "M_USER_IN_USE":
                raise

    async def set_displayname(self, user_id: str, name: str, as_user: str | None = None) -> None:
        await self.call("PUT", ["profile", user_id, "displayname"], {"displayname": name},
                        as_user=as_user)

    async def ping_appservice(self, appservice_id: str, txn_id: str | None = None) -> dict:
        return await self.call("POST", ["appservice", appservice_id, "ping"],
                               {"transaction_id": txn_id} if txn_id else {}, base=V1)

    # rooms ----------------------------------------------------------------------------------

    async def join(self, room: str, as_user: str | None = None) -> str:
        return (await self.call("POST", ["join", room], {}, as_user=as_user))["room_id"]

    async def leave(self, room_id: str, as_user: str | None = None) -> None:
        await self.call("POST", ["rooms", room_id, "leave"], {}, as_user=as_user)

    async def invite(self, room_id: str, user_id: str, as_user: str | None = None) -> None:
        await self.call("POST", ["rooms", room_id, "invite"], {"user_id": user_id},
                        as_user=as_user)

    async def send(self, room_id: str, etype: str, content: dict, txn_id: str,
                   as_user: str | None = None) -> str:
        return (await self.call("PUT", ["rooms", room_id, "send", etype, txn_id], content,
                                as_user=as_user))["event_id"]

    async def redact(self, room_id: str, event_id: str, txn_id: str, reason: str | None = None,
                     as_user: str | None = None) -> str:
        body = {"reason": reason} if reason else {}
        return (await self.call("PUT", ["rooms", room_id, "redact", event_id, txn_id], body,
                                as_user=as_user))["event_id"]

    async def state(self, room_id: str) -> list[dict]:
        return (await self.call("GET", ["rooms", room_id, "state"]))["result"]

    async def state_event(self, room_id: str, etype: str, state_key: str = "") -> dict:
        return await self.call("GET", ["rooms", room_id, "state", etype, state_key])

    async def messages(self, room_id: str, from_token: str | None, direction: str = "b",
                       limit: int = 100, to_token: str | None = None) -> dict:
        return await self.call("GET", ["rooms", room_id, "messages"], query={
            "from": from_token, "dir": direction, "limit": str(limit), "to": to_token})

    async def sync(self, since: str | None, timeout_ms: int, filter_json: str) -> dict:
        return await self.call("GET", ["sync"], query={
            "since": since, "timeout": str(timeout_ms), "filter": filter_json},
            timeout=self.timeout + timeout_ms / 1000)
