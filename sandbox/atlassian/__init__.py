"""Atlassian stand-ins: auth.atlassian.com (OAuth 2.0 3LO) and api.atlassian.com (Jira Cloud
REST v3 through the ``/ex/jira/{cloudId}`` gateway), on the sandbox's one port.

``setup(app)`` registers every route on the root of the app; see ``sandbox/README.md``.
"""

from __future__ import annotations

from aiohttp import web

from sandbox.atlassian import api, oauth
from sandbox.atlassian.data import Dataset
from sandbox.core import STATE_KEY


def setup(app: web.Application) -> None:
    state = app[STATE_KEY]
    store = oauth.OAuthStore()
    jira = api.Jira(Dataset(state.config.seed))
    oauth.setup(app, store)
    api.setup(app, jira)
    state.reset_hooks.append(store.reset)
    state.reset_hooks.append(jira.reset)
