"""What the rest of the public API knows of the signed-in user: the contract between ``accounts``
and the apps that act on the user's behalf (``jira``, ``ai_proxy``).

``SessionAuth`` (accounts/auth.py) returns a :class:`UserContext` as ``request.auth`` for every
authenticated ninja request, with ``cloud_id`` already checked against the session's sites (the
``cloud_id`` query parameter when given, else the session's current site). The site's access
token comes from ``accounts.services.access_token_get(ctx)``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class UserContext:
    account_id: str
    display_name: str
    session_key: str
    cloud_id: str
    site_url: str  # e.g. https://acme.atlassian.net, for browse links
