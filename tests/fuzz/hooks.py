"""schemathesis hooks of the ai-service run (``SCHEMATHESIS_HOOKS=tests.fuzz.hooks``).

Every request carries a service token signed as the public API signs its calls
(:func:`ai_service.contract.tokens.service_token_issue`, key ``FUZZ_AI_SHARED_SECRET``), renewed
well within ai-service's ``AI_TOKEN_TTL_SECONDS`` (60 s), so a long run never sends an expired
one."""

from __future__ import annotations

import os
from typing import Any

import schemathesis
from django.conf import settings

from ai_service.contract.tokens import service_token_issue

if not settings.configured:
    # django.core.signing reads SECRET_KEY_FALLBACKS when given no fallback keys; nothing else.
    settings.configure(SECRET_KEY_FALLBACKS=[])

ACCOUNT = "fuzz-account"


@schemathesis.auth(refresh_interval=20)
class ServiceToken:
    def get(self, case: Any, context: Any) -> str:
        secrets = [s for s in os.environ["FUZZ_AI_SHARED_SECRET"].split(",") if s]
        return service_token_issue(account_id=ACCOUNT, secrets=secrets)

    def set(self, case: Any, data: str, context: Any) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}
