"""YAML data loaded into dataclasses, checked against their type annotations.

One loader for the homeserver's configuration (``homeserver.config``) and the bridge's
(``bridge.config``). Every mistake is an exception of the caller's own class whose message names
the key path: ``listeners[0].port: must be an integer, got str``, ``bridge.databse: unknown
configuration key``, ``matrix: required key missing``. It imports only the standard library and
PyYAML, so the bridge can use it without pulling in any of the server.
"""
from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

T = TypeVar("T")


def load_yaml(path: str | Path, error_cls: type[Exception]) -> Any:
    """The YAML document in the file at `path`; an unreadable file or invalid YAML raises
    ``error_cls`` naming the file."""
    try:
        text = Path(path).read_text()
    except OSError as e:
        raise error_cls(f"cannot read config file {path}: {e.strerror}") from e
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise error_cls(f"{path} is not valid YAML: {e}") from e


def build_dataclass(cls: type[T], data: dict, error_cls: type[Exception],
                    prefix: str = "") -> T:
    """``cls(**data)``, with every value checked against its field's annotation.

    Nested dataclasses (from mappings), ``list[...]``, ``dict[..., ...]`` and optional fields are
    built recursively; an int is accepted where a float is wanted, a bool never where an int is.
    Unknown keys, wrong types and missing required keys raise ``error_cls`` with a message
    starting with the key's path (``prefix`` is prepended: ``"media."`` for a nested section).
    """
    hints = typing.get_type_hints(cls)
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]  # T is a dataclass type
    names = {f.name for f in fields}
    for key in data:
        if key not in names:
            raise error_cls(f"{prefix}{key}: unknown configuration key")
    kwargs = {k: _convert(hints[k], v, prefix + k, error_cls) for k, v in data.items()}
    missing = [f.name for f in fields if f.name not in kwargs
               and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    if missing:
        raise error_cls(f"{prefix}{missing[0]}: required key missing")
    return cls(**kwargs)


def _type_name(tp: Any) -> str:
    return {int: "an integer", float: "a number", str: "a string", bool: "true or false"}.get(
        tp, getattr(tp, "__name__", str(tp))
    )


def _convert(tp: Any, value: Any, path: str, error_cls: type[Exception]) -> Any:
    """Check ``value`` against the annotation ``tp`` and build dataclasses recursively."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return _convert(inner, value, path, error_cls)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise error_cls(f"{path}: must be a mapping")
        return build_dataclass(typing.cast(type, tp), value, error_cls, path + ".")
    if origin is list:
        if not isinstance(value, list):
            raise error_cls(f"{path}: must be a list")
        (inner,) = typing.get_args(tp)
        return [_convert(inner, v, f"{path}[{i}]", error_cls) for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise error_cls(f"{path}: must be a mapping")
        kt, vt = typing.get_args(tp)
        return {_convert(kt, k, path, error_cls): _convert(vt, v, f"{path}.{k}", error_cls)
                for k, v in value.items()}
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    # bool is a subclass of int: "port: true" must not pass as 1.
    if not isinstance(value, tp) or (tp is int and isinstance(value, bool)):
        raise error_cls(f"{path}: must be {_type_name(tp)}, got {type(value).__name__}")
    return value
