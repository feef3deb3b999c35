"""Puppet user IDs: our users appear on the Matrix side as ``@<prefix><escaped ID>:<server>``.

The escaping is the Matrix spec's "mapping from other character sets" (appendix, user
identifiers): lower-case letters, digits and ``.-/`` pass through, ``_`` becomes ``__``, an
upper-case letter becomes ``_`` plus its lower-case form, and every other byte ``=xx``. It is
reversible, so a puppet's ID names the user it stands for. Pure functions, no I/O.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

_PLAIN = set("abcdefghijklmnopqrstuvwxyz0123456789.-/")
USER_ID = re.compile(r"^@[^:\s]+:[A-Za-z0-9.\-\[\]:]+$")
# From room version 12 a room ID is a hash without a server part (``!<hash>``).
ROOM_ID = re.compile(r"^![^:\s]+(:[A-Za-z0-9.\-\[\]:]+)?$")
ROOM_ALIAS = re.compile(r"^#[^:\s]+:[A-Za-z0-9.\-\[\]:]+$")


def escape_localpart(text: str) -> str:
    out = []
    for ch in text:
        if ch in _PLAIN:
            out.append(ch)
        elif ch == "_":
            out.append("__")
        elif "A" <= ch <= "Z":
            out.append("_" + ch.lower())
        else:
            out.extend(f"={b:02x}" for b in ch.encode("utf-8"))
    return "".join(out)


def unescape_localpart(text: str) -> str | None:
    """The inverse of escape_localpart; None if ``text`` is not a valid escaping."""
    raw = bytearray()
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "_":
            nxt = text[i + 1:i + 2]
            if nxt == "_":
                raw += b"_"
            elif "a" <= nxt <= "z":
                raw += nxt.upper().encode()
            else:
                return None
            i += 2
        elif ch == "=":
            try:
                raw.append(int(text[i + 1:i + 3], 16))
            except ValueError:
                return None
            if len(text[i + 1:i + 3]) != 2:
                return None
            i += 3
        elif ch in _PLAIN:
            raw += ch.encode()
            i += 1
        else:
            return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


@dataclass(frozen=True)
class PuppetNamer:
    """Maps our users to puppet IDs on the Matrix homeserver ``server_name`` and back."""
    prefix: str
    server_name: str
    bot_localpart: str

    @property
    def bot_user_id(self) -> str:
        return f"@{self.bot_localpart}:{self.server_name}"

    def puppet_for(self, our_user_id: str) -> str:
        return f"@{self.prefix}{escape_localpart(our_user_id.lstrip('@'))}:{self.server_name}"

    def localpart_for(self, our_user_id: str) -> str:
        return self.puppet_for(our_user_id)[1:].rsplit(":" + self.server_name, 1)[0]

    def is_puppet(self, user_id: str) -> bool:
        return self.our_user_for(user_id) is not None

    def our_user_for(self, puppet_id: str) -> str | None:
        """The user a puppet stands for, or None if ``puppet_id`` is not one of ours."""
        suffix = ":" + self.server_name
        if not (puppet_id.startswith("@" + self.prefix) and puppet_id.endswith(suffix)):
            return None
        decoded = unescape_localpart(puppet_id[1 + len(self.prefix):-len(suffix)])
        if decoded is None or not USER_ID.match("@" + decoded):
            return None
        if self.puppet_for("@" + decoded) != puppet_id:
            return None  # not the canonical escaping: some other user, not one of ours
        return "@" + decoded

    def is_bridge_user(self, user_id: str) -> bool:
        """The bot or a puppet: events from these are our own echoes."""
        return user_id == self.bot_user_id or self.is_puppet(user_id)

    def namespace_regex(self) -> str:
        return "@" + re.escape(self.prefix) + ".*:" + re.escape(self.server_name)
