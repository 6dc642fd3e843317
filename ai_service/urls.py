from django.urls import path
from django_prometheus import exports

from ai_service.api import api

urlpatterns = [
    path("metrics", exports.ExportToDjangoView, name="prometheus-metrics"),
    path("", api.urls),
]
