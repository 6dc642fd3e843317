"""``/debug/*``: mounted only when DEBUG (404 otherwise). Apps add their debug views here."""

from __future__ import annotations

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
