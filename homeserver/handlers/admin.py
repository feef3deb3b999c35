"""The admin API's rules for accounts (Synapse's ``/_synapse/admin`` users, deactivate,
reset_password, whois) and event reports. Admins are users whose ``is_admin`` flag is set
(shared-secret registration with admin=true, or another admin); everyone else is refused.

The servlets (homeserver/api/admin.py) parse and render; what may be done is decided here.
"""
from __future__ import annotations

import logging

from federation.pdus import server_of

from ..errors import BadJson, Forbidden, GuestForbidden, InvalidParam, MatrixError, NotFound
from ..storage.admin import AdminStore
from .accounts import USER_ID, AccountHandler, Requester, is_mxc_uri
from .devices import DeviceHandler
from .membership import MembershipHandler

log = logging.getLogger(__name__)
MAX_PASSWORD = 512


def _bool(body: dict, key: str, default: bool) -> bool:
    v = body.get(key, default)
    if not isinstance(v, bool):
        raise BadJson(f"Param '{key}' must be a boolean, if given")
    return v


def _password(body: dict, key: str) -> str | None:
    pw = body.get(key)
    if pw is not None and (not isinstance(pw, str) or not pw or len(pw) > MAX_PASSWORD):
        raise InvalidParam(f"{key} must be a non-empty string of at most {MAX_PASSWORD}"
                           " characters")
    return pw


class AdminHandler:
    def __init__(self, server_name: str, store: AdminStore, accounts: AccountHandler,
                 devices: DeviceHandler, membership: MembershipHandler):
        self.server_name = server_name
        self.store = store
        self.accounts = accounts
        self.device_handler = devices  # deletions tell the device lists (e2e keys) too
        self.membership = membership

    def require_admin(self, req: Requester) -> None:
        if req.is_guest or not self.store.is_admin(req.user_id):
            raise Forbidden("You are not a server admin")

    def local_user(self, user_id: str, what: str = "Can only look up local users") -> str:
        if not USER_ID.match(user_id) or len(user_id) > 255:
            raise InvalidParam(f"{user_id!r} is not a valid user ID")
        if server_of(user_id) != self.server_name:
            raise MatrixError(what, "M_UNKNOWN", 400)
        return user_id

    # users ---------------------------------------------------------------------------------

    def list_users(self, start: int, limit: int, name: str | None, user_id: str | None,
                   guests: bool, deactivated: bool, admins: bool | None, order_by: str,
                   backwards: bool) -> dict:
        users, total = self.store.list_users(start, limit, user_id or name, guests, deactivated,
                                             admins, order_by, backwards)
        for u in users:
            u.pop("approved", None)  # as Synapse without MSC3866
        out: dict = {"users": users, "total": total}
        if start + limit < total:
            out["next_token"] = str(start + len(users))
        return out

    def get_user(self, user_id: str) -> dict:
        self.local_user(user_id)
        user = self.store.get_user(user_id)
        if user is None:
            raise NotFound("User not found")
        user.pop("approved", None)
        if user["creation_ts"] is not None:  # seconds here, milliseconds in the list: as Synapse
            user["creation_ts"] //= 1000
        user.update({"threepids": [], "external_ids": [], "appservice_id": None,
                     "consent_server_notice_sent": None, "consent_version": None,
                     "consent_ts": None, "suspended": False})
        return user

    async def put_user(self, req: Requester, user_id: str, body: dict) -> tuple[int, dict]:
        """Create (201) or modify (200) a local account, as Synapse's PUT v2/users."""
        self.local_user(user_id, "This endpoint can only be used with local users")
        admin = _bool(body, "admin", False)
        deactivate = _bool(body, "deactivated", False)
        logout_devices = _bool(body, "logout_devices", True)
        password = _password(body, "password")
        for key in ("displayname", "avatar_url"):
            v = body.get(key)
            if v is not None and (not isinstance(v, str) or len(v) > 256):
                raise InvalidParam(f"{key} must be a string of at most 256 characters")
        avatar = body.get("avatar_url")
        if avatar and not is_mxc_uri(avatar):
            raise InvalidParam("avatar_url must be an mxc://<server>/<media id> URI")
        user = self.store.get_user(user_id)
        if user is None:
            localpart = user_id[1:].split(":", 1)[0]
            if localpart.isdigit():
                raise MatrixError("Numeric user IDs are reserved for guests", "M_INVALID_USERNAME")
            await self.accounts.register(localpart, password, inhibit_login=True, admin=admin,
                                         displayname=body.get("displayname"))
            if avatar:
                self._set_profile(user_id, "avatar_url", avatar)
            if deactivate:
                await self.deactivate(user_id, erase=False)
            return 201, self.get_user(user_id)
        if "displayname" in body:
            self._set_profile(user_id, "displayname", body.get("displayname"))
        if "avatar_url" in body:
            self._set_profile(user_id, "avatar_url", avatar)
        if "admin" in body and admin != user["admin"]:
            if user_id == req.user_id and not admin:
                raise MatrixError("You may not demote yourself.", "M_UNKNOWN", 400)
            self.store.set_admin(user_id, admin)
        if "deactivated" in body and not deactivate and user["deactivated"]:
            if password is None:
                raise MatrixError("Must provide a password to re-activate an account.",
                                  "M_UNKNOWN", 400)
            self.store.set_deactivated(user_id, False)
        if password is not None:
            await self.set_password(req, user_id, password, logout_devices)
        if deactivate and not user["deactivated"]:
            await self.deactivate(user_id, erase=False)
        return 200, self.get_user(user_id)

    def _set_profile(self, user_id: str, field: str, value: str | None) -> None:
        self.accounts.users.set_profile_field(user_id, field, value)
        for listener in self.accounts.profile_listeners:  # the member events follow
            listener(user_id)

    async def set_password(self, req: Requester, user_id: str, password: str,
                           logout_devices: bool) -> None:
        self.store.set_password_hash(user_id, await self.accounts.hasher.hash(password))
        if logout_devices:
            self._log_out(user_id, keep_device=req.device_id if req.user_id == user_id else None)

    def _log_out(self, user_id: str, keep_device: str | None = None) -> None:
        devices = [d["device_id"] for d in self.accounts.devices.list_devices(user_id)
                   if d["device_id"] != keep_device]
        self.device_handler.remove_devices(user_id, devices)
        if keep_device is None:  # tokens of devices unknown to the device list too
            self.accounts.forget_tokens(self.accounts.users.delete_all_tokens(user_id))

    async def reset_password(self, req: Requester, user_id: str, body: dict) -> None:
        self.local_user(user_id)
        password = _password(body, "new_password")
        if password is None:
            raise MatrixError("new_password is required", "M_MISSING_PARAM", 400)
        if self.store.get_user(user_id) is None:
            raise NotFound("User not found")
        await self.set_password(req, user_id, password, _bool(body, "logout_devices", True))

    async def deactivate(self, user_id: str, erase: bool) -> None:
        """Tokens and devices go at once (every session ends), the password goes (login is
        refused), the account leaves every room and declines its invites; with ``erase`` its
        profile is emptied too."""
        self.local_user(user_id, "Can only deactivate local users")
        if self.store.get_user(user_id) is None:
            raise NotFound("User not found")
        self.store.set_deactivated(user_id, True, erase)
        self._log_out(user_id)
        if erase:
            for field in ("displayname", "avatar_url"):
                self.accounts.users.set_profile_field(user_id, field, None)
        me = Requester(user_id, "admin", b"")
        for room_id, membership, _ in self.membership.rooms.store.rooms_for_user(user_id):
            if membership not in ("join", "invite", "knock"):
                continue
            try:
                await self.membership.leave(me, room_id)
            except MatrixError as e:
                log.info("deactivating %s: could not leave %s: %s", user_id, room_id, e)

    async def deactivate_own(self, req: Requester, body: dict) -> None:
        """POST /account/deactivate: the account's owner, after user-interactive auth with
        its password, deactivates it the way an admin would (``erase`` honoured)."""
        if req.is_guest:
            raise GuestForbidden("Guest accounts cannot be deactivated")
        erase = _bool(body, "erase", False)
        id_server = body.get("id_server")
        if id_server is not None and not isinstance(id_server, str):
            raise BadJson("id_server must be a string")
        await self.device_handler.authorise(req, ("deactivate",), body.get("auth"))
        await self.deactivate(req.user_id, erase)

    def whois(self, req: Requester, user_id: str) -> dict:
        self.local_user(user_id, "Can only whois a local user")
        if req.user_id != user_id:
            self.require_admin(req)
        connections = [{"ip": ip, "last_seen": ts, "user_agent": None}
                       for _, ip, ts in self.store.whois(user_id) if ip or ts]
        return {"user_id": user_id, "devices": {"": {"sessions": [
            {"connections": connections}]}}}

    # what an account has (the pages of an admin UI's user view) ---------------------------

    def _existing(self, user_id: str) -> str:
        self.local_user(user_id)
        if self.store.get_user(user_id) is None:
            raise NotFound("User not found")
        return user_id

    def joined_rooms(self, user_id: str) -> dict:
        self._existing(user_id)
        rooms = sorted(r for r, m, _ in self.membership.rooms.store.rooms_for_user(user_id)
                       if m == "join")
        return {"joined_rooms": rooms, "total": len(rooms)}

    def list_devices(self, user_id: str) -> dict:
        self._existing(user_id)
        devices = [{**d, "user_id": user_id, "last_seen_user_agent": None}
                   for d in self.accounts.devices.list_devices(user_id)]
        return {"devices": devices, "total": len(devices)}

    def delete_device(self, user_id: str, device_id: str) -> None:
        self._existing(user_id)
        if self.accounts.devices.get_device(user_id, device_id) is not None:
            self.device_handler.remove_devices(user_id, [device_id])

    def pushers(self, user_id: str) -> dict:
        self._existing(user_id)
        pushers = self.store.pushers(user_id)
        return {"pushers": pushers, "total": len(pushers)}

    def media(self, user_id: str, start: int, limit: int, backwards: bool) -> dict:
        self._existing(user_id)
        media, total = self.store.user_media(user_id, self.server_name, start, limit,
                                             backwards)
        out: dict = {"media": media, "total": total}
        if start + limit < total:
            out["next_token"] = start + len(media)
        return out

    def media_statistics(self, start: int, limit: int, order_by: str, backwards: bool,
                         search: str | None) -> dict:
        users, total = self.store.media_statistics(self.server_name, start, limit, order_by,
                                                   backwards, search)
        out: dict = {"users": users, "total": total}
        if start + limit < total:
            out["next_token"] = start + len(users)
        return out

    # event reports -------------------------------------------------------------------------

    def _report(self, row: tuple, with_event: bool) -> dict:
        rid, ts, room_id, event_id, user_id, reason, score = row
        rooms = self.membership.rooms
        view = rooms.state_view(room_id)
        name = (view.get(("m.room.name", "")) or {}).get("content", {}).get("name")
        alias = (view.get(("m.room.canonical_alias", "")) or {}).get("content", {}).get("alias")
        event = rooms.store.get_event(event_id) if event_id else None
        out = {"id": rid, "received_ts": ts, "room_id": room_id,
               "name": name if isinstance(name, str) else None, "event_id": event_id,
               "user_id": user_id, "reason": reason, "score": score,
               "sender": event["sender"] if event else None,
               "canonical_alias": alias if isinstance(alias, str) else None}
        if with_event:
            out["event_json"] = {k: v for k, v in (event or {}).items()
                                 if not k.startswith("_")}
        return out

    def list_reports(self, start: int, limit: int, backwards: bool, room_id: str | None,
                     user_id: str | None) -> dict:
        rows, total = self.store.list_reports(start, limit, backwards, room_id, user_id)
        out: dict = {"event_reports": [self._report(r, False) for r in rows], "total": total}
        if start + limit < total:
            out["next_token"] = start + len(rows)
        return out

    def get_report(self, report_id: int) -> dict:
        row = self.store.report(report_id)
        if row is None:
            raise NotFound("Event report not found")
        return self._report(row, True)

    def delete_report(self, report_id: int) -> None:
        if not self.store.delete_report(report_id):
            raise NotFound("Event report not found")
