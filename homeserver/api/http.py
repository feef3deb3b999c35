"""Shared HTTP plumbing: Matrix error rendering, bounded JSON bodies, access tokens, CORS."""
from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import time
from collections.abc import Callable
from typing import overload

from aiohttp import web

from federation.canonical_json import check_canonical
from federation.exceptions import CanonicalJSONError

from ..errors import (
    BadJson,
    GuestForbidden,
    InvalidParam,
    MatrixError,
    MissingToken,
    NotJson,
    TooLarge,
    Unrecognized,
)
from ..handlers.accounts import AccountHandler, Requester
from ..handlers.devices import DeviceHandler

log = logging.getLogger(__name__)

ACCOUNTS = web.AppKey("accounts", AccountHandler)
# Config trusted_proxies, parsed: peers whose X-Forwarded-For is believed (see client_ip)
TRUSTED_PROXIES = web.AppKey("trusted_proxies", list)
DEVICES = web.AppKey("devices", DeviceHandler)  # told who was seen (devices' last seen)
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, PUT, DELETE, OPTIONS",
    "Access-Control-Allow-Headers": "X-Requested-With, Content-Type, Authorization",
}


# Guests (register?kind=guest) reach only the client API routes whose handler is marked
# ``@guest_ok``: one allow-list, checked by ``guest_gate`` before any handler runs, so a new
# endpoint is closed to guests until someone decides otherwise.
GUEST_OK = "_guest_ok"
GATED_PREFIXES = ("/_matrix/client/", "/_matrix/media/", "/_synapse/")


def guest_ok(handler):
    """Mark a servlet method as open to guests (they still meet its own checks)."""
    setattr(handler, GUEST_OK, True)
    return handler


def is_guest_ok(request: web.Request) -> bool:
    route = request.match_info.route
    return bool(getattr(getattr(route, "handler", None), GUEST_OK, False))


@web.middleware
async def guest_gate(request: web.Request, handler):
    """403 M_GUEST_ACCESS_FORBIDDEN for a guest's token on any route not marked guest_ok."""
    if request.method != "OPTIONS" and request.path.startswith(GATED_PREFIXES) \
            and request.match_info.http_exception is None and not is_guest_ok(request):
        token = access_token(request)
        if token:
            try:
                req = request.app[ACCOUNTS].authenticate(token)
            except MatrixError:  # unknown or expired: the handler answers as for anyone
                req = None
            if req is not None and req.is_guest:
                raise GuestForbidden("Guests may not use this endpoint; sign up first")
    return await handler(request)


def json_response(body, status: int = 200) -> web.Response:
    return web.Response(
        body=json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode(),
        status=status, content_type="application/json", headers=CORS_HEADERS)


def error_response(err: MatrixError) -> web.Response:
    return json_response(err.to_dict(), err.status)


@web.middleware
async def matrix_errors(request: web.Request, handler):
    """Every failure leaves as ``{"errcode", "error"}``; nothing leaks a traceback."""
    if request.method == "OPTIONS":
        return web.Response(status=204, headers=CORS_HEADERS)
    try:
        return await handler(request)
    except MatrixError as e:
        return error_response(e)
    except web.HTTPRequestEntityTooLarge:
        return error_response(TooLarge("Request body too large"))
    except web.HTTPMethodNotAllowed:
        return error_response(Unrecognized("Unrecognized request (method not allowed)",
                                           status=405))
    except web.HTTPNotFound:
        return error_response(Unrecognized("Unrecognized request"))
    except web.HTTPException:
        raise
    except Exception:  # a bug: log it, answer in Matrix form, keep serving
        log.exception("internal error handling %s %s", request.method, request.path)
        return error_response(MatrixError("Internal server error", "M_UNKNOWN", 500))


# HTTP methods counted under their name; anything else a client invents is "other"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"})


def servlet_name(request: web.Request) -> str:
    """What the metrics call the route: its handler's name (``RoomServlets.send``), or
    ``unmatched``: a bounded set of labels, whatever paths clients try."""
    if request.match_info.http_exception is not None:
        return "unmatched"
    handler = getattr(request.match_info.route, "handler", None)
    return getattr(handler, "__qualname__", None) or "unmatched"


def request_metrics(observe: Callable[[str, str, int, float], None]):
    """A middleware (outermost) that reports each request as ``observe(servlet, method,
    status, seconds)`` once it is answered; 499 when the client went away first."""

    @web.middleware
    async def middleware(request: web.Request, handler):
        start = time.perf_counter()
        status = 500
        try:
            resp = await handler(request)
            status = resp.status
            return resp
        except web.HTTPException as e:
            status = e.status
            raise
        except asyncio.CancelledError:
            status = 499
            raise
        finally:
            method = request.method if request.method in METHODS else "other"
            observe(servlet_name(request), method, status, time.perf_counter() - start)

    return middleware


async def read_json(request: web.Request, limit: int, canonical: bool = False) -> dict:
    """Read a JSON object body of at most ``limit`` bytes.

    ``canonical`` also refuses what cannot go into a signed event (floats, integers beyond
    2**53, nesting deeper than 100), so a bad event is refused before it exists.
    """
    if request.content_length is not None and request.content_length > limit:
        raise TooLarge(f"Request body over the {limit} byte limit")
    # read(n) returns what is buffered, not n bytes: loop until EOF (or past the limit), so a
    # body that arrives in several TCP segments or chunks is read whole.
    raw = b""
    while len(raw) <= limit:
        chunk = await request.content.read(limit + 1 - len(raw))
        if not chunk:
            break
        raw += chunk
    if len(raw) > limit:
        raise TooLarge(f"Request body over the {limit} byte limit")
    if not raw.strip():
        raise NotJson("Request body is empty; a JSON object was expected")
    try:
        body = json.loads(raw, parse_constant=_reject_constant)  # NaN/Infinity are not JSON
    except RecursionError:  # valid JSON, nested deeper than the parser goes
        raise BadJson("Request body is nested too deeply") from None
    except ValueError:
        raise NotJson("Request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise BadJson("Request body must be a JSON object")
    try:
        check_canonical(body)
    except CanonicalJSONError as e:
        if canonical or "deep" in str(e):
            raise BadJson(str(e)) from e
    try:  # a lone surrogate ("\ud800") parses but cannot be stored or sent as UTF-8
        json.dumps(body, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        raise BadJson("Request body contains a lone UTF-16 surrogate") from None
    return body


def _reject_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


async def read_optional_json(request: web.Request, limit: int) -> dict:
    """For endpoints whose body may be empty (leave, logout, ...)."""
    if request.content_length == 0 or (request.content_length is None
                                       and not request.can_read_body):
        return {}
    raw_peek = request.content.at_eof()
    if raw_peek:
        return {}
    return await read_json(request, limit)


def access_token(request: web.Request) -> str | None:
    auth = request.headers.get("Authorization")
    if auth:
        scheme, _, token = auth.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
        return None
    return request.query.get("access_token")


def requester(request: web.Request) -> Requester:
    token = access_token(request)
    if not token:
        raise MissingToken("Missing access token")
    req = request.app[ACCOUNTS].authenticate(token)
    devices = request.app.get(DEVICES)
    if devices is not None:
        devices.seen(req, client_ip(request))
    return req


@overload
def int_param(request: web.Request, name: str, default: int) -> int: ...


@overload
def int_param(request: web.Request, name: str, default: None = None) -> int | None: ...


def int_param(request: web.Request, name: str, default: int | None = None) -> int | None:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise InvalidParam(f"'{name}' must be an integer") from None


MAX_FORWARDED_HOPS = 16


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # [v6]:port
        text = text[1:text.index("]")]
    elif text.count(":") == 1:  # v4:port
        text = text.split(":", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def client_ip(request: web.Request) -> str:
    """The client's IP: the peer's address, unless the peer is one of the configured
    ``trusted_proxies``; then X-Forwarded-For is read from the right (the entry the proxy
    itself appended), skipping further trusted proxies, to the first address that is not
    one. Entries left of that are the client's own claims and are never believed; from any
    other peer the header is ignored, so a client cannot pick its rate-limit bucket."""
    peer = request.remote or "?"
    proxies = request.app.get(TRUSTED_PROXIES) or []
    addr = _address(peer)

    def trusted(a) -> bool:
        return any(a.version == net.version and a in net for net in proxies)

    if not proxies or addr is None or not trusted(addr):
        return peer
    hops = [h for v in request.headers.getall("X-Forwarded-For", []) for h in v.split(",")]
    for hop in reversed(hops[-MAX_FORWARDED_HOPS:]):
        found = _address(hop)
        if found is None:
            break  # garbage in the chain: stop at the last address we could trust
        if not trusted(found):
            return str(found)
        addr = found
    return str(addr)
