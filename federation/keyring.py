"""Server signing keys: ours as published, and remote servers' keys fetched, verified, cached.

A remote key response must be signed by the keys it lists (``server_name`` must be the server
asked). A cached key is trusted until its ``valid_until_ts``, capped at 7 days after we fetched
it, as the spec requires; past that it is fetched again. Keys a server has retired
(``old_verify_keys``) still verify what was signed before they expired.

Anyone can make us fetch a server's keys (a request signed with a key ID we do not know, a
notary query), so a key response must cost little whatever it holds: it is read up to 64 KiB,
lists at most 32 keys, is verified once (encoded once, each listed key checked against that
encoding) in a worker thread, and is stored once per server. Fetches of one server are shared
and at most one per ``REFETCH_INTERVAL_S``; a notary query names at most 20 servers.
"""
from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from .canonical_json import encode_canonical_json
from .client import FederationClient, RemoteServerError
from .exceptions import CanonicalJSONError, SignatureError
from .servername import InvalidServerName, parse_server_name
from .signing import SigningKey, VerifyKey, sign_json, verify_signed_json_keys

SEVEN_DAYS_MS = 7 * 24 * 3600 * 1000
OWN_KEY_VALIDITY_MS = 24 * 3600 * 1000
REFETCH_INTERVAL_S = 5.0  # a burst of requests naming an unknown key triggers one fetch
MAX_KEYS_PER_RESPONSE = 32  # verify_keys and old_verify_keys together
MAX_KEY_RESPONSE_BYTES = 64 * 1024  # as read from the wire, and as canonical JSON
MAX_SIGNATURES_TRIED = 32  # key IDs of one server tried when verifying a signed object
NOTARY_MAX_SERVERS = 20
NOTARY_MAX_KEY_IDS = 32  # per server
_LAST_FETCH_MAX = 10_000  # servers remembered for the refetch limit (names come from strangers)


class NotaryRequestError(ValueError):
    """A notary query asks for too much or names something that is not a server."""


@dataclass(frozen=True)
class CheckedKeyResponse:
    """A key response whose signatures verified: its keys, and the response to store."""
    server: str
    keys: list[tuple[str, str, int, int | None]]  # (key_id, key, valid_until_ts, expired_ts)
    valid_until_ts: int  # capped
    response_json: str


class KeyCache(Protocol):
    """Where verified remote keys are kept (a durable store handed in by the server)."""

    def get(self, server: str, key_id: str) -> tuple[str, int, int | None] | None:
        """(verify_key, valid_until_ts, expired_ts) of one key, or None."""

    def put_response(self, checked: CheckedKeyResponse) -> None:
        """Keep a verified response's keys, and the response itself once."""

    def response_json(self, server: str) -> dict | None:
        """The newest verified response of ``server``, for the notary."""


def check_key_response(server: str, resp: object, now_ms: int) -> CheckedKeyResponse:
    """Verify a /key/v2/server answer: for ``server``, at most MAX_KEYS_PER_RESPONSE keys and
    MAX_KEY_RESPONSE_BYTES, signed by every key it lists. Encodes the response once and
    checks each signature against that one encoding. Pure and thread-safe (CPU-bound: run it
    off the event loop); SignatureError if anything is wrong."""
    if not isinstance(resp, dict) or resp.get("server_name") != server:
        raise SignatureError(f"key response is not for {server}")
    verify_keys = resp.get("verify_keys")
    old_keys = resp.get("old_verify_keys", {})
    valid_until = resp.get("valid_until_ts")
    if not isinstance(verify_keys, dict) or not verify_keys or not isinstance(old_keys, dict) \
            or not isinstance(valid_until, int) or isinstance(valid_until, bool):
        raise SignatureError(f"malformed key response from {server}")
    if len(verify_keys) + len(old_keys) > MAX_KEYS_PER_RESPONSE:
        raise SignatureError(
            f"key response from {server} lists {len(verify_keys) + len(old_keys)} keys;"
            f" at most {MAX_KEYS_PER_RESPONSE} are accepted")
    try:
        size = len(encode_canonical_json(resp))
    except CanonicalJSONError as e:
        raise SignatureError(f"key response from {server} is not canonical JSON: {e}") from None
    if size > MAX_KEY_RESPONSE_BYTES:
        raise SignatureError(f"key response from {server} is {size} bytes;"
                             f" at most {MAX_KEY_RESPONSE_BYTES} are accepted")
    parsed = []
    for key_id, data in verify_keys.items():
        try:
            parsed.append(VerifyKey.from_base64(key_id, data["key"]))
        except (KeyError, TypeError, ValueError):
            raise SignatureError(f"malformed key {key_id} from {server}") from None
    verify_signed_json_keys(resp, server, parsed)  # every listed key signed it
    capped = min(valid_until, now_ms + SEVEN_DAYS_MS)
    keys: list[tuple[str, str, int, int | None]] = [
        (vk.key_id, vk.public_base64, capped, None) for vk in parsed]
    for key_id, data in old_keys.items():
        try:
            vk = VerifyKey.from_base64(key_id, data["key"])
            expired = int(data["expired_ts"])
        except (KeyError, TypeError, ValueError):
            continue
        keys.append((key_id, vk.public_base64, expired, expired))
    return CheckedKeyResponse(server, keys, capped, json.dumps(resp))


def check_notary_request(wanted: object) -> dict[str, dict]:
    """The ``server_keys`` of a notary query, checked: at most NOTARY_MAX_SERVERS server
    names, each mapped to at most NOTARY_MAX_KEY_IDS key IDs with optional criteria."""
    if not isinstance(wanted, dict):
        raise NotaryRequestError("server_keys must be an object")
    if len(wanted) > NOTARY_MAX_SERVERS:
        raise NotaryRequestError(f"server_keys names {len(wanted)} servers; at most"
                                 f" {NOTARY_MAX_SERVERS} may be asked for at once")
    for server, criteria in wanted.items():
        try:
            parse_server_name(server)
        except InvalidServerName as e:
            raise NotaryRequestError(f"server_keys: {e}") from None
        if not isinstance(criteria, dict) or not all(
                isinstance(c, dict) and isinstance(c.get("minimum_valid_until_ts", 0), int)
                for c in criteria.values()):
            raise NotaryRequestError(
                "server_keys maps each server to {key_id: {minimum_valid_until_ts}}")
        if len(criteria) > NOTARY_MAX_KEY_IDS:
            raise NotaryRequestError(f"server_keys asks for {len(criteria)} keys of {server};"
                                     f" at most {NOTARY_MAX_KEY_IDS} per server")
    return wanted


class Keyring:
    def __init__(self, server_name: str, signing_key: SigningKey, old_keys: list[tuple],
                 cache: KeyCache, client: FederationClient,
                 clock: Callable[[], float] = time.time):
        self.server_name = server_name
        self.signing_key = signing_key
        self.old_keys = old_keys  # [(key_id, seed, expired_ts)]
        self.cache = cache
        self.client = client
        self.clock = clock
        self._last_fetch: dict[str, float] = {}
        self._inflight: dict[str, asyncio.Future] = {}
        self._memo: dict[tuple[str, str], tuple[VerifyKey, int, int | None]] = {}
        # key fetches from other servers so far, by outcome (read by whoever exports metrics)
        self.fetches = {"ok": 0, "error": 0}

    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    # ours ----------------------------------------------------------------------------------

    def own_key_response(self) -> dict:
        old = {}
        for key_id, seed, expired_ts in self.old_keys:
            old[key_id] = {"key": SigningKey.from_seed_base64(key_id, seed).verify_key
                           .public_base64, "expired_ts": expired_ts}
        body = {
            "server_name": self.server_name,
            "valid_until_ts": self.now_ms() + OWN_KEY_VALIDITY_MS,
            "verify_keys": {self.signing_key.key_id:
                            {"key": self.signing_key.verify_key.public_base64}},
            "old_verify_keys": old,
        }
        return sign_json(body, self.server_name, self.signing_key)

    # theirs --------------------------------------------------------------------------------

    async def get_verify_key(self, server: str, key_id: str, at_ms: int | None = None
                             ) -> VerifyKey:
        """The key ``key_id`` of ``server``, valid at ``at_ms`` (default: now)."""
        at = at_ms if at_ms is not None else self.now_ms()
        if server == self.server_name:
            if key_id == self.signing_key.key_id:
                return self.signing_key.verify_key
            for kid, seed, expired in self.old_keys:
                if kid == key_id and at <= expired:
                    return SigningKey.from_seed_base64(kid, seed).verify_key
            raise SignatureError(f"unknown key {key_id} for {server}")
        found = self._lookup(server, key_id, at)
        if found is not None:
            return found
        try:
            await self._refresh(server)
        except SignatureError as e:
            raise SignatureError(f"no valid key {key_id} known for {server}: {e}") from None
        # Look again even when no fetch was made: one that just finished (while our first
        # look was reading the cache, which may wait for the database) has stored the key.
        found = self._lookup(server, key_id, at)
        if found is not None:
            return found
        raise SignatureError(f"no valid key {key_id} known for {server}")

    async def _refresh(self, server: str) -> bool:
        """Fetch ``server``'s keys, unless they were fetched less than REFETCH_INTERVAL_S ago
        (then False). Everyone waiting for one server shares one fetch; SignatureError if it
        failed."""
        inflight = self._inflight.get(server)
        if inflight is None:
            now = self.clock()
            if now - self._last_fetch.get(server, -1e9) < REFETCH_INTERVAL_S:
                return False
            if len(self._last_fetch) >= _LAST_FETCH_MAX:
                self._last_fetch = {s: t for s, t in self._last_fetch.items()
                                    if now - t < REFETCH_INTERVAL_S}
            self._last_fetch[server] = now
            inflight = asyncio.ensure_future(self.fetch_server_keys(server))
            self._inflight[server] = inflight
            inflight.add_done_callback(lambda _: self._inflight.pop(server, None))
        await asyncio.shield(inflight)
        return True

    def _lookup(self, server: str, key_id: str, at: int) -> VerifyKey | None:
        memo = self._memo.get((server, key_id))
        if memo is None:
            row = self.cache.get(server, key_id)
            if row is None:
                return None
            memo = (VerifyKey.from_base64(key_id, row[0]), row[1], row[2])
            self._memo[(server, key_id)] = memo
        vk, valid_until, expired = memo
        if expired is not None:
            return vk if at <= expired else None
        return vk if at <= valid_until and self.now_ms() <= valid_until else None

    async def fetch_server_keys(self, server: str) -> dict:
        try:
            resp = await self.client.request(server, "GET", "/_matrix/key/v2/server",
                                             signed=False, timeout_s=15,
                                             max_bytes=MAX_KEY_RESPONSE_BYTES)
        except RemoteServerError as e:
            self.fetches["error"] += 1
            raise SignatureError(f"cannot fetch keys of {server}: {e}") from None
        try:
            checked = await asyncio.to_thread(check_key_response, server, resp, self.now_ms())
        except Exception:  # refused (SignatureError) or worse: counted, then as before
            self.fetches["error"] += 1
            raise
        self.fetches["ok"] += 1
        self._store_checked(checked)
        return resp

    def store_key_response(self, server: str, resp: dict) -> None:
        """Verify a /key/v2/server answer (self-signed, right server) and cache its keys."""
        self._store_checked(check_key_response(server, resp, self.now_ms()))

    def _store_checked(self, checked: CheckedKeyResponse) -> None:
        self.cache.put_response(checked)
        for key_id, *_ in checked.keys:
            self._memo.pop((checked.server, key_id), None)

    async def verify_json_from(self, obj: dict, server: str, at_ms: int | None = None) -> None:
        """Check ``obj`` carries a valid signature of ``server`` (any one of its keys)."""
        sigs = (obj.get("signatures") or {}).get(server) if isinstance(obj, dict) else None
        if not isinstance(sigs, dict) or not sigs:
            raise SignatureError(f"not signed by {server}")
        errors = []
        key_ids = [k for k in sigs if isinstance(k, str) and k.startswith("ed25519:")]
        for key_id in key_ids[:MAX_SIGNATURES_TRIED]:
            try:
                vk = await self.get_verify_key(server, key_id, at_ms)
                verify_signed_json_keys(obj, server, [vk])
                return
            except SignatureError as e:
                errors.append(str(e))
        raise SignatureError("; ".join(errors) or f"no usable signature of {server}")

    # notary --------------------------------------------------------------------------------

    async def notary_query(self, wanted: object,
                           may_fetch: Callable[[str], bool] = lambda server: True
                           ) -> list[dict]:
        """POST /_matrix/key/v2/query: each server's key response, countersigned by us.
        NotaryRequestError if ``wanted`` asks for too much (see check_notary_request); the
        servers are asked concurrently. ``may_fetch(server)`` is asked before each fetch that
        would dial out (not for answers from the cache, nor for a fetch already under way or
        done moments ago): False leaves that server out, as one we cannot reach."""
        checked = check_notary_request(wanted)
        answers = await asyncio.gather(*(self._notarise(server, key_ids, may_fetch)
                                         for server, key_ids in checked.items()))
        return [a for a in answers if a is not None]

    def would_dial(self, server: str) -> bool:
        """Whether a refresh of ``server``'s keys now would start a new outbound fetch."""
        return server not in self._inflight and \
            self.clock() - self._last_fetch.get(server, -1e9) >= REFETCH_INTERVAL_S

    async def _notarise(self, server: str, key_ids: dict,
                        may_fetch: Callable[[str], bool] = lambda server: True
                        ) -> dict | None:
        if server == self.server_name:
            return self.own_key_response()
        resp = self.cache.response_json(server)
        min_valid = max([(v or {}).get("minimum_valid_until_ts", 0)
                         for v in key_ids.values() if isinstance(v, dict)] or [0])
        if resp is None or resp.get("valid_until_ts", 0) < max(min_valid, self.now_ms()):
            if self.would_dial(server) and not may_fetch(server):
                return None  # this requester has had its share of our outbound fetches
            try:
                await self._refresh(server)  # at most one fetch per interval, shared
            except SignatureError:
                return None  # the spec: servers we cannot reach are left out
            resp = self.cache.response_json(server)
            if resp is None:
                return None
        return sign_json(resp, self.server_name, self.signing_key)
