"""Message content across the bridge (pure functions over plain dicts, no I/O).

Matrix -> audio room: the bot posts ``<Alice> hello`` and names the sender in
``org.audiorooms.bridge.sender``. Audio room -> Matrix: a puppet posts the text as it was.
Edits (``m.replace``) and replies (``m.in_reply_to``) point at the other side's event IDs
through ``lookup``; an edit of something that was never bridged is dropped.
"""
from __future__ import annotations

import html
import json
from collections.abc import Callable

SENDER_KEY = "org.audiorooms.bridge.sender"
HTML = "org.matrix.custom.html"
TEXT_TYPES = ("m.text", "m.notice", "m.emote")

Lookup = Callable[[str], "str | None"]


def content_size(content: dict) -> int:
    """Bytes of the content as JSON: what counts against the size limit."""
    return len(json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode())


def relation(content: dict) -> dict:
    rel = content.get("m.relates_to")
    return rel if isinstance(rel, dict) else {}


def edit_target(content: dict) -> str | None:
    rel = relation(content)
    if rel.get("rel_type") == "m.replace" and isinstance(rel.get("event_id"), str):
        return rel["event_id"]
    return None


def redaction_target(event: dict) -> str | None:
    """Room v11 keeps ``redacts`` in content; older versions at the top level."""
    for where in (event.get("content") or {}, event):
        if isinstance(where.get("redacts"), str):
            return where["redacts"]
    return None


def _html_of(content: dict) -> str | None:
    if content.get("format") == HTML and isinstance(content.get("formatted_body"), str):
        return content["formatted_body"]
    return None


def _with_sender(content: dict, sender: str, name: str) -> dict | None:
    msgtype, body = content.get("msgtype"), content.get("body")
    if not isinstance(msgtype, str) or not isinstance(body, str):
        return None
    esc = html.escape(name)
    if msgtype == "m.emote":
        text, prefix = f"* {name} {body}", f"* <strong>{esc}</strong> "
    elif msgtype in ("m.text", "m.notice"):
        text, prefix = f"<{name}> {body}", f"<strong>&lt;{esc}&gt;</strong> "
    else:  # images, files...: their media lives on the other homeserver; say what it was
        kind = msgtype.removeprefix("m.")
        text, prefix = f"<{name}> [{kind}] {body}", f"<strong>&lt;{esc}&gt;</strong> [{kind}] "
    out = {"msgtype": "m.notice" if msgtype == "m.notice" else "m.text", "body": text,
           SENDER_KEY: {"user_id": sender, "displayname": name}}
    formatted = _html_of(content)
    if formatted is not None:
        out.update(format=HTML, formatted_body=prefix + formatted)
    return out


def _plain(content: dict) -> dict | None:
    msgtype, body = content.get("msgtype"), content.get("body")
    if not isinstance(msgtype, str) or not isinstance(body, str):
        return None
    out = {"msgtype": msgtype if msgtype in TEXT_TYPES else "m.text", "body": body}
    formatted = _html_of(content)
    if formatted is not None:
        out.update(format=HTML, formatted_body=formatted)
    return out


def _convert(content: dict, lookup: Lookup, make: Callable[[dict], dict | None]) -> dict | None:
    target = edit_target(content)
    if target is not None:
        mapped = lookup(target)
        new = content.get("m.new_content")
        if mapped is None or not isinstance(new, dict):
            return None
        inner = make(new)
        if inner is None:
            return None
        out = {**inner, "body": "* " + inner["body"], "m.new_content": inner,
               "m.relates_to": {"rel_type": "m.replace", "event_id": mapped}}
        if "formatted_body" in inner:
            out["formatted_body"] = "* " + inner["formatted_body"]
        return out
    plain = make(content)
    if plain is None:
        return None
    reply = relation(content).get("m.in_reply_to")
    if isinstance(reply, dict) and isinstance(reply.get("event_id"), str):
        mapped = lookup(reply["event_id"])
        if mapped is not None:
            plain["m.relates_to"] = {"m.in_reply_to": {"event_id": mapped}}
    return plain


def matrix_to_audio(content: dict, sender: str, displayname: str,
                    lookup: Lookup) -> dict | None:
    """What the bot posts in the audio room for a Matrix user's m.room.message (None: skip)."""
    return _convert(content, lookup, lambda c: _with_sender(c, sender, displayname))


def audio_to_matrix(content: dict, lookup: Lookup) -> dict | None:
    """What a puppet posts in the Matrix room for an audio-room user's message (None: skip)."""
    return _convert(content, lookup, _plain)


def join_link(web_client_url: str, room_id: str) -> str:
    return f"{web_client_url.rstrip('/')}/#/room/{room_id}"


def notice(text: str, link: str | None = None) -> dict:
    """An m.notice from the bot, with an optional join link (plain and HTML)."""
    out = {"msgtype": "m.notice", "body": text + (f" Join: {link}" if link else "")}
    out["format"] = HTML
    out["formatted_body"] = html.escape(text) + (
        f' <a href="{html.escape(link, quote=True)}">Join</a>' if link else "")
    return out


def too_large_text(who: str, size: int, limit: int, where: str) -> str:
    return (f"Not bridged to {where}: the message from {who} is {size} bytes; "
            f"the limit is {limit} bytes.")
