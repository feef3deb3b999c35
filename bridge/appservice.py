"""The application service HTTP API that the Matrix homeserver calls (aiohttp server).

``PUT /_matrix/app/v1/transactions/{txnId}``: events for us, authenticated with the hs_token
(``Authorization: Bearer`` or the legacy ``?access_token=``), idempotent per transaction: one
already processed is acknowledged again without being processed twice. A transaction is known
by its txnId *and* its event IDs, because Synapse on SQLite numbers transactions from 1 again
after a restart: the same txnId with other events is a new transaction.
``GET /_matrix/app/v1/users/{userId}``: does this puppet exist (we create it on demand).
``GET /_matrix/app/v1/rooms/{alias}``: we host no aliases. ``POST /_matrix/app/v1/ping``.
The legacy unprefixed paths are served too. Errors are Matrix-style JSON.
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

log = logging.getLogger(__name__)

PREFIX = "/_matrix/app/v1"
TransactionHandler = Callable[[str, list[dict]], Awaitable[None]]
UserQuery = Callable[[str], Awaitable[bool]]


class TransientError(Exception):
    """Processing failed for a reason that may pass (the other homeserver is down): the
    transaction is refused with 503 so the Matrix homeserver retries it later."""


def error(status: int, errcode: str, message: str) -> web.Response:
    return web.json_response({"errcode": errcode, "error": message}, status=status)


def validate_transaction(body: object) -> list[dict]:
    """The events of a transaction body, or ValueError saying what is wrong with it."""
    if not isinstance(body, dict):
        raise ValueError("the transaction must be a JSON object")
    events = body.get("events")
    if not isinstance(events, list):
        raise ValueError("'events' must be a list")
    for i, ev in enumerate(events):
        if not isinstance(ev, dict):
            raise ValueError(f"events[{i}] must be an object")
        for key in ("type", "room_id", "sender", "event_id"):
            if not isinstance(ev.get(key), str):
                raise ValueError(f"events[{i}].{key} must be a string")
        if not isinstance(ev.get("content", {}), dict):
            raise ValueError(f"events[{i}].content must be an object")
    for key in ("ephemeral", "de.sorunome.msc2409.ephemeral", "to_device",
                "de.sorunome.msc2409.to_device"):
        if key in body and not isinstance(body[key], list):
            raise ValueError(f"'{key}' must be a list")
    return events


def transaction_key(txn_id: str, events: list[dict]) -> str:
    """What identifies a transaction: its ID and the events in it (retries resend the same
    events; a reused ID after a homeserver restart comes with different ones)."""
    ids = "\n".join(ev["event_id"] for ev in events)
    return f"{txn_id}:{hashlib.sha256(ids.encode()).hexdigest()[:24]}"


class AppserviceServer:
    def __init__(self, hs_token: str, on_transaction: TransactionHandler,
                 on_user_query: UserQuery, txn_done: Callable[[str], bool],
                 mark_txn_done: Callable[[str], None], max_body: int = 10 * 1024 * 1024):
        self.hs_token = hs_token
        self.on_transaction = on_transaction
        self.on_user_query = on_user_query
        self.txn_done = txn_done
        self.mark_txn_done = mark_txn_done
        self.max_body = max_body
        self._lock = asyncio.Lock()  # one transaction at a time, in the order they come
        self._runner: web.AppRunner | None = None

    def make_app(self) -> web.Application:
        app = web.Application(client_max_size=self.max_body, middlewares=[self._errors])
        for prefix in (PREFIX, ""):
            app.router.add_put(prefix + "/transactions/{txn_id}", self.transaction)
            app.router.add_get(prefix + "/users/{user_id}", self.query_user)
            app.router.add_get(prefix + "/rooms/{alias}", self.query_alias)
        app.router.add_post(PREFIX + "/ping", self.ping)
        return app

    async def start(self, host: str, port: int) -> None:
        self._runner = web.AppRunner(self.make_app(), access_log=None, shutdown_timeout=5)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @web.middleware
    async def _errors(self, request: web.Request, handler):
        try:
            return await handler(request)
        except web.HTTPRequestEntityTooLarge:
            return error(413, "M_TOO_LARGE", f"request body over {self.max_body} bytes")
        except web.HTTPNotFound:
            return error(404, "M_UNRECOGNIZED", "Unrecognized request")
        except web.HTTPMethodNotAllowed:
            return error(405, "M_UNRECOGNIZED", "Unrecognized request")

    def _auth(self, request: web.Request) -> web.Response | None:
        token = None
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            token = header[len("Bearer "):].strip()
        elif "access_token" in request.query:
            token = request.query["access_token"]
        if not token:
            return error(401, "M_UNAUTHORIZED", "missing hs_token")
        if not hmac.compare_digest(token.encode(), self.hs_token.encode()):
            return error(403, "M_FORBIDDEN", "invalid hs_token")
        return None

    async def _json(self, request: web.Request):
        raw = await request.read()
        try:
            return json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise ValueError("the body is not valid JSON") from None

    async def transaction(self, request: web.Request) -> web.Response:
        if (denied := self._auth(request)) is not None:
            return denied
        txn_id = request.match_info["txn_id"]
        try:
            body = await self._json(request)
        except ValueError as e:
            return error(400, "M_NOT_JSON", str(e))
        try:
            events = validate_transaction(body)
        except ValueError as e:
            return error(400, "M_BAD_JSON", f"malformed transaction {txn_id}: {e}")
        key = transaction_key(txn_id, events)
        async with self._lock:
            if self.txn_done(key):
                return web.json_response({})
            try:
                await self.on_transaction(txn_id, events)
            except TransientError as e:
                log.warning("transaction %s not processed, will be retried: %s", txn_id, e)
                return error(503, "M_UNKNOWN", f"temporarily unable to process: {e}")
            self.mark_txn_done(key)
        return web.json_response({})

    async def query_user(self, request: web.Request) -> web.Response:
        if (denied := self._auth(request)) is not None:
            return denied
        try:
            exists = await self.on_user_query(request.match_info["user_id"])
        except TransientError as e:
            return error(503, "M_UNKNOWN", str(e))
        if exists:
            return web.json_response({})
        return error(404, "M_NOT_FOUND", "no such user in the bridge's namespace")

    async def query_alias(self, request: web.Request) -> web.Response:
        if (denied := self._auth(request)) is not None:
            return denied
        return error(404, "M_NOT_FOUND", "the bridge hosts no room aliases")

    async def ping(self, request: web.Request) -> web.Response:
        if (denied := self._auth(request)) is not None:
            return denied
        try:
            body = await self._json(request)
        except ValueError as e:
            return error(400, "M_NOT_JSON", str(e))
        if not isinstance(body, dict):
            return error(400, "M_BAD_JSON", "the body must be a JSON object")
        return web.json_response({})
