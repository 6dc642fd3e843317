"""Benchmark settings: the test settings with no middleware at all (the floor)."""

from jira_ai.settings.test import *  # noqa: F403

MIDDLEWARE = []
