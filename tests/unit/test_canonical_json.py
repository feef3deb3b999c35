"""Matrix canonical JSON: encoding rules and refusals."""

import json
import math
from pathlib import Path

import pytest

from federation.canonical_json import check_canonical, encode_canonical_json
from federation.exceptions import CanonicalJSONError, FederationError

MAX = 2**53 - 1


def test_keys_sorted_and_compact():
    value = {"b": [1, {"z": None, "a": True}], "a": False, "": "empty"}
    assert encode_canonical_json(value) == b'{"":"empty","a":false,"b":[1,{"a":true,"z":null}]}'


def test_keys_sorted_by_code_point():
    # U+00E9 sorts after 'z'; U+65E5 before U+672C; uppercase before lowercase.
    value = {"\u00e9": 1, "z": 2, "Z": 3, "\u672c": 4, "\u65e5": 5}
    assert encode_canonical_json(value).decode() == '{"Z":3,"z":2,"\u00e9":1,"\u65e5":5,"\u672c":4}'


def test_unicode_not_escaped():
    value = {"a": "\u65e5\u672c \u00e9 \U0001f600 \u2028\u2029 \x7f"}
    encoded = encode_canonical_json(value)
    assert encoded == '{"a":"\u65e5\u672c \u00e9 \U0001f600 \u2028\u2029 \x7f"}'.encode("utf-8")
    assert b"\\u" not in encoded


def test_control_characters_and_specials_escaped():
    value = "\"\\\b\f\n\r\t\x00\x01\x1f"
    assert encode_canonical_json(value) == b'"\\"\\\\\\b\\f\\n\\r\\t\\u0000\\u0001\\u001f"'


def test_round_trips_through_json():
    value = {"content": {"body": "hi \u00e9", "n": [MAX, -MAX, 0]}, "ok": None}
    assert json.loads(encode_canonical_json(value)) == value


@pytest.mark.parametrize("bad", [1.0, 0.5, math.nan, math.inf, -math.inf])
def test_floats_refused(bad):
    with pytest.raises(CanonicalJSONError, match="float"):
        encode_canonical_json({"content": {"body": bad}})


def test_error_names_path():
    with pytest.raises(CanonicalJSONError, match=r"at content\.body"):
        encode_canonical_json({"content": {"body": 1.5}})
    with pytest.raises(CanonicalJSONError, match=r"at prev_events\[1\]\.x"):
        check_canonical({"prev_events": ["$a", {"x": 2**60}]})


@pytest.mark.parametrize("good", [MAX, -MAX, 0, -1, 1])
def test_int_bounds_ok(good):
    assert encode_canonical_json({"n": good}) == f'{{"n":{good}}}'.encode()


@pytest.mark.parametrize("bad", [MAX + 1, -MAX - 1, 2**64, -(2**64)])
def test_int_bounds_refused(bad):
    with pytest.raises(CanonicalJSONError, match="outside"):
        encode_canonical_json({"n": bad})


def test_bools_are_not_ints():
    assert encode_canonical_json([True, False, None]) == b"[true,false,null]"
    check_canonical({"flag": True})


@pytest.mark.parametrize("key", [1, None, 1.5, ("a",), b"a"])
def test_non_string_keys_refused(key):
    with pytest.raises(CanonicalJSONError, match="not a string"):
        encode_canonical_json({key: 1})


@pytest.mark.parametrize("bad", [b"bytes", {1, 2}, object(), 1j])
def test_non_json_types_refused(bad):
    with pytest.raises(CanonicalJSONError, match="not a JSON type"):
        encode_canonical_json({"x": bad})


def test_lone_surrogate_refused():
    with pytest.raises(CanonicalJSONError):
        encode_canonical_json({"x": "\ud800"})


def _nested(levels):
    value = {}
    for _ in range(levels - 1):
        value = {"a": value}
    return value


def test_depth_limit():
    check_canonical(_nested(100))
    with pytest.raises(CanonicalJSONError, match="deeper than 100"):
        check_canonical(_nested(101))
    deep_list = [[[[]]]]
    encode_canonical_json(deep_list, max_depth=4)
    with pytest.raises(CanonicalJSONError, match="deeper than 3"):
        encode_canonical_json(deep_list, max_depth=3)


def test_hostile_depth_does_not_blow_the_stack():
    value = []
    for _ in range(100_000):
        value = [value]
    with pytest.raises(CanonicalJSONError):
        encode_canonical_json(value)


def test_exception_hierarchy():
    with pytest.raises(ValueError):
        check_canonical(1.5)
    with pytest.raises(FederationError):
        check_canonical(1.5)


def test_tuples_encode_as_arrays():
    assert encode_canonical_json({"a": (1, "b")}) == b'{"a":[1,"b"]}'


def _load_vectors():
    # The spec's own vectors, copied into the repository (the file names its spec sections).
    path = Path(__file__).resolve().parents[1] / "data" / "matrix_signing_vectors.json"
    return json.loads(path.read_text(encoding="utf-8"))


def test_spec_vectors():
    for case in _load_vectors()["canonical_json_cases"]:
        assert encode_canonical_json(case["input"]) == case["canonical"].encode("utf-8")
