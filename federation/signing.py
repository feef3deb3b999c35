"""Matrix JSON and event signing (server-server API "Signing JSON", "Signing Events"). Pure."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import string
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from federation.canonical_json import encode_canonical_json
from federation.exceptions import CanonicalJSONError, SignatureError

ED25519 = "ed25519"
SUPPORTED_ROOM_VERSIONS = frozenset({"11", "org.audiorooms.1"})
_VERSION_ALPHABET = string.ascii_letters + string.digits + "_"


# -- base64 (Matrix uses unpadded base64) -------------------------------------------------

def encode_base64(data: bytes, urlsafe: bool = False) -> str:
    """Unpadded base64, standard alphabet unless `urlsafe`."""
    encoded = base64.urlsafe_b64encode(data) if urlsafe else base64.b64encode(data)
    return encoded.rstrip(b"=").decode("ascii")


def decode_base64(text: str) -> bytes:
    """Decode padded or unpadded base64 in either alphabet; ValueError if malformed."""
    if not isinstance(text, str):
        raise ValueError("base64 value must be a string")
    body = text.rstrip("=").replace("-", "+").replace("_", "/")
    if len(body) % 4 == 1:
        raise ValueError("invalid base64 length")
    try:
        # Non-zero trailing bits are tolerated: the spec's own example seed has them.
        return base64.b64decode(body + "=" * (-len(body) % 4), validate=True)
    except binascii.Error as exc:
        raise ValueError(f"invalid base64: {exc}") from None


# -- keys ------------------------------------------------------------------------------------

def _check_key_id(key_id: str) -> None:
    algorithm, sep, version = key_id.partition(":")
    if algorithm != ED25519 or not sep or not version:
        raise ValueError(f"unsupported key id {key_id!r} (expected 'ed25519:<version>')")


@dataclass(frozen=True)
class VerifyKey:
    key_id: str
    public: Ed25519PublicKey = field(repr=False)

    def __post_init__(self) -> None:
        _check_key_id(self.key_id)

    def verify(self, sig: bytes, data: bytes) -> None:
        try:
            self.public.verify(sig, data)
        except InvalidSignature:
            raise SignatureError(f"invalid signature for key {self.key_id}") from None

    @property
    def public_bytes(self) -> bytes:
        return self.public.public_bytes_raw()

    @property
    def public_base64(self) -> str:
        return encode_base64(self.public_bytes)

    @classmethod
    def from_base64(cls, key_id: str, b64: str) -> VerifyKey:
        raw = decode_base64(b64)
        if len(raw) != 32:
            raise ValueError(f"ed25519 public key must be 32 bytes, got {len(raw)}")
        return cls(key_id, Ed25519PublicKey.from_public_bytes(raw))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, VerifyKey):
            return NotImplemented
        return self.key_id == other.key_id and self.public_bytes == other.public_bytes

    def __hash__(self) -> int:
        return hash((self.key_id, self.public_bytes))


@dataclass(frozen=True)
class SigningKey:
    key_id: str
    private: Ed25519PrivateKey = field(repr=False)  # never print secrets

    def __post_init__(self) -> None:
        _check_key_id(self.key_id)

    @property
    def version(self) -> str:
        return self.key_id.partition(":")[2]

    @property
    def verify_key(self) -> VerifyKey:
        return VerifyKey(self.key_id, self.private.public_key())

    def sign(self, data: bytes) -> bytes:
        return self.private.sign(data)

    @property
    def seed_base64(self) -> str:
        return encode_base64(self.private.private_bytes_raw())

    @classmethod
    def generate(cls, version: str | None = None) -> SigningKey:
        if version is None:
            version = "".join(secrets.choice(_VERSION_ALPHABET) for _ in range(6))
        return cls(f"{ED25519}:{version}", Ed25519PrivateKey.generate())

    @classmethod
    def from_seed_base64(cls, key_id: str, seed_b64: str) -> SigningKey:
        seed = decode_base64(seed_b64)
        if len(seed) != 32:
            raise ValueError(f"ed25519 seed must be 32 bytes, got {len(seed)}")
        return cls(key_id, Ed25519PrivateKey.from_private_bytes(seed))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SigningKey):
            return NotImplemented
        return self.key_id == other.key_id and hmac.compare_digest(
            self.private.private_bytes_raw(), other.private.private_bytes_raw()
        )

    def __hash__(self) -> int:
        return hash((self.key_id, self.verify_key.public_bytes))


def encode_signing_key_file(key: SigningKey) -> str:
    """Synapse's signing key file: one line `ed25519 <version> <unpadded base64 seed>`."""
    return f"{ED25519} {key.version} {key.seed_base64}\n"


def decode_signing_key_file(text: str) -> SigningKey:
    """Parse the first key of a Synapse signing key file."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        raise ValueError("signing key file is empty")
    parts = lines[0].split()
    if len(parts) != 3 or parts[0] != ED25519:
        raise ValueError("signing key file must contain 'ed25519 <version> <seed>'")
    return SigningKey.from_seed_base64(f"{ED25519}:{parts[1]}", parts[2])


# -- signed JSON -------------------------------------------------------------------------------

def _signing_bytes(obj: dict[str, Any]) -> bytes:
    return encode_canonical_json(
        {k: v for k, v in obj.items() if k not in ("signatures", "unsigned")}
    )


def sign_json(obj: dict[str, Any], signing_name: str, key: SigningKey) -> dict[str, Any]:
    """Return a copy of `obj` with `signatures[signing_name][key.key_id]` added."""
    signature = encode_base64(key.sign(_signing_bytes(obj)))
    signed = dict(obj)
    # Copy the nested dicts we touch so the caller's object is never mutated.
    signatures = {name: dict(sigs) for name, sigs in obj.get("signatures", {}).items()}
    signatures.setdefault(signing_name, {})[key.key_id] = signature
    signed["signatures"] = signatures
    return signed


def signature_key_ids(obj: dict[str, Any], signing_name: str) -> list[str]:
    """Key ids with which `signing_name` signed `obj` (empty if none or malformed)."""
    sigs = obj.get("signatures")
    if not isinstance(sigs, dict) or not isinstance(sigs.get(signing_name), dict):
        return []
    return [k for k in sigs[signing_name] if isinstance(k, str)]


def verify_signed_json(obj: dict[str, Any], signing_name: str, verify_key: VerifyKey) -> None:
    """Raise SignatureError unless `signing_name` signed `obj` with `verify_key`."""
    verify_signed_json_keys(obj, signing_name, [verify_key])


def verify_signed_json_keys(
    obj: dict[str, Any], signing_name: str, verify_keys: Iterable[VerifyKey]
) -> None:
    """Raise SignatureError unless `signing_name` signed `obj` with every one of
    `verify_keys`. The object is encoded once, however many keys there are."""
    sigs = obj.get("signatures")
    if not isinstance(sigs, dict):
        raise SignatureError("object has no signatures")
    server_sigs = sigs.get(signing_name)
    if not isinstance(server_sigs, dict):
        raise SignatureError(f"missing signatures for server {signing_name}")
    data: bytes | None = None
    for verify_key in verify_keys:
        sig_b64 = server_sigs.get(verify_key.key_id)
        if sig_b64 is None:
            raise SignatureError(
                f"missing signature for server {signing_name} key {verify_key.key_id}")
        try:
            sig = decode_base64(sig_b64)
        except ValueError as exc:
            raise SignatureError(
                f"bad base64 in signature for server {signing_name} key {verify_key.key_id}: "
                f"{exc}"
            ) from None
        if data is None:
            try:
                data = _signing_bytes(obj)
            except CanonicalJSONError as exc:
                raise SignatureError(f"object is not canonical JSON: {exc}") from exc
        try:
            verify_key.verify(sig, data)
        except SignatureError:
            raise SignatureError(
                f"invalid signature for server {signing_name} key {verify_key.key_id}"
            ) from None


# -- events: hashes, redaction, ids, signatures ----------------------------------------------------

# `event_id` is not part of the PDU in room versions 3+, but our internal event dicts may carry
# it; it is stripped wherever bytes are hashed or signed so that we agree with other servers.
_HASH_EXCLUDED = ("unsigned", "signatures", "hashes", "event_id")

_KEPT_TOP_LEVEL = frozenset({
    "event_id", "type", "room_id", "sender", "state_key", "content", "hashes",
    "signatures", "depth", "prev_events", "auth_events", "origin_server_ts",
})
_KEPT_CONTENT: dict[str, frozenset[str] | None] = {
    "m.room.member": frozenset({"membership", "join_authorised_via_users_server"}),
    "m.room.create": None,  # None: keep all content
    "m.room.join_rules": frozenset({"join_rule", "allow"}),
    "m.room.power_levels": frozenset({
        "ban", "events", "events_default", "invite", "kick", "redact",
        "state_default", "users", "users_default",
    }),
    "m.room.history_visibility": frozenset({"history_visibility"}),
    "m.room.redaction": frozenset({"redacts"}),
}


def compute_content_hash(event: dict[str, Any]) -> bytes:
    """SHA-256 of the event's canonical JSON without unsigned, signatures, hashes (and event_id)."""
    stripped = {k: v for k, v in event.items() if k not in _HASH_EXCLUDED}
    return hashlib.sha256(encode_canonical_json(stripped)).digest()


def add_content_hash(event: dict[str, Any]) -> dict[str, Any]:
    """Return a copy of `event` with `hashes.sha256` set."""
    hashed = dict(event)
    digest = encode_base64(compute_content_hash(event))
    hashed["hashes"] = {**event.get("hashes", {}), "sha256": digest}
    return hashed


def check_content_hash(event: dict[str, Any]) -> bool:
    """True if `hashes.sha256` matches the event (False if missing or malformed)."""
    hashes = event.get("hashes")
    if not isinstance(hashes, dict) or not isinstance(hashes.get("sha256"), str):
        return False
    try:
        expected = decode_base64(hashes["sha256"])
        actual = compute_content_hash(event)
    except ValueError:  # bad base64, or not canonical JSON
        return False
    return hmac.compare_digest(expected, actual)


def redact_event(event: dict[str, Any], room_version: str | None = None) -> dict[str, Any]:
    """The room version 11 redaction algorithm (also ours, "org.audiorooms.1")."""
    if room_version is not None and room_version not in SUPPORTED_ROOM_VERSIONS:
        raise ValueError(f"unsupported room version {room_version!r}")
    redacted = {k: v for k, v in event.items() if k in _KEPT_TOP_LEVEL}
    content = event.get("content")
    content = content if isinstance(content, dict) else {}
    event_type = event.get("type")
    # A non-string type (hostile input, maybe unhashable) keeps no content.
    kept = _KEPT_CONTENT.get(event_type if isinstance(event_type, str) else "", frozenset())
    if kept is None:
        new_content = dict(content)
    else:
        new_content = {k: v for k, v in content.items() if k in kept}
    if event_type == "m.room.member":
        invite = content.get("third_party_invite")
        if isinstance(invite, dict) and "signed" in invite:
            new_content["third_party_invite"] = {"signed": invite["signed"]}
    # Like Synapse, always emit content (PDUs always have it) so the shape is stable.
    redacted["content"] = new_content
    return redacted


def _redacted_for_signing(event: dict[str, Any], room_version: str | None) -> dict[str, Any]:
    redacted = redact_event(event, room_version)
    for key in ("signatures", "unsigned", "event_id"):
        redacted.pop(key, None)
    return redacted


def compute_reference_hash(event: dict[str, Any], room_version: str | None = None) -> bytes:
    """SHA-256 of the redacted event without signatures/unsigned (and event_id)."""
    redacted = _redacted_for_signing(event, room_version)
    return hashlib.sha256(encode_canonical_json(redacted)).digest()


def compute_event_id(event: dict[str, Any], room_version: str | None = None) -> str:
    """Event id of room versions 4+: '$' + URL-safe unpadded base64 reference hash."""
    return "$" + encode_base64(compute_reference_hash(event, room_version), urlsafe=True)


def sign_event(
    event: dict[str, Any], server_name: str, key: SigningKey, room_version: str | None = None
) -> dict[str, Any]:
    """Sign the redacted event; return a copy of the full event with the signature added.

    The signature covers `hashes`, so call add_content_hash first.
    """
    signed_redacted = sign_json(_redacted_for_signing(event, room_version), server_name, key)
    signed = dict(event)
    signatures = {name: dict(sigs) for name, sigs in event.get("signatures", {}).items()}
    signatures.setdefault(server_name, {})[key.key_id] = (
        signed_redacted["signatures"][server_name][key.key_id]
    )
    signed["signatures"] = signatures
    return signed


def verify_event_signature(
    event: dict[str, Any], server_name: str, verify_key: VerifyKey, room_version: str | None = None
) -> None:
    """Raise SignatureError unless `server_name` signed the (redacted) event with `verify_key`."""
    redacted = _redacted_for_signing(event, room_version)
    redacted["signatures"] = event.get("signatures")
    verify_signed_json(redacted, server_name, verify_key)
