"""ai-service's ninja auth: ``Authorization: Bearer <token>``, verified by
:func:`ai_service.contract.tokens.service_token_verify` with the keys of the settings."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from ninja.security import HttpBearer

from ai_service.contract.tokens import InvalidServiceToken, ServiceCaller, service_token_verify


class ServiceTokenAuth(HttpBearer):
    """ninja auth of ai-service's /ai/* routes (settings read here, at the edge)."""

    async def authenticate(self, request: HttpRequest, token: str) -> ServiceCaller:
        if not settings.AI_AUTH_ENABLED:
            return ServiceCaller(account_id="", token_id="")
        return service_token_verify(
            token=token, secrets=settings.AI_SHARED_SECRET, max_age=settings.AI_TOKEN_TTL_SECONDS
        )

    async def __call__(self, request: HttpRequest) -> ServiceCaller | None:
        if not settings.AI_AUTH_ENABLED:
            return ServiceCaller(account_id="", token_id="")
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise InvalidServiceToken()
        return await self.authenticate(request, token.strip())
