"""``/debug/*``: mounted only when DEBUG (404 otherwise). Apps add their debug views here."""

from __future__ import annotations

from django.urls import URLPattern, path

from accounts import views as accounts_views
from jira_ai import views

urlpatterns: list[URLPattern] = [
    path("session", accounts_views.debug_session, name="debug-session"),
    path("atlassian/myself", views.debug_atlassian_myself, name="debug-atlassian-myself"),
]
