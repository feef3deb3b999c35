"""Cross-signing: /keys/device_signing/upload (behind user-interactive auth once a master key
exists, as Synapse) and /keys/signatures/upload (each signature verified, failures per key)."""
from __future__ import annotations

from federation.pdus import server_of

from ..errors import BadJson, InvalidParam
from .accounts import Requester
from .e2e_keys import USAGES, E2EKeysHandler, _size, _strip, _verifies, cross_signing_pub

MAX_SIGNED_OBJECTS = 100


def _failure(message: str, errcode: str = "M_INVALID_SIGNATURE") -> dict:
    return {"errcode": errcode, "error": message}


class CrossSigning:
    def __init__(self, keys: E2EKeysHandler):
        self.keys = keys
        self.store = keys.store

    async def upload(self, req: Requester, body: dict) -> None:
        """POST /keys/device_signing/upload."""
        stored = self.store.cross_signing_keys(req.user_id)
        new: dict[str, dict] = {}
        for field, usage in USAGES.items():
            key = body.get(field)
            if key is None:
                continue
            if not isinstance(key, dict) or key.get("user_id") != req.user_id or \
                    key.get("usage") != [usage] or cross_signing_pub(key) is None or \
                    _size(key) > 16384:
                raise InvalidParam(f"{field} is not a {usage} key of yours")
            new[usage] = {k: v for k, v in key.items() if k != "unsigned"}
        if not new:
            return
        if all(stored.get(u) == k for u, k in new.items()):
            return  # the same keys again: nothing to authorise
        if "master" in stored:  # replacing keys needs the password; the first upload does not
            await self.keys.authorise(req, ("device_signing_upload",), body.get("auth"))
        master = new.get("master") or stored.get("master")
        pub = cross_signing_pub(master) if master else None
        for usage in ("self_signing", "user_signing"):
            key = new.get(usage)
            if key is not None and (pub is None or not _verifies(key, req.user_id, pub[1])):
                raise InvalidParam(f"the {usage} key must be signed by the master key")
        for usage, key in new.items():
            self.store.set_cross_signing_key(req.user_id, usage, key)
        self.keys.device_lists.cross_signing_changed(req.user_id)

    async def upload_signatures(self, req: Requester, body: dict) -> dict:
        """POST /keys/signatures/upload: {user_id: {key_id: signed object}}."""
        if not isinstance(body, dict):
            raise BadJson("expected an object")
        failures: dict = {}
        n = 0
        for objects in body.values():
            if not isinstance(objects, dict):
                raise BadJson("each user must map key IDs to signed objects")
            n += len(objects)
            if n > MAX_SIGNED_OBJECTS:
                raise InvalidParam(f"at most {MAX_SIGNED_OBJECTS} signed objects at once")
        changed_devices: list[str] = []
        own_changed = False
        for user_id, objects in body.items():
            for key_id, obj in objects.items():
                try:
                    kind = await self._sign_one(req, user_id, key_id, obj)
                except _Refused as e:
                    failures.setdefault(user_id, {})[key_id] = e.failure
                    continue
                if kind == "device":
                    changed_devices.append(key_id)
                else:
                    own_changed = True
        if changed_devices:
            self.keys.device_lists.local_changed(req.user_id, changed_devices)
        if own_changed:
            self.keys.device_lists.cross_signing_changed(req.user_id)
        return {"failures": failures}

    async def _sign_one(self, req: Requester, user_id: str, key_id: str, obj) -> str:
        if not isinstance(obj, dict) or not isinstance(obj.get("signatures"), dict) or \
                _size(obj) > 16384:
            raise _Refused(_failure("not a signed object", "M_BAD_JSON"))
        mine = obj["signatures"].get(req.user_id)
        if not isinstance(mine, dict) or not mine:
            raise _Refused(_failure("no signature of yours"))
        own = self.store.cross_signing_keys(req.user_id)
        if user_id == req.user_id:
            device = self.store.device_keys(user_id, [key_id]).get(key_id)
            if device is not None:  # our device, signed by our self-signing key
                return self._add(req, user_id, key_id, device, obj, own.get("self_signing"),
                                 "device")
            master = own.get("master")
            pub = cross_signing_pub(master) if master else None
            if master is None or pub is None or pub[0] != f"ed25519:{key_id}":
                raise _Refused(_failure("unknown key", "M_NOT_FOUND"))
            # our master key, signed by one of our devices
            for signer_key in mine:
                device_id = signer_key.split(":", 1)[-1]
                dk = self.store.device_keys(user_id, [device_id]).get(device_id)
                if dk is not None:
                    return self._add(req, user_id, key_id, master, obj, dk, "master",
                                     signer_key=f"ed25519:{device_id}")
            raise _Refused(_failure("not signed by one of your devices"))
        # another user's master key, signed by our user-signing key
        if server_of(user_id) == self.keys.server_name:
            theirs = self.store.cross_signing_keys(user_id).get("master")
        else:
            theirs = await self._remote_master(req, user_id)
        pub = cross_signing_pub(theirs) if theirs else None
        if theirs is None or pub is None or pub[0] != f"ed25519:{key_id}":
            raise _Refused(_failure("unknown key", "M_NOT_FOUND"))
        return self._add(req, user_id, key_id, theirs, obj, own.get("user_signing"), "other")

    async def _remote_master(self, req: Requester, user_id: str) -> dict | None:
        answer = await self.keys.query(req, {"device_keys": {user_id: []}, "timeout": 5000})
        return answer["master_keys"].get(user_id)

    def _add(self, req: Requester, user_id: str, key_id: str, stored: dict, obj: dict,
             signer: dict | None, kind: str, signer_key: str | None = None) -> str:
        """Check that ``obj`` is ``stored`` with a valid signature by ``signer`` (a
        cross-signing key, or device keys when ``signer_key`` names the device key)."""
        if signer is None:
            raise _Refused(_failure("you have no key to sign this with", "M_MISSING_PARAM"))
        if _strip(obj) != _strip(stored):
            raise _Refused(_failure("the signed object differs from the stored one"))
        if signer_key is None:
            pub = cross_signing_pub(signer)
            if pub is None:
                raise _Refused(_failure("your signing key is malformed"))
            signer_key, vk = pub
        else:
            from .e2e_keys import _ed25519_key
            found = _ed25519_key(signer, signer_key)
            if found is None:
                raise _Refused(_failure("your device has no ed25519 key"))
            vk = found
        sig = obj["signatures"][req.user_id].get(signer_key)
        if not isinstance(sig, str) or not _verifies(
                {**_strip(stored), "signatures": {req.user_id: {signer_key: sig}}},
                req.user_id, vk):
            raise _Refused(_failure("the signature does not verify"))
        self.store.add_signature(user_id, key_id, req.user_id, signer_key, sig)
        return kind


class _Refused(Exception):
    def __init__(self, failure: dict):
        super().__init__(failure["error"])
        self.failure = failure
