"""The ninja router of the `ai_proxy` app, mounted on the one NinjaAPI in jira_ai/urls.py."""

from ninja import Router

router = Router(tags=["ai_proxy"])
