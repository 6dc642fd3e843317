"""The service token of the inter-service contract (``Authorization: Bearer <token>``): a
``TimestampSigner`` signature (HMAC, compared in constant time by ``django.core.signing``) over
``{aud, sub, jti}``.

``AI_SHARED_SECRET`` may hold several comma-separated keys for rotation: the first signs, all
verify. Expired (``AI_TOKEN_TTL_SECONDS``), forged, unsigned or wrong-audience tokens are refused
(401 ``invalid_service_token``). The issuing side (the public API) calls ``service_token_issue``,
ai-service's auth ``service_token_verify``: pure functions, neither reads settings.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.core import signing

from core.errors import ApiError, ErrorCode

AUDIENCE = "ai-service"
SALT = "jira-ai.ai-service.token"


class InvalidServiceToken(ApiError):
    status = 401
    code = ErrorCode.INVALID_SERVICE_TOKEN
    detail = "Missing or invalid service token."


@dataclass(frozen=True)
class ServiceCaller:
    account_id: str
    token_id: str


def service_token_issue(*, account_id: str, secrets: Sequence[str]) -> str:
    """A token for ai-service on behalf of ``account_id``, signed with the first secret."""
    if not secrets:
        raise ValueError("no AI_SHARED_SECRET to sign with")
    payload = {"aud": AUDIENCE, "sub": account_id, "jti": uuid.uuid4().hex}
    return signing.dumps(payload, key=secrets[0], salt=SALT, compress=False)


def service_token_verify(*, token: str, secrets: Sequence[str], max_age: int) -> ServiceCaller:
    """The caller of a valid token, else ``InvalidServiceToken`` (fails closed without keys)."""
    if not secrets or not token:
        raise InvalidServiceToken()
    try:
        payload: Any = signing.loads(
            token, key=secrets[0], fallback_keys=list(secrets[1:]), salt=SALT, max_age=max_age
        )
    except signing.BadSignature:  # SignatureExpired is a BadSignature
        raise InvalidServiceToken() from None
    if (
        not isinstance(payload, dict)
        or payload.get("aud") != AUDIENCE
        or not isinstance(payload.get("sub"), str)
        or not isinstance(payload.get("jti"), str)
    ):
        raise InvalidServiceToken()
    return ServiceCaller(account_id=payload["sub"], token_id=payload["jti"])
