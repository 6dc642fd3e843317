"""``DJANGO_SETTINGS_MODULE=ai_service.settings daphne ai_service.asgi:application``."""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ai_service.settings")

import django

django.setup()

from channels.routing import ProtocolTypeRouter  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.asgi import get_asgi_application  # noqa: E402

from core.daphne import tune_twisted  # noqa: E402
from core.observability import configure_tracing  # noqa: E402

tune_twisted()  # 64 KiB request line, 32 KiB of headers, JSON 414/431 (core.daphne)
configure_tracing(
    service_name=settings.OTEL_SERVICE_NAME, endpoint=settings.OTEL_EXPORTER_OTLP_ENDPOINT
)
application = ProtocolTypeRouter({"http": get_asgi_application()})
