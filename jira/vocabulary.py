"""The site's JQL vocabulary for the signed-in user (issue #17): what a question in plain language
may name, read from Jira and sent to the model with the question (contract ``Vocabulary``).

Sources, all read concurrently:

* projects: ``GET project/search`` (every page, the projects the user can browse);
* fields: ``GET jql/autocompletedata``'s ``visibleFieldNames`` (the names JQL accepts, where
  ``/field`` also lists fields no clause can search);
* statuses: ``GET status``;
* priorities and issue types: ``GET jql/autocompletedata/suggestions`` for ``priority`` and
  ``issuetype`` (``/priority`` is deprecated and its replacement, ``priority/search``, needs an
  admin scope);
* sprints: the names of the sprints of the site's scrum boards (Jira Software's
  ``board`` and ``board/{id}/sprint``), when the site's grant has the Agile scopes; a site whose
  token Jira refused for them (``site_has_scopes``), or that refuses them now, has no sprint
  names, quietly: the other names still serve, and a refusal here is not recorded as the site's
  need of a new consent (the reports record it, which cannot do without);
* ``me``: the user's display name (``GET myself``).

Cache: in Redis with the other Jira answers, per account and site (a user sees the projects
their permissions allow, so the vocabulary is the user's on the site, not the site's), for
``VOCABULARY_TTL_SECONDS`` (15 minutes: names change rarely, and a project created a moment ago
should not wait an hour to be askable). ``refresh=True`` re-reads Jira.
"""

from __future__ import annotations

import logging

from accounts.context import UserContext
from accounts.scopes import JIRA_SOFTWARE_SCOPES
from accounts.services import site_has_scopes
from ai_service.contract.questions import MAX_VOCABULARY, FieldName, NamedKey, Vocabulary
from core.aio import gather_first_error
from jira.client import JiraClient
from jira.errors import JiraForbidden, JiraScopeRefused
from jira.services import _cache, jira_client_for

logger = logging.getLogger(__name__)

VOCABULARY_TTL_SECONDS = 900
MAX_BOARDS = 20
AGILE_SCOPES = tuple(s for s in JIRA_SOFTWARE_SCOPES if s.endswith(":jira-software"))


def _bounded(names: list[str]) -> list[str]:
    """Once each, in Jira's order, non-empty, at most the contract's length."""
    return [n for n in dict.fromkeys(names) if n][:MAX_VOCABULARY]


async def _sprint_names(ctx: UserContext, client: JiraClient) -> list[str]:
    """The names of the sprints of the site's scrum boards (active and future first, then the
    closed ones, newest first), or none without the Agile scopes."""
    if not await site_has_scopes(ctx, AGILE_SCOPES):
        return []
    try:
        boards = await client.boards(board_type="scrum")
        lists = await gather_first_error(
            *(client.board_sprints(board.id) for board in boards[:MAX_BOARDS])
        )
    except (JiraScopeRefused, JiraForbidden):
        logger.info("vocabulary without sprints: the site refuses the Agile scopes")
        return []
    sprints = [sprint for sprints in lists for sprint in sprints]
    order = {"active": 0, "future": 1, "closed": 2}
    sprints.sort(key=lambda s: (order.get(s.state, 3), -s.id))
    return _bounded([s.name for s in sprints])


async def vocabulary_get(
    *, ctx: UserContext, refresh: bool = False, client: JiraClient | None = None
) -> Vocabulary:
    """The names a question may use on the user's current site (cached, see the module)."""
    cache = _cache(ctx)
    if not refresh:
        cached = await cache.get("vocabulary", "all", Vocabulary)
        if cached is not None:
            return cached
    sprint_client = client or jira_client_for(ctx, record_scope_refusal=False)
    client = client or jira_client_for(ctx)
    # Seven reads at once (nested pairs keep each result's type).
    ((projects, fields), (names, me)) = await gather_first_error(
        gather_first_error(client.projects(), client.jql_fields()),
        gather_first_error(
            gather_first_error(
                client.status_names(),
                client.jql_suggestions("priority"),
                client.jql_suggestions("issuetype"),
                _sprint_names(ctx, sprint_client),
            ),
            client.myself(),
        ),
    )
    statuses, priorities, issue_types, sprints = names
    vocabulary = Vocabulary(
        projects=[NamedKey(key=p.key, name=p.name) for p in projects][:MAX_VOCABULARY],
        fields=[FieldName(id=f.id, name=f.name, jql=f.jql) for f in fields][:MAX_VOCABULARY],
        statuses=_bounded(statuses),
        priorities=_bounded(priorities),
        issue_types=_bounded(issue_types),
        sprints=sprints,
        me=me.display_name or None,
    )
    await cache.set("vocabulary", "all", vocabulary, VOCABULARY_TTL_SECONDS)
    return vocabulary
