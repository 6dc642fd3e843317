"""Drives the ``jira`` client library against the sandbox and prints what it saw as JSON.

Run in a separate interpreter (``python -I``): the project's own Django app is also called
``jira`` and shadows the library inside the test process.
Usage: ``python -I jira_library_probe.py URL CLOUD_ID TOKEN``.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from jira import JIRA, JIRAError


def main() -> None:
    url, cloud_id, token = sys.argv[1:4]
    jira = JIRA(
        server=f"{url}/ex/jira/{cloud_id}",
        token_auth=token,
        options={"rest_api_version": "3"},
        max_retries=0,
    )
    out: dict[str, Any] = {"deploymentType": jira.deploymentType}
    out["myself"] = jira.myself()["accountId"]
    try:
        issues = jira.enhanced_search_issues(
            "project = MOB ORDER BY key ASC", maxResults=0, fields="summary,status,assignee"
        )
        out["mob_keys"] = [i.key for i in issues]
        out["mob_1"] = {"summary": issues[0].fields.summary, "status": issues[0].fields.status.name}
        out["mob_count"] = jira.approximate_issue_count("project = MOB")
        posted = jira.enhanced_search_issues(
            "key = MOB-11", fields=["summary", "Sprint"], use_post=True
        )
        out["posted"] = [posted[0].key, posted[0].fields.summary]
    except JIRAError as exc:
        out["search_error"] = [exc.status_code, exc.text]
    try:
        page = jira.enhanced_search_issues("project = PAY", maxResults=20)
        rest = jira.enhanced_search_issues(
            "project = PAY", nextPageToken=page.nextPageToken, maxResults=20
        )
        out["pay_pages"] = [[i.key for i in page], [i.key for i in rest]]
        issue = jira.issue("PAY-7", expand="renderedFields")
        out["pay7_total"] = issue.fields.comment.total
        comments = jira.comments("PAY-7", start_at=2100, max_results=100)
        out["pay7_tail"] = [c.id for c in comments]
        out["pay7_author"] = comments[0].author.accountId
        newest = jira.comments("PAY-7", max_results=1, order_by="-created")
        out["pay7_newest"] = newest[0].id
    except JIRAError as exc:
        out["pay_error"] = [exc.status_code, exc.text]
    try:
        jira.issue("PAY-1")
        out["pay1"] = "ok"
    except JIRAError as exc:
        out["pay1"] = [exc.status_code, exc.text]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
