"""Typed, validated configuration.

The YAML file is loaded into frozen dataclasses. Every key is checked against the dataclass
fields, so a typo (``registraton:``) or a wrong type (``port: "80"``) is a ConfigError that names
the key, never a traceback deep inside the server.
"""
from __future__ import annotations

import dataclasses
import ipaddress
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class ConfigError(Exception):
    """The configuration is unusable; the message names the offending key."""


@dataclass(frozen=True)
class ListenerConfig:
    port: int = 8008
    bind_address: str = "127.0.0.1"
    tls: bool = False
    tls_certificate_path: str | None = None
    tls_private_key_path: str | None = None


@dataclass(frozen=True)
class DatabaseConfig:
    path: str = "./data/homeserver.db"


@dataclass(frozen=True)
class RegistrationConfig:
    open: bool = False
    shared_secret: str | None = None


@dataclass(frozen=True)
class RateLimit:
    per_second: float = 1.0
    burst: int = 10


@dataclass(frozen=True)
class RateLimitConfig:
    # Login and registration are the endpoints worth throttling: both cost a password hash
    # and both are what credential-stuffing and sign-up spam hit.
    login: RateLimit = RateLimit(per_second=0.5, burst=10)
    register: RateLimit = RateLimit(per_second=0.2, burst=5)


@dataclass(frozen=True)
class LimitsConfig:
    max_event_bytes: int = 65536  # Matrix's PDU size limit, also the client body limit for events
    max_request_bytes: int = 1048576  # anything else (e.g. createRoom with initial_state)
    sync_timeline_limit: int = 20
    password_scrypt_n: int = 2**14


@dataclass(frozen=True)
class FederationConfig:
    servers: dict[str, str] = field(default_factory=dict)
    verify_certificates: bool = True
    ip_range_whitelist: list[str] = field(default_factory=list)
    # Outbound delivery retries back off exponentially from base to max, with jitter.
    retry_base_seconds: float = 0.5
    retry_max_seconds: float = 300.0
    request_timeout_seconds: float = 30.0


@dataclass(frozen=True)
class MediaConfig:
    audio_slots: int = 3
    public_ip: str | None = None
    udp_port_range: list[int] | None = None


@dataclass(frozen=True)
class AudioConfig:
    hallway_refresh_seconds: float = 30.0  # how long other servers' hallway lists are cached


@dataclass(frozen=True)
class Config:
    server_name: str
    listeners: list[ListenerConfig] = field(default_factory=lambda: [ListenerConfig()])
    database: DatabaseConfig = DatabaseConfig()
    registration: RegistrationConfig = RegistrationConfig()
    ratelimit: RateLimitConfig = RateLimitConfig()
    limits: LimitsConfig = LimitsConfig()
    federation: FederationConfig = FederationConfig()
    media: MediaConfig = MediaConfig()
    audio: AudioConfig = AudioConfig()
    public_baseurl: str | None = None

    def __post_init__(self) -> None:
        _validate(self)


_SERVER_NAME = re.compile(r"^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.\-]+)(:[0-9]{1,5})?$")


def _validate(cfg: Config) -> None:
    m = _SERVER_NAME.match(cfg.server_name)
    if not m or (m.group(2) and not 0 < int(m.group(2)[1:]) <= 65535):
        raise ConfigError(f"server_name: {cfg.server_name!r} is not a valid Matrix server name")
    if not cfg.listeners:
        raise ConfigError("listeners: at least one listener is required")
    for i, lst in enumerate(cfg.listeners):
        if not 0 <= lst.port <= 65535:
            raise ConfigError(f"listeners[{i}].port: {lst.port} is not a TCP port")
        if lst.tls and not (lst.tls_certificate_path and lst.tls_private_key_path):
            raise ConfigError(
                f"listeners[{i}].tls: needs tls_certificate_path and tls_private_key_path"
            )
    if cfg.media.audio_slots < 1 or cfg.media.audio_slots > 16:
        raise ConfigError("media.audio_slots: must be between 1 and 16")
    rng = cfg.media.udp_port_range
    if rng is not None and (len(rng) != 2 or not 0 < rng[0] <= rng[1] <= 65535):
        raise ConfigError("media.udp_port_range: must be [low, high] with 0 < low <= high")
    for net in cfg.federation.ip_range_whitelist:
        try:
            ipaddress.ip_network(net, strict=False)
        except ValueError:
            raise ConfigError(f"federation.ip_range_whitelist: {net!r} is not a CIDR range")
    for name, url in cfg.federation.servers.items():
        if not url.startswith(("http://", "https://")):
            raise ConfigError(f"federation.servers.{name}: {url!r} must be an http(s) URL")
    if cfg.limits.max_event_bytes < 1024:
        raise ConfigError("limits.max_event_bytes: must be at least 1024")


def _type_name(tp: Any) -> str:
    return {int: "an integer", float: "a number", str: "a string", bool: "true or false"}.get(
        tp, getattr(tp, "__name__", str(tp))
    )


def _convert(tp: Any, value: Any, path: str) -> Any:
    """Check ``value`` against the annotation ``tp`` and build dataclasses recursively."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return _convert(inner, value, path)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"{path}: must be a mapping")
        return _build(tp, value, path + ".")
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(f"{path}: must be a list")
        (inner,) = typing.get_args(tp)
        return [_convert(inner, v, f"{path}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{path}: must be a mapping")
        kt, vt = typing.get_args(tp)
        return {_convert(kt, k, path): _convert(vt, v, f"{path}.{k}") for k, v in value.items()}
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    # bool is a subclass of int: "port: true" must not pass as 1.
    if not isinstance(value, tp) or (tp is int and isinstance(value, bool)):
        raise ConfigError(f"{path}: must be {_type_name(tp)}, got {type(value).__name__}")
    return value


def _build(cls: type, data: dict, prefix: str = "") -> Any:
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    for key in data:
        if key not in names:
            raise ConfigError(f"{prefix}{key}: unknown configuration key")
    kwargs = {k: _convert(hints[k], v, prefix + k) for k, v in data.items()}
    try:
        return cls(**kwargs)
    except TypeError as e:  # a required key is missing
        missing = [
            f.name for f in dataclasses.fields(cls)
            if f.name not in kwargs
            and f.default is dataclasses.MISSING
            and f.default_factory is dataclasses.MISSING
        ]
        raise ConfigError(f"{prefix}{missing[0] if missing else ''}: required key missing") from e


def config_from_dict(data: dict) -> Config:
    if not isinstance(data, dict):
        raise ConfigError("the configuration must be a YAML mapping")
    return _build(Config, data)


def load_config(path: str | Path) -> Config:
    try:
        text = Path(path).read_text()
    except OSError as e:
        raise ConfigError(f"cannot read config file {path}: {e.strerror}") from e
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise ConfigError(f"{path} is not valid YAML: {e}") from e
    return config_from_dict(data or {})


def config_to_dict(cfg: Config) -> dict:
    return dataclasses.asdict(cfg)
