"""The auth of /ai/*: the session and CSRF (``accounts.auth.SessionAuth``), then the body size.

ninja runs auth before it parses the body, so a body over ``AI_MAX_BODY_BYTES`` is refused (413)
before anything reads it as JSON, and only for a signed-in caller (401 comes first).
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest

from accounts.auth import SessionAuth
from accounts.context import UserContext
from ai_proxy.errors import BodyTooLarge


class AISessionAuth(SessionAuth):
    async def __call__(self, request: HttpRequest) -> UserContext | None:
        ctx = await super().__call__(request)
        if ctx is not None:
            body_size_check(request)
        return ctx


def body_size_check(request: HttpRequest) -> None:
    limit = int(settings.AI_MAX_BODY_BYTES)
    too_large = BodyTooLarge(f"Request body over {limit} bytes.")
    try:
        announced = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        announced = 0
    if announced > limit:
        raise too_large
    try:
        received = len(request.body)
    except RequestDataTooBig:
        raise too_large from None
    if received > limit:
        raise too_large
