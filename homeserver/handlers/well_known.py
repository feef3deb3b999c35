"""``/.well-known/matrix/client`` and ``/.well-known/matrix/server``, from the configuration.

client: ``m.homeserver.base_url`` is ``well_known.client_base_url``, else ``public_baseurl``;
with neither there is nothing to say and the answer is 404 ``M_NOT_FOUND`` (clients then use
the URL they were given). ``m.identity_server`` is added when ``well_known.identity_server`` is
set. server: ``{"m.server": well_known.server}``, 404 when unset (federation then reaches the
server name itself). The config validated every value at load time.
"""
from __future__ import annotations

from ..config import Config
from ..errors import NotFound


def client_well_known(config: Config) -> dict:
    base = config.well_known.client_base_url or config.public_baseurl
    if base is None:
        raise NotFound("No client well-known is configured")
    out: dict = {"m.homeserver": {"base_url": base}}
    if config.well_known.identity_server:
        out["m.identity_server"] = {"base_url": config.well_known.identity_server}
    return out


def server_well_known(config: Config) -> dict:
    if config.well_known.server is None:
        raise NotFound("No server well-known is configured")
    return {"m.server": config.well_known.server}
