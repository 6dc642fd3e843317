"""Raw Jira JSON -> the typed models of :mod:`jira.models` (raw JSON never leaves ``jira/``).

Custom fields differ per site: their ids are discovered from ``GET /field`` (:class:`FieldMap`),
never hard-coded.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from jira.adf import adf_field_text, clean_text
from jira.models import (
    AgileIssue,
    Board,
    ChangeHistory,
    ChangeItem,
    Comment,
    CommentPage,
    Issue,
    IssueLink,
    IssueRef,
    Myself,
    Project,
    Sprint,
    Version,
)

STORY_POINTS_CUSTOM_TYPES = (
    "com.pyxis.greenhopper.jira:jsw-story-points",  # "Story point estimate" (team-managed)
)
STORY_POINTS_NAMES = ("story point estimate", "story points", "points d'histoire")
SPRINT_CUSTOM_TYPE = "com.pyxis.greenhopper.jira:gh-sprint"
EPIC_LINK_CUSTOM_TYPE = "com.pyxis.greenhopper.jira:gh-epic-link"
FLAGGED_CUSTOM_TYPE = "com.atlassian.jira.plugin.system.customfieldtypes:multicheckboxes"

BASE_FIELDS = (
    "summary",
    "status",
    "priority",
    "issuetype",
    "assignee",
    "reporter",
    "labels",
    "created",
    "updated",
    "duedate",
    "parent",
    "fixVersions",
    "description",
)


@dataclass(frozen=True)
class FieldMap:
    """Ids of the custom fields the normalized issue uses, as this site names them."""

    story_points: str | None = None
    sprint: str | None = None
    epic_link: str | None = None
    # Jira Software's "Flagged" checkbox (an "Impediment" option when set); only sprint reports
    # ask for it, so it is not in :meth:`issue_fields`.
    flagged: str | None = None

    @classmethod
    def from_fields(cls, fields: Any) -> FieldMap:
        story_points = sprint = epic_link = flagged = None
        by_name: dict[str, str] = {}
        for field in fields if isinstance(fields, list) else []:
            if not isinstance(field, dict) or not field.get("custom"):
                continue
            schema = field.get("schema") or {}
            custom = schema.get("custom")
            fid = field.get("id")
            if not isinstance(fid, str):
                continue
            if custom in STORY_POINTS_CUSTOM_TYPES and story_points is None:
                story_points = fid
            elif custom == SPRINT_CUSTOM_TYPE and sprint is None:
                sprint = fid
            elif custom == EPIC_LINK_CUSTOM_TYPE and epic_link is None:
                epic_link = fid
            elif (
                custom == FLAGGED_CUSTOM_TYPE
                and flagged is None
                and str(field.get("name", "")).casefold() == "flagged"
            ):
                flagged = fid
            if schema.get("type") == "number":
                by_name.setdefault(str(field.get("name", "")).casefold(), fid)
        if story_points is None:
            story_points = next((by_name[n] for n in STORY_POINTS_NAMES if n in by_name), None)
        return cls(story_points=story_points, sprint=sprint, epic_link=epic_link, flagged=flagged)

    def issue_fields(self) -> list[str]:
        extra = [f for f in (self.story_points, self.sprint, self.epic_link) if f]
        return [*BASE_FIELDS, *extra]


def _name(value: Any, key: str = "name") -> str | None:
    if isinstance(value, dict) and isinstance(value.get(key), str):
        return clean_text(value[key])
    return None


def _timestamp(value: Any) -> dt.datetime:
    if not isinstance(value, str):
        return dt.datetime.fromtimestamp(0, dt.UTC)
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        return dt.datetime.fromtimestamp(0, dt.UTC)


def _date(value: Any) -> dt.date | None:
    if not isinstance(value, str):
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None


def _sprint(value: Any) -> str | None:
    """The active sprint, else the last one listed (Jira lists them oldest first)."""
    if not isinstance(value, list) or not value:
        return None
    sprints = [s for s in value if isinstance(s, dict) and isinstance(s.get("name"), str)]
    if not sprints:
        # Old sites send strings: "com.atlassian.greenhopper...Sprint@1a[id=1,name=S 1,...]".
        text = str(value[-1])
        start = text.find("name=")
        return clean_text(text[start + 5 :].split(",", 1)[0]) if start >= 0 else None
    active = [s for s in sprints if s.get("state") == "active"]
    return clean_text((active or sprints)[-1]["name"])


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def issue_from_json(raw: dict[str, Any], *, site_url: str, field_map: FieldMap) -> Issue:
    fields = raw.get("fields") or {}
    key = str(raw.get("key", ""))
    status = fields.get("status") or {}
    parent_raw = fields.get("parent")
    parent: IssueRef | None = None
    if isinstance(parent_raw, dict) and isinstance(parent_raw.get("key"), str):
        parent_summary = (parent_raw.get("fields") or {}).get("summary")
        parent = IssueRef(key=parent_raw["key"], summary=clean_text(str(parent_summary or "")))
    elif field_map.epic_link and isinstance(fields.get(field_map.epic_link), str):
        parent = IssueRef(key=fields[field_map.epic_link], summary="")
    return Issue(
        key=key,
        url=f"{site_url.rstrip('/')}/browse/{key}",
        summary=clean_text(str(fields.get("summary") or "")),
        status=_name(status) or "",
        status_category=str((status.get("statusCategory") or {}).get("key") or ""),
        priority=_name(fields.get("priority")),
        issue_type=_name(fields.get("issuetype")),
        assignee=_name(fields.get("assignee"), "displayName"),
        reporter=_name(fields.get("reporter"), "displayName"),
        labels=[clean_text(x) for x in fields.get("labels") or [] if isinstance(x, str)],
        created=_timestamp(fields.get("created")),
        updated=_timestamp(fields.get("updated")),
        due=_date(fields.get("duedate")),
        story_points=_number(fields.get(field_map.story_points or "")),
        sprint=_sprint(fields.get(field_map.sprint)) if field_map.sprint else None,
        parent=parent,
        fix_versions=[n for v in fields.get("fixVersions") or [] if (n := _name(v))],
        description=adf_field_text(fields.get("description")),
    )


def comment_from_json(raw: dict[str, Any]) -> Comment:
    return Comment(
        id=str(raw.get("id", "")),
        author=_name(raw.get("author"), "displayName"),
        created=_timestamp(raw.get("created")),
        updated=_timestamp(raw.get("updated")),
        body=adf_field_text(raw.get("body")),
    )


def embedded_comments(fields: dict[str, Any]) -> CommentPage | None:
    """The comment page a search embeds in each issue (oldest first, capped at ~20): complete
    pages spare one request per issue; partial ones are fetched in full."""
    page = fields.get("comment")
    if not isinstance(page, dict) or not isinstance(page.get("comments"), list):
        return None
    total = page.get("total")
    comments = page["comments"]
    if not isinstance(total, int) or len(comments) < total:
        return None
    ordered = sorted(
        (comment_from_json(c) for c in comments if isinstance(c, dict)),
        key=lambda c: (c.created, c.id),
        reverse=True,
    )
    return CommentPage(comments=ordered, total=total)


def project_from_json(raw: dict[str, Any]) -> Project:
    avatars = raw.get("avatarUrls") or {}
    return Project(
        id=str(raw.get("id", "")),
        key=str(raw.get("key", "")),
        name=clean_text(str(raw.get("name") or "")),
        avatar_url=avatars.get("48x48") if isinstance(avatars, dict) else None,
    )


def _optional_day(value: Any) -> dt.date | None:
    if not isinstance(value, str):
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None


def version_from_json(raw: dict[str, Any]) -> Version:
    return Version(
        id=str(raw.get("id", "")),
        name=clean_text(str(raw.get("name") or "")),
        released=raw.get("released") is True,
        archived=raw.get("archived") is True,
        release_date=_optional_day(raw.get("releaseDate")),
        start_date=_optional_day(raw.get("startDate")),
    )


def myself_from_json(raw: dict[str, Any]) -> Myself:
    return Myself(
        account_id=str(raw.get("accountId", "")),
        display_name=clean_text(str(raw.get("displayName") or "")),
        email=raw.get("emailAddress") if isinstance(raw.get("emailAddress"), str) else None,
        time_zone=raw.get("timeZone") if isinstance(raw.get("timeZone"), str) else None,
    )


# --- Jira Software -------------------------------------------------------------------------

BLOCKS_LINK_TYPE = "blocks"  # the link type named "Blocks": inward "is blocked by"


def board_from_json(raw: dict[str, Any]) -> Board:
    location = raw.get("location") if isinstance(raw.get("location"), dict) else {}
    project_key = location.get("projectKey") if isinstance(location, dict) else None
    return Board(
        id=int(raw.get("id") or 0),
        name=clean_text(str(raw.get("name") or "")),
        # Jira's third type, `simple` (team-managed without sprints enabled), has no sprints.
        type="scrum" if raw.get("type") == "scrum" else "kanban",
        project_key=project_key if isinstance(project_key, str) else None,
    )


def _optional_timestamp(value: Any) -> dt.datetime | None:
    return _timestamp(value) if isinstance(value, str) and value else None


def sprint_from_json(raw: dict[str, Any]) -> Sprint:
    state = raw.get("state")
    return Sprint(
        id=int(raw.get("id") or 0),
        name=clean_text(str(raw.get("name") or "")),
        state=state if state in ("active", "future", "closed") else "future",
        start_date=_optional_timestamp(raw.get("startDate")),
        end_date=_optional_timestamp(raw.get("endDate")),
        complete_date=_optional_timestamp(raw.get("completeDate")),
        goal=clean_text(str(raw.get("goal") or "")),
    )


def _blocked_by(links: Any) -> list[IssueLink]:
    """The issues this one "is blocked by": links of type Blocks carrying ``inwardIssue`` (on an
    issue's links, Jira puts the other issue under ``inwardIssue`` when the relation reads with
    the type's inward phrase, "this issue *is blocked by* that one")."""
    out: list[IssueLink] = []
    for link in links if isinstance(links, list) else []:
        if not isinstance(link, dict):
            continue
        kind = link.get("type") or {}
        if str(kind.get("name", "")).casefold() != BLOCKS_LINK_TYPE:
            continue
        other = link.get("inwardIssue")
        if not isinstance(other, dict) or not isinstance(other.get("key"), str):
            continue
        status = (other.get("fields") or {}).get("status") or {}
        category = (status.get("statusCategory") or {}).get("key")
        out.append(IssueLink(key=other["key"], status_category=str(category or "")))
    return out


def agile_issue_from_json(raw: dict[str, Any], *, site_url: str, field_map: FieldMap) -> AgileIssue:
    fields = raw.get("fields") or {}
    flagged = fields.get(field_map.flagged) if field_map.flagged else None
    sprints = fields.get(field_map.sprint) if field_map.sprint else None
    return AgileIssue(
        id=str(raw.get("id", "")),
        issue=issue_from_json(raw, site_url=site_url, field_map=field_map),
        sprint_ids=[
            s["id"] for s in sprints or [] if isinstance(s, dict) and type(s.get("id")) is int
        ],
        flagged=bool(flagged),
        blocked_by=_blocked_by(fields.get("issuelinks")),
    )


def agile_issue_fields(field_map: FieldMap) -> list[str]:
    extra = [f for f in (field_map.flagged,) if f]
    return [*field_map.issue_fields(), "issuelinks", *extra]


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def change_history_from_json(raw: dict[str, Any]) -> ChangeHistory:
    items = [
        ChangeItem(
            field_id=str(item.get("fieldId") or item.get("field") or ""),
            from_id=_text_or_none(item.get("from")),
            from_string=_text_or_none(item.get("fromString")),
            to_id=_text_or_none(item.get("to")),
            to_string=_text_or_none(item.get("toString")),
        )
        for item in raw.get("items") or []
        if isinstance(item, dict)
    ]
    return ChangeHistory(
        id=str(raw.get("id", "")), created=_timestamp(raw.get("created")), items=items
    )
