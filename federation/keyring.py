"""Server signing keys: ours as published, and remote servers' keys fetched, verified, cached.

A remote key response must be signed by the keys it lists (``server_name`` must be the server
asked). A cached key is trusted until its ``valid_until_ts``, capped at 7 days after we fetched
it, as the spec requires; past that it is fetched again. Keys a server has retired
(``old_verify_keys``) still verify what was signed before they expired.
"""
from __future__ import annotations

import asyncio
import json
import time
from typing import Callable

from homeserver.storage.database import Database

from .client import FederationClient, RemoteServerError
from .exceptions import SignatureError
from .signing import SigningKey, VerifyKey, sign_json, verify_signed_json

SEVEN_DAYS_MS = 7 * 24 * 3600 * 1000
OWN_KEY_VALIDITY_MS = 24 * 3600 * 1000
REFETCH_INTERVAL_S = 5.0  # a burst of requests naming an unknown key triggers one fetch


class KeyCacheStore:
    def __init__(self, db: Database):
        self.db = db

    def get(self, server: str, key_id: str) -> tuple[str, int, int | None] | None:
        return self.db.execute(
            "SELECT verify_key, valid_until_ts, expired_ts FROM remote_server_keys"
            " WHERE server_name = ? AND key_id = ?", (server, key_id)).fetchone()

    def put(self, server: str, key_id: str, verify_key: str, valid_until_ts: int,
            expired_ts: int | None, key_json: str) -> None:
        with self.db.transaction() as c:
            c.execute(
                "INSERT OR REPLACE INTO remote_server_keys (server_name, key_id, verify_key,"
                " valid_until_ts, expired_ts, fetched_ts, key_json) VALUES (?,?,?,?,?,?,?)",
                (server, key_id, verify_key, valid_until_ts, expired_ts,
                 int(time.time() * 1000), key_json))

    def response_json(self, server: str) -> dict | None:
        row = self.db.execute(
            "SELECT key_json FROM remote_server_keys WHERE server_name = ? AND key_json IS NOT"
            " NULL ORDER BY fetched_ts DESC LIMIT 1", (server,)).fetchone()
        return json.loads(row[0]) if row else None


class Keyring:
    def __init__(self, server_name: str, signing_key: SigningKey, old_keys: list[tuple],
                 cache: KeyCacheStore, client: FederationClient,
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
        inflight = self._inflight.get(server)
        if inflight is None and self.clock() - self._last_fetch.get(server, -1e9) \
                >= REFETCH_INTERVAL_S:
            self._last_fetch[server] = self.clock()
            inflight = asyncio.ensure_future(self.fetch_server_keys(server))
            self._inflight[server] = inflight
            inflight.add_done_callback(lambda _: self._inflight.pop(server, None))
        if inflight is not None:
            # Everyone waiting for this server shares one fetch.
            try:
                await asyncio.shield(inflight)
            except SignatureError:
                pass
            found = self._lookup(server, key_id, at)
            if found is not None:
                return found
        raise SignatureError(f"no valid key {key_id} known for {server}")

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
                                             signed=False, timeout_s=15)
        except RemoteServerError as e:
            raise SignatureError(f"cannot fetch keys of {server}: {e}")
        self.store_key_response(server, resp)
        return resp

    def store_key_response(self, server: str, resp: dict) -> None:
        """Verify a /key/v2/server answer (self-signed, right server) and cache its keys."""
        if not isinstance(resp, dict) or resp.get("server_name") != server:
            raise SignatureError(f"key response is not for {server}")
        verify_keys = resp.get("verify_keys")
        valid_until = resp.get("valid_until_ts")
        if not isinstance(verify_keys, dict) or not verify_keys or not isinstance(valid_until, int):
            raise SignatureError(f"malformed key response from {server}")
        parsed = {}
        for key_id, data in verify_keys.items():
            try:
                parsed[key_id] = VerifyKey.from_base64(key_id, data["key"])
            except (KeyError, TypeError, ValueError):
                raise SignatureError(f"malformed key {key_id} from {server}")
        for vk in parsed.values():  # every listed key must have signed the response
            verify_signed_json(resp, server, vk)
        capped = min(valid_until, self.now_ms() + SEVEN_DAYS_MS)
        raw = json.dumps(resp)
        for key_id, vk in parsed.items():
            self.cache.put(server, key_id, vk.public_base64, capped, None, raw)
            self._memo.pop((server, key_id), None)
        for key_id, data in (resp.get("old_verify_keys") or {}).items():
            try:
                vk = VerifyKey.from_base64(key_id, data["key"])
                expired = int(data["expired_ts"])
            except (KeyError, TypeError, ValueError):
                continue
            self.cache.put(server, key_id, vk.public_base64, expired, expired, raw)
            self._memo.pop((server, key_id), None)

    async def verify_json_from(self, obj: dict, server: str, at_ms: int | None = None) -> None:
        """Check ``obj`` carries a valid signature of ``server`` (any one of its keys)."""
        sigs = (obj.get("signatures") or {}).get(server) if isinstance(obj, dict) else None
        if not isinstance(sigs, dict) or not sigs:
            raise SignatureError(f"not signed by {server}")
        errors = []
        for key_id in sigs:
            if not key_id.startswith("ed25519:"):
                continue
            try:
                vk = await self.get_verify_key(server, key_id, at_ms)
                verify_signed_json(obj, server, vk)
                return
            except SignatureError as e:
                errors.append(str(e))
        raise SignatureError("; ".join(errors) or f"no usable signature of {server}")

    # notary --------------------------------------------------------------------------------

    async def notary_query(self, wanted: dict[str, dict]) -> list[dict]:
        """POST /_matrix/key/v2/query: each server's key response, countersigned by us."""
        out = []
        for server, key_ids in wanted.items():
            if not isinstance(server, str):
                continue
            if server == self.server_name:
                out.append(self.own_key_response())
                continue
            resp = self.cache.response_json(server)
            min_valid = max([(v or {}).get("minimum_valid_until_ts", 0)
                             for v in (key_ids or {}).values()
                             if isinstance(v, dict)] or [0])
            if resp is None or resp.get("valid_until_ts", 0) < max(min_valid, self.now_ms()):
                try:
                    resp = await self.fetch_server_keys(server)
                except SignatureError:
                    continue  # the spec: servers we cannot reach are left out
            out.append(sign_json(resp, self.server_name, self.signing_key))
        return out
