"""Accounts: registration, login, access tokens, profiles.

Passwords are hashed with scrypt (per-user salt) off the event loop; access tokens are 256-bit
random strings of which only the SHA-256 is stored, so a leaked database grants no sessions.
"""
from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import os
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from federation.pdus import server_of
from federation.servername import is_valid_server_name

from ..errors import (
    AuthRequired,
    BadJson,
    Forbidden,
    InvalidParam,
    InvalidUsername,
    MatrixError,
    MissingParam,
    NotFound,
    UnknownToken,
    UserInUse,
)
from ..storage.devices import DeviceStore
from ..storage.users import UserStore
from .media_rules import valid_media_id
from .registration_tokens import RegistrationTokens
from .remote import RemoteQueries

LOCALPART = re.compile(r"^[a-z0-9._=\-/+]+$")
def is_mxc_uri(value: str) -> bool:
    """``mxc://<server name>/<media id>``, both parts as the spec's grammars allow."""
    server, sep, media_id = value.removeprefix("mxc://").partition("/")
    return value.startswith("mxc://") and sep == "/" and is_valid_server_name(server) \
        and valid_media_id(media_id)


USER_ID = re.compile(r"^@[^:\s]+:[A-Za-z0-9.\-\[\]:]+$")
MAX_DEVICE_ID = 255
MAX_DEVICE_NAME = 100  # as Synapse


def check_device_id(device_id) -> str | None:
    """A client-chosen device ID: None, or a printable string of bounded length."""
    if device_id is None:
        return None
    if not isinstance(device_id, str) or len(device_id) > MAX_DEVICE_ID or \
            not device_id.isprintable():
        raise InvalidParam(f"device_id must be a printable string of at most {MAX_DEVICE_ID}"
                           " characters")
    return device_id or None


def check_device_name(name) -> str | None:
    if name is None:
        return None
    if not isinstance(name, str) or len(name) > MAX_DEVICE_NAME:
        raise InvalidParam(f"a device display name is a string of at most {MAX_DEVICE_NAME}"
                           " characters")
    return name


@dataclass(frozen=True)
class Requester:
    user_id: str
    device_id: str
    token_hash: bytes
    # A guest (register?kind=guest): the API lets it reach only the routes marked guest_ok.
    is_guest: bool = False


class PasswordHasher:
    def __init__(self, n: int = 2**14, r: int = 8, p: int = 1):
        self.n, self.r, self.p = n, r, p

    def _derive(self, password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
        return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(password.encode())

    async def hash(self, password: str) -> str:
        salt = os.urandom(16)
        dk = await asyncio.get_running_loop().run_in_executor(
            None, self._derive, password, salt, self.n, self.r, self.p)
        b64 = base64.b64encode
        return f"scrypt${self.n}${self.r}${self.p}${b64(salt).decode()}${b64(dk).decode()}"

    async def verify(self, password: str, stored: str | None) -> bool:
        if not stored:
            return False
        try:
            _, n, r, p, salt, dk = stored.split("$")
            expected = base64.b64decode(dk)
            got = await asyncio.get_running_loop().run_in_executor(
                None, self._derive, password, base64.b64decode(salt), int(n), int(r), int(p))
        except ValueError:
            return False
        return hmac.compare_digest(got, expected)


def hash_token(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


class AccountHandler:
    def __init__(self, server_name: str, users: UserStore, hasher: PasswordHasher,
                 registration_open: bool, shared_secret: str | None,
                 remote: RemoteQueries | None = None, *, devices: DeviceStore,
                 guests_enabled: bool = False, guest_token_lifetime_ms: int = 86_400_000):
        self.server_name = server_name
        self.users = users
        self.devices = devices
        self.hasher = hasher
        self.registration_open = registration_open
        self.shared_secret = shared_secret
        self.guests_enabled = guests_enabled
        self.guest_token_lifetime_ms = guest_token_lifetime_ms
        # hot cache (requester, valid until ms or None); the DB is the truth
        self._tokens: dict[bytes, tuple[Requester, int | None]] = {}
        # (token hashes, user ID or None): set when other processes share the server.
        self.tokens_revoked: Callable[[list[bytes], str | None], None] | None = None
        self._nonces: dict[str, float] = {}
        self.remote = remote  # profiles of other servers' users (None: local users only)
        # Told the user ID after a profile change (make_app: announce it in the user's rooms).
        self.profile_listeners: list[Callable[[str], None]] = []
        # (user_id, device IDs) after logout deleted devices: their keys go, others are told
        self.device_deletion_listeners: list[Callable[[str, list[str]], None]] = []
        # registration.requires_token: the m.login.registration_token stage (make_app sets it)
        self.tokens: RegistrationTokens | None = None

    # identifiers ---------------------------------------------------------------------------

    def user_id_for(self, localpart: str) -> str:
        localpart = localpart.lower() if localpart.isascii() else localpart
        if not localpart or not LOCALPART.match(localpart):
            raise InvalidUsername("User ID may only contain a-z, 0-9, and . _ = - / +")
        user_id = f"@{localpart}:{self.server_name}"
        if len(user_id) > 255:
            raise InvalidUsername("User ID is longer than 255 characters")
        return user_id

    def parse_login_user(self, user: str) -> str:
        if user.startswith("@"):
            if server_of(user) != self.server_name:
                raise Forbidden("Invalid username or password")
            return user
        return self.user_id_for(user)

    # registration --------------------------------------------------------------------------

    async def register_request(self, kind: str, body: dict) -> dict:
        """POST /register: the dummy-auth flow when registration is open; guests; a guest's
        upgrade to a full account (``guest_access_token``, the spec's way)."""
        if kind == "guest":
            return self.register_guest(body)
        if kind != "user":
            raise InvalidParam("kind must be 'user' or 'guest'")
        if not self.registration_open:
            raise Forbidden("Registration has been disabled")
        auth = body.get("auth")
        uia_session = None
        if self.tokens is not None:  # a token first, then the dummy stage (as Synapse)
            uia_session = self.tokens.check_stage(auth)
        elif not isinstance(auth, dict) or auth.get("type") != "m.login.dummy":
            # User-interactive auth: tell the client which flow completes registration.
            session = auth.get("session") if isinstance(auth, dict) else None
            raise AuthRequired([{"stages": ["m.login.dummy"]}],
                               session if isinstance(session, str) and session
                               else secrets.token_urlsafe(12))
        username = body.get("username")
        password = body.get("password")
        if username is not None and not isinstance(username, str):
            raise BadJson("username must be a string")
        if not isinstance(password, str) or not password:
            raise MissingParam("password is required")
        device_id = check_device_id(body.get("device_id"))
        device_name = check_device_name(body.get("initial_device_display_name"))
        inhibit = body.get("inhibit_login", False)
        if not isinstance(inhibit, bool):
            raise BadJson("inhibit_login must be a boolean")
        guest_token = body.get("guest_access_token")
        if guest_token is not None:
            if not isinstance(guest_token, str):
                raise BadJson("guest_access_token must be a string")
            return await self.upgrade_guest(guest_token, username, password, device_id,
                                            inhibit, device_name)
        if isinstance(username, str) and username.isdigit():
            raise InvalidUsername("Numeric user IDs are reserved for guest users")
        result = await self.register(username, password, device_id, inhibit,
                                     device_name=device_name)
        if self.tokens is not None and uia_session is not None:
            self.tokens.registered(uia_session)
        return result

    def register_guest(self, body: dict) -> dict:
        """register?kind=guest: a fresh guest with a numeric ID and a token that expires."""
        if not self.guests_enabled:
            raise Forbidden("Guest access is disabled", "M_GUEST_ACCESS_FORBIDDEN")
        device_name = check_device_name(body.get("initial_device_display_name"))
        user_id = self.users.create_guest("Guest", self.server_name)
        if user_id is None:
            raise MatrixError("Could not allocate a guest ID; try again", "M_UNKNOWN", 503)
        valid_until = int(time.time() * 1000) + self.guest_token_lifetime_ms
        result = {"user_id": user_id, "home_server": self.server_name}
        result.update(self.issue_token(user_id, None, device_name, valid_until, is_guest=True))
        return result

    async def upgrade_guest(self, guest_token: str, username: str | None, password: str,
                            device_id: str | None, inhibit_login: bool,
                            device_name: str | None) -> dict:
        """The spec's upgrade: the guest keeps its user ID (``username``, if given, must be the
        guest's own localpart), so it stays in its rooms. Its existing tokens stop expiring
        and now act for the full account; a new token is issued as for any registration."""
        try:
            guest = self.authenticate(guest_token)
        except UnknownToken:
            raise Forbidden("guest_access_token is not a valid guest's token") from None
        if not guest.is_guest:
            raise Forbidden("guest_access_token is not a guest's token")
        localpart = guest.user_id[1:].split(":", 1)[0]
        if username is not None and username.lower() != localpart:
            raise InvalidUsername(
                f"A guest keeps its user ID when it signs up: username must be {localpart!r}"
                " or absent")
        if len(password) > 512:
            raise InvalidParam("password must be a string of at most 512 characters")
        if not self.users.upgrade_guest(guest.user_id, await self.hasher.hash(password)):
            raise Forbidden("This guest has already been upgraded")
        self._forget_user(guest.user_id)
        result = {"user_id": guest.user_id, "home_server": self.server_name}
        if not inhibit_login:
            result.update(self.issue_token(guest.user_id, device_id, device_name))
        return result

    def is_guest(self, user_id: str) -> bool:
        return self.users.is_guest(user_id)

    def _forget_user(self, user_id: str) -> None:
        """Drop a user's cached tokens (their guest flag or expiry changed)."""
        self.forget_user_tokens(user_id)
        if self.tokens_revoked is not None:
            self.tokens_revoked([], user_id)

    def forget_all_tokens(self) -> None:
        """Revocations from other processes may have been lost: look every token up again."""
        self._tokens.clear()

    def forget_cached_tokens(self, token_hashes: list[bytes]) -> None:
        for th in token_hashes:
            self._tokens.pop(th, None)

    def forget_user_tokens(self, user_id: str) -> None:
        for th in [th for th, (r, _) in self._tokens.items() if r.user_id == user_id]:
            del self._tokens[th]

    async def register(self, username: str | None, password: str | None,
                       device_id: str | None = None, inhibit_login: bool = False,
                       admin: bool = False, displayname: str | None = None,
                       device_name: str | None = None) -> dict:
        if password is not None and (not isinstance(password, str) or len(password) > 512):
            raise InvalidParam("password must be a string of at most 512 characters")
        if username is None:
            username = "user" + secrets.token_hex(6)
        if not isinstance(username, str):
            raise InvalidParam("username must be a string")
        user_id = self.user_id_for(username)
        pw_hash = await self.hasher.hash(password) if password else None
        localpart = user_id[1:].split(":", 1)[0]
        if not self.users.create_user(user_id, pw_hash, displayname or localpart, admin):
            raise UserInUse("User ID already taken.")
        result = {"user_id": user_id, "home_server": self.server_name}
        if not inhibit_login:
            result.update(self.issue_token(user_id, device_id, device_name))
        return result

    def check_username_available(self, username: str) -> None:
        if self.users.user_exists(self.user_id_for(username)):
            raise UserInUse("User ID already taken.")

    def new_nonce(self) -> str:
        """A nonce any process of this server accepts for 60 s: its expiry and a MAC over it
        keyed by the shared secret, so the GET and the POST may reach different processes."""
        expires = int(time.time()) + 60
        body = f"{expires:x}.{secrets.token_hex(12)}"
        return f"{body}.{self._nonce_mac(body)}"

    def _nonce_mac(self, body: str) -> str:
        key = hashlib.sha256(b"nonce\x00" + (self.shared_secret or "").encode()).digest()
        return hmac.new(key, body.encode(), hashlib.sha256).hexdigest()[:32]

    def _take_nonce(self, nonce: str) -> bool:
        """Valid, unexpired and not used before here. (Another process may see it once more:
        the MAC also covers the user name and password, so that only repeats the same
        registration, which then finds the user taken.)"""
        parts = nonce.split(".")
        if len(parts) != 3 or len(nonce) > 100 or \
                not hmac.compare_digest(self._nonce_mac(f"{parts[0]}.{parts[1]}"), parts[2]):
            return False
        try:
            expires = int(parts[0], 16)
        except ValueError:
            return False
        now = time.time()
        self._nonces = {n: t for n, t in self._nonces.items() if t > now}
        if expires <= now or nonce in self._nonces:
            return False
        self._nonces[nonce] = expires
        return True

    async def admin_register(self, body: dict) -> dict:
        """Synapse's shared-secret registration: HMAC-SHA1 over nonce, user, password, admin."""
        if not self.shared_secret:
            raise MatrixError("Shared secret registration is not enabled", "M_UNKNOWN", 400)
        for key in ("nonce", "username", "password", "mac"):
            if not isinstance(body.get(key), str):
                raise MissingParam(f"{key} is required and must be a string")
        if not self._take_nonce(body["nonce"]):
            raise MatrixError("unrecognised nonce", "M_UNKNOWN", 400)
        admin = bool(body.get("admin"))
        mac = hmac.new(self.shared_secret.encode(), digestmod=hashlib.sha1)
        parts = [body["nonce"], body["username"], body["password"],
                 "admin" if admin else "notadmin"]
        if body.get("user_type"):
            parts.append(str(body["user_type"]))
        mac.update("\x00".join(parts).encode())
        if not hmac.compare_digest(mac.hexdigest(), body["mac"]):
            raise Forbidden("HMAC incorrect")
        return await self.register(body["username"], body["password"], admin=admin,
                                   displayname=body.get("displayname"))

    # login / tokens ------------------------------------------------------------------------

    def issue_token(self, user_id: str, device_id: str | None = None,
                    device_name: str | None = None, valid_until_ms: int | None = None,
                    is_guest: bool = False) -> dict:
        """A new access token on the device (created if new; a known device's previous
        tokens are revoked, as the spec says for a login naming an existing device)."""
        token = "syt_" + secrets.token_urlsafe(32)  # 256 bits of randomness
        device_id = device_id if isinstance(device_id, str) and device_id else \
            secrets.token_hex(5).upper()
        th = hash_token(token)
        self.forget_tokens(self.devices.keep_device(user_id, device_id, device_name))
        self.users.add_access_token(th, user_id, device_id, valid_until_ms)
        self._tokens[th] = (Requester(user_id, device_id, th, is_guest), valid_until_ms)
        return {"access_token": token, "device_id": device_id}

    async def login(self, body: dict) -> dict:
        if body.get("type") != "m.login.password":
            raise MatrixError("Unknown login type", "M_UNKNOWN", 400)
        ident = body.get("identifier")
        if isinstance(ident, dict):
            if ident.get("type") != "m.id.user":
                raise MatrixError("Only m.id.user identifiers are supported", "M_UNKNOWN", 400)
            user = ident.get("user")
        else:
            user = body.get("user")
        password = body.get("password")
        if not isinstance(user, str) or not isinstance(password, str):
            raise MissingParam("user and password are required strings")
        device_id = check_device_id(body.get("device_id"))
        device_name = check_device_name(body.get("initial_device_display_name"))
        try:
            user_id = self.parse_login_user(user)
        except InvalidUsername:
            raise Forbidden("Invalid username or password") from None
        # A deactivated account has no password left: refused like a wrong one (as Synapse).
        if not await self.check_password(user_id, password):
            raise Forbidden("Invalid username or password")
        result = {"user_id": user_id, "home_server": self.server_name}
        result.update(self.issue_token(user_id, device_id, device_name))
        return result

    async def check_password(self, user_id: str, password: str) -> bool:
        row = self.users.get_user(user_id)
        # Hash even for unknown users so timing does not reveal which accounts exist.
        ok = await self.hasher.verify(password, row["password_hash"] if row else
                                      "scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAA")
        return bool(row) and ok

    def forget_tokens(self, token_hashes: list[bytes]) -> None:
        """Revoked tokens leave the cache, so they stop working at once (in every process
        of the server: ``tokens_revoked`` tells the others)."""
        token_hashes = list(token_hashes)
        for th in token_hashes:
            self._tokens.pop(th, None)
        if self.tokens_revoked is not None and token_hashes:
            self.tokens_revoked(token_hashes, None)

    def authenticate(self, token: str) -> Requester:
        th = hash_token(token)
        cached = self._tokens.get(th)
        if cached is None:
            row = self.users.get_token(th)
            if row is None or not hmac.compare_digest(row[0], th):
                raise UnknownToken("Unknown access token", soft_logout=False)
            cached = (Requester(row[1], row[2], th, bool(row[4])), row[3])
            if len(self._tokens) > 100_000:
                self._tokens.clear()
            self._tokens[th] = cached
        req, valid_until = cached
        if valid_until is not None and time.time() * 1000 >= valid_until:
            raise UnknownToken("Access token has expired", soft_logout=False)
        return req

    def logout(self, req: Requester) -> None:
        """The token and its device go (the spec: logout deletes the device)."""
        self.users.delete_token(req.token_hash)
        self.forget_tokens([req.token_hash])
        self.forget_tokens(self.devices.delete_devices(req.user_id, [req.device_id]))
        self._devices_deleted(req.user_id, [req.device_id])

    def logout_all(self, req: Requester) -> None:
        device_ids = [d["device_id"] for d in self.devices.list_devices(req.user_id)]
        self.forget_tokens(self.users.delete_all_tokens(req.user_id))
        self.devices.delete_all_devices(req.user_id)
        self._devices_deleted(req.user_id, device_ids)

    def _devices_deleted(self, user_id: str, device_ids: list[str]) -> None:
        for listener in self.device_deletion_listeners if device_ids else []:
            listener(user_id, device_ids)

    # profiles ------------------------------------------------------------------------------

    def get_profile(self, user_id: str) -> dict:
        row = self.users.get_user(user_id)
        if row is None:
            raise NotFound("Profile was not found")
        out = {}
        if row["displayname"] is not None:
            out["displayname"] = row["displayname"]
        if row["avatar_url"] is not None:
            out["avatar_url"] = row["avatar_url"]
        return out

    def set_profile_field(self, req: Requester, user_id: str, field: str, value) -> None:
        if req.user_id != user_id:
            raise Forbidden("You cannot change another user's profile")
        if value is not None and (not isinstance(value, str) or len(value) > 256):
            raise InvalidParam(f"{field} must be a string of at most 256 characters")
        if field == "avatar_url" and value and not is_mxc_uri(value):
            raise InvalidParam("avatar_url must be an mxc://<server>/<media id> URI")
        self.users.set_profile_field(user_id, field, value)
        for listener in self.profile_listeners:
            listener(user_id)

    def profile_for_federation(self, user_id: str, field: str | None) -> dict:
        """GET /_matrix/federation/v1/query/profile: our users only; one field if asked."""
        if server_of(user_id) != self.server_name:
            raise NotFound("That user is not on this server")
        profile = self.get_profile(user_id)
        if field:
            if field not in ("displayname", "avatar_url"):
                raise BadJson("field must be displayname or avatar_url")
            profile = {k: v for k, v in profile.items() if k == field}
        return profile

    async def get_any_profile(self, user_id: str) -> dict:
        """A profile of ours, or asked of the user's server."""
        if self.remote is not None and server_of(user_id) != self.server_name:
            return await self.remote.query_remote_profile(user_id)
        return self.get_profile(user_id)
