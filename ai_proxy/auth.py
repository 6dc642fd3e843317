"""The auth of /ai/*: the session and CSRF (``accounts.auth.SessionAuth``), then the body size.

ninja runs auth before it parses the body, so a body over ``AI_MAX_BODY_BYTES`` is refused (413)
before anything reads it as JSON, and only for a signed-in caller (401 comes first). The size rule
is ``core.middleware.body_too_large``, the one ai-service's middleware applies.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

from accounts.auth import SessionAuth
from accounts.context import UserContext
from ai_proxy.errors import BodyTooLarge
from core.middleware import body_too_large


class AISessionAuth(SessionAuth):
    async def __call__(self, request: HttpRequest) -> UserContext | None:
        ctx = await super().__call__(request)
        limit = int(settings.AI_MAX_BODY_BYTES)
        if ctx is not None and body_too_large(request, limit):
            raise BodyTooLarge(f"Request body over {limit} bytes.")
        return ctx
