"""Signing JSON and events: spec vectors, cross-checks with signedjson, redaction."""

import base64
import copy
import io
import json
from pathlib import Path

import pytest
import signedjson.key
import signedjson.sign

from federation.exceptions import SignatureError
from federation.signing import (
    SigningKey,
    VerifyKey,
    add_content_hash,
    check_content_hash,
    compute_content_hash,
    compute_event_id,
    compute_reference_hash,
    decode_base64,
    decode_signing_key_file,
    encode_base64,
    encode_signing_key_file,
    redact_event,
    sign_event,
    sign_json,
    signature_key_ids,
    verify_event_signature,
    verify_signed_json,
)


def _load_vectors():
    # The spec's own vectors, copied into the repository (the file names its spec sections).
    path = Path(__file__).resolve().parents[1] / "data" / "matrix_signing_vectors.json"
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def vectors():
    return _load_vectors()


@pytest.fixture(scope="module")
def spec_key(vectors):
    return SigningKey.from_seed_base64(vectors["key_id"], vectors["signing_key_seed_base64"])


@pytest.fixture
def key():
    return SigningKey.generate("test")


def _signedjson_keys(key):
    """The same key pair as signedjson (PyNaCl) objects."""
    algorithm, version = key.key_id.split(":")
    sj_signing = signedjson.key.decode_signing_key_base64(algorithm, version, key.seed_base64)
    return sj_signing, signedjson.key.get_verify_key(sj_signing)


# -- spec vectors ---------------------------------------------------------------------------

def test_spec_key_derives_spec_verify_key(vectors, spec_key):
    assert spec_key.verify_key.public_base64 == vectors["verify_key_base64"]
    assert spec_key.key_id == vectors["key_id"]


def test_spec_signature_vectors(vectors, spec_key):
    verify_key = VerifyKey.from_base64(vectors["key_id"], vectors["verify_key_base64"])
    for case in vectors["cases"]:
        signed = sign_json(case["input"], vectors["server_name"], spec_key)
        assert signed["signatures"] == {vectors["server_name"]: {vectors["key_id"]: case["signature"]}}
        verify_signed_json(signed, vectors["server_name"], verify_key)


# From the spec's "Signing Events" example (a room version 1 event, so its `origin` survives
# redaction there; v11 drops it, so the signature is checked on the v1-redacted form).
SPEC_EVENT = {
    "auth_events": [], "content": {}, "depth": 3, "origin": "domain",
    "origin_server_ts": 1000000, "prev_events": [], "room_id": "!x:domain",
    "sender": "@a:domain", "type": "X", "unsigned": {"age_ts": 1000000},
}
SPEC_EVENT_HASH = "5jM4wQpv6lnBo7CLIghJuHdW+s2CMBJPUOGOC89ncos"
SPEC_EVENT_SIG = "KxwGjPSDEtvnFgU00fwFz+l6d2pJM6XBIaMEn81SXPTRl16AqLAYqfIReFGZlHi5KLjAWbOoMszkwsQma+lYAg"


def test_spec_event_vector(spec_key):
    assert encode_base64(compute_content_hash(SPEC_EVENT)) == SPEC_EVENT_HASH
    hashed = add_content_hash(SPEC_EVENT)
    assert hashed["hashes"] == {"sha256": SPEC_EVENT_HASH}
    assert check_content_hash(hashed)
    v1_redacted = {k: v for k, v in hashed.items() if k != "unsigned"}
    signed = sign_json(v1_redacted, "domain", spec_key)
    assert signed["signatures"]["domain"]["ed25519:1"] == SPEC_EVENT_SIG


def test_spec_seed_has_nonzero_padding_bits(vectors, spec_key):
    # The spec's seed ends in "...XA1": its 2 trailing bits are non-zero, so a canonical
    # re-encoding differs in the last character. Decoding must still be lenient.
    assert spec_key.seed_base64 != vectors["signing_key_seed_base64"]
    assert decode_base64(spec_key.seed_base64) == decode_base64(vectors["signing_key_seed_base64"])


# -- base64 ---------------------------------------------------------------------------------

@pytest.mark.parametrize("data", [b"", b"\x00", b"\xfb\xff", b"\xfb\xff\xfe", bytes(range(256))])
def test_base64_round_trip(data):
    for urlsafe in (False, True):
        text = encode_base64(data, urlsafe=urlsafe)
        assert "=" not in text
        assert decode_base64(text) == data
    assert decode_base64(base64.b64encode(data).decode()) == data
    assert decode_base64(base64.urlsafe_b64encode(data).decode()) == data


@pytest.mark.parametrize("bad", ["a", "ab$c", "ab c", "abcde"])
def test_base64_rejects_garbage(bad):
    with pytest.raises(ValueError):
        decode_base64(bad)


# -- signing JSON ---------------------------------------------------------------------------

def test_sign_json_does_not_mutate_and_keeps_other_signatures(key):
    original = {"a": 1, "unsigned": {"age": 5}, "signatures": {"other": {"ed25519:x": "abc"}}}
    before = copy.deepcopy(original)
    signed = sign_json(original, "me", key)
    assert original == before
    assert signed["signatures"]["other"] == {"ed25519:x": "abc"}
    assert signature_key_ids(signed, "me") == [key.key_id]
    assert signature_key_ids(signed, "nobody") == []
    assert signed["unsigned"] == {"age": 5}
    # unsigned is not covered by the signature.
    verify_signed_json({**signed, "unsigned": {"age": 99}}, "me", key.verify_key)


def test_our_signature_verified_by_signedjson(key):
    _, sj_verify = _signedjson_keys(key)
    signed = sign_json({"hello": "w\u00f6rld", "n": [1, 2, {"x": None}]}, "example.org", key)
    signedjson.sign.verify_signed_json(signed, "example.org", sj_verify)


def test_signedjson_signature_verified_by_us(key):
    sj_signing, _ = _signedjson_keys(key)
    signed = signedjson.sign.sign_json({"hello": "\u65e5\u672c", "b": True}, "example.org", sj_signing)
    verify_signed_json(signed, "example.org", key.verify_key)


def test_tampered_content_fails(key):
    signed = sign_json({"content": {"body": "hi"}}, "me", key)
    tampered = {**signed, "content": {"body": "bye"}}
    with pytest.raises(SignatureError, match="invalid signature"):
        verify_signed_json(tampered, "me", key.verify_key)
    _, sj_verify = _signedjson_keys(key)
    with pytest.raises(signedjson.sign.SignatureVerifyException):
        signedjson.sign.verify_signed_json(tampered, "me", sj_verify)


def test_verify_error_messages(key):
    signed = sign_json({"a": 1}, "me", key)
    with pytest.raises(SignatureError, match="no signatures"):
        verify_signed_json({"a": 1}, "me", key.verify_key)
    with pytest.raises(SignatureError, match="server other"):
        verify_signed_json(signed, "other", key.verify_key)
    other_key = SigningKey.generate("zzz")
    with pytest.raises(SignatureError, match="key ed25519:zzz"):
        verify_signed_json(signed, "me", other_key.verify_key)
    bad = {**signed, "signatures": {"me": {key.key_id: "!!not base64!!"}}}
    with pytest.raises(SignatureError, match="bad base64"):
        verify_signed_json(bad, "me", key.verify_key)
    wrong_key = VerifyKey(key.key_id, other_key.private.public_key())
    with pytest.raises(SignatureError, match="invalid signature"):
        verify_signed_json(signed, "me", wrong_key)
    with pytest.raises(SignatureError, match="not canonical"):
        verify_signed_json({**signed, "a": 1.5}, "me", key.verify_key)


# -- keys -----------------------------------------------------------------------------------

def test_generate_key_id_format():
    key = SigningKey.generate()
    algorithm, version = key.key_id.split(":")
    assert algorithm == "ed25519" and len(version) == 6
    assert all(c.isalnum() or c == "_" for c in version)
    assert key.seed_base64 not in repr(key) and "PrivateKey" not in repr(key)


def test_signing_key_file_round_trip(key):
    text = encode_signing_key_file(key)
    assert text == f"ed25519 test {key.seed_base64}\n"
    assert "=" not in text
    assert decode_signing_key_file(text) == key
    # Synapse's own writer produces the same format.
    sj_signing, _ = _signedjson_keys(key)
    out = io.StringIO()
    signedjson.key.write_signing_keys(out, [sj_signing])
    assert decode_signing_key_file(out.getvalue()) == key


@pytest.mark.parametrize("bad", ["", "ed25519 v1", "rsa v1 AAAA", "ed25519 v1 AAAA"])
def test_bad_signing_key_file(bad):
    with pytest.raises(ValueError):
        decode_signing_key_file(bad)


def test_verify_key_round_trip(key):
    vk = key.verify_key
    assert VerifyKey.from_base64(vk.key_id, vk.public_base64) == vk
    assert vk.verify(key.sign(b"data"), b"data") is None
    with pytest.raises(SignatureError):
        vk.verify(key.sign(b"data"), b"other")


# -- events ---------------------------------------------------------------------------------

EVENT = {
    "type": "m.room.message",
    "room_id": "!room:a.example",
    "sender": "@alice:a.example",
    "content": {"body": "hello", "msgtype": "m.text"},
    "depth": 5,
    "prev_events": ["$prev"],
    "auth_events": ["$create", "$power"],
    "origin_server_ts": 1700000000000,
    "origin": "a.example",
    "unsigned": {"age": 10},
}


def test_content_hash_round_trip():
    hashed = add_content_hash(EVENT)
    assert "hashes" not in EVENT
    assert check_content_hash(hashed)
    # Excluded keys do not affect the hash.
    assert check_content_hash({**hashed, "unsigned": {"x": 1}, "signatures": {"s": {}}})
    assert not check_content_hash({**hashed, "content": {"body": "changed"}})
    assert not check_content_hash(EVENT)
    assert not check_content_hash({**hashed, "hashes": {"sha256": "%%%"}})


def test_reference_hash_and_event_id():
    hashed = add_content_hash(EVENT)
    event_id = compute_event_id(hashed)
    assert event_id.startswith("$") and len(event_id) == 44
    assert "+" not in event_id and "/" not in event_id and "=" not in event_id
    assert decode_base64(event_id[1:]) == compute_reference_hash(hashed)
    # The reference hash covers the redacted form only: content, unsigned, signatures and an
    # internal event_id do not change it; covered fields (via hashes or directly) do.
    same = {**hashed, "unsigned": {"age": 1}, "signatures": {"x": {}}, "event_id": event_id}
    assert compute_event_id(same) == event_id
    assert compute_event_id({**hashed, "content": {"body": "other"}}) == event_id
    assert compute_event_id(add_content_hash({**EVENT, "content": {"body": "other"}})) != event_id
    assert compute_event_id({**hashed, "depth": 6}) != event_id


def test_sign_and_verify_event(key):
    hashed = add_content_hash(EVENT)
    signed = sign_event(hashed, "a.example", key)
    assert "signatures" not in hashed
    assert signed["content"] == EVENT["content"]
    verify_event_signature(signed, "a.example", key.verify_key)
    # The signature survives redaction (that is the point of signing the redacted form).
    verify_event_signature(redact_event(signed), "a.example", key.verify_key)
    # Content edits do not break the signature but do break the content hash.
    edited = {**signed, "content": {"body": "evil"}}
    verify_event_signature(edited, "a.example", key.verify_key)
    assert not check_content_hash(edited)
    with pytest.raises(SignatureError):
        verify_event_signature({**signed, "sender": "@mallory:a.example"}, "a.example", key.verify_key)
    with pytest.raises(SignatureError, match="b.example"):
        verify_event_signature(signed, "b.example", key.verify_key)


def test_event_signature_cross_checked_with_signedjson(key):
    signed = sign_event(add_content_hash(EVENT), "a.example", key)
    _, sj_verify = _signedjson_keys(key)
    redacted = redact_event(signed)
    signedjson.sign.verify_signed_json(redacted, "a.example", sj_verify)


def test_sign_event_adds_to_existing_signatures(key):
    other = SigningKey.generate("other")
    once = sign_event(add_content_hash(EVENT), "a.example", key)
    twice = sign_event(once, "b.example", other)
    verify_event_signature(twice, "a.example", key.verify_key)
    verify_event_signature(twice, "b.example", other.verify_key)


BASE = {
    "event_id": "$e", "room_id": "!r:x", "sender": "@u:x", "state_key": "",
    "hashes": {"sha256": "h"}, "signatures": {"x": {"ed25519:1": "s"}}, "depth": 1,
    "prev_events": [], "auth_events": [], "origin_server_ts": 1,
    # Dropped at the top level by room version 11:
    "origin": "x", "membership": "join", "prev_state": [], "unsigned": {"age": 1}, "extra": 1,
}


@pytest.mark.parametrize(
    "event_type, content, kept",
    [
        ("m.room.member",
         {"membership": "join", "displayname": "U", "join_authorised_via_users_server": "@a:x",
          "third_party_invite": {"signed": {"token": "t"}, "display_name": "d"}},
         {"membership": "join", "join_authorised_via_users_server": "@a:x",
          "third_party_invite": {"signed": {"token": "t"}}}),
        ("m.room.member", {"membership": "invite", "third_party_invite": {"display_name": "d"}},
         {"membership": "invite"}),
        ("m.room.create", {"creator": "@u:x", "room_version": "11", "m.federate": False, "x": 1},
         {"creator": "@u:x", "room_version": "11", "m.federate": False, "x": 1}),
        ("m.room.join_rules", {"join_rule": "restricted", "allow": [{"type": "m.room_membership"}], "x": 1},
         {"join_rule": "restricted", "allow": [{"type": "m.room_membership"}]}),
        ("m.room.power_levels",
         {"ban": 50, "events": {}, "events_default": 0, "invite": 0, "kick": 50, "redact": 50,
          "state_default": 50, "users": {}, "users_default": 0, "notifications": {"room": 50}, "x": 1},
         {"ban": 50, "events": {}, "events_default": 0, "invite": 0, "kick": 50, "redact": 50,
          "state_default": 50, "users": {}, "users_default": 0}),
        ("m.room.history_visibility", {"history_visibility": "shared", "x": 1},
         {"history_visibility": "shared"}),
        ("m.room.redaction", {"redacts": "$x", "reason": "spam"}, {"redacts": "$x"}),
        ("m.room.message", {"body": "hi", "msgtype": "m.text"}, {}),
        ("m.room.aliases", {"aliases": ["#a:x"]}, {}),
        ("m.room.name", {"name": "n"}, {}),
    ],
)
def test_redaction_v11(event_type, content, kept):
    event = {**BASE, "type": event_type, "content": content}
    for room_version in (None, "11", "org.audiorooms.1"):
        redacted = redact_event(event, room_version)
        assert redacted["content"] == kept
        assert set(redacted) == {
            "event_id", "type", "room_id", "sender", "state_key", "content", "hashes",
            "signatures", "depth", "prev_events", "auth_events", "origin_server_ts",
        }
    assert event["content"] == content  # not mutated


def test_redaction_rejects_other_room_versions():
    for version in ("1", "10", "org.audiorooms.2"):
        with pytest.raises(ValueError):
            redact_event(EVENT, version)
