"""Devices: list, rename, delete (behind user-interactive auth with the account's password),
and when and from where each device was last seen.

Last seen is noted in memory on every authenticated request (one dict assignment) and written
to the database at most every ``flush_seconds`` in one transaction, so a request costs no write.
Deleting a device deletes its access tokens: they stop working at once (the token cache is
told).

UIA sessions live in memory for ``SESSION_SECONDS``, bound to the user who started them and to
the request (which devices); at most ``MAX_SESSIONS`` exist at once.
"""
from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable

from ..errors import AuthRequired, BadJson, Forbidden, InvalidParam, MatrixError, NotFound
from ..storage.devices import DeviceStore
from .accounts import AccountHandler, Requester, check_device_name
from .background import BackgroundTask
from .ratelimit import RateLimiter

log = logging.getLogger(__name__)

FLOWS = [{"stages": ["m.login.password"]}]
SESSION_SECONDS = 300.0
MAX_SESSIONS = 10_000
MAX_DELETE = 1000  # device IDs in one /delete_devices
MAX_SEEN = 100_000  # devices noted between flushes before an early flush


class DeviceHandler:
    def __init__(self, store: DeviceStore, accounts: AccountHandler,
                 password_limiter: RateLimiter, flush_seconds: float = 30.0,
                 clock: Callable[[], float] = time.monotonic):
        self.store = store
        self.accounts = accounts
        self.password_limiter = password_limiter  # wrong-password guesses through UIA
        self.flush_seconds = flush_seconds
        self.clock = clock
        self._seen: dict[tuple[str, str], tuple[int, str]] = {}  # (user, device) -> (ts, ip)
        # session -> (user_id, what it authorises, expiry)
        self._sessions: dict[str, tuple[str, tuple, float]] = {}
        self._flusher = BackgroundTask(self._flush_loop)
        # (user_id, device IDs) after devices are deleted: their keys go, others are told
        self.deletion_listeners: list[Callable[[str, list[str]], None]] = []

    # last seen ----------------------------------------------------------------------------

    def seen(self, req: Requester, ip: str | None) -> None:
        self._seen[(req.user_id, req.device_id)] = (int(time.time() * 1000), ip or "")
        if len(self._seen) >= MAX_SEEN:
            self.flush()

    def flush(self) -> None:
        seen, self._seen = self._seen, {}
        self.store.record_last_seen([(ts, ip, u, d) for (u, d), (ts, ip) in seen.items()])

    def start(self) -> None:
        self._flusher.start()

    async def stop(self) -> None:
        await self._flusher.stop()
        self.flush()

    async def _flush_loop(self) -> None:
        while True:
            await asyncio.sleep(self.flush_seconds)
            try:
                self.flush()
            except Exception:  # a full disk must not end the loop
                log.exception("could not record devices' last seen")

    def _render(self, user_id: str, device: dict) -> dict:
        pending = self._seen.get((user_id, device["device_id"]))
        if pending is not None:
            device["last_seen_ts"], device["last_seen_ip"] = pending
        return {k: v for k, v in device.items() if v is not None and v != ""}

    # the API ------------------------------------------------------------------------------

    def list_devices(self, req: Requester) -> dict:
        return {"devices": [self._render(req.user_id, d)
                            for d in self.store.list_devices(req.user_id)]}

    def get_device(self, req: Requester, device_id: str) -> dict:
        device = self.store.get_device(req.user_id, device_id)
        if device is None:
            raise NotFound("Device not found")
        return self._render(req.user_id, device)

    def rename(self, req: Requester, device_id: str, body: dict) -> None:
        if self.store.get_device(req.user_id, device_id) is None:
            raise NotFound("Device not found")
        if "display_name" not in body:
            return  # the spec: not given, unchanged
        self.store.rename(req.user_id, device_id, check_device_name(body["display_name"]))

    async def delete_device(self, req: Requester, device_id: str, body: dict) -> None:
        if self.store.get_device(req.user_id, device_id) is None:
            raise NotFound("Device not found")
        await self._authorise(req, ("delete_device", device_id), body.get("auth"))
        self.accounts.forget_tokens(self.store.delete_devices(req.user_id, [device_id]))
        self._seen.pop((req.user_id, device_id), None)
        self._deleted(req.user_id, [device_id])

    async def delete_devices(self, req: Requester, body: dict) -> None:
        ids = body.get("devices")
        if not isinstance(ids, list) or not all(isinstance(d, str) for d in ids):
            raise BadJson("devices must be a list of device IDs")
        if len(ids) > MAX_DELETE:
            raise InvalidParam(f"at most {MAX_DELETE} devices at once")
        ids = sorted(set(ids))
        await self._authorise(req, ("delete_devices", tuple(ids)), body.get("auth"))
        self.accounts.forget_tokens(self.store.delete_devices(req.user_id, ids))
        for d in ids:
            self._seen.pop((req.user_id, d), None)
        self._deleted(req.user_id, ids)

    def remove_devices(self, user_id: str, device_ids: list[str]) -> None:
        """Without user-interactive auth: for the admin API (deactivation, password reset)."""
        self.accounts.forget_tokens(self.store.delete_devices(user_id, device_ids))
        for d in device_ids:
            self._seen.pop((user_id, d), None)
        self._deleted(user_id, device_ids)

    def _deleted(self, user_id: str, device_ids: list[str]) -> None:
        for listener in self.deletion_listeners:
            listener(user_id, device_ids)

    # user-interactive auth ----------------------------------------------------------------

    def _new_session(self, user_id: str, what: tuple) -> str:
        now = self.clock()
        if len(self._sessions) >= MAX_SESSIONS:
            self._sessions = {s: v for s, v in self._sessions.items() if v[2] > now}
            if len(self._sessions) >= MAX_SESSIONS:  # still full of live ones: oldest go
                for s in list(self._sessions)[:MAX_SESSIONS // 10]:
                    del self._sessions[s]
        session = secrets.token_urlsafe(18)
        self._sessions[session] = (user_id, what, now + SESSION_SECONDS)
        return session

    async def authorise(self, req: Requester, what: tuple, auth) -> None:
        """User-interactive auth for another request (cross-signing key upload)."""
        await self._authorise(req, what, auth)

    async def _authorise(self, req: Requester, what: tuple, auth) -> None:
        """Return when ``auth`` completes m.login.password for this user and request; raise
        the UIA 401 (with a session) otherwise."""
        if auth is None:
            raise AuthRequired(FLOWS, self._new_session(req.user_id, what))
        if not isinstance(auth, dict):
            raise BadJson("auth must be an object")
        session = auth.get("session")
        if session is None:  # allowed: a password-only client may skip the first round
            session = self._new_session(req.user_id, what)
        if not isinstance(session, str):
            raise BadJson("auth.session must be a string")
        entry = self._sessions.get(session)
        if entry is None or entry[2] <= self.clock():
            self._sessions.pop(session, None)
            raise MatrixError("Unknown or expired UIA session", "M_UNKNOWN", 400)
        if entry[0] != req.user_id or entry[1] != what:
            raise Forbidden("This session was started for another request")
        if auth.get("type") != "m.login.password":
            raise AuthRequired(FLOWS, session, error=("M_UNRECOGNIZED",
                                                      "Only m.login.password is supported"))
        password = auth.get("password")
        if not isinstance(password, str) or len(password) > 512:
            raise AuthRequired(FLOWS, session, error=("M_MISSING_PARAM",
                                                      "password is required"))
        if self._auth_user(auth) != req.user_id:
            raise AuthRequired(FLOWS, session, error=("M_FORBIDDEN",
                                                      "You may only authenticate as yourself"))
        self.password_limiter.check(req.user_id)
        if not await self.accounts.check_password(req.user_id, password):
            raise AuthRequired(FLOWS, session, error=("M_FORBIDDEN", "Invalid password"))
        self._sessions.pop(session, None)  # used: a session authorises one request

    def _auth_user(self, auth: dict) -> str | None:
        ident = auth.get("identifier")
        user = ident.get("user") if isinstance(ident, dict) and \
            ident.get("type") == "m.id.user" else auth.get("user")
        if not isinstance(user, str):
            return None
        try:
            return self.accounts.parse_login_user(user)
        except MatrixError:
            return None
