"""URL map of the public API. The NinjaAPI is mounted at the root (docs/http-contract.md)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django_prometheus import exports

from accounts.api import router as accounts_router
from ai_proxy.api import router as ai_router
from jira.api import router as jira_router
from jira_ai import views
from jira_ai.api import api
from jira_ai.health import router as health_router

api.add_router("", health_router)
api.add_router("", accounts_router)
api.add_router("/jira", jira_router)
api.add_router("/ai", ai_router)

urlpatterns = [
    path("", views.root, name="root"),
    path("ui", views.workspace, name="workspace"),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("metrics", exports.ExportToDjangoView, name="prometheus-metrics"),
    path("", include("accounts.urls")),
    path("", api.urls),
]

if settings.DEBUG:
    urlpatterns.append(path("debug/", include("jira_ai.debug_urls")))

handler404 = "jira_ai.views.not_found"
handler500 = "jira_ai.views.server_error"
