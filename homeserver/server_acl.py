"""Server ACLs (``m.room.server_acl``), the rules alone: pure functions, no I/O.

As Matrix says: a server name (its port dropped) is denied if it is an IP literal and
``allow_ip_literals`` is false, or if it matches any ``deny`` glob; otherwise it is allowed only
if it matches an ``allow`` glob (no ``allow`` list: nobody). Globs: ``*`` is any run of
characters (none too), ``?`` exactly one; compared without regard to case, as DNS names are.

The content comes from room members and from other servers: ``check_acl_content`` bounds it
(list types, entry count and length), and matching is a plain two-pointer glob walk (no regular
expressions, so no pathological backtracking), memoised per (ACL, server).
"""
from __future__ import annotations

import ipaddress
from functools import lru_cache

ACL_TYPE = "m.room.server_acl"
MAX_ENTRIES = 512  # per list; ACLs in the wild hold a few dozen
MAX_ENTRY_CHARS = 255  # a DNS name's limit, wildcards included


class AclContentError(ValueError):
    """The content of an m.room.server_acl event is not one we accept."""


def check_acl_content(content: object, host: str) -> None:
    """Raise AclContentError unless ``content`` is a well-formed, bounded ACL that still
    allows ``host`` (the room's host orders the room: an ACL denying it would leave nobody
    to apply the room's events, so such an ACL is refused rather than obeyed)."""
    if not isinstance(content, dict):
        raise AclContentError("server ACL content must be an object")
    for key in ("allow", "deny"):
        value = content.get(key, [])
        if not isinstance(value, list):
            raise AclContentError(f"server ACL '{key}' must be a list of strings")
        if len(value) > MAX_ENTRIES:
            raise AclContentError(f"server ACL '{key}' has {len(value)} entries;"
                                  f" at most {MAX_ENTRIES}")
        for entry in value:
            if not isinstance(entry, str) or not entry or len(entry) > MAX_ENTRY_CHARS:
                raise AclContentError(f"server ACL '{key}' entries must be non-empty strings"
                                      f" of at most {MAX_ENTRY_CHARS} characters")
    if not isinstance(content.get("allow_ip_literals", True), bool):
        raise AclContentError("server ACL 'allow_ip_literals' must be a boolean")
    if not server_allowed(content, host):
        raise AclContentError(f"this server ACL would deny the room's host {host}")


def host_part(server_name: str) -> str:
    """The server name without its port: ``example.org:8448`` -> ``example.org``,
    ``[::1]:8448`` -> ``[::1]``."""
    if server_name.startswith("["):
        end = server_name.find("]")
        return server_name[:end + 1] if end > 0 else server_name
    return server_name.rsplit(":", 1)[0] if ":" in server_name else server_name


def is_ip_literal(host: str) -> bool:
    text = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def glob_match(pattern: str, name: str) -> bool:
    """``*`` any run, ``?`` one character; O(len(pattern) * len(name)) at worst."""
    p = n = 0
    star, mark = -1, 0
    while n < len(name):
        if p < len(pattern) and (pattern[p] == "?" or pattern[p] == name[n]):
            p += 1
            n += 1
        elif p < len(pattern) and pattern[p] == "*":
            star, mark = p, n
            p += 1
        elif star >= 0:  # let the last * take one more character
            p = star + 1
            mark += 1
            n = mark
        else:
            return False
    while p < len(pattern) and pattern[p] == "*":
        p += 1
    return p == len(pattern)


def _strings(value: object) -> tuple[str, ...]:
    """A list's string entries, lower-cased (an event stored before checks existed may hold
    other things: they match nothing, as the spec's implementations treat them)."""
    if not isinstance(value, list):
        return ()
    return tuple(v.lower() for v in value[:MAX_ENTRIES] if isinstance(v, str))


def server_allowed(content: object, server_name: str) -> bool:
    if not isinstance(content, dict):
        return True
    ip_ok = content.get("allow_ip_literals", True)
    return _allowed(_strings(content.get("allow")), _strings(content.get("deny")),
                    ip_ok is not False, server_name.lower())


@lru_cache(maxsize=4096)
def _allowed(allow: tuple[str, ...], deny: tuple[str, ...], ip_literals: bool,
             server_name: str) -> bool:
    host = host_part(server_name)
    if not ip_literals and is_ip_literal(host):
        return False
    if any(glob_match(d, host) for d in deny):
        return False
    return any(glob_match(a, host) for a in allow)
