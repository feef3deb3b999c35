"""X-Matrix request authentication (server-server API "Request Authentication"). Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from federation.exceptions import SignatureError, XMatrixError
from federation.servername import InvalidServerName, parse_server_name
from federation.signing import SigningKey, VerifyKey, sign_json, verify_signed_json

SCHEME = "X-Matrix"

# RFC 9110 tchar; values may also contain ':' unquoted, which the spec asks recipients to allow
# for compatibility with older servers (e.g. key=ed25519:abc).
_TCHAR = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]"
_VALUE_TOKEN = r"[!#$%&'*+\-.^_`|~0-9A-Za-z:]"
# quoted-string: qdtext is HTAB / SP / VCHAR except '"' and '\' / obs-text; quoted-pair = '\' char.
_QUOTED = r'"((?:[\t \x21\x23-\x5b\x5d-\x7e\x80-\U0010ffff]|\\[\t \x21-\x7e\x80-\U0010ffff])*)"'
_OWS = r"[ \t]*"
_SCHEME_RE = re.compile(rf"{_OWS}({_TCHAR}+)(?:[ \t]+|\Z)")
_PARAM_RE = re.compile(
    rf"{_OWS}({_TCHAR}+){_OWS}={_OWS}(?:({_VALUE_TOKEN}+)|{_QUOTED}){_OWS}(,|\Z)"
)
_EMPTY_ELEMENT_RE = re.compile(rf"{_OWS},")
_UNESCAPE_RE = re.compile(r"\\(.)", re.DOTALL)


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(frozen=True)
class XMatrixAuth:
    origin: str
    key: str
    sig: str
    destination: str | None = None

    @classmethod
    def parse(cls, header_value: str) -> XMatrixAuth:
        """Parse an Authorization header value; XMatrixError if malformed."""
        match = _SCHEME_RE.match(header_value)
        if not match or match.group(1).lower() != SCHEME.lower():
            raise XMatrixError("Authorization scheme is not X-Matrix")
        params: dict[str, str] = {}
        pos = match.end()
        text = header_value.rstrip(" \t")
        while pos < len(text):
            # RFC 9110 #list: recipients ignore empty list elements ("a=1,,b=2").
            empty = _EMPTY_ELEMENT_RE.match(text, pos)
            if empty:
                pos = empty.end()
                continue
            param = _PARAM_RE.match(text, pos)
            if not param:
                raise XMatrixError(f"malformed X-Matrix parameter at offset {pos}")
            name = param.group(1).lower()
            if param.group(2) is not None:
                value = param.group(2)
            else:
                value = _UNESCAPE_RE.sub(r"\1", param.group(3))
            if name in params:
                raise XMatrixError(f"duplicate X-Matrix parameter {name!r}")
            if not value:
                raise XMatrixError(f"empty X-Matrix parameter {name!r}")
            params[name] = value
            pos = param.end()
        for required in ("origin", "key", "sig"):
            if required not in params:
                raise XMatrixError(f"X-Matrix header is missing {required!r}")
        return cls(
            origin=params["origin"],
            key=params["key"],
            sig=params["sig"],
            destination=params.get("destination"),
        )

    def check_server_names(self) -> XMatrixAuth:
        """Raise XMatrixError unless ``origin`` (and ``destination``, if given) are server
        names. A server must check this before it acts on the origin at all (fetching its
        keys contacts it), so a header cannot make it dial ``host:port/path`` or the like."""
        for param, value in (("origin", self.origin), ("destination", self.destination)):
            if value is None:
                continue
            try:
                parse_server_name(value)
            except InvalidServerName as e:
                raise XMatrixError(f"invalid {param}: {e}") from None
        return self

    def __str__(self) -> str:
        # Per the spec's advice to senders: one space after the scheme, lower-case names.
        parts = [f"origin={_quote(self.origin)}"]
        if self.destination is not None:
            parts.append(f"destination={_quote(self.destination)}")
        parts.append(f"key={_quote(self.key)}")
        parts.append(f"sig={_quote(self.sig)}")
        return f"{SCHEME} " + ",".join(parts)


def parse_authorization(header_value: str) -> XMatrixAuth:
    """Parse an incoming request's Authorization header: the syntax (``XMatrixAuth.parse``)
    and then the server names in it. XMatrixError if either is wrong."""
    return XMatrixAuth.parse(header_value).check_server_names()


def request_json(
    method: str, uri: str, origin: str, destination: str, content: Any = None
) -> dict[str, Any]:
    """The JSON object whose signature authenticates a federation request."""
    obj: dict[str, Any] = {
        "method": method,
        "uri": uri,
        "origin": origin,
        "destination": destination,
    }
    if content is not None:
        obj["content"] = content
    return obj


def sign_request(
    key: SigningKey, method: str, uri: str, origin: str, destination: str, content: Any = None
) -> str:
    """Return the Authorization header value for a request from `origin` to `destination`."""
    signed = sign_json(request_json(method, uri, origin, destination, content), origin, key)
    sig = signed["signatures"][origin][key.key_id]
    return str(XMatrixAuth(origin=origin, key=key.key_id, sig=sig, destination=destination))


def verify_request(
    auth: XMatrixAuth,
    verify_key: VerifyKey,
    method: str,
    uri: str,
    destination: str,
    content: Any = None,
) -> None:
    """Raise SignatureError unless `auth` signs this request; `destination` is our own name."""
    try:
        auth.check_server_names()
    except XMatrixError as e:
        raise SignatureError(str(e)) from None
    if auth.destination is not None and auth.destination != destination:
        raise SignatureError(
            f"request is addressed to {auth.destination!r}, not {destination!r}"
        )
    if auth.key != verify_key.key_id:
        raise SignatureError(f"request is signed with {auth.key!r}, not {verify_key.key_id!r}")
    obj = request_json(method, uri, auth.origin, destination, content)
    obj["signatures"] = {auth.origin: {auth.key: auth.sig}}
    verify_signed_json(obj, auth.origin, verify_key)
