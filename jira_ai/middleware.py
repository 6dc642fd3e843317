"""The Django middleware the public API keeps, made hop-free under ASGI (subclasses of Django's
own, their hooks run inline: see :mod:`core.middleware`). The request context, Prometheus and the
session (``accounts.middleware``) come from their own modules."""

from __future__ import annotations

from django.contrib.auth import middleware as auth_middleware
from django.contrib.messages import middleware as messages_middleware
from django.middleware import clickjacking, csrf, locale, security

from core.middleware import InlineHooksMixin, InlineViewHookMixin


class SecurityMiddleware(InlineHooksMixin, security.SecurityMiddleware):
    pass


class LocaleMiddleware(InlineHooksMixin, locale.LocaleMiddleware):
    pass


class CsrfViewMiddleware(InlineViewHookMixin, csrf.CsrfViewMiddleware):  # type: ignore[misc]
    pass


class AuthenticationMiddleware(InlineHooksMixin, auth_middleware.AuthenticationMiddleware):
    pass


class MessageMiddleware(InlineHooksMixin, messages_middleware.MessageMiddleware):
    pass


class XFrameOptionsMiddleware(InlineHooksMixin, clickjacking.XFrameOptionsMiddleware):
    pass
