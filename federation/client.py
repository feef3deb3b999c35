"""Outbound federation HTTP: server discovery, an SSRF guard, and X-Matrix signed requests.

Discovery follows the Matrix spec's order, minus SRV records: the ``federation.servers`` map;
an IP literal (with or without port) dialled directly; a hostname with a port dialled directly;
otherwise ``https://<host>/.well-known/matrix/server`` and then port 8448. Every address a
request would reach is checked against the private/loopback ranges, which are refused unless
``federation.ip_range_whitelist`` allows them, so a user cannot make the server probe its own
network by naming a server.
"""
from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiohttp
import yarl
from aiohttp.abc import AbstractResolver

from .canonical_json import encode_canonical_json
from .exceptions import FederationError
from .signing import SigningKey
from .xmatrix import sign_request

log = logging.getLogger(__name__)

BLOCKED_NETWORKS = [ipaddress.ip_network(n) for n in (
    "127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10",
    "169.254.0.0/16", "0.0.0.0/8", "192.0.0.0/24", "198.18.0.0/15", "224.0.0.0/4",
    "240.0.0.0/4", "::1/128", "::/128", "fe80::/10", "fc00::/7", "ff00::/8", "::ffff:0:0/96")]


class RemoteServerError(FederationError):
    """A remote server could not be reached or answered with an error."""

    def __init__(self, message: str, status: int | None = None, body: dict | None = None):
        super().__init__(message)
        self.status = status
        self.body = body or {}


class BlockedAddress(RemoteServerError):
    pass


def split_server_name(name: str) -> tuple[str, int | None]:
    """'example.org:8448' -> ('example.org', 8448); '[::1]:80' -> ('::1', 80)."""
    if name.startswith("["):
        host, _, rest = name[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") else None
    host, sep, port = name.rpartition(":")
    if sep and port.isdigit() and ":" not in host:
        return host, int(port)
    return name, None


def ip_literal(host: str) -> ipaddress._BaseAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


class AddressPolicy:
    def __init__(self, whitelist: list[str]):
        self.whitelist = [ipaddress.ip_network(n, strict=False) for n in whitelist]

    def allowed(self, ip: str) -> bool:
        addr = ipaddress.ip_address(ip.split("%")[0])
        if any(addr in n for n in self.whitelist):
            return True
        return not any(addr in n for n in BLOCKED_NETWORKS)


class GuardedResolver(AbstractResolver):
    """Resolves like the default resolver, then drops addresses the policy refuses, so DNS
    cannot be used to point a public-looking name at an internal address."""

    def __init__(self, policy: AddressPolicy):
        self.policy = policy
        self.inner = aiohttp.ThreadedResolver()

    async def resolve(self, host, port=0, family=socket.AF_INET):
        results = [r for r in await self.inner.resolve(host, port, family)
                   if self.policy.allowed(r["host"])]
        if not results:
            raise OSError(f"{host} resolves only to addresses federation may not dial")
        return results

    async def close(self):
        await self.inner.close()


@dataclass
class _Cached:
    base_url: str
    host_header: str
    expires: float


class FederationClient:
    def __init__(self, server_name: str, signing_key: SigningKey, servers: dict[str, str],
                 ip_range_whitelist: list[str], verify_certificates: bool = True,
                 timeout_s: float = 30.0):
        self.server_name = server_name
        self.signing_key = signing_key
        self.servers = dict(servers)
        self.policy = AddressPolicy(ip_range_whitelist)
        self.verify_certificates = verify_certificates
        self.timeout = aiohttp.ClientTimeout(total=timeout_s, connect=10)
        self._session: aiohttp.ClientSession | None = None
        self._discovered: dict[str, _Cached] = {}

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            ctx: ssl.SSLContext | bool = ssl.create_default_context()
            if not self.verify_certificates:
                ctx = False
            connector = aiohttp.TCPConnector(resolver=GuardedResolver(self.policy), ssl=ctx,
                                             limit_per_host=8)
            self._session = aiohttp.ClientSession(connector=connector, timeout=self.timeout)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    # discovery -----------------------------------------------------------------------------

    async def base_url(self, destination: str) -> str:
        if destination in self.servers:
            url = self.servers[destination].rstrip("/")
            self._check_url(url)
            return url
        cached = self._discovered.get(destination)
        if cached and cached.expires > time.monotonic():
            return cached.base_url
        host, port = split_server_name(destination)
        if ip_literal(host) is not None or port is not None:
            url = f"https://{_bracket(host)}:{port or 8448}"
        else:
            url = await self._well_known(host) or f"https://{host}:8448"
        self._check_url(url)
        self._discovered[destination] = _Cached(url, destination, time.monotonic() + 3600)
        return url

    async def _well_known(self, host: str) -> str | None:
        try:
            async with self.session.get(f"https://{host}/.well-known/matrix/server",
                                        allow_redirects=True,
                                        timeout=aiohttp.ClientTimeout(total=10)) as resp:
                if resp.status != 200:
                    return None
                data = json.loads(await resp.content.read(65536))
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError, OSError):
            return None
        delegated = data.get("m.server") if isinstance(data, dict) else None
        if not isinstance(delegated, str) or not delegated:
            return None
        dhost, dport = split_server_name(delegated)
        return f"https://{_bracket(dhost)}:{dport or 8448}"

    def _check_url(self, url: str) -> None:
        host = urlsplit(url).hostname or ""
        if ip_literal(host) is not None and not self.policy.allowed(host):
            raise BlockedAddress(f"federation may not dial {host} (not in ip_range_whitelist)")

    # requests ------------------------------------------------------------------------------

    async def request(self, destination: str, method: str, path: str, body=None,
                      query: dict | None = None, signed: bool = True,
                      timeout_s: float | None = None) -> dict:
        """Send a signed request; return the JSON answer or raise RemoteServerError."""
        if destination == self.server_name:
            raise RemoteServerError("refusing to send a federation request to ourselves")
        uri = path
        if query:
            from urllib.parse import urlencode
            uri += "?" + urlencode(query, doseq=True)
        headers = {}
        data = None
        if body is not None:
            data = encode_canonical_json(body)
            headers["Content-Type"] = "application/json"
        if signed:
            headers["Authorization"] = sign_request(self.signing_key, method, uri,
                                                    self.server_name, destination, body)
        try:
            base = await self.base_url(destination)
            kwargs = {}
            if timeout_s is not None:
                kwargs["timeout"] = aiohttp.ClientTimeout(total=timeout_s)
            # encoded=True: the URI must reach the server byte for byte as it was signed.
            url = yarl.URL(base + uri, encoded=True)
            async with self.session.request(method, url, data=data, headers=headers,
                                            allow_redirects=False, **kwargs) as resp:
                # read(n) returns what is buffered, not n bytes: loop until EOF, or a large
                # answer (send_join's state of a big room) is cut short and parsed as {}.
                buf, limit = bytearray(), 16 * 1024 * 1024
                while len(buf) <= limit:
                    chunk = await resp.content.read(limit + 1 - len(buf))
                    if not chunk:
                        break
                    buf += chunk
                raw = bytes(buf)
                if len(raw) > limit:
                    raise RemoteServerError(f"{destination} answered over {limit} bytes",
                                            resp.status)
                try:
                    answer = json.loads(raw) if raw else {}
                except ValueError:
                    if resp.status == 200:
                        raise RemoteServerError(f"{destination} answered 200 without JSON",
                                                resp.status)
                    answer = {}
                if resp.status != 200:
                    msg = answer.get("error") if isinstance(answer, dict) else None
                    raise RemoteServerError(
                        f"{destination} answered {resp.status}: {msg or raw[:200]!r}",
                        resp.status, answer if isinstance(answer, dict) else {})
                return answer
        except RemoteServerError:
            raise
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as e:
            raise RemoteServerError(f"cannot reach {destination}: {e or type(e).__name__}")


def _bracket(host: str) -> str:
    return f"[{host}]" if ":" in host else host
