"""Shareable room links: ``GET /r/<alias or room ID>`` (the web client's page, with the room's
title, Open Graph tags and its preview embedded) and the same preview as JSON, no token needed.

Every value that reaches the page is escaped here: HTML-escaped in tags and attributes, and in
the embedded JSON every ``<``, ``>`` and ``&`` is written as a \\u escape, so a room named
``</script><script>...`` stays text.
"""
from __future__ import annotations

import html
import json
import re
from pathlib import Path

from aiohttp import web

from ..errors import NotFound
from ..handlers.previews import RoomPreviews
from .http import guest_ok, json_response

U = "/_matrix/client/unstable/org.audiorooms"
TITLE = re.compile(r"<title>.*?</title>", re.S)
SITE = "Audio rooms"


def script_json(value) -> str:
    """JSON safe inside a <script> element."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")) \
        .replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026") \
        .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def head_block(preview: dict | None, url: str) -> str:
    """<title>, description and Open Graph tags, and the embedded preview (or none)."""
    esc = lambda s: html.escape(s, quote=True)  # noqa: E731
    if preview is None:
        title, desc = SITE, "A live audio room. Open the link to listen."
    else:
        title = preview.get("name") or preview.get("alias") or "An audio room"
        state = "Live now" if preview.get("live") else \
            "Scheduled" if preview.get("scheduled_for") else "Audio room"
        desc = preview.get("topic") or f"{state} on {preview.get('host')}"
    tags = [
        f"<title>{esc(title)}</title>",
        f'<meta name="description" content="{esc(desc)}">',
        f'<meta property="og:title" content="{esc(title)}">',
        f'<meta property="og:description" content="{esc(desc)}">',
        '<meta property="og:type" content="website">',
        f'<meta property="og:url" content="{esc(url)}">',
        f'<meta property="og:site_name" content="{SITE}">',
        '<meta name="twitter:card" content="summary">',
    ]
    if preview is not None:
        tags.append('<script type="application/json" id="room-preview">'
                    f"{script_json(preview)}</script>")
    return "\n  ".join(tags)


class LinkServlets:
    def __init__(self, previews: RoomPreviews, index_html: Path, public_baseurl: str | None):
        self.previews = previews
        self.index_html = index_html
        self.public_baseurl = public_baseurl.rstrip("/") if public_baseurl else None

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/r/{ref:.+}", self.page),
            web.get(U + "/rooms/{ref}/preview", self.preview_json),
        ]

    async def page(self, request: web.Request) -> web.Response:
        ref = request.match_info["ref"]
        preview = await self.previews.preview(ref)
        base = self.public_baseurl or str(request.url.origin())
        url = f"{base}{request.rel_url.raw_path}"
        page = TITLE.sub(lambda _: head_block(preview, url), self.index_html.read_text(), 1)
        return web.Response(text=page, content_type="text/html", charset="utf-8",
                            headers={"Cache-Control": "no-cache",
                                     "X-Content-Type-Options": "nosniff",
                                     "Referrer-Policy": "no-referrer"})

    @guest_ok
    async def preview_json(self, request: web.Request) -> web.Response:
        preview = await self.previews.preview(request.match_info["ref"])
        if preview is None:
            raise NotFound("No public room by that name")
        return json_response(preview)

