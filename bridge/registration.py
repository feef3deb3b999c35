"""The application service registration file the Matrix homeserver loads (pure)."""
from __future__ import annotations

import secrets

from .config import BridgeConfig
from .ids import PuppetNamer


def namer_for(cfg: BridgeConfig) -> PuppetNamer:
    return PuppetNamer(cfg.appservice.puppet_prefix, cfg.matrix.server_name,
                       cfg.appservice.bot_localpart)


def registration_dict(cfg: BridgeConfig, as_token: str | None = None,
                      hs_token: str | None = None) -> dict:
    """Synapse's ``app_service_config_files`` format. Puppets get an exclusive namespace;
    the bot is the ``sender_localpart``. Tokens: given, from the config, or fresh."""
    a = cfg.appservice
    return {
        "id": a.id,
        "url": a.public_url,
        "as_token": as_token or a.as_token or secrets.token_urlsafe(32),
        "hs_token": hs_token or a.hs_token or secrets.token_urlsafe(32),
        "sender_localpart": a.bot_localpart,
        "namespaces": {
            "users": [{"exclusive": True, "regex": namer_for(cfg).namespace_regex()}],
            "aliases": [],
            "rooms": [],
        },
        "rate_limited": False,
        "protocols": [],
    }
