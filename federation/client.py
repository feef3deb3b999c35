"""Outbound federation HTTP: server discovery, an SSRF guard, and X-Matrix signed requests.

Discovery follows the Matrix spec's order, minus SRV records: the ``federation.servers`` map;
an IP literal (with or without port) dialled directly; a hostname with a port dialled directly;
otherwise ``https://<host>/.well-known/matrix/server`` and then port 8448.

A destination must be a server name (federation/servername.py) or nothing is sent. Every
connection this client opens, ``.well-known`` included, goes through the address guard: names
are resolved by a resolver that drops refused addresses, and the socket factory checks the very
address each socket is about to connect to (aiohttp does not call the resolver for an IP-literal
host, so the resolver alone would not see those). Private and loopback ranges are refused unless
``federation.ip_range_whitelist`` allows them, so a user cannot make the server probe its own
network by naming a server. Discovery follows no redirects, reads at most 64 KiB for at most
10 s, and takes ``m.server`` only if it is itself a server name.
"""
from __future__ import annotations

import ipaddress
import json
import logging
import socket
import ssl
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import aiohttp
import yarl
from aiohttp.abc import AbstractResolver

from .canonical_json import encode_canonical_json
from .exceptions import FederationError
from .servername import InvalidServerName, parse_server_name
from .signing import SigningKey
from .xmatrix import sign_request

log = logging.getLogger(__name__)

BLOCKED_NETWORKS = [ipaddress.ip_network(n) for n in (
    "127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10",
    "169.254.0.0/16", "0.0.0.0/8", "192.0.0.0/24", "198.18.0.0/15", "224.0.0.0/4",
    "240.0.0.0/4", "::1/128", "::/128", "fe80::/10", "fc00::/7", "ff00::/8", "::ffff:0:0/96",
    # IPv4-compatible, NAT64 and site-local IPv6 can all lead back to the ranges above.
    "::/96", "64:ff9b::/96", "64:ff9b:1::/48", "fec0::/10", "192.88.99.0/24")]

WELL_KNOWN_MAX_BYTES = 64 * 1024
WELL_KNOWN_TIMEOUT_S = 10.0
RESPONSE_MAX_BYTES = 16 * 1024 * 1024
DISCOVERY_CACHE_S = 3600.0
DISCOVERY_CACHE_MAX = 10_000


class RemoteServerError(FederationError):
    """A remote server could not be reached or answered with an error."""

    def __init__(self, message: str, status: int | None = None, body: dict | None = None):
        super().__init__(message)
        self.status = status
        self.body = body or {}


class BlockedAddress(RemoteServerError):
    pass


class InvalidDestination(RemoteServerError):
    """The destination is not a server name: refused before any network activity."""


class RefusedAddressError(OSError):
    """Raised by the socket factory for an address the policy refuses."""


def ip_literal(host: str) -> ipaddress._BaseAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


class AddressPolicy:
    def __init__(self, whitelist: list[str]):
        self.whitelist = [ipaddress.ip_network(n, strict=False) for n in whitelist]

    def allowed(self, ip: str) -> bool:
        try:
            addr = ipaddress.ip_address(ip.split("%")[0])
        except ValueError:
            return False
        if any(addr in n for n in self.whitelist):
            return True
        return not any(addr in n for n in BLOCKED_NETWORKS)

    def socket_factory(self, addr_info: tuple) -> socket.socket:
        """aiohttp's socket_factory: called with the exact address about to be connected to,
        for every connection, whether the host was a name or an IP literal."""
        family, type_, proto, _, address = addr_info
        if not self.allowed(str(address[0])):
            raise RefusedAddressError(
                f"federation may not dial {address[0]} (not in ip_range_whitelist)")
        return socket.socket(family=family, type=type_, proto=proto)


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
            raise RefusedAddressError(
                f"{host} resolves only to addresses federation may not dial")
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
        # Where discovery looks for .well-known: 443 as the spec says; tests point it elsewhere.
        self.well_known_port: int | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            ctx: ssl.SSLContext | bool = ssl.create_default_context()
            if not self.verify_certificates:
                ctx = False
            connector = aiohttp.TCPConnector(resolver=GuardedResolver(self.policy), ssl=ctx,
                                             limit_per_host=8,
                                             socket_factory=self.policy.socket_factory)
            self._session = aiohttp.ClientSession(connector=connector, timeout=self.timeout)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    # discovery -----------------------------------------------------------------------------

    async def base_url(self, destination: str) -> str:
        try:
            name = parse_server_name(destination)
        except InvalidServerName as e:
            raise InvalidDestination(f"refusing to contact {destination!r}: {e}") from None
        if destination in self.servers:
            url = self.servers[destination].rstrip("/")
            self._check_url(url)
            return url
        cached = self._discovered.get(destination)
        if cached and cached.expires > time.monotonic():
            return cached.base_url
        if name.is_ip or name.port is not None:
            url = f"https://{name.url_host}:{name.port or 8448}"
        else:
            url = await self._well_known(name.host) or f"https://{name.host}:8448"
        self._check_url(url)
        if len(self._discovered) >= DISCOVERY_CACHE_MAX:  # names come from strangers: bound it
            self._discovered.pop(next(iter(self._discovered)))
        self._discovered[destination] = _Cached(url, destination,
                                                time.monotonic() + DISCOVERY_CACHE_S)
        return url

    async def _well_known(self, host: str) -> str | None:
        """The delegated base URL from ``https://host/.well-known/matrix/server``, or None.
        No redirects are followed (a redirect could point anywhere, plain HTTP included), the
        body and time are bounded, and ``m.server`` must be a server name."""
        port = f":{self.well_known_port}" if self.well_known_port else ""
        try:
            async with self.session.get(
                    f"https://{host}{port}/.well-known/matrix/server", allow_redirects=False,
                    timeout=aiohttp.ClientTimeout(total=WELL_KNOWN_TIMEOUT_S)) as resp:
                if resp.status != 200:
                    return None
                raw = await _read_capped(resp, WELL_KNOWN_MAX_BYTES)
            if raw is None:
                return None
            data = json.loads(raw)
        except (TimeoutError, aiohttp.ClientError, ValueError, RecursionError, OSError) as e:
            log.debug("no usable .well-known for %s: %s", host, e)
            return None
        delegated = data.get("m.server") if isinstance(data, dict) else None
        try:
            name = parse_server_name(delegated)
        except InvalidServerName as e:
            log.info(".well-known of %s: ignoring m.server: %s", host, e)
            return None
        return f"https://{name.url_host}:{name.port or 8448}"

    def _check_url(self, url: str) -> None:
        host = urlsplit(url).hostname or ""
        if ip_literal(host) is not None and not self.policy.allowed(host):
            raise BlockedAddress(f"federation may not dial {host} (not in ip_range_whitelist)")

    # requests ------------------------------------------------------------------------------

    async def request(self, destination: str, method: str, path: str, body=None,
                      query: dict | None = None, signed: bool = True,
                      timeout_s: float | None = None,
                      max_bytes: int = RESPONSE_MAX_BYTES) -> Any:
        """Send a signed request; return the JSON answer or raise RemoteServerError (an
        answer over ``max_bytes`` is one). A destination that is not a server name is refused
        (InvalidDestination) before anything is resolved or sent."""
        self._check_destination(destination)
        uri = path
        if query:
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
            timeout = self.timeout if timeout_s is None else \
                aiohttp.ClientTimeout(total=timeout_s)
            # encoded=True: the URI must reach the server byte for byte as it was signed.
            url = yarl.URL(base + uri, encoded=True)
            async with self.session.request(method, url, data=data, headers=headers,
                                            allow_redirects=False, timeout=timeout) as resp:
                raw = await _read_capped(resp, max_bytes)
                if raw is None:
                    raise RemoteServerError(f"{destination} answered over {max_bytes} bytes",
                                            resp.status)
                try:
                    answer = json.loads(raw) if raw else {}
                except (ValueError, RecursionError):
                    if resp.status == 200:
                        raise RemoteServerError(f"{destination} answered 200 without JSON",
                                                resp.status) from None
                    answer = {}
                if resp.status != 200:
                    msg = answer.get("error") if isinstance(answer, dict) else None
                    raise RemoteServerError(
                        f"{destination} answered {resp.status}: {msg or raw[:200]!r}",
                        resp.status, answer if isinstance(answer, dict) else {})
                return answer
        except RemoteServerError:
            raise
        except (TimeoutError, aiohttp.ClientError, OSError) as e:
            raise _unreachable(destination, e) from None

    def _check_destination(self, destination: str) -> None:
        """Refuse a destination that is not a server name (before anything is resolved or
        sent), and ourselves."""
        try:
            parse_server_name(destination)
        except InvalidServerName as e:
            raise InvalidDestination(f"refusing to contact {destination!r}: {e}") from None
        if destination == self.server_name:
            raise RemoteServerError("refusing to send a federation request to ourselves")

    @asynccontextmanager
    async def stream(self, destination: str, path: str, url: str | None = None
                     ) -> AsyncIterator[aiohttp.ClientResponse]:
        """A GET whose answer the caller reads as a stream (media): X-Matrix signed to
        ``destination`` at ``path``, or, with ``url``, an unsigned GET of that http(s) URL
        (where a server said its media is). Either way through the guarded session, with no
        redirects followed; failures while connecting or reading are RemoteServerError."""
        if url is None:
            self._check_destination(destination)
        elif urlsplit(url).scheme not in ("http", "https"):
            raise RemoteServerError(f"refusing to fetch {url[:200]!r}: not an http(s) URL")
        try:
            if url is None:
                headers = {"Authorization": sign_request(self.signing_key, "GET", path,
                                                         self.server_name, destination, None)}
                target = yarl.URL(await self.base_url(destination) + path, encoded=True)
            else:
                self._check_url(url)
                headers, target = {}, yarl.URL(url)
            async with self.session.get(target, headers=headers,
                                        allow_redirects=False) as resp:
                yield resp
        except RemoteServerError:
            raise
        except (TimeoutError, aiohttp.ClientError, OSError) as e:
            raise _unreachable(destination, e) from None


def _unreachable(destination: str, e: BaseException) -> RemoteServerError:
    """A connection failure as the error callers handle: BlockedAddress when the address
    policy refused the dial (so callers can tell "not allowed" from "down")."""
    cause = getattr(e, "os_error", e)
    if isinstance(cause, RefusedAddressError):
        return BlockedAddress(f"cannot reach {destination}: {cause}")
    return RemoteServerError(f"cannot reach {destination}: {e or type(e).__name__}")


async def _read_capped(resp: aiohttp.ClientResponse, limit: int) -> bytes | None:
    """The whole body, or None if it is over ``limit`` bytes (reading stops there)."""
    # read(n) returns what is buffered, not n bytes: loop until EOF, or a large answer
    # (send_join's state of a big room) is cut short and parsed as {}.
    buf = bytearray()
    while len(buf) <= limit:
        chunk = await resp.content.read(limit + 1 - len(buf))
        if not chunk:
            break
        buf += chunk
    return None if len(buf) > limit else bytes(buf)
