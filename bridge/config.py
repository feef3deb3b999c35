"""The bridge's YAML configuration, loaded into frozen dataclasses and checked.

Unknown keys and wrong types are a ConfigError naming the key (``appservice.port: must be an
integer``). The application service tokens may live in the config or, by default, in the
registration file that ``python -m bridge generate-registration`` writes, so there is one
source of truth for what the Matrix homeserver was told.
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from homeserver.typed_config import build_dataclass, load_yaml

from .ids import ROOM_ALIAS, ROOM_ID, USER_ID


class ConfigError(Exception):
    """The configuration is unusable; the message names the offending key."""


@dataclass(frozen=True)
class MatrixSide:
    """The Matrix homeserver (e.g. Synapse) the bridge is an application service of."""
    homeserver_url: str
    server_name: str


@dataclass(frozen=True)
class AppserviceSide:
    id: str = "audiorooms"
    bind_address: str = "127.0.0.1"
    port: int = 9009
    url: str | None = None          # how the Matrix homeserver reaches us; default from bind/port
    registration: str = "./audiorooms-registration.yaml"
    as_token: str | None = None     # default: read from the registration file
    hs_token: str | None = None
    bot_localpart: str = "audiobridge"
    bot_displayname: str = "Audio rooms"
    puppet_prefix: str = "audio_"
    puppet_displayname: str = "{displayname} (audio)"
    max_transaction_bytes: int = 10 * 1024 * 1024

    @property
    def public_url(self) -> str:
        host = self.bind_address if self.bind_address not in ("0.0.0.0", "::") else "127.0.0.1"
        return self.url or f"http://{host}:{self.port}"


@dataclass(frozen=True)
class AudioSide:
    """Our audio-rooms homeserver, where the bridge is the client ``user_id``."""
    homeserver_url: str
    user_id: str
    password: str | None = None
    access_token: str | None = None
    web_client_url: str | None = None   # base of join links; default homeserver_url

    @property
    def join_base(self) -> str:
        return self.web_client_url or self.homeserver_url


@dataclass(frozen=True)
class LinkConfig:
    matrix_room: str
    audio_room: str


@dataclass(frozen=True)
class BridgeOptions:
    database: str = "./bridge.db"
    command_prefix: str = "!audio"
    link_power_level: int = 50
    max_message_bytes: int = 16384
    sync_timeout_ms: int = 30000
    retry_base_seconds: float = 0.5
    retry_max_seconds: float = 60.0
    links: list[LinkConfig] = field(default_factory=list)


@dataclass(frozen=True)
class BridgeConfig:
    matrix: MatrixSide
    audiorooms: AudioSide
    appservice: AppserviceSide = AppserviceSide()
    bridge: BridgeOptions = BridgeOptions()

    def __post_init__(self) -> None:
        _validate(self)

    def with_tokens(self, as_token: str, hs_token: str) -> BridgeConfig:
        return dataclasses.replace(self, appservice=dataclasses.replace(
            self.appservice, as_token=as_token, hs_token=hs_token))


_LOCALPART = re.compile(r"^[a-z0-9._=\-/]+$")


def _validate(cfg: BridgeConfig) -> None:
    for key, url in (("matrix.homeserver_url", cfg.matrix.homeserver_url),
                     ("audiorooms.homeserver_url", cfg.audiorooms.homeserver_url),
                     ("audiorooms.web_client_url", cfg.audiorooms.web_client_url),
                     ("appservice.url", cfg.appservice.url)):
        if url is not None and not url.startswith(("http://", "https://")):
            raise ConfigError(f"{key}: {url!r} must be an http(s) URL")
    a = cfg.appservice
    if not 0 <= a.port <= 65535:
        raise ConfigError(f"appservice.port: {a.port} is not a TCP port")
    for key, part in (("appservice.bot_localpart", a.bot_localpart),
                      ("appservice.puppet_prefix", a.puppet_prefix)):
        if not _LOCALPART.match(part):
            raise ConfigError(f"{key}: {part!r} may only use a-z 0-9 . _ = - /")
    if a.bot_localpart.startswith(a.puppet_prefix):
        raise ConfigError("appservice.bot_localpart: must not start with puppet_prefix "
                          f"{a.puppet_prefix!r} (the bot would look like a puppet)")
    if "{displayname}" not in a.puppet_displayname:
        raise ConfigError("appservice.puppet_displayname: must contain {displayname}")
    if not USER_ID.match(cfg.audiorooms.user_id):
        raise ConfigError(f"audiorooms.user_id: {cfg.audiorooms.user_id!r} is not a user ID "
                          "(@name:server)")
    if not (cfg.audiorooms.password or cfg.audiorooms.access_token):
        raise ConfigError("audiorooms: set password or access_token for the bridge's user")
    b = cfg.bridge
    if b.max_message_bytes < 16:
        raise ConfigError("bridge.max_message_bytes: must be at least 16")
    if not 0 <= b.sync_timeout_ms <= 120000:
        raise ConfigError("bridge.sync_timeout_ms: must be between 0 and 120000")
    if b.retry_base_seconds <= 0 or b.retry_max_seconds < b.retry_base_seconds:
        raise ConfigError("bridge.retry_*: need 0 < retry_base_seconds <= retry_max_seconds")
    if not b.command_prefix.strip() or " " in b.command_prefix:
        raise ConfigError("bridge.command_prefix: must be one word, like !audio")
    for i, link in enumerate(b.links):
        if not ROOM_ID.match(link.matrix_room):
            raise ConfigError(f"bridge.links[{i}].matrix_room: {link.matrix_room!r} is not a "
                              "room ID")
        if not (ROOM_ID.match(link.audio_room) or ROOM_ALIAS.match(link.audio_room)):
            raise ConfigError(f"bridge.links[{i}].audio_room: {link.audio_room!r} is not a "
                              "room ID or alias")


def config_from_dict(data: Any) -> BridgeConfig:
    if not isinstance(data, dict):
        raise ConfigError("the configuration must be a YAML mapping")
    return build_dataclass(BridgeConfig, data, ConfigError)


def load_config(path: str | Path) -> BridgeConfig:
    return config_from_dict(load_yaml(path, ConfigError))


def resolve_tokens(cfg: BridgeConfig) -> BridgeConfig:
    """Fill as_token/hs_token from the registration file when the config does not set them."""
    a = cfg.appservice
    if a.as_token and a.hs_token:
        return cfg
    try:
        reg = yaml.safe_load(Path(a.registration).read_text())
    except OSError as e:
        raise ConfigError(f"appservice.registration: cannot read {a.registration} "
                          f"({e.strerror}); run `python -m bridge generate-registration` "
                          "or set appservice.as_token and hs_token") from e
    except yaml.YAMLError as e:
        raise ConfigError(f"appservice.registration: {a.registration} is not valid YAML") from e
    if not isinstance(reg, dict) or not isinstance(reg.get("as_token"), str) \
            or not isinstance(reg.get("hs_token"), str):
        raise ConfigError(f"appservice.registration: {a.registration} has no as_token/hs_token")
    return cfg.with_tokens(a.as_token or reg["as_token"], a.hs_token or reg["hs_token"])
