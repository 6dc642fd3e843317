"""The ninja router of the `jira` app, mounted on the one NinjaAPI in jira_ai/urls.py."""

from ninja import Router

router = Router(tags=["jira"])
