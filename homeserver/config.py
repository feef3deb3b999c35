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
from urllib.parse import urlsplit

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
    # sqlite (default): one embedded file at ``path``, one process. postgres: the server at
    # ``url``, shared by every ``homeserver run`` process of this server name.
    engine: str = "sqlite"
    path: str = "./data/homeserver.db"
    url: str | None = None
    # postgres: most connections each process opens per pool (as Synapse's cp_max). A process
    # keeps two pools (its event loop's, and a thread's for start-up and callers outside
    # tasks) and two more connections (LISTEN, advisory locks); idle ones close after 5 min.
    # Keep processes x (2 x pool_size + 2) under PostgreSQL's max_connections (100 by default).
    pool_size: int = 20


@dataclass(frozen=True)
class RegistrationConfig:
    open: bool = False
    shared_secret: str | None = None
    # Guest access (register?kind=guest): listeners without an account, who may join rooms
    # whose m.room.guest_access is can_join and listen, nothing else. Their tokens expire.
    # Unset: guests are welcome exactly when registration is open.
    guests_enabled: bool | None = None
    guest_token_lifetime_seconds: int = 86400
    # Sign-up needs a registration token an admin made (UIA m.login.registration_token).
    requires_token: bool = False


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
    # Events a client sends to rooms (/send), per user: a person chatting never meets it, a
    # script flooding a room does. Reactions have their own limit below.
    message: RateLimit = RateLimit(per_second=10.0, burst=50)
    # Audio-room reactions (org.audiorooms.reaction), per user; a room's host also holds each
    # remote sender to this rate, and each remote server to reaction_per_origin per room.
    reaction: RateLimit = RateLimit(per_second=10.0, burst=10)
    reaction_per_origin: RateLimit = RateLimit(per_second=50.0, burst=100)
    # /sendToDevice requests per user, one token per request whatever it names: a client
    # shares a room key with hundreds of devices in a few requests, a script flooding other
    # users' devices is stopped.
    to_device: RateLimit = RateLimit(per_second=20.0, burst=100)
    # Guest registrations (register?kind=guest), per client IP: a visitor needs one.
    guest_register: RateLimit = RateLimit(per_second=0.1, burst=5)
    # Keys the notary (/_matrix/key/v2/query) may fetch from other servers on behalf of one
    # requester (client IP): asking for many servers' keys cannot make us dial out unboundedly.
    notary_fetch: RateLimit = RateLimit(per_second=0.5, burst=20)


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
class PushConfig:
    """HTTP pushers: where the server may POST notifications, and how it retries."""
    # The pusher URL is chosen by a user: private and loopback ranges are refused unless listed
    # here (a push gateway on the operator's own network, e.g. "10.1.2.3/32").
    ip_range_whitelist: list[str] = field(default_factory=list)
    # The badge (counts.unread): rooms with unread notifications (Synapse's default), or false:
    # the number of unread notifications.
    group_unread_count_by_room: bool = True
    retry_base_seconds: float = 1.0
    retry_max_seconds: float = 600.0
    give_up_after_seconds: float = 86400.0  # a notification older than this is dropped
    request_timeout_seconds: float = 15.0
    concurrency: int = 16  # pushers delivered to at once


@dataclass(frozen=True)
class MediaConfig:
    audio_slots: int = 3
    public_ip: str | None = None
    udp_port_range: list[int] | None = None
    # ICE-TCP (RFC 6544): passive TCP candidates on this one port for clients whose network
    # drops UDP. None: off; 0: any free port (tests).
    tcp_port: int | None = None
    # Listeners' receiver reports fed back to the speaker they hear (worst recent listener's
    # fraction lost in the speaker's report block), so its Opus encoder turns in-band FEC on.
    loss_feedback: bool = True
    # 0: forward in the server process. N: N SFU worker processes (one per core is the point).
    workers: int = 0
    # SFU workers on other hosts ("host:port", started with `python -m media.worker`).
    worker_hosts: list[str] = field(default_factory=list)
    worker_secret: str | None = None


@dataclass(frozen=True)
class MediaRepositoryConfig:
    """The Matrix media repository (uploads, downloads, thumbnails, remote media cache)."""
    max_upload_bytes: int = 50 * 1024 * 1024
    # Where files are kept; None: a ``media`` folder beside the SQLite database file.
    store_path: str | None = None


@dataclass(frozen=True)
class AudioConfig:
    hallway_refresh_seconds: float = 30.0  # how long other servers' hallway lists are cached


@dataclass(frozen=True)
class TurnConfig:
    # coturn's REST API (use-auth-secret / static-auth-secret): /voip/turnServer hands out
    # credentials derived from the shared secret, valid for user_lifetime_seconds.
    uris: list[str] = field(default_factory=list)
    shared_secret: str | None = None
    user_lifetime_seconds: int = 3600


@dataclass(frozen=True)
class WellKnownConfig:
    # /.well-known/matrix/client: m.homeserver.base_url (default: public_baseurl) and, if set,
    # m.identity_server.base_url. /.well-known/matrix/server: m.server ("host[:port]").
    client_base_url: str | None = None
    identity_server: str | None = None
    server: str | None = None


@dataclass(frozen=True)
class PresenceConfig:
    # Off for big servers: PUT is accepted but nothing is kept, served in /sync or federated.
    enabled: bool = True


@dataclass(frozen=True)
class MetricsConfig:
    # Prometheus text format at /metrics on a listener of its own (never the client port):
    # loopback by default, as Synapse's; expose it further only behind a firewall.
    enabled: bool = False
    port: int = 9000
    bind_address: str = "127.0.0.1"


@dataclass(frozen=True)
class Config:
    server_name: str
    listeners: list[ListenerConfig] = field(default_factory=lambda: [ListenerConfig()])
    database: DatabaseConfig = DatabaseConfig()
    registration: RegistrationConfig = RegistrationConfig()
    ratelimit: RateLimitConfig = RateLimitConfig()
    limits: LimitsConfig = LimitsConfig()
    federation: FederationConfig = FederationConfig()
    push: PushConfig = PushConfig()
    media: MediaConfig = MediaConfig()
    audio: AudioConfig = AudioConfig()
    public_baseurl: str | None = None  # the URL clients reach us at, e.g. https://example.org/
    turn: TurnConfig = TurnConfig()
    well_known: WellKnownConfig = WellKnownConfig()
    media_repository: MediaRepositoryConfig = MediaRepositoryConfig()
    presence: PresenceConfig = PresenceConfig()
    # Reverse proxies (CIDR ranges) whose X-Forwarded-For names the client: only a request
    # from one of these has its client IP (for IP rate limits, devices' last seen) taken from
    # the header; from anywhere else the header is ignored.
    trusted_proxies: list[str] = field(default_factory=list)
    metrics: MetricsConfig = MetricsConfig()

    def __post_init__(self) -> None:
        _validate(self)


def _validate(cfg: Config) -> None:
    if cfg.database.engine not in ("sqlite", "postgres"):
        raise ConfigError("database.engine: must be 'sqlite' or 'postgres'")
    if cfg.database.engine == "postgres" and not (
            cfg.database.url and cfg.database.url.startswith(("postgresql://", "postgres://"))):
        raise ConfigError("database.url: engine postgres needs a postgresql://user:pass@host/db"
                          " URL")
    if not 1 <= cfg.database.pool_size <= 1000:
        raise ConfigError("database.pool_size: must be between 1 and 1000")
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
    tcp = cfg.media.tcp_port
    if tcp is not None and (isinstance(tcp, bool) or not isinstance(tcp, int)
                            or not 0 <= tcp <= 65535):
        raise ConfigError("media.tcp_port: must be a port number (0..65535) or null")
    if tcp is not None and (cfg.media.workers or cfg.media.worker_hosts):
        raise ConfigError("media.tcp_port: ICE-TCP needs the in-process SFU (media.workers: 0)")
    if not isinstance(cfg.media.loss_feedback, bool):
        raise ConfigError("media.loss_feedback: must be true or false")
    rng = cfg.media.udp_port_range
    if rng is not None and (len(rng) != 2 or not 0 < rng[0] <= rng[1] <= 65535):
        raise ConfigError("media.udp_port_range: must be [low, high] with 0 < low <= high")
    for net in cfg.federation.ip_range_whitelist:
        try:
            ipaddress.ip_network(net, strict=False)
        except ValueError:
            raise ConfigError(
                f"federation.ip_range_whitelist: {net!r} is not a CIDR range") from None
    for net in cfg.trusted_proxies:
        try:
            ipaddress.ip_network(net, strict=False)
        except ValueError:
            raise ConfigError(f"trusted_proxies: {net!r} is not a CIDR range") from None
    for net in cfg.push.ip_range_whitelist:
        try:
            ipaddress.ip_network(net, strict=False)
        except ValueError:
            raise ConfigError(f"push.ip_range_whitelist: {net!r} is not a CIDR range") from None
    p = cfg.push
    if not (0 < p.retry_base_seconds <= p.retry_max_seconds and p.give_up_after_seconds > 0
            and p.request_timeout_seconds > 0):
        raise ConfigError("push: retry_base_seconds must be > 0 and <= retry_max_seconds;"
                          " give_up_after_seconds and request_timeout_seconds > 0")
    if not 1 <= p.concurrency <= 1000:
        raise ConfigError("push.concurrency: must be between 1 and 1000")
    for name, url in cfg.federation.servers.items():
        if not is_valid_server_name(name):
            raise ConfigError(f"federation.servers.{name}: {name!r} is not a valid Matrix"
                              " server name")
        if not url.startswith(("http://", "https://")):
            raise ConfigError(f"federation.servers.{name}: {url!r} must be an http(s) URL")
    if not 1 <= cfg.media_repository.max_upload_bytes <= 2**40:
        raise ConfigError("media_repository.max_upload_bytes: must be between 1 and 2**40")
    if cfg.limits.max_event_bytes < 1024:
        raise ConfigError("limits.max_event_bytes: must be at least 1024")
    _validate_turn(cfg.turn)
    _validate_metrics(cfg)
    for key, base in (("public_baseurl", cfg.public_baseurl),
                      ("well_known.client_base_url", cfg.well_known.client_base_url),
                      ("well_known.identity_server", cfg.well_known.identity_server)):
        if base is not None and not is_base_url(base):
            raise ConfigError(f"{key}: {base!r} must be an http(s) URL with a valid host and"
                              " no query or fragment, e.g. https://matrix.example.org/")
    if cfg.well_known.server is not None and not is_valid_server_name(cfg.well_known.server):
        raise ConfigError(f"well_known.server: {cfg.well_known.server!r} is not a valid"
                          " server name (host or host:port)")


def _validate_metrics(cfg: Config) -> None:
    m = cfg.metrics
    if not 1 <= m.port <= 65535:
        raise ConfigError(f"metrics.port: {m.port} is not a TCP port (1-65535)")
    try:
        ipaddress.ip_address(m.bind_address)
    except ValueError:
        raise ConfigError(f"metrics.bind_address: {m.bind_address!r} is not an IP address"
                          ) from None
    if m.enabled and any(lst.port == m.port for lst in cfg.listeners):
        raise ConfigError(f"metrics.port: {m.port} is a listener's port; metrics need their"
                          " own")


TURN_SCHEMES = ("turn:", "turns:", "stun:", "stuns:")


def _validate_turn(turn: TurnConfig) -> None:
    for uri in turn.uris:
        if not uri.startswith(TURN_SCHEMES) or len(uri) > 512 or any(c.isspace() for c in uri):
            raise ConfigError(f"turn.uris: {uri!r} is not a turn:, turns:, stun: or stuns: URI")
    if turn.uris and not turn.shared_secret:
        raise ConfigError("turn.shared_secret: required when turn.uris is set")
    if turn.shared_secret is not None and not turn.shared_secret:
        raise ConfigError("turn.shared_secret: must not be empty")
    if not 60 <= turn.user_lifetime_seconds <= 7 * 86400:
        raise ConfigError("turn.user_lifetime_seconds: must be between 60 and 604800")


def is_base_url(url: str) -> bool:
    """An absolute http(s) URL whose host is a valid server name, without credentials, query
    or fragment: what a client can use as a base URL."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return (parts.scheme in ("http", "https") and not parts.query and not parts.fragment
            and "@" not in parts.netloc and is_valid_server_name(parts.netloc)
            and not any(c.isspace() for c in url) and len(url) <= 1024)


def media_store_path(cfg: Config) -> Path:
    """The media repository's folder: as configured, else ``media`` beside the database."""
    if cfg.media_repository.store_path:
        return Path(cfg.media_repository.store_path)
    return Path(cfg.database.path).parent / "media"


def config_from_dict(data: dict) -> Config:
    if not isinstance(data, dict):
        raise ConfigError("the configuration must be a YAML mapping")
    return build_dataclass(Config, data, ConfigError)


def load_config(path: str | Path) -> Config:
    return config_from_dict(load_yaml(path, ConfigError) or {})


def config_to_dict(cfg: Config) -> dict:
    return dataclasses.asdict(cfg)
