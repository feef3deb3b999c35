"""The one grammar for Matrix server names (spec appendix "Server Name"). Pure.

    server_name = hostname [ ":" port ]
    port        = 1*5DIGIT                         ; 1-65535 here, no leading zero
    hostname    = IPv4address / "[" IPv6address "]" / dns-name
    dns-name    = 1*255 of [A-Za-z0-9.-]           ; here: dot-separated labels of 1-63

Nothing else is a server name: no path, query, fragment, user info, whitespace, scope ID or
trailing dot. Every place that takes a server name from outside (a request body or path, an
X-Matrix header, a client parameter, the config, a ``.well-known`` answer) and every outbound
request checks it with this module, so a string such as ``127.0.0.3:8448/`` or ``host#x`` can
never become part of a URL we dial.

Stricter than the spec's ABNF in three places that no real server needs and that would
otherwise let one server have several spellings or smuggle an address: a dns-name must be
labels (no empty label, none over 63 characters), its last label may not be all digits (so
``127.1`` or ``2130706433``, which resolvers read as IPv4 addresses, are refused rather than
resolved), and a port has no leading zero.
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

MAX_HOSTNAME = 255

_LABEL = re.compile(r"[A-Za-z0-9-]{1,63}\Z")
_IPV4 = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}\Z")
_IPV6_CHARS = re.compile(r"[0-9A-Fa-f:.]{2,45}\Z")
_PORT = re.compile(r"[1-9][0-9]{0,4}\Z")


class InvalidServerName(ValueError):
    """The string is not a Matrix server name."""


@dataclass(frozen=True)
class ServerName:
    host: str  # the hostname or IP address, IPv6 without brackets
    port: int | None
    is_ip: bool

    @property
    def url_host(self) -> str:
        """The host as it appears in a URL (IPv6 in brackets)."""
        return f"[{self.host}]" if ":" in self.host else self.host

    def __str__(self) -> str:
        return self.url_host if self.port is None else f"{self.url_host}:{self.port}"


def parse_server_name(name: object) -> ServerName:
    """Parse ``name``; InvalidServerName unless it is exactly a server name."""
    if not isinstance(name, str):
        raise InvalidServerName(f"a server name must be a string, not {type(name).__name__}")
    if not name.isascii():
        raise InvalidServerName(f"{name!r} is not a valid server name: not ASCII")
    if name.startswith("["):
        end = name.find("]")
        if end < 0:
            raise InvalidServerName(f"{name!r} is not a valid server name: unclosed '['")
        host, rest = name[1:end], name[end + 1:]
        if not _IPV6_CHARS.match(host):
            raise InvalidServerName(f"{name!r} is not a valid server name: bad IPv6 literal")
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise InvalidServerName(
                f"{name!r} is not a valid server name: bad IPv6 literal") from None
        return ServerName(host, _port(name, rest), True)
    host, sep, port = name.partition(":")
    port_value = _port(name, sep + port)
    if _IPV4.match(host):
        try:
            ipaddress.IPv4Address(host)  # each octet 0-255, no leading zeros
        except ValueError:
            raise InvalidServerName(
                f"{name!r} is not a valid server name: bad IPv4 address") from None
        return ServerName(host, port_value, True)
    if not 1 <= len(host) <= MAX_HOSTNAME:
        raise InvalidServerName(f"{name!r} is not a valid server name: hostname length")
    labels = host.split(".")
    if not all(_LABEL.match(label) for label in labels):
        raise InvalidServerName(
            f"{name!r} is not a valid server name: a hostname is labels of 1-63 of"
            " [A-Za-z0-9-] separated by dots")
    if labels[-1].isdigit():
        raise InvalidServerName(
            f"{name!r} is not a valid server name: neither a dotted IPv4 address nor a hostname")
    return ServerName(host, port_value, False)


def _port(name: str, rest: str) -> int | None:
    """``rest`` is what follows the host: empty, or ':' and the port."""
    if not rest:
        return None
    if rest[0] != ":" or not _PORT.match(rest[1:]) or int(rest[1:]) > 65535:
        raise InvalidServerName(f"{name!r} is not a valid server name: the port must be"
                                " ':' and a number from 1 to 65535, and nothing may follow")
    return int(rest[1:])


def is_valid_server_name(name: object) -> bool:
    try:
        parse_server_name(name)
    except InvalidServerName:
        return False
    return True
