"""``/static/`` served by an ASGI branch, so no sync middleware (WhiteNoise is sync-only) and no
Django request cycle is involved. Files are read off the event loop once and kept in memory: the
static set is small (a few CSS/JS files and the Swagger assets)."""

from __future__ import annotations

import asyncio
import hashlib
import mimetypes
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.staticfiles import finders

Scope = dict[str, Any]


class StaticFilesBranch:
    """Answers GET/HEAD under STATIC_URL; passes everything else to ``app``."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.prefix = settings.STATIC_URL
        self.root = Path(settings.STATIC_ROOT)
        self.cache: dict[str, tuple[bytes, str, str] | None] = {}

    def _locate(self, relative: str) -> Path | None:
        collected = (self.root / relative).resolve()
        if collected.is_relative_to(self.root.resolve()) and collected.is_file():
            return collected
        found = finders.find(relative)  # development: app and STATICFILES_DIRS directories
        return Path(found) if isinstance(found, str) else None

    def _load(self, relative: str) -> tuple[bytes, str, str] | None:
        path = self._locate(relative)
        if path is None:
            return None
        body = path.read_bytes()
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if content_type.startswith("text/") or content_type in {"application/javascript"}:
            content_type += "; charset=utf-8"
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        return body, content_type, etag

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        path: str = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        if scope["method"] not in {"GET", "HEAD"}:
            await self._send(send, 405, b"Method not allowed", "text/plain", None, scope)
            return
        relative = path[len(self.prefix) :]
        if ".." in relative.split("/") or relative.startswith("/"):
            entry = None
        elif relative in self.cache and not settings.DEBUG:
            entry = self.cache[relative]
        else:
            entry = await asyncio.to_thread(self._load, relative)
            self.cache[relative] = entry
        if entry is None:
            await self._send(send, 404, b"Not found", "text/plain", None, scope)
            return
        body, content_type, etag = entry
        headers = dict(scope.get("headers") or [])
        if headers.get(b"if-none-match") == etag.encode():
            await self._send(send, 304, b"", content_type, etag, scope)
            return
        await self._send(send, 200, body, content_type, etag, scope)

    @staticmethod
    async def _send(
        send: Any, status: int, body: bytes, content_type: str, etag: str | None, scope: Scope
    ) -> None:
        headers = [
            (b"content-type", content_type.encode()),
            (b"content-length", str(len(body)).encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"cache-control", b"public, max-age=3600"),
        ]
        if etag:
            headers.append((b"etag", etag.encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send(
            {"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body}
        )
