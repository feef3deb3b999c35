"""End-to-end encryption keys: /keys/upload, /keys/query, /keys/claim, cross-signing and the
federation queries behind them.

Every key a client uploads is checked before anything is stored: device keys must be for the
requester's own device and carry a valid self-signature by that device's ed25519 key; signed
one-time and fallback keys must be signed by it too; sizes and counts are bounded. A one-time
key is given out once (deleted in the claiming transaction); when none is left the fallback key
is given (and marked used). Claims are rate-limited per (claimer, target user): a client cannot
drain someone's one-time keys. Other servers are asked for their users' keys (a bounded number
of servers at once, each with a timeout; one that fails is listed in ``failures``).
"""
from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable

from federation.client import FederationClient, RemoteServerError
from federation.exceptions import SignatureError
from federation.pdus import server_of
from federation.signing import VerifyKey, verify_signed_json

from ..errors import BadJson, InvalidParam, NotFound
from ..storage.devices import DeviceStore
from ..storage.e2e_keys import E2EKeyStore
from .accounts import Requester
from .device_lists import DeviceLists, valid_cross_signing_key, valid_device_keys, valid_user
from .ratelimit import RateLimiter

MAX_OTKS_PER_UPLOAD = 100
MAX_OTKS_PER_DEVICE = 1000
MAX_KEY_JSON = 4096  # one one-time/fallback key
MAX_DEVICE_KEYS_JSON = 16384
MAX_QUERY_USERS = 1000
MAX_CLAIMS = 1000
MAX_SERVERS = 50  # other servers asked in one query/claim
MAX_TIMEOUT_MS = 10_000
KEY_ID = re.compile(r"^[A-Za-z0-9_.:+/=-]{1,255}$")
ALGORITHM = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
USAGES = {"master_key": "master", "self_signing_key": "self_signing",
          "user_signing_key": "user_signing"}


def _size(obj) -> int:
    return len(json.dumps(obj, separators=(",", ":")))


def _ed25519_key(keys: dict, key_id: str) -> VerifyKey | None:
    value = keys.get("keys", {}).get(key_id) if isinstance(keys.get("keys"), dict) else None
    if not isinstance(value, str):
        return None
    try:
        return VerifyKey.from_base64(key_id, value)
    except ValueError:
        return None


def _verifies(obj: dict, signer: str, key: VerifyKey | None) -> bool:
    if key is None:
        return False
    try:
        verify_signed_json(obj, signer, key)
        return True
    except SignatureError:
        return False


def cross_signing_pub(key: dict) -> tuple[str, VerifyKey] | None:
    """A cross-signing key's ("ed25519:<pub>", VerifyKey)."""
    keys = key.get("keys")
    if not isinstance(keys, dict) or len(keys) != 1:
        return None
    key_id, value = next(iter(keys.items()))
    if not isinstance(key_id, str) or key_id != f"ed25519:{value}":
        return None
    vk = _ed25519_key(key, key_id)
    return None if vk is None else (key_id, vk)


def _strip(obj: dict) -> dict:
    return {k: v for k, v in obj.items() if k not in ("signatures", "unsigned")}


class E2EKeysHandler:
    def __init__(self, server_name: str, store: E2EKeyStore, devices: DeviceStore,
                 client: FederationClient, claim_limiter: RateLimiter,
                 federation_claim_limiter: RateLimiter,
                 authorise: Callable[[Requester, tuple, object], Awaitable[None]]):
        self.server_name = server_name
        self.store = store
        self.devices = devices
        self.client = client
        self.claim_limiter = claim_limiter  # per (claimer, target user)
        self.federation_claim_limiter = federation_claim_limiter  # per (origin, target user)
        self.authorise = authorise  # user-interactive auth (handlers/devices.py)
        self._lists: DeviceLists | None = None

    def attach(self, lists: DeviceLists) -> None:
        self._lists = lists

    @property
    def device_lists(self) -> DeviceLists:
        assert self._lists is not None
        return self._lists

    def _ours(self, user_id: str) -> bool:
        return server_of(user_id) == self.server_name

    # rendering -----------------------------------------------------------------------------

    def render_device(self, user_id: str, device_id: str) -> dict | None:
        keys = self.store.device_keys(user_id, [device_id]).get(device_id)
        if keys is None:
            return None
        self._merge_signatures(keys, user_id, device_id, None)
        device = self.devices.get_device(user_id, device_id)
        keys["unsigned"] = {"device_display_name": device["display_name"]} \
            if device and device.get("display_name") else {}
        return keys

    def _merge_signatures(self, obj: dict, user_id: str, key_id: str,
                          viewer: str | None) -> None:
        """Add the signatures others uploaded; on a master key, only the owner's and the
        viewer's (a user's signatures of others are for that user)."""
        sigs = obj.setdefault("signatures", {})
        for signer, signer_key, sig in self.store.signatures(user_id, key_id):
            if viewer is not None and signer not in (user_id, viewer):
                continue
            sigs.setdefault(signer, {})[signer_key] = sig

    def render_cross_signing(self, user_id: str, viewer: str | None = None) -> dict:
        out = {}
        for field, usage in USAGES.items():
            key = self.store.cross_signing_keys(user_id).get(usage)
            if key is None or (usage == "user_signing" and viewer != user_id):
                continue
            if usage == "master":
                pub = cross_signing_pub(key)
                if pub is not None:
                    # others' signatures only for their signer (none for other servers)
                    self._merge_signatures(key, user_id, pub[0].split(":", 1)[1],
                                           viewer or user_id)
            out[field] = key
        return out

    # /keys/upload --------------------------------------------------------------------------

    def upload(self, req: Requester, body: dict) -> dict:
        user_id, device_id = req.user_id, req.device_id
        device_keys = body.get("device_keys")
        new_device_keys = None
        if device_keys is not None:
            new_device_keys = self._check_device_keys(req, device_keys)
        signing = new_device_keys or self.store.device_keys(user_id, [device_id]).get(device_id)
        verify_key = _ed25519_key(signing, f"ed25519:{device_id}") if signing else None
        otks = self._check_keys(body.get("one_time_keys"), verify_key, user_id,
                                MAX_OTKS_PER_UPLOAD, "one_time_keys")
        fallbacks = self._check_keys(body.get("fallback_keys"), verify_key, user_id, 10,
                                     "fallback_keys")
        if len({alg for alg, _, _ in fallbacks}) != len(fallbacks):
            raise InvalidParam("at most one fallback key per algorithm")
        if otks:
            existing = self.store.one_time_key_ids(user_id, device_id,
                                                   [(a, k) for a, k, _ in otks])
            for alg, kid, key in otks:
                old = existing.get((alg, kid))
                if old is not None and json.loads(old) != key:
                    raise InvalidParam(f"one-time key {alg}:{kid} already exists")
            if not self.store.add_one_time_keys(user_id, device_id, otks, MAX_OTKS_PER_DEVICE):
                raise InvalidParam(f"a device holds at most {MAX_OTKS_PER_DEVICE} one-time keys")
        for alg, kid, key in fallbacks:
            self.store.set_fallback_key(user_id, device_id, alg, kid, key)
        if new_device_keys is not None:
            stored = self.store.device_keys(user_id, [device_id]).get(device_id)
            if stored != new_device_keys:
                self.store.set_device_keys(user_id, device_id, new_device_keys)
                self.device_lists.local_changed(user_id, [device_id])
        return {"one_time_key_counts": self.counts(user_id, device_id)}

    def counts(self, user_id: str, device_id: str) -> dict[str, int]:
        return {"signed_curve25519": 0, **self.store.one_time_key_counts(user_id, device_id)}

    def _check_device_keys(self, req: Requester, keys) -> dict:
        if not isinstance(keys, dict):
            raise BadJson("device_keys must be an object")
        if keys.get("user_id") != req.user_id or keys.get("device_id") != req.device_id:
            raise InvalidParam("device_keys must be for your own user and device")
        algs = keys.get("algorithms")
        if not isinstance(algs, list) or len(algs) > 20 or \
                not all(isinstance(a, str) and ALGORITHM.match(a) for a in algs):
            raise InvalidParam("device_keys.algorithms must be a list of algorithm names")
        inner = keys.get("keys")
        if not isinstance(inner, dict) or not 0 < len(inner) <= 20 or not all(
                isinstance(k, str) and KEY_ID.match(k) and isinstance(v, str) and len(v) <= 512
                for k, v in inner.items()):
            raise InvalidParam("device_keys.keys must map key IDs to keys")
        if _size(keys) > MAX_DEVICE_KEYS_JSON:
            raise InvalidParam("device_keys is too large")
        vk = _ed25519_key(keys, f"ed25519:{req.device_id}")
        if not _verifies(keys, req.user_id, vk):
            raise InvalidParam("device_keys must be signed by the device's ed25519 key")
        return {k: v for k, v in keys.items() if k != "unsigned"}

    def _check_keys(self, keys, verify_key: VerifyKey | None, user_id: str, limit: int,
                    what: str) -> list[tuple[str, str, dict]]:
        if keys is None:
            return []
        if not isinstance(keys, dict):
            raise BadJson(f"{what} must be an object")
        if len(keys) > limit:
            raise InvalidParam(f"at most {limit} {what} at once")
        out = []
        for full_id, key in keys.items():
            alg, sep, kid = full_id.partition(":")
            if not sep or not ALGORITHM.match(alg) or not KEY_ID.match(kid):
                raise InvalidParam(f"{full_id!r} is not algorithm:key_id")
            if isinstance(key, str):
                if alg.startswith("signed_") or len(key) > 512:
                    raise InvalidParam(f"{full_id} must be a signed key object")
                value: object = key
            elif isinstance(key, dict):
                if _size(key) > MAX_KEY_JSON or not isinstance(key.get("key"), str):
                    raise InvalidParam(f"{full_id} is not a key object of a bounded size")
                if not _verifies(key, user_id, verify_key):
                    raise InvalidParam(f"{full_id} is not signed by the device's ed25519 key")
                value = key
            else:
                raise InvalidParam(f"{full_id} must be a key")
            out.append((alg, kid, value))
        return out  # type: ignore[return-value]

    # /keys/query ---------------------------------------------------------------------------

    def _check_query(self, wanted, limit: int = MAX_QUERY_USERS) -> dict[str, list[str]]:
        if not isinstance(wanted, dict) or len(wanted) > limit:
            raise BadJson(f"device_keys must map at most {limit} users to device lists")
        out = {}
        for user_id, device_ids in wanted.items():
            if not valid_user(user_id):
                continue
            if not isinstance(device_ids, list) or len(device_ids) > 1000 or \
                    not all(isinstance(d, str) for d in device_ids):
                raise BadJson("device_keys values must be lists of device IDs")
            out[user_id] = device_ids
        return out

    def _local_keys(self, user_id: str, device_ids: list[str]) -> dict[str, dict]:
        known = self.store.device_keys(user_id, device_ids)
        return {d: k for d in known if (k := self.render_device(user_id, d)) is not None}

    def _remote_cached(self, user_id: str, device_ids: list[str]) -> dict[str, dict] | None:
        """Our copy of a remote user's devices, if we follow them (else None)."""
        if self.store.remote_stream_id(user_id) is None or \
                not self.device_lists.shares_room_with_ours(user_id):
            return None
        out = {}
        for device_id, entry in self.store.remote_devices(user_id).items():
            if device_ids and device_id not in device_ids or "keys" not in entry:
                continue
            keys = dict(entry["keys"])
            keys["unsigned"] = {"device_display_name": entry["device_display_name"]} \
                if entry.get("device_display_name") else {}
            out[device_id] = keys
        return out

    async def query(self, req: Requester, body: dict) -> dict:
        wanted = self._check_query(body.get("device_keys"))
        timeout = _timeout(body.get("timeout"))
        out: dict = {"failures": {}, "device_keys": {}, "master_keys": {},
                     "self_signing_keys": {}, "user_signing_keys": {}}
        remote: dict[str, dict[str, list[str]]] = {}
        for user_id, device_ids in wanted.items():
            if self._ours(user_id):
                out["device_keys"][user_id] = self._local_keys(user_id, device_ids)
                self._add_cross_signing(out, user_id, req.user_id)
                continue
            cached = self._remote_cached(user_id, device_ids)
            if cached is not None:
                out["device_keys"][user_id] = cached
                self._add_cross_signing(out, user_id, req.user_id)
            else:
                remote.setdefault(server_of(user_id), {})[user_id] = device_ids
        servers = list(remote)[:MAX_SERVERS]
        for server in list(remote)[MAX_SERVERS:]:
            out["failures"][server] = {"status": 503, "message": "too many servers at once"}
        answers = await asyncio.gather(*(self._ask(s, "query", {"device_keys": remote[s]},
                                                   timeout) for s in servers))
        for server, answer in zip(servers, answers, strict=True):
            if isinstance(answer, str):
                out["failures"][server] = {"status": 503, "message": answer}
                continue
            self._take_remote_query(out, server, remote[server], answer, req.user_id)
        return out

    def _add_cross_signing(self, out: dict, user_id: str, viewer: str) -> None:
        for field, key in self.render_cross_signing(user_id, viewer).items():
            out[field.replace("_key", "_keys")][user_id] = key

    def _take_remote_query(self, out: dict, server: str, asked: dict, answer: dict,
                           viewer: str) -> None:
        """Keep only what the server may speak for: its users, the devices asked for."""
        devices = answer.get("device_keys")
        if not isinstance(devices, dict):
            devices = {}
        for user_id, device_ids in asked.items():
            theirs = devices.get(user_id)
            got = {}
            if isinstance(theirs, dict):
                for device_id, keys in list(theirs.items())[:1000]:
                    if (not device_ids or device_id in device_ids) and \
                            valid_device_keys(keys, user_id, device_id):
                        got[device_id] = keys
            out["device_keys"][user_id] = got
            for field in ("master_keys", "self_signing_keys"):
                block = answer.get(field)
                key = block.get(user_id) if isinstance(block, dict) else None
                if valid_cross_signing_key(key, user_id):
                    key = dict(key)
                    if field == "master_keys" and (pub := cross_signing_pub(key)):
                        key["signatures"] = {s: dict(v) for s, v in key.get(
                            "signatures", {}).items() if isinstance(v, dict)}
                        self._merge_signatures(key, user_id, pub[0].split(":", 1)[1], viewer)
                    out[field][user_id] = key

    async def _ask(self, server: str, what: str, body: dict, timeout: float) -> dict | str:
        try:
            answer = await self.client.request(server, "POST",
                                               f"/_matrix/federation/v1/user/keys/{what}",
                                               body, timeout_s=timeout)
        except RemoteServerError as e:
            return str(e)
        return answer if isinstance(answer, dict) else "not a JSON object"

    # /keys/claim ---------------------------------------------------------------------------

    def _check_claims(self, wanted) -> dict[str, dict[str, str]]:
        if not isinstance(wanted, dict):
            raise BadJson("one_time_keys must be an object")
        out: dict[str, dict[str, str]] = {}
        n = 0
        for user_id, devices in wanted.items():
            if not valid_user(user_id) or not isinstance(devices, dict):
                raise BadJson("one_time_keys must map users to {device: algorithm}")
            for device_id, alg in devices.items():
                if not isinstance(alg, str) or not ALGORITHM.match(alg):
                    raise BadJson("one_time_keys must map devices to algorithm names")
                n += 1
                out.setdefault(user_id, {})[device_id] = alg
        if n > MAX_CLAIMS:
            raise InvalidParam(f"at most {MAX_CLAIMS} keys claimed at once")
        return out

    def _claim_local(self, claims: dict[str, dict[str, str]]) -> dict:
        out: dict = {}
        for user_id, devices in claims.items():
            for device_id, alg in devices.items():
                got = self.store.claim(user_id, device_id, alg)
                if got is not None:
                    out.setdefault(user_id, {})[device_id] = {got[0]: got[1]}
        return out

    async def claim(self, req: Requester, body: dict) -> dict:
        claims = self._check_claims(body.get("one_time_keys"))
        timeout = _timeout(body.get("timeout"))
        for user_id, devices in claims.items():  # all checked before any key is taken
            for _ in devices:
                self.claim_limiter.check(f"{req.user_id}|{user_id}")
        local = {u: d for u, d in claims.items() if self._ours(u)}
        out: dict = {"failures": {}, "one_time_keys": self._claim_local(local)}
        remote: dict[str, dict] = {}
        for user_id, devices in claims.items():
            if not self._ours(user_id):
                remote.setdefault(server_of(user_id), {})[user_id] = devices
        servers = list(remote)[:MAX_SERVERS]
        answers = await asyncio.gather(*(self._ask(s, "claim", {"one_time_keys": remote[s]},
                                                   timeout) for s in servers))
        for server, answer in zip(servers, answers, strict=True):
            if isinstance(answer, str):
                out["failures"][server] = {"status": 503, "message": answer}
                continue
            got = answer.get("one_time_keys")
            for user_id, devices in remote[server].items():
                theirs = got.get(user_id) if isinstance(got, dict) else None
                if not isinstance(theirs, dict):
                    continue
                for device_id in devices:
                    key = theirs.get(device_id)
                    if isinstance(key, dict) and len(key) == 1 and _size(key) <= MAX_KEY_JSON:
                        out["one_time_keys"].setdefault(user_id, {})[device_id] = key
        return out

    # federation: other servers asking about our users --------------------------------------

    def federation_query(self, origin: str, body: dict) -> dict:
        wanted = self._check_query(body.get("device_keys"))
        out: dict = {"device_keys": {}, "master_keys": {}, "self_signing_keys": {}}
        for user_id, device_ids in wanted.items():
            if not self._ours(user_id):
                continue
            out["device_keys"][user_id] = self._local_keys(user_id, device_ids)
            for field, key in self.render_cross_signing(user_id, user_id).items():
                if field != "user_signing_key":
                    out[field.replace("_key", "_keys")][user_id] = key
        return out

    def federation_claim(self, origin: str, body: dict) -> dict:
        claims = {u: d for u, d in self._check_claims(body.get("one_time_keys")).items()
                  if self._ours(u)}
        for user_id, devices in claims.items():
            for _ in devices:
                self.federation_claim_limiter.check(f"{origin}|{user_id}")
        return {"one_time_keys": self._claim_local(claims)}

    def federation_user_devices(self, origin: str, user_id: str) -> dict:
        if not valid_user(user_id) or not self._ours(user_id):
            raise InvalidParam("not one of our users")
        devices = self.devices.list_devices(user_id)
        if not devices and not self.store.device_keys(user_id):
            raise NotFound("No such user")
        names = {d["device_id"]: d.get("display_name") for d in devices}
        return self.device_lists.user_devices(user_id, list(names), names)

    # sync ----------------------------------------------------------------------------------

    def sync_fields(self, req: Requester, since: int | None, upto: int) -> dict:
        lists = {"changed": [], "left": []} if since is None else \
            self.device_lists.changes(req.user_id, since, upto)
        return {"device_lists": lists,
                "device_one_time_keys_count": self.counts(req.user_id, req.device_id),
                "device_unused_fallback_key_types": self.store.unused_fallback_types(
                    req.user_id, req.device_id)}

    def device_deleted(self, user_id: str, device_ids: list[str]) -> None:
        for device_id in device_ids:
            self.store.delete_device(user_id, device_id)
        self.device_lists.local_changed(user_id, device_ids, deleted=True)


def _timeout(value) -> float:
    if value is None:
        return MAX_TIMEOUT_MS / 1000
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise BadJson("timeout must be a non-negative integer")
    return max(0.5, min(value, MAX_TIMEOUT_MS) / 1000)

