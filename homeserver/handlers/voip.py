"""``/voip/turnServer``: credentials for a TURN server (coturn) that shares a secret with us.

coturn's REST API (``use-auth-secret`` with ``static-auth-secret``), as Synapse implements it:
the username is ``"<expiry unix seconds>:<user_id>"`` and the password the base64 of
HMAC-SHA1(shared secret, username). coturn recomputes the password and refuses the username
once the expiry has passed, so nothing is stored and no call between the servers is needed.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import time

from ..config import TurnConfig
from .accounts import Requester


def turn_credentials(shared_secret: str, user_id: str, lifetime_seconds: int,
                     now: float) -> tuple[str, str]:
    """(username, password) valid until ``now + lifetime_seconds``."""
    username = f"{int(now) + lifetime_seconds}:{user_id}"
    mac = hmac.new(shared_secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(mac).decode("ascii")


class TurnHandler:
    def __init__(self, config: TurnConfig):
        self.config = config

    def turn_server(self, req: Requester) -> dict:
        """The spec's answer; ``{}`` when no TURN server is configured."""
        cfg = self.config
        if not cfg.uris or not cfg.shared_secret:
            return {}
        username, password = turn_credentials(cfg.shared_secret, req.user_id,
                                              cfg.user_lifetime_seconds, time.time())
        return {"username": username, "password": password, "ttl": cfg.user_lifetime_seconds,
                "uris": list(cfg.uris)}
