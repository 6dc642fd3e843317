"""The ninja router of the `accounts` app, mounted on the one NinjaAPI in jira_ai/urls.py."""

from ninja import Router

router = Router(tags=["accounts"])
