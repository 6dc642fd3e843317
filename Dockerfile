# Two images from one file: `--target api` (the public API, manage.py, templates, static files,
# translations: everything) and `--target ai-service` (only `core/` and `ai_service/`, the packages
# it imports: import-linter checks the imports, tests/foundation/test_ai_service_image.py starts
# ai-service from exactly what this stage copies).
FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# curl: the compose healthchecks.
RUN apt-get update && apt-get install -y --no-install-recommends curl \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
RUN useradd --system --uid 10001 app

FROM base AS ai-service
COPY core/ core/
COPY ai_service/ ai_service/
ENV DJANGO_SETTINGS_MODULE=ai_service.settings
# The code stays owned by root: ai-service writes nothing to disk.
USER app
EXPOSE 8001
# -v 0: Daphne's own access log is off in favour of ours (core/middleware.py).
CMD ["daphne", "-v", "0", "-e", "tcp:port=8001:interface=0.0.0.0:backlog=2048", "ai_service.asgi:application"]

# Last, so that a plain `docker build .` builds the API.
FROM base AS api
RUN apt-get update && apt-get install -y --no-install-recommends gettext \
    && rm -rf /var/lib/apt/lists/*
COPY . .
# Static files collected at build time and served by the ASGI branch in jira_ai/static.py;
# translations compiled. Neither needs real secrets.
RUN DJANGO_SETTINGS_MODULE=jira_ai.settings.base python manage.py collectstatic --noinput -v 0 \
    && DJANGO_SETTINGS_MODULE=jira_ai.settings.base python manage.py compilemessages -v 0
RUN chown -R app /app
USER app
EXPOSE 8000
# -v 0: Daphne's own access log prints query strings (OAuth codes, JQL); we log our own access
# line without them (core/middleware.py).
CMD ["daphne", "-v", "0", "-e", "tcp:port=8000:interface=0.0.0.0:backlog=2048", "jira_ai.asgi:application"]
