"""ASGI entry point of the public API: ``daphne jira_ai.asgi:application``.

A Channels ``ProtocolTypeRouter`` (HTTP only today); ``/static/`` is answered by an ASGI branch
before Django. Tracing is configured before the Django app is built, so that it wraps it.
"""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jira_ai.settings.base")

import django

django.setup()

from channels.routing import ProtocolTypeRouter  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.asgi import get_asgi_application  # noqa: E402

from core.daphne import tune_twisted  # noqa: E402
from core.observability import configure_tracing  # noqa: E402
from jira_ai.static import StaticFilesBranch  # noqa: E402

tune_twisted()  # 64 KiB request line, 32 KiB of headers, JSON 414/431 (core.daphne)
configure_tracing(
    service_name=settings.OTEL_SERVICE_NAME, endpoint=settings.OTEL_EXPORTER_OTLP_ENDPOINT
)

application = ProtocolTypeRouter({"http": StaticFilesBranch(get_asgi_application())})
