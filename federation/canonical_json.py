"""Matrix canonical JSON (server-server API, "Canonical JSON"). Pure: no I/O."""

from __future__ import annotations

import json
from typing import Any

from federation.exceptions import CanonicalJSONError

MAX_SAFE_INTEGER = 2**53 - 1
DEFAULT_MAX_DEPTH = 100

# Validation already guarantees no cycles (via the depth limit), so skip json's own check.
_ENCODER = json.JSONEncoder(
    ensure_ascii=False,
    check_circular=False,
    allow_nan=False,
    sort_keys=True,
    separators=(",", ":"),
)


class _Invalid(Exception):
    """Internal: carries the problem up the recursion; the path is built while unwinding,
    so a successful walk allocates no path strings at all."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
        self.path: list[str] = []


def _walk(value: Any, depth: int, max_depth: int) -> None:
    # bool is a subclass of int: test it first so True is never range-checked as 1.
    if value is None or value is True or value is False or isinstance(value, str):
        return
    if isinstance(value, int):
        if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            return
        raise _Invalid(f"integer {value} is outside [-(2**53-1), 2**53-1]")
    if isinstance(value, float):
        raise _Invalid(f"floats are not allowed in canonical JSON (got {value!r})")
    if isinstance(value, dict):
        if depth >= max_depth:
            raise _Invalid(f"nesting deeper than {max_depth} levels")
        for key, item in value.items():
            if not isinstance(key, str):
                raise _Invalid(f"object key {key!r} is not a string")
            try:
                _walk(item, depth + 1, max_depth)
            except _Invalid as exc:
                exc.path.append(key)
                raise
        return
    if isinstance(value, (list, tuple)):
        if depth >= max_depth:
            raise _Invalid(f"nesting deeper than {max_depth} levels")
        for index, item in enumerate(value):
            try:
                _walk(item, depth + 1, max_depth)
            except _Invalid as exc:
                exc.path.append(f"[{index}]")
                raise
        return
    raise _Invalid(f"type {type(value).__name__} is not a JSON type")


def _format_path(parts: list[str]) -> str:
    out = ""
    for part in reversed(parts):
        out += part if part.startswith("[") else (f".{part}" if out else part)
    return out


def check_canonical(value: Any, max_depth: int = DEFAULT_MAX_DEPTH) -> None:
    """Raise CanonicalJSONError unless `value` can be encoded as canonical JSON.

    `max_depth` counts nested objects/arrays; the top-level container is level 1.
    """
    try:
        _walk(value, 0, max_depth)
    except _Invalid as exc:
        path = _format_path(exc.path)
        where = f" at {path}" if path else ""
        raise CanonicalJSONError(f"{exc.message}{where}") from None
    except RecursionError:
        # Only reachable when a caller raises max_depth above Python's recursion limit.
        raise CanonicalJSONError("nesting too deep to validate") from None


def encode_canonical_json(value: Any, *, max_depth: int = DEFAULT_MAX_DEPTH) -> bytes:
    """Encode `value` as Matrix canonical JSON (UTF-8 bytes).

    Keys are sorted by code point, there is no insignificant whitespace and only `"`, `\\`
    and control characters below U+0020 are escaped, which is exactly what json does with
    ensure_ascii=False (controls as \\b \\f \\n \\r \\t or lowercase \\u00XX).
    """
    check_canonical(value, max_depth)
    text = _ENCODER.encode(value)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        # Lone surrogates survive json.dumps but are not valid UTF-8.
        raise CanonicalJSONError(f"string is not valid Unicode: {exc.reason}") from None
