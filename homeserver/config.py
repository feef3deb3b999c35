"""Typed, validated configuration.

The YAML file is loaded into frozen dataclasses. Every key is checked against the dataclass
fields, so a typo (``registraton:``) or a wrong type (``port: "80"``) is a ConfigError that names
the key, never a traceback deep inside the server.
"""
from __future__ import annotations

import dataclasses
import ipaddress
from dataclasses import dataclass, field
from pathlib import Path

from federation.servername import is_valid_server_name

from .typed_config import build_dataclass, load_yaml


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
    # 0: forward in the server process. N: N SFU worker processes (one per core is the point).
    workers: int = 0
    # SFU workers on other hosts ("host:port", started with `python -m media.worker`).
    worker_hosts: list[str] = field(default_factory=list)
    worker_secret: str | None = None


@dataclass(frozen=True)
class AudioConfig:
    hallway_refresh_seconds: float = 30.0  # how long other servers' hallway lists are cached


@dataclass(frozen=True)
class PresenceConfig:
    # Off for big servers: PUT is accepted but nothing is kept, served in /sync or federated.
    enabled: bool = True


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
    presence: PresenceConfig = PresenceConfig()

    def __post_init__(self) -> None:
        _validate(self)


def _validate(cfg: Config) -> None:
    if not is_valid_server_name(cfg.server_name):
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
    if not 0 <= cfg.media.workers <= 64:
        raise ConfigError("media.workers: must be between 0 and 64")
    if cfg.media.worker_hosts and not cfg.media.worker_secret:
        raise ConfigError("media.worker_secret: required when media.worker_hosts is set")
    if cfg.media.audio_slots < 1 or cfg.media.audio_slots > 16:
        raise ConfigError("media.audio_slots: must be between 1 and 16")
    rng = cfg.media.udp_port_range
    if rng is not None and (len(rng) != 2 or not 0 < rng[0] <= rng[1] <= 65535):
        raise ConfigError("media.udp_port_range: must be [low, high] with 0 < low <= high")
    for net in cfg.federation.ip_range_whitelist:
        try:
            ipaddress.ip_network(net, strict=False)
        except ValueError:
            raise ConfigError(
                f"federation.ip_range_whitelist: {net!r} is not a CIDR range") from None
    for name, url in cfg.federation.servers.items():
        if not is_valid_server_name(name):
            raise ConfigError(f"federation.servers.{name}: {name!r} is not a valid Matrix"
                              " server name")
        if not url.startswith(("http://", "https://")):
            raise ConfigError(f"federation.servers.{name}: {url!r} must be an http(s) URL")
    if cfg.limits.max_event_bytes < 1024:
        raise ConfigError("limits.max_event_bytes: must be at least 1024")


def config_from_dict(data: dict) -> Config:
    if not isinstance(data, dict):
        raise ConfigError("the configuration must be a YAML mapping")
    return build_dataclass(Config, data, ConfigError)


def load_config(path: str | Path) -> Config:
    return config_from_dict(load_yaml(path, ConfigError) or {})


def config_to_dict(cfg: Config) -> dict:
    return dataclasses.asdict(cfg)
