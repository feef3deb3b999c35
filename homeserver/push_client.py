"""The HTTP side of pushers: POST a notification to a push gateway (handlers/pusher_delivery.py's
``PushGateway``).

The URL is chosen by a user, so every connection goes through federation's address guard: names
are resolved by a resolver that drops refused addresses, and the socket factory checks the very
address each socket is about to connect to (IP literals included). Private, loopback and other
internal ranges are refused unless ``push.ip_range_whitelist`` lists them. No redirect is
followed, no proxy from the environment is used, the answer is read up to 64 KiB and the whole
request is bounded by ``push.request_timeout_seconds``.
"""
from __future__ import annotations

import json
import logging
import ssl
from urllib.parse import urlsplit

import aiohttp

from federation.client import AddressPolicy, GuardedResolver, RefusedAddressError, ip_literal

from .handlers.pusher_delivery import GatewayAnswer

log = logging.getLogger(__name__)

ANSWER_MAX_BYTES = 64 * 1024


class HttpPushGateway:
    def __init__(self, ip_range_whitelist: list[str], timeout_s: float = 15.0,
                 max_bytes: int = ANSWER_MAX_BYTES):
        self.policy = AddressPolicy(ip_range_whitelist)
        self.timeout = aiohttp.ClientTimeout(total=timeout_s, connect=min(timeout_s, 10.0))
        self.max_bytes = max_bytes
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                resolver=GuardedResolver(self.policy), ssl=ssl.create_default_context(),
                limit=100, limit_per_host=8, socket_factory=self.policy.socket_factory)
            self._session = aiohttp.ClientSession(connector=connector, timeout=self.timeout,
                                                  trust_env=False)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    def refusal(self, url: str) -> str | None:
        host = urlsplit(url).hostname or ""
        if ip_literal(host) is not None and not self.policy.allowed(host):
            return f"pushers may not post to {host} (not in push.ip_range_whitelist)"
        return None

    async def notify(self, url: str, body: dict) -> GatewayAnswer:
        data = json.dumps(body, ensure_ascii=False).encode()
        try:
            async with self.session.post(url, data=data, allow_redirects=False,
                                         headers={"Content-Type": "application/json"}) as resp:
                raw = await _read_capped(resp.content, self.max_bytes)
                answer = GatewayAnswer(resp.status)
        except (TimeoutError, aiohttp.ClientError, OSError, ValueError) as e:
            cause = getattr(e, "os_error", e)
            if isinstance(cause, RefusedAddressError):
                return GatewayAnswer(None, error=str(cause))
            return GatewayAnswer(None, error=f"{type(e).__name__}: {e}")
        if raw is None:
            answer.error = f"answer over {self.max_bytes} bytes (ignored)"
            return answer
        try:
            parsed = json.loads(raw) if raw else {}
        except (ValueError, RecursionError):
            parsed = {}
        if isinstance(parsed, dict):
            answer.body = parsed
        return answer


async def _read_capped(stream: aiohttp.StreamReader, limit: int) -> bytes | None:
    """The whole body, or None once it is over ``limit`` bytes (reading stops there; leaving
    the ``async with`` then closes the connection instead of draining it)."""
    buf = bytearray()
    while len(buf) <= limit:
        chunk = await stream.read(limit + 1 - len(buf))
        if not chunk:
            return bytes(buf)
        buf += chunk
    return None
