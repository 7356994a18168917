"""`GET /files/{token}`: a leader's single-use download link (bot.files), as HTTP.

The file is made from the store when the link is opened; what a link may open, and whether it
still may, is `bot.files.Downloads`' to decide. This only translates: the file as an
attachment nobody caches, or a short, kind HTML page (404 unknown; 410 used, expired or its
case gone; 403 its leader has left the leadership team; 503 with a reference code if the
store is down, or if leadership could not be checked) – never a 500, never a trace.
"""

from __future__ import annotations

import logging
import re
from html import escape

from aiohttp import web

from bot.errors import StorageError, error_reference, log_bug
from bot.files import UNKNOWN, Downloads, Refused
from bot.model import Notice

log = logging.getLogger(__name__)

FILES_ROUTE = "/files/{token}"
TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,100}$")  # what secrets.token_urlsafe makes
TYPES = {".csv": "text/csv", ".html": "text/html", ".json": "application/json"}
PRIVATE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
}
SORRY = "Sorry – I couldn't fetch that just now. Please try the link again in a minute ({code})."


class DownloadRoute:
    def __init__(self, downloads: Downloads) -> None:
        self.downloads = downloads

    async def handle(self, request: web.Request) -> web.Response:
        token = request.match_info.get("token", "")
        if not TOKEN.match(token):
            return page(404, UNKNOWN)
        try:
            got = await self.downloads.open(token)
        except StorageError as e:
            code = error_reference()
            log.error("storage failure %s opening a download link: %s", code, e)
            return page(503, SORRY.format(code=code))
        except Exception as e:
            code = error_reference()
            log_bug(log, code, e)
            return page(503, SORRY.format(code=code))
        if isinstance(got, Refused):
            return page(got.status, got.text)
        if isinstance(got, Notice):  # its case was deleted meanwhile
            return page(410, got.text)
        kind = next((t for ext, t in TYPES.items() if got.filename.endswith(ext)), "text/plain")
        headers = {
            **PRIVATE_HEADERS,
            "Content-Disposition": f'attachment; filename="{got.filename}"',
        }
        return web.Response(body=got.content, content_type=kind, charset="utf-8", headers=headers)


def page(status: int, text: str) -> web.Response:
    html = (
        '<!doctype html><html lang="en-GB"><head><meta charset="utf-8">'
        "<title>ReportBot download</title></head>"
        '<body style="font-family:sans-serif;max-width:36em;margin:3em auto">'
        f"<h1>ReportBot</h1><p>{escape(text)}</p></body></html>"
    )
    return web.Response(status=status, text=html, content_type="text/html", headers=PRIVATE_HEADERS)
