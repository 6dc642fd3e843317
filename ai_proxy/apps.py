from django.apps import AppConfig


class AiProxyConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "ai_proxy"
