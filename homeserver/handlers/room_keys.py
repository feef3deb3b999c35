"""Server-side room key backups (``/room_keys/version`` and ``/room_keys/keys``), as the
client-server spec's "Server-side key backups" says.

A user has backup versions, numbered 1, 2, ... and never numbered twice; the highest one not
deleted is current. Keys are uploaded to the current version only (any other is 403
``M_WRONG_ROOM_KEYS_VERSION`` with ``current_version``); any live version can be read and have
keys deleted. Where a session's key is stored already, an upload replaces it only if better:
verified beats unverified, then the lower ``first_message_index``, then the lower
``forwarded_count`` (an equal one keeps the stored key). ``etag`` moves on whenever the keys
change; ``count`` is how many the version holds.

The server cannot read a key (``session_data`` is encrypted to the backup's public key in
``auth_data``); it checks shapes and bounds only:
- ``algorithm`` a string of 1 to ``MAX_ID`` characters; ``auth_data`` an object of at most
  ``MAX_AUTH_DATA_BYTES``;
- room IDs (``!``...) and session IDs 1 to ``MAX_ID`` characters; ``first_message_index`` and
  ``forwarded_count`` integers in [0, 2^53); ``is_verified`` a boolean; ``session_data`` an object
  of at most ``MAX_SESSION_BYTES``;
- at most ``MAX_KEYS`` keys per user over all versions (an upload that would pass it stores
  nothing: 413 ``M_TOO_LARGE``); at most ``KEEP_VERSIONS`` live versions (creating one more
  deletes the oldest with its keys: only the current version takes uploads, so old ones are
  only read by a client restoring from them); a request body at most ``limits.max_request_bytes``
  (the servlet's limit).
"""
from __future__ import annotations

import json

from ..errors import BadJson, InvalidParam, MatrixError, MissingParam, NotFound, TooLarge
from ..storage.room_keys import RoomKeyStore, SessionKey
from .accounts import Requester

MAX_ID = 255
MAX_AUTH_DATA_BYTES = 16384
MAX_SESSION_BYTES = 16384
MAX_KEYS = 100_000
KEEP_VERSIONS = 10
MAX_INT = 2 ** 53


class WrongVersion(MatrixError):
    status, errcode = 403, "M_WRONG_ROOM_KEYS_VERSION"


def _size(value) -> int:
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())


def _short_str(value) -> bool:
    return isinstance(value, str) and 0 < len(value) <= MAX_ID


def parse_version(raw: str | None, required: bool = True) -> int | None:
    """A version as given in a path or ``?version=``: decimal digits; anything else is 0,
    which no version is (they start at 1), so it is unknown, and never the current one."""
    if raw is None:
        if required:
            raise MissingParam("version is required")
        return None
    if not raw.isascii() or not raw.isdigit() or len(raw) > 15:
        return 0
    return int(raw)


def check_room_id(room_id) -> str:
    if not _short_str(room_id) or not room_id.startswith("!"):
        raise InvalidParam(f"not a room ID: {str(room_id)[:MAX_ID]!r}")
    return room_id


def check_session_id(session_id) -> str:
    if not _short_str(session_id):
        raise InvalidParam(f"session IDs are 1 to {MAX_ID} characters")
    return session_id


def _count(value, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < MAX_INT:
        raise BadJson(f"{name} must be a non-negative integer")
    return value


def parse_key(data) -> SessionKey:
    """A KeyBackupData object."""
    if not isinstance(data, dict):
        raise BadJson("a session's key must be an object")
    verified = data.get("is_verified")
    if not isinstance(verified, bool):
        raise BadJson("is_verified must be a boolean")
    session_data = data.get("session_data")
    if not isinstance(session_data, dict):
        raise BadJson("session_data must be an object")
    if _size(session_data) > MAX_SESSION_BYTES:
        raise TooLarge(f"session_data is at most {MAX_SESSION_BYTES} bytes")
    return SessionKey(_count(data.get("first_message_index"), "first_message_index"),
                      _count(data.get("forwarded_count"), "forwarded_count"), verified,
                      session_data)


def parse_sessions(body, room_id: str) -> list[tuple[str, str, SessionKey]]:
    """A room's ``{"sessions": {session_id: KeyBackupData}}``."""
    if not isinstance(body, dict) or not isinstance(body.get("sessions"), dict):
        raise BadJson("a room's keys are {\"sessions\": {session ID: key}}")
    return [(room_id, check_session_id(s), parse_key(k)) for s, k in body["sessions"].items()]


def better(new: SessionKey, old: SessionKey) -> bool:
    """The spec's order: verified first, then the lower first message index, then the fewer
    forwards. A tie keeps what is stored."""
    return (not new.is_verified, new.first_message_index, new.forwarded_count) < \
        (not old.is_verified, old.first_message_index, old.forwarded_count)


def _algorithm_and_auth_data(body: dict) -> tuple[str, dict]:
    algorithm, auth_data = body.get("algorithm"), body.get("auth_data")
    if algorithm is None or auth_data is None:
        raise MissingParam("algorithm and auth_data are required")
    if not _short_str(algorithm):
        raise BadJson(f"algorithm must be a string of 1 to {MAX_ID} characters")
    if not isinstance(auth_data, dict):
        raise BadJson("auth_data must be an object")
    if _size(auth_data) > MAX_AUTH_DATA_BYTES:
        raise TooLarge(f"auth_data is at most {MAX_AUTH_DATA_BYTES} bytes")
    return algorithm, auth_data


class RoomKeysHandler:
    def __init__(self, store: RoomKeyStore, max_keys: int = MAX_KEYS,
                 keep_versions: int = KEEP_VERSIONS):
        self.store = store
        self.max_keys = max_keys
        self.keep_versions = keep_versions

    # versions ------------------------------------------------------------------------------

    def create_version(self, req: Requester, body: dict) -> dict:
        algorithm, auth_data = _algorithm_and_auth_data(body)
        version, _ = self.store.create_version(req.user_id, algorithm, auth_data,
                                               self.keep_versions)
        return {"version": str(version)}

    def get_version(self, req: Requester, version: int | None) -> dict:
        info = self.store.version_info(req.user_id, version)
        if info is None:
            raise NotFound("No current backup version" if version is None else
                           "Unknown backup version")
        return {"algorithm": info["algorithm"], "auth_data": info["auth_data"],
                "count": info["count"], "etag": str(info["etag"]),
                "version": str(info["version"])}

    def update_version(self, req: Requester, version: int, body: dict) -> dict:
        info = self.store.version_info(req.user_id, version)
        if info is None:
            raise NotFound("Unknown backup version")
        algorithm, auth_data = _algorithm_and_auth_data(body)
        if "version" in body and body["version"] != str(version):
            raise InvalidParam("the body's version differs from the path's")
        if algorithm != info["algorithm"]:
            raise InvalidParam("a backup's algorithm cannot change; create a new version")
        self.store.update_auth_data(req.user_id, version, auth_data)
        return {}

    def delete_version(self, req: Requester, version: int) -> dict:
        if not self.store.delete_version(req.user_id, version):
            raise NotFound("Unknown backup version")
        return {}

    # keys ----------------------------------------------------------------------------------

    def _live(self, req: Requester, version: int | None) -> int:
        assert version is not None
        if self.store.version_info(req.user_id, version) is None:
            raise NotFound("Unknown backup version")
        return version

    def put_keys(self, req: Requester, version: int | None, room_id: str | None,
                 session_id: str | None, body: dict) -> dict:
        """Upload to the current version: all rooms' keys, a room's, or one session's."""
        current = self.store.version_info(req.user_id)
        if current is None:
            raise NotFound("No current backup version")
        if version is None or version != current["version"]:
            raise WrongVersion("That is not the current backup version",
                               current_version=str(current["version"]))
        if room_id is not None and session_id is not None:
            keys = [(check_room_id(room_id), check_session_id(session_id), parse_key(body))]
        elif room_id is not None:
            keys = parse_sessions(body, check_room_id(room_id))
        else:
            rooms = body.get("rooms")
            if not isinstance(rooms, dict):
                raise BadJson("rooms must be an object of room IDs")
            keys = []
            for r, sessions in rooms.items():
                keys += parse_sessions(sessions, check_room_id(r))
        if len(keys) > self.max_keys:
            raise TooLarge(f"a user's backups hold at most {self.max_keys} keys")
        done = self.store.put_keys(req.user_id, version, keys, better, self.max_keys)
        if done is None:
            raise TooLarge(f"a user's backups hold at most {self.max_keys} keys")
        _, count, etag = done
        return {"count": count, "etag": str(etag)}

    def get_keys(self, req: Requester, version: int | None, room_id: str | None,
                 session_id: str | None) -> dict:
        version = self._live(req, version)
        keys = self.store.get_keys(req.user_id, version, room_id, session_id)
        if room_id is not None and session_id is not None:
            key = keys.get(room_id, {}).get(session_id)
            if key is None:
                raise NotFound("No key backed up for that session")
            return key.render()
        if room_id is not None:
            return {"sessions": {s: k.render() for s, k in keys.get(room_id, {}).items()}}
        return {"rooms": {r: {"sessions": {s: k.render() for s, k in sessions.items()}}
                          for r, sessions in keys.items()}}

    def delete_keys(self, req: Requester, version: int | None, room_id: str | None,
                    session_id: str | None) -> dict:
        version = self._live(req, version)
        count, etag = self.store.delete_keys(req.user_id, version, room_id, session_id)
        return {"count": count, "etag": str(etag)}
