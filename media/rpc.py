"""A small bidirectional JSON-lines RPC over a stream (TCP), between an SFU cluster's front
and its workers. Either side may call the other; calls are concurrent.

    request:  {"id": 7, "m": "open_session", "p": {...}}
    response: {"id": 7, "r": <result>}  or  {"id": 7, "e": ["SdpError", "message"]}
"""
from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger(__name__)

Handler = Callable[[str, dict], Awaitable[Any]]
MAX_LINE = 1 << 20


class RemoteError(Exception):
    def __init__(self, kind: str, message: str):
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message


class RpcPeer:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 handler: Handler | None = None):
        self.reader = reader
        self.writer = writer
        self.handler = handler
        self._next = 0
        self._pending: dict[int, asyncio.Future] = {}
        self._tasks: set[asyncio.Task] = set()
        self.closed = asyncio.Event()
        self._reader_task = asyncio.ensure_future(self._read())

    async def call(self, method: str, **params) -> Any:
        if self.closed.is_set():
            raise ConnectionError("RPC connection closed")
        self._next += 1
        ident = self._next
        fut = asyncio.get_running_loop().create_future()
        self._pending[ident] = fut
        self._send({"id": ident, "m": method, "p": params})
        try:
            return await fut
        finally:
            self._pending.pop(ident, None)

    def _send(self, obj: dict) -> None:
        self.writer.write(json.dumps(obj, separators=(",", ":")).encode() + b"\n")

    async def _read(self) -> None:
        try:
            while True:
                line = await self.reader.readline()
                if not line:
                    break
                try:
                    msg = json.loads(line)
                except ValueError:
                    log.warning("RPC: bad line %r", line[:100])
                    continue
                if "m" in msg:
                    task = asyncio.ensure_future(self._serve(msg))
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
                else:
                    fut = self._pending.get(msg.get("id"))
                    if fut is not None and not fut.done():
                        if "e" in msg:
                            fut.set_exception(RemoteError(*msg["e"]))
                        else:
                            fut.set_result(msg.get("r"))
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            self.closed.set()
            for fut in self._pending.values():
                if not fut.done():
                    fut.set_exception(ConnectionError("RPC connection closed"))

    async def _serve(self, msg: dict) -> None:
        ident = msg.get("id")
        try:
            if self.handler is None:
                raise RemoteError("NotImplemented", msg.get("m", ""))
            result = await self.handler(msg["m"], msg.get("p") or {})
            reply = {"id": ident, "r": result}
        except RemoteError as e:
            reply = {"id": ident, "e": [e.kind, e.message]}
        except Exception as e:  # reported to the caller, who decides
            reply = {"id": ident, "e": [type(e).__name__, str(e)]}
        if not self.closed.is_set():
            try:
                self._send(reply)
            except Exception:
                pass

    async def close(self) -> None:
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except Exception:
            pass
        self._reader_task.cancel()
        try:
            await self._reader_task
        except (asyncio.CancelledError, Exception):
            pass
        self.closed.set()


async def connect(host: str, port: int, handler: Handler | None = None) -> RpcPeer:
    reader, writer = await asyncio.open_connection(host, port, limit=MAX_LINE)
    return RpcPeer(reader, writer, handler)
