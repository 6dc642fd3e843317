from django.apps import AppConfig


class JiraAiConfig(AppConfig):
    name = "jira_ai"
    verbose_name = "jira-ai"

    def ready(self) -> None:
        from jira_ai import checks  # noqa: F401  (registers the deploy checks)
