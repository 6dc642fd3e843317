"""Sign-in pages (completed by the accounts issue: OAuth through social-auth)."""

from __future__ import annotations

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
