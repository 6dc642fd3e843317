"""The OAuth 2.0 (3LO) scopes jira-ai asks for at sign-in, and what each one covers.

Checked against Atlassian's pages "Jira scopes for OAuth 2.0 (3LO) and Forge apps" (platform) and
"Jira Software scopes for OAuth 2.0 (3LO) and Forge apps", and the ``x-atlassian-oauth2-scopes``
of the platform's OpenAPI document:

- ``read:jira-work`` (classic, platform): projects, issues, search (``search/jql``,
  ``search/approximate-count``), comments, changelogs (``issue/{key}/changelog``,
  ``changelog/bulkfetch``), fields.
- ``read:jira-user`` (classic, platform): users, ``myself`` (the sign-in reads the account with it).
- ``offline_access``: a refresh token with the access token (Atlassian's authorization server,
  not a Jira scope; never listed by ``accessible-resources``).
- ``read:board-scope:jira-software``: boards (``/rest/agile/1.0/board``, ``/board/{id}``) and the
  issues seen through a board.
- ``read:sprint:jira-software``: sprints (``/board/{id}/sprint``, ``/sprint/{id}``,
  ``/sprint/{id}/issue``).
- ``read:project:jira``, ``read:issue-details:jira``, ``read:jql:jira`` (granular, platform): the
  Jira Software page lists these beside the two software scopes for the board, sprint and sprint
  issue operations (the board's location and filter, the issues' details, the board's JQL).

Classic scopes do not cover ``/rest/agile/1.0``: a token without the Jira Software scopes gets
401 "Unauthorized; scope does not match" there (while every platform route still works), which
``jira.client`` turns into ``atlassian_reauth_required`` and ``accounts.services`` records on the
site (``site_scopes_refused_mark``). Every scope here must be enabled on the app in the developer
console: one requested but not enabled fails every sign-in with ``invalid_scope``.
"""

from __future__ import annotations

CLASSIC_SCOPES: tuple[str, ...] = ("read:jira-work", "read:jira-user", "offline_access")
JIRA_SOFTWARE_SCOPES: tuple[str, ...] = (
    "read:board-scope:jira-software",
    "read:sprint:jira-software",
    "read:project:jira",
    "read:issue-details:jira",
    "read:jql:jira",
)
# The order is the authorize request's.
SIGN_IN_SCOPES: tuple[str, ...] = CLASSIC_SCOPES + JIRA_SOFTWARE_SCOPES
