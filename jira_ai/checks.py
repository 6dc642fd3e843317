"""Deploy checks standing in for Django's security.W001/W002/W003.

Those look for Django's middleware by exact dotted path; ours are hop-free subclasses of the same
classes (jira_ai/middleware.py), so the checks are silenced and re-done here.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Tags, Warning, register

REQUIRED = {
    "jira_ai.middleware.SecurityMiddleware": "django.middleware.security.SecurityMiddleware",
    "jira_ai.middleware.CsrfViewMiddleware": "django.middleware.csrf.CsrfViewMiddleware",
    "jira_ai.middleware.XFrameOptionsMiddleware": (
        "django.middleware.clickjacking.XFrameOptionsMiddleware"
    ),
}


@register(Tags.security, deploy=True)
def check_security_stack(app_configs: Any, **kwargs: Any) -> list[Warning]:
    warnings = [
        Warning(f"{ours} (the hop-free {theirs}) is not in MIDDLEWARE.", id="jira_ai.W001")
        for ours, theirs in REQUIRED.items()
        if ours not in settings.MIDDLEWARE
    ]
    if not settings.SECURE_HSTS_SECONDS:
        warnings.append(Warning("SECURE_HSTS_SECONDS is not set.", id="jira_ai.W004"))
    if not settings.SECURE_SSL_REDIRECT:
        warnings.append(Warning("SECURE_SSL_REDIRECT is not True.", id="jira_ai.W008"))
    if settings.X_FRAME_OPTIONS != "DENY":
        warnings.append(Warning("X_FRAME_OPTIONS is not DENY.", id="jira_ai.W019"))
    if not settings.SECURE_CONTENT_TYPE_NOSNIFF:
        warnings.append(Warning("SECURE_CONTENT_TYPE_NOSNIFF is not True.", id="jira_ai.W006"))
    return warnings
