"""X-Matrix Authorization header: parsing, formatting, request signing."""

import pytest
import signedjson.key
import signedjson.sign

from federation.exceptions import SignatureError, XMatrixError
from federation.signing import SigningKey
from federation.xmatrix import XMatrixAuth, request_json, sign_request, verify_request

FULL = XMatrixAuth(origin="origin.example", key="ed25519:key1", sig="ABC+/def", destination="dest.example")
NO_DEST = XMatrixAuth(origin="origin.example", key="ed25519:key1", sig="ABC+/def")


@pytest.mark.parametrize(
    "header, expected",
    [
        ('X-Matrix origin="origin.example",destination="dest.example",key="ed25519:key1",sig="ABC+/def"', FULL),
        ('X-Matrix origin="origin.example",key="ed25519:key1",sig="ABC+/def"', NO_DEST),
        # Tokens may be unquoted; colons are allowed unquoted for older servers.
        ('X-Matrix origin=origin.example,key=ed25519:key1,sig="ABC+/def"', NO_DEST),
        # Reordered parameters, case-insensitive names and scheme.
        ('x-matrix SIG="ABC+/def",Key="ed25519:key1",destination=dest.example,ORIGIN=origin.example', FULL),
        ('X-MATRIX origin="origin.example",key="ed25519:key1",sig="ABC+/def"', NO_DEST),
        # Optional whitespace around commas and '=', several spaces after the scheme.
        ('X-Matrix   origin = "origin.example" ,\tkey= "ed25519:key1" , sig ="ABC+/def"  ', NO_DEST),
        # Unknown parameters are ignored; empty list elements too.
        ('X-Matrix origin="origin.example",foo=bar,key="ed25519:key1",,sig="ABC+/def",x="y z"', NO_DEST),
        # Backslash escapes in quoted strings are unescaped.
        ('X-Matrix origin="origin\\.example",key="ed25519:key1",sig="ABC+/def"', NO_DEST),
        ('X-Matrix origin="a\\"b\\\\c",key="ed25519:key1",sig="ABC+/def"',
         XMatrixAuth(origin='a"b\\c', key="ed25519:key1", sig="ABC+/def")),
        # Quoted values may contain commas, '=' and spaces.
        ('X-Matrix origin="o, =x",key="ed25519:key1",sig="ABC+/def"',
         XMatrixAuth(origin="o, =x", key="ed25519:key1", sig="ABC+/def")),
    ],
)
def test_parse_ok(header, expected):
    assert XMatrixAuth.parse(header) == expected


@pytest.mark.parametrize(
    "header, message",
    [
        ('X-Matrix key="ed25519:key1",sig="s"', "origin"),
        ('X-Matrix origin="o",sig="s"', "key"),
        ('X-Matrix origin="o",key="ed25519:key1"', "sig"),
        ('X-Matrix origin="o",origin="p",key="k",sig="s"', "duplicate"),
        ('X-Matrix origin="o",ORIGIN="o",key="k",sig="s"', "duplicate"),
        ('X-Matrix origin="",key="k",sig="s"', "empty"),
        ('X-Matrix origin=,key="k",sig="s"', "malformed"),
        ('Bearer abcdef', "scheme"),
        ('X-Matrixorigin="o",key="k",sig="s"', "scheme"),
        ('', "scheme"),
        ('X-Matrix', "origin"),
        ('X-Matrix origin="o,key="k",sig="s"', "malformed"),
        ('X-Matrix origin="o" key="k",sig="s"', "malformed"),
        ('X-Matrix origin=o/x,key="k",sig="s"', "malformed"),
        ('X-Matrix origin="o\nx",key="k",sig="s"', "malformed"),
        ('X-Matrix garbage', "malformed"),
    ],
)
def test_parse_errors(header, message):
    with pytest.raises(XMatrixError, match=message):
        XMatrixAuth.parse(header)


def test_xmatrix_error_is_value_error():
    with pytest.raises(ValueError):
        XMatrixAuth.parse("nope")


@pytest.mark.parametrize(
    "auth",
    [FULL, NO_DEST, XMatrixAuth(origin='we"ird\\name', key="ed25519:a_b", sig="x", destination="d:8448")],
)
def test_str_round_trip(auth):
    text = str(auth)
    assert text.startswith("X-Matrix origin=")
    assert XMatrixAuth.parse(text) == auth


def test_str_format():
    assert str(FULL) == (
        'X-Matrix origin="origin.example",destination="dest.example",'
        'key="ed25519:key1",sig="ABC+/def"'
    )


@pytest.fixture
def key():
    return SigningKey.generate("fed1")


CONTENT = {"pdus": [{"type": "m.room.message", "content": {"body": "\u00e9"}}], "edus": []}
URI = "/_matrix/federation/v1/send/txn1?x=1"


def test_request_json_shape():
    assert request_json("GET", "/a", "o", "d") == {"method": "GET", "uri": "/a", "origin": "o", "destination": "d"}
    assert request_json("PUT", "/a", "o", "d", {})["content"] == {}


def test_sign_and_verify_request(key):
    header = sign_request(key, "PUT", URI, "a.example", "b.example", CONTENT)
    auth = XMatrixAuth.parse(header)
    assert auth.origin == "a.example" and auth.destination == "b.example" and auth.key == key.key_id
    verify_request(auth, key.verify_key, "PUT", URI, "b.example", CONTENT)


def test_sign_and_verify_request_without_content(key):
    header = sign_request(key, "GET", "/_matrix/key/v2/server", "a.example", "b.example")
    verify_request(XMatrixAuth.parse(header), key.verify_key, "GET", "/_matrix/key/v2/server", "b.example")
    # Header without destination (older servers): our own name is used.
    auth = XMatrixAuth.parse(header)
    legacy = XMatrixAuth(origin=auth.origin, key=auth.key, sig=auth.sig)
    verify_request(legacy, key.verify_key, "GET", "/_matrix/key/v2/server", "b.example")


@pytest.mark.parametrize(
    "change",
    [
        {"method": "POST"},
        {"uri": URI + "&y=2"},
        {"uri": "/_matrix/federation/v1/send/txn2?x=1"},
        {"content": {**CONTENT, "edus": [{"x": 1}]}},
        {"content": None},
        {"destination": "c.example"},
    ],
)
def test_verify_request_fails_when_changed(key, change):
    header = sign_request(key, "PUT", URI, "a.example", "b.example", CONTENT)
    args = {"method": "PUT", "uri": URI, "destination": "b.example", "content": CONTENT, **change}
    with pytest.raises(SignatureError):
        verify_request(XMatrixAuth.parse(header), key.verify_key, **args)


def test_verify_request_fails_for_changed_destination_without_header_destination(key):
    auth = XMatrixAuth.parse(sign_request(key, "GET", "/x", "a.example", "b.example"))
    legacy = XMatrixAuth(origin=auth.origin, key=auth.key, sig=auth.sig)
    with pytest.raises(SignatureError, match="invalid signature"):
        verify_request(legacy, key.verify_key, "GET", "/x", "c.example")


def test_verify_request_wrong_key_or_origin(key):
    auth = XMatrixAuth.parse(sign_request(key, "GET", "/x", "a.example", "b.example"))
    with pytest.raises(SignatureError, match="signed with"):
        verify_request(auth, SigningKey.generate("other").verify_key, "GET", "/x", "b.example")
    spoofed = XMatrixAuth(origin="evil.example", key=auth.key, sig=auth.sig, destination=auth.destination)
    with pytest.raises(SignatureError):
        verify_request(spoofed, key.verify_key, "GET", "/x", "b.example")
    garbled = XMatrixAuth(origin=auth.origin, key=auth.key, sig="!!!", destination=auth.destination)
    with pytest.raises(SignatureError, match="base64"):
        verify_request(garbled, key.verify_key, "GET", "/x", "b.example")


def test_request_signature_cross_checked_with_signedjson(key):
    header = sign_request(key, "PUT", URI, "a.example", "b.example", CONTENT)
    auth = XMatrixAuth.parse(header)
    sj_signing = signedjson.key.decode_signing_key_base64("ed25519", "fed1", key.seed_base64)
    obj = request_json("PUT", URI, "a.example", "b.example", CONTENT)
    obj["signatures"] = {auth.origin: {auth.key: auth.sig}}
    signedjson.sign.verify_signed_json(obj, "a.example", signedjson.key.get_verify_key(sj_signing))
    # And a request signed by signedjson verifies with ours.
    theirs = signedjson.sign.sign_json(request_json("PUT", URI, "a.example", "b.example", CONTENT), "a.example", sj_signing)
    their_auth = XMatrixAuth(
        origin="a.example", key=key.key_id, sig=theirs["signatures"]["a.example"][key.key_id], destination="b.example"
    )
    verify_request(XMatrixAuth.parse(str(their_auth)), key.verify_key, "PUT", URI, "b.example", CONTENT)
