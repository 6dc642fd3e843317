# One image for both services (the API and ai-service differ by command and settings module).
FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update && apt-get install -y --no-install-recommends gettext curl \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
# Static files collected at build time and served by the ASGI branch in jira_ai/asgi.py;
# translations compiled. Neither needs real secrets.
RUN DJANGO_SETTINGS_MODULE=jira_ai.settings.base python manage.py collectstatic --noinput -v 0 \
    && DJANGO_SETTINGS_MODULE=jira_ai.settings.base python manage.py compilemessages -v 0
RUN useradd --system --uid 10001 app && chown -R app /app
USER app
EXPOSE 8000 8001
# -v 0: Daphne's own access log prints query strings (OAuth codes, JQL); jira_ai logs its own
# access line without them (jira_ai/middleware.py).
CMD ["daphne", "-v", "0", "-e", "tcp:port=8000:interface=0.0.0.0:backlog=2048", "jira_ai.asgi:application"]
