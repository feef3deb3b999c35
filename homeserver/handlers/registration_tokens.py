"""Registration tokens (as Synapse): the admin API's CRUD, and the user-interactive auth stage
``m.login.registration_token`` that /register asks for when ``registration.requires_token``.

A token is usable while ``pending + completed < uses_allowed`` (or no limit) and before its
``expiry_time``. Passing the token stage counts a pending use at once (so a one-use token cannot
admit two people signing up at the same time); the finished registration turns it into a
completed use; a UIA session abandoned for an hour gives its pending use back.
"""
from __future__ import annotations

import re
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass, field

from ..errors import AuthRequired, InvalidParam, MatrixError, MissingParam, NotFound
from ..storage.admin import RegistrationTokenStore

TOKEN_STAGE = "m.login.registration_token"
TOKEN_CHARS = re.compile(r"^[A-Za-z0-9._~-]{1,64}$")
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._~-"
SESSION_TTL_S = 3600.0
FLOW = (TOKEN_STAGE, "m.login.dummy")
MAX_SESSIONS = 10_000


def _now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class _Session:
    created: float
    token: str | None = None
    completed: list[str] = field(default_factory=list)


def _opt_int(body: dict, key: str, what: str) -> int | None:
    v = body.get(key)
    if v is None:
        return None
    if not isinstance(v, int) or isinstance(v, bool) or v < 0 or v > 2**53:
        raise InvalidParam(f"{key} must be {what}")
    return v


class RegistrationTokens:
    def __init__(self, store: RegistrationTokenStore, required: bool):
        self.store = store
        self.required = required  # registration.requires_token
        self._sessions: OrderedDict[str, _Session] = OrderedDict()

    # admin API -----------------------------------------------------------------------------

    def list_tokens(self, valid: bool | None) -> dict:
        return {"registration_tokens": self.store.list(valid, _now_ms())}

    def get(self, token: str) -> dict:
        row = self.store.get(token) if TOKEN_CHARS.match(token) else None
        if row is None:
            raise NotFound(f"No such registration token: {token}")
        return row

    def create(self, body: dict) -> dict:
        token = body.get("token")
        uses = _opt_int(body, "uses_allowed", "a non-negative integer or null")
        expiry = _opt_int(body, "expiry_time", "a timestamp in milliseconds or null")
        if expiry is not None and expiry < _now_ms():
            raise InvalidParam("expiry_time must not be in the past")
        if token is None:
            length = body.get("length", 16)
            if not isinstance(length, int) or isinstance(length, bool) or not 0 < length <= 64:
                raise InvalidParam("length must be an integer between 1 and 64")
            for _ in range(5):
                token = "".join(secrets.choice(ALPHABET) for _ in range(length))
                if self.store.create(token, uses, expiry):
                    return self.get(token)
            raise MatrixError("Could not pick a free token; try a longer one", "M_UNKNOWN", 500)
        if not isinstance(token, str) or not TOKEN_CHARS.match(token):
            raise InvalidParam("token must be 1 to 64 characters of A-Z a-z 0-9 . _ ~ -")
        if not self.store.create(token, uses, expiry):
            raise InvalidParam(f"Token already exists: {token}")
        return self.get(token)

    def update(self, token: str, body: dict) -> dict:
        fields: dict = {}
        if "uses_allowed" in body:
            fields["uses_allowed"] = _opt_int(body, "uses_allowed",
                                              "a non-negative integer or null")
        if "expiry_time" in body:
            expiry = _opt_int(body, "expiry_time", "a timestamp in milliseconds or null")
            if expiry is not None and expiry < _now_ms():
                raise InvalidParam("expiry_time must not be in the past")
            fields["expiry_time"] = expiry
        if not TOKEN_CHARS.match(token) or not self.store.update(token, fields):
            raise NotFound(f"No such registration token: {token}")
        return self.get(token)

    def delete(self, token: str) -> None:
        if not TOKEN_CHARS.match(token) or not self.store.delete(token):
            raise NotFound(f"No such registration token: {token}")

    def is_valid(self, token: str) -> bool:
        """GET /register/m.login.registration_token/validity."""
        row = self.store.get(token) if TOKEN_CHARS.match(token) else None
        return row is not None and self.store.usable(row, _now_ms())

    # user-interactive auth for /register ---------------------------------------------------

    @property
    def flows(self) -> list[dict]:
        return [{"stages": list(FLOW)}]

    def _expire(self) -> None:
        now = time.monotonic()
        while self._sessions:
            sid, s = next(iter(self._sessions.items()))
            if now - s.created < SESSION_TTL_S and len(self._sessions) <= MAX_SESSIONS:
                break
            del self._sessions[sid]
            if s.token is not None:
                self.store.release_pending(s.token)

    def _session(self, auth) -> tuple[str, _Session]:
        self._expire()
        sid = auth.get("session") if isinstance(auth, dict) else None
        if isinstance(sid, str) and sid in self._sessions:
            return sid, self._sessions[sid]
        sid = secrets.token_urlsafe(16)
        self._sessions[sid] = _Session(time.monotonic())
        return sid, self._sessions[sid]

    def check_stage(self, auth) -> str:
        """One stage per request, as the spec's UIA goes; returns the session ID when every
        stage of the flow is done, else raises the 401 that names what is left."""
        sid, s = self._session(auth)
        error = None
        stage = auth.get("type") if isinstance(auth, dict) else None
        if stage == TOKEN_STAGE:
            token = auth.get("token")
            if token is None:
                raise MissingParam("Missing registration token")
            if not isinstance(token, str):
                raise InvalidParam("Registration token must be a string")
            if s.token is not None:
                if token != s.token:
                    raise InvalidParam("Registration token has changed")
            elif TOKEN_CHARS.match(token) and self.store.take_pending(token, _now_ms()):
                s.token = token
                s.completed.append(TOKEN_STAGE)
            else:
                error = ("M_UNAUTHORIZED", "Invalid registration token")
        elif stage == "m.login.dummy":
            if "m.login.dummy" not in s.completed:
                s.completed.append("m.login.dummy")
        elif stage is not None:
            error = ("M_UNRECOGNIZED", f"Unrecognised login type {str(stage)[:50]}")
        if all(st in s.completed for st in FLOW):
            return sid
        raise AuthRequired(self.flows, sid, error, list(s.completed))

    def registered(self, sid: str) -> None:
        """The registration of this UIA session succeeded: its pending use is completed."""
        s = self._sessions.pop(sid, None)
        if s is not None and s.token is not None:
            self.store.complete(s.token)


def parse_bool(raw: str | None, name: str) -> bool | None:
    if raw is None:
        return None
    if raw in ("true", "1"):
        return True
    if raw in ("false", "0"):
        return False
    raise InvalidParam(f"Boolean query parameter '{name}' must be one of ['true', 'false']")
