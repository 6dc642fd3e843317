"""api.atlassian.com stand-in: accessible-resources and Jira Cloud REST v3 under
``/ex/jira/{cloudId}/rest/api/3/...`` (wire facts: ``docs/wire-facts.md`` sections 1.5-2.12).

Every Jira route goes through :func:`jira_route`: fault injection (target ``jira``), Bearer check
(gateway-shaped 401), site grant, scope, the optional points budget, then ``X-RateLimit-*``
headers on the answer.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import math
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from sandbox.atlassian import jql, jql_check
from sandbox.atlassian.data import (
    ALICE,
    FIELD_IDS,
    FIELD_NAMES,
    FIELDS,
    ISSUE_TYPES,
    NON_NAVIGABLE,
    PROJECTS,
    SITES,
    SPRINT_FIELD,
    STATUS_CATEGORIES,
    STORY_POINTS_FIELD,
    Account,
    Board,
    Dataset,
    IssueCore,
    Project,
    RawJSON,
    Sprint,
    Status,
    adf_to_html,
    jira_ts,
)
from sandbox.atlassian.oauth import AccessToken, authenticate, gateway_error
from sandbox.core import apply_fault, state_of

ISSUE_NOT_FOUND = "Issue does not exist or you do not have permission to see it."
REMOVED_SEARCH = (
    "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. "
    "A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046"
)
ISSUE_EXPAND = "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations"
SEARCH_COMMENT_CAP = 20
ISSUE_COMMENT_CAP = 100
DEFAULT_LIMIT_HEADER = 350  # what Jira reports when no budget is configured


def jira_error(status: int, *messages: str) -> web.Response:
    return web.json_response({"errorMessages": list(messages), "errors": {}}, status=status)


def _fault_body(status: int) -> dict[str, Any]:
    if status == 401:
        return {"code": 401, "message": "Unauthorized"}
    if status == 429:
        return {"errorMessages": ["Rate limit exceeded."], "errors": {}}
    return {"errorMessages": [f"Sandbox injected fault ({status})."], "errors": {}}


def encode(obj: Any) -> bytes:
    """JSON bytes; :class:`RawJSON` values (too deep for ``json``) are spliced in verbatim."""
    raws: list[str] = []

    def default(value: Any) -> Any:
        if isinstance(value, RawJSON):
            raws.append(value.raw)
            return f"@@sandbox-raw-{len(raws) - 1}@@"
        raise TypeError(f"not JSON serialisable: {type(value).__name__}")

    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), default=default)
    for n, raw in enumerate(raws):
        text = text.replace(f'"@@sandbox-raw-{n}@@"', raw, 1)
    return text.encode()


def json_bytes(obj: Any, status: int = 200) -> web.Response:
    return web.Response(
        body=encode(obj), status=status, content_type="application/json", charset="utf-8"
    )


# --- rate limit ------------------------------------------------------------------------------


@dataclass
class Budget:
    points: int
    window: float
    started: float
    used: int = 0


class RateLimits:
    def __init__(self) -> None:
        self.points: int | None = None
        self.window = 3600.0
        self.budgets: dict[str, Budget] = {}

    def configure(self, points: int | None, window: float) -> None:
        self.points, self.window = points, window
        self.budgets.clear()

    def take(self, tenant: str) -> tuple[bool, dict[str, str]]:
        """Spend one point of ``tenant``'s budget; ``(allowed, headers)``."""
        if self.points is None:
            return True, {
                "X-RateLimit-Limit": str(DEFAULT_LIMIT_HEADER),
                "X-RateLimit-Remaining": str(DEFAULT_LIMIT_HEADER - 1),
            }
        now = time.time()
        budget = self.budgets.get(tenant)
        if budget is None or now >= budget.started + budget.window:
            budget = Budget(self.points, self.window, now)
            self.budgets[tenant] = budget
        reset_at = budget.started + budget.window
        reset = dt.datetime.fromtimestamp(reset_at, dt.UTC).strftime("%Y-%m-%dT%H:%MZ")
        headers = {"X-RateLimit-Limit": str(budget.points), "X-RateLimit-Reset": reset}
        if budget.used >= budget.points:
            headers["X-RateLimit-Remaining"] = "0"
            headers["X-RateLimit-NearLimit"] = "true"
            headers["Retry-After"] = str(max(1, math.ceil(reset_at - now)))
            headers["RateLimit-Reason"] = "jira-quota-tenant-based"
            return False, headers
        budget.used += 1
        remaining = budget.points - budget.used
        headers["X-RateLimit-Remaining"] = str(remaining)
        if remaining < 0.2 * budget.points:
            headers["X-RateLimit-NearLimit"] = "true"
        return True, headers


# --- serialisation ---------------------------------------------------------------------------


class Renderer:
    """Builds Jira JSON for the dataset, memoising per-issue pieces (the base URL is fixed
    once the server listens)."""

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset
        self._fields: dict[tuple[str, str], dict[str, Any]] = {}
        self._comments: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._rendered_comments: dict[tuple[str, str], list[dict[str, Any]]] = {}

    @staticmethod
    def base(request_base: str, cloud_id: str) -> str:
        return f"{request_base}/ex/jira/{cloud_id}"

    def user(self, base: str, user: Account | None, email: bool = False) -> dict[str, Any] | None:
        if user is None:
            return None
        avatar = "https://avatar-management--avatars.us-west-2.prod.public.atl-paas.net/default"
        out: dict[str, Any] = {
            "self": f"{base}/rest/api/3/user?accountId={user.account_id}",
            "accountId": user.account_id,
            "avatarUrls": {s: f"{avatar}?size={s.split('x')[0]}" for s in _SIZES},
            "displayName": user.display_name,
            "active": True,
            "timeZone": user.time_zone,
            "accountType": "atlassian",
        }
        if email:
            out["emailAddress"] = user.email
        return out

    def status(self, base: str, status: Status) -> dict[str, Any]:
        cat = STATUS_CATEGORIES[status.category]
        return {
            "self": f"{base}/rest/api/3/status/{status.id}",
            "description": "",
            "iconUrl": f"{base}/images/icons/statuses/generic.png",
            "name": status.name,
            "id": status.id,
            "statusCategory": {"self": f"{base}/rest/api/3/statuscategory/{cat['id']}", **cat},
        }

    def project(self, base: str, project: Project) -> dict[str, Any]:
        return {
            "self": f"{base}/rest/api/3/project/{project.id}",
            "id": project.id,
            "key": project.key,
            "name": project.name,
            "projectTypeKey": "software",
            "simplified": False,
            "avatarUrls": {
                s: f"{base}/rest/api/3/universal_avatar/view/type/project/avatar/10400?size={s}"
                for s in _SIZES
            },
        }

    def comments(self, base: str, issue: IssueCore) -> list[dict[str, Any]]:
        key = (issue.key, base)
        cached = self._comments.get(key)
        if cached is None:
            cached = [
                {
                    "self": f"{base}/rest/api/3/issue/{issue.id}/comment/{c['id']}",
                    "id": c["id"],
                    "author": self.user(base, c["author"]),
                    "body": c["body"],
                    "updateAuthor": self.user(base, c["author"]),
                    "created": jira_ts(c["created"]),
                    "updated": jira_ts(c["updated"]),
                    "jsdPublic": True,
                }
                for c in self.dataset.comments(issue)
            ]
            self._comments[key] = cached
        return cached

    def rendered_comments(self, base: str, issue: IssueCore) -> list[dict[str, Any]]:
        key = (issue.key, base)
        cached = self._rendered_comments.get(key)
        if cached is None:
            cached = [
                {**c, "renderedBody": adf_to_html(c["body"])} for c in self.comments(base, issue)
            ]
            self._rendered_comments[key] = cached
        return cached

    def all_fields(self, base: str, issue: IssueCore) -> dict[str, Any]:
        key = (issue.key, base)
        cached = self._fields.get(key)
        if cached is None:
            cached = self._build_fields(base, issue)
            self._fields[key] = cached
        return cached

    def _build_fields(self, base: str, issue: IssueCore) -> dict[str, Any]:
        dataset = self.dataset
        itype = ISSUE_TYPES[issue.issuetype]
        done = issue.status.category == "done"
        fields: dict[str, Any] = {
            "summary": issue.summary,
            "description": dataset.description(issue),
            "status": self.status(base, issue.status),
            "statusCategory": {
                "self": f"{base}/rest/api/3/statuscategory/"
                f"{STATUS_CATEGORIES[issue.status.category]['id']}",
                **STATUS_CATEGORIES[issue.status.category],
            },
            "issuetype": {
                "self": f"{base}/rest/api/3/issuetype/{itype['id']}",
                "description": "",
                "iconUrl": f"{base}/images/icons/issuetypes/{issue.issuetype.lower()}.svg",
                **itype,
            },
            "project": self.project(base, issue.project),
            "priority": {
                "self": f"{base}/rest/api/3/priority/{issue.priority[0]}",
                "iconUrl": f"{base}/images/icons/priorities/{issue.priority[1].lower()}.svg",
                "name": issue.priority[1],
                "id": issue.priority[0],
            },
            "assignee": self.user(base, issue.assignee),
            "reporter": self.user(base, issue.reporter),
            "creator": self.user(base, issue.reporter),
            "labels": list(issue.labels),
            "created": jira_ts(issue.created),
            "updated": jira_ts(issue.updated),
            "duedate": issue.duedate.isoformat() if issue.duedate else None,
            "resolution": (
                {
                    "self": f"{base}/rest/api/3/resolution/10000",
                    "id": "10000",
                    "description": "Work has been completed on this issue.",
                    "name": "Done",
                }
                if done
                else None
            ),
            "resolutiondate": jira_ts(issue.updated) if done else None,
            "fixVersions": [v.as_json(base) for v in issue.fix_versions],
            "components": [],
            STORY_POINTS_FIELD: issue.story_points,
            SPRINT_FIELD: (
                [s.as_json() for s in (*issue.sprint_trail, issue.sprint)] if issue.sprint else None
            ),
            "customfield_10001": None,
            "customfield_10021": (
                [
                    {
                        "self": f"{base}/rest/api/3/customFieldOption/10019",
                        "value": "Impediment",
                        "id": "10019",
                    }
                ]
                if issue.flagged
                else None
            ),
        }
        fields["issuelinks"] = self.issue_links(base, issue)
        if issue.parent:
            parent = dataset.issues[issue.parent]
            fields["parent"] = {
                "id": str(parent.id),
                "key": parent.key,
                "self": f"{base}/rest/api/3/issue/{parent.id}",
                "fields": {
                    "summary": parent.summary,
                    "status": self.status(base, parent.status),
                    "priority": {"id": parent.priority[0], "name": parent.priority[1]},
                    "issuetype": {
                        "id": ISSUE_TYPES["Epic"]["id"],
                        "name": "Epic",
                        "subtask": False,
                        "hierarchyLevel": 1,
                    },
                },
            }
        return fields

    def issue_links(self, base: str, issue: IssueCore) -> list[dict[str, Any]]:
        """The ``issuelinks`` field in Jira's shape: each link once, the other issue under
        ``inwardIssue`` when this one "is blocked by" it, else under ``outwardIssue``."""
        out = []
        for seed in self.dataset.links.get(issue.key, ()):
            other = self.dataset.issues[seed.other]
            itype = ISSUE_TYPES[other.issuetype]
            out.append(
                {
                    "id": str(seed.id),
                    "self": f"{base}/rest/api/3/issueLink/{seed.id}",
                    "type": {
                        "id": "10000",
                        "name": "Blocks",
                        "inward": "is blocked by",
                        "outward": "blocks",
                        "self": f"{base}/rest/api/3/issueLinkType/10000",
                    },
                    ("inwardIssue" if seed.inward else "outwardIssue"): {
                        "id": str(other.id),
                        "key": other.key,
                        "self": f"{base}/rest/api/3/issue/{other.id}",
                        "fields": {
                            "summary": other.summary,
                            "status": self.status(base, other.status),
                            "priority": {"id": other.priority[0], "name": other.priority[1]},
                            "issuetype": {"id": itype["id"], "name": itype["name"]},
                        },
                    },
                }
            )
        return out

    def comment_page(self, base: str, issue: IssueCore, cap: int, rendered: bool) -> dict[str, Any]:
        source = self.rendered_comments(base, issue) if rendered else self.comments(base, issue)
        return {
            "comments": source[:cap],
            "self": f"{base}/rest/api/3/issue/{issue.id}/comment",
            "maxResults": cap,
            "total": len(source),
            "startAt": 0,
        }

    def changelog_values(self, base: str, issue: IssueCore) -> list[dict[str, Any]]:
        out = []
        for history in self.dataset.changelog(issue):
            out.append(
                {
                    "id": history["id"],
                    "author": self.user(base, history["author"]),
                    "created": jira_ts(history["created"]),
                    "items": [
                        {k: v for k, v in item.items() if v is not None}
                        for item in history["items"]
                    ],
                }
            )
        return out

    def issue(
        self,
        base: str,
        issue: IssueCore,
        selected: list[str],
        expand: set[str],
        comment_cap: int,
    ) -> dict[str, Any]:
        every = self.all_fields(base, issue)
        fields: dict[str, Any] = {}
        for fid in selected:
            if fid == "comment":
                fields["comment"] = self.comment_page(base, issue, comment_cap, rendered=False)
            elif fid in every:
                fields[fid] = every[fid]
        out: dict[str, Any] = {
            "expand": ISSUE_EXPAND,
            "id": str(issue.id),
            "self": f"{base}/rest/api/3/issue/{issue.id}",
            "key": issue.key,
        }
        if "renderedFields" in expand:
            rendered: dict[str, Any] = {}
            for fid in fields:
                if fid == "description":
                    rendered[fid] = adf_to_html(every["description"])
                elif fid == "comment":
                    rendered[fid] = self.comment_page(base, issue, comment_cap, rendered=True)
                    rendered[fid]["comments"] = [
                        {**c, "body": c["renderedBody"]} for c in rendered[fid]["comments"]
                    ]
                    for c in rendered[fid]["comments"]:
                        c.pop("renderedBody", None)
                elif fid in ("created", "updated", "resolutiondate", "duedate"):
                    rendered[fid] = every[fid]
                else:
                    rendered[fid] = None
            out["renderedFields"] = rendered
        if "names" in expand:
            out["names"] = {fid: FIELD_NAMES.get(fid, fid) for fid in fields}
        if "schema" in expand:
            schemas = {f["id"]: f["schema"] for f in FIELDS}
            out["schema"] = {fid: schemas[fid] for fid in fields if fid in schemas}
        out["fields"] = fields
        if "changelog" in expand:
            values = self.changelog_values(base, issue)
            histories = list(reversed(values))[:SEARCH_COMMENT_CAP]
            out["changelog"] = {
                "startAt": 0,
                "maxResults": len(histories),
                "total": len(values),
                "histories": histories,
            }
        return out


_SIZES = ("16x16", "24x24", "32x32", "48x48")


def select_fields(specs: list[str], default: str) -> tuple[list[str] | None, bool]:
    """``(field ids, ids_only)`` for a ``fields`` parameter (``None``: the issue's id only)."""
    tokens = [t.strip() for spec in specs for t in spec.split(",") if t.strip()]
    if not tokens:
        tokens = [default]
    if tokens == ["id"]:
        return None, True
    included: list[str] = []
    excluded: set[str] = set()
    for tok in tokens:
        if tok == "*all":
            included.extend(FIELD_IDS)
        elif tok == "*navigable":
            included.extend(f for f in FIELD_IDS if f not in NON_NAVIGABLE)
        elif tok.startswith("-"):
            excluded.add(tok[1:])
        elif tok in ("id", "key", "issuekey"):
            continue
        elif tok in FIELD_IDS:
            included.append(tok)
    seen: set[str] = set()
    out = []
    for fid in included:
        if fid not in excluded and fid not in seen:
            seen.add(fid)
            out.append(fid)
    small = all(t in ("id", "key", "issuekey") for t in tokens)
    return out, small


def _expand_set(values: list[str]) -> set[str]:
    return {e.strip() for v in values for e in v.split(",") if e.strip()}


# --- request plumbing --------------------------------------------------------------------------


@dataclass
class JiraCall:
    request: web.Request
    token: AccessToken
    account: Account
    cloud_id: str
    base: str


class Jira:
    """Shared state of the Jira stand-in (one per app)."""

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset
        self.renderer = Renderer(dataset)
        self.limits = RateLimits()
        self.searches: OrderedDict[tuple[str, str, str], tuple[float, list[IssueCore]]] = (
            OrderedDict()
        )

    def reset(self) -> None:
        self.limits.configure(None, 3600)
        self.searches.clear()

    def search(self, call: JiraCall, query: str, cached: bool) -> list[IssueCore]:
        key = (call.cloud_id, call.account.account_id, query)
        hit = self.searches.get(key)
        if cached and hit is not None and time.time() - hit[0] < 600:
            self.searches.move_to_end(key)
            return hit[1]
        result = jql.search(self.dataset, call.account, call.cloud_id, query)
        self.searches[key] = (time.time(), result)
        while len(self.searches) > 256:
            self.searches.popitem(last=False)
        return result


JIRA_KEY = web.AppKey("atlassian_jira", Jira)
Handler = Callable[[JiraCall], Awaitable[web.StreamResponse]]


def has_scope(token: AccessToken, needed: str | None) -> bool:
    """Whether ``token`` may call a route needing ``needed``.

    Platform routes accept their classic scope or any granular ``read:*:jira`` one. Jira Software
    routes (``/rest/agile/1.0``, ``*:jira-software``) are not covered by classic scopes: they need
    their exact software scope, as on Atlassian's page "Jira Software scopes for OAuth 2.0 (3LO)
    and Forge apps".
    """
    if needed is None:
        return True
    scopes = token.scopes
    if needed in scopes:
        return True
    if needed.endswith(":jira-software"):
        return False
    return any(s.endswith(":jira") and s.startswith("read:") for s in scopes)


def jira_route(scope: str | None) -> Callable[[Handler], Callable[[web.Request], Awaitable[Any]]]:
    def wrap(handler: Handler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def inner(request: web.Request) -> web.StreamResponse:
            fault, _ = await apply_fault(request, "jira", error_body=_fault_body)
            if fault is not None:
                return fault
            token, account = authenticate(request)
            if token is None or account is None:
                return gateway_error()
            cloud_id = request.match_info.get("cloudId", "")
            if cloud_id and cloud_id not in SITES:
                return gateway_error(404, "Not Found")
            if cloud_id and cloud_id not in account.access:
                return gateway_error(401, "Unauthorized")
            if not has_scope(token, scope):
                return gateway_error(401, "Unauthorized; scope does not match")
            jira = request.app[JIRA_KEY]
            allowed, headers = jira.limits.take(cloud_id or account.account_id)
            if not allowed:
                response: web.StreamResponse = web.json_response(
                    {"errorMessages": ["Rate limit exceeded."], "errors": {}}, status=429
                )
            else:
                base = Renderer.base(state_of(request).config.base_url, cloud_id)
                response = await handler(JiraCall(request, token, account, cloud_id, base))
            for name, value in headers.items():
                response.headers[name] = value
            return response

        return inner

    return wrap


def _int_param(call: JiraCall, name: str, default: int) -> int:
    raw = call.request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise BadRequest(f"The '{name}' parameter must be an integer: '{raw}'.") from None


class BadRequest(Exception):
    pass


# --- handlers --------------------------------------------------------------------------------


async def accessible_resources(request: web.Request) -> web.StreamResponse:
    fault, _ = await apply_fault(request, "jira", error_body=_fault_body)
    if fault is not None:
        return fault
    token, account = authenticate(request)
    if token is None or account is None:
        return gateway_error()
    scopes = [s for s in token.scope.split() if s not in ("offline_access", "read:me")]
    return web.json_response(
        [
            {
                "id": cloud_id,
                "name": SITES[cloud_id].name,
                "url": SITES[cloud_id].url,
                "scopes": scopes,
                "avatarUrl": "https://site-admin-avatar-cdn.prod.public.atl-paas.net/avatars/240/rocket.png",
            }
            for cloud_id in account.access
        ]
    )


@jira_route("read:jira-user")
async def myself(call: JiraCall) -> web.StreamResponse:
    user = call.request.app[JIRA_KEY].renderer.user(call.base, call.account, email=True)
    assert user is not None
    user["locale"] = call.account.locale
    user["groups"] = {"size": 2, "items": []}
    user["applicationRoles"] = {"size": 1, "items": []}
    user["expand"] = "groups,applicationRoles"
    return json_bytes(user)


@jira_route(None)
async def server_info(call: JiraCall) -> web.StreamResponse:
    site = SITES[call.cloud_id]
    return json_bytes(
        {
            "baseUrl": site.url,
            "displayUrl": site.url,
            "version": "1001.0.0-SNAPSHOT",
            "versionNumbers": [1001, 0, 0],
            "deploymentType": "Cloud",
            "buildNumber": 100282,
            "buildDate": "2025-12-01T00:00:00.000+0000",
            "serverTime": jira_ts(dt.datetime.now(dt.UTC)),
            "scmInfo": "sandbox",
            "serverTitle": "Jira",
            "defaultLocale": {"locale": "en_US"},
            "serverTimeZone": "Etc/UTC",
        }
    )


@jira_route(None)
async def removed_search(call: JiraCall) -> web.StreamResponse:
    return jira_error(410, REMOVED_SEARCH)


def _encode_token(offset: int, digest: str) -> str:
    raw = f"v1:{offset}:{digest}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_token(token: str, digest: str) -> int | None:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    parts = raw.split(":")
    if len(parts) != 3 or parts[0] != "v1" or parts[2] != digest or not parts[1].isdigit():
        return None
    return int(parts[1])


SEARCH_KEYS = {
    "jql",
    "nextPageToken",
    "maxResults",
    "fields",
    "expand",
    "properties",
    "fieldsByKeys",
    "failFast",
    "reconcileIssues",
}


@jira_route("read:jira-work")
async def search_jql(call: JiraCall) -> web.StreamResponse:
    request = call.request
    if request.method == "POST":
        try:
            body = await request.json()
        except ValueError:
            return jira_error(400, "The request body is not valid JSON.")
        if not isinstance(body, dict):
            return jira_error(400, "The request body must be a JSON object.")
        unknown = sorted(set(body) - SEARCH_KEYS)
        if unknown:
            return jira_error(400, f'Unrecognized field "{unknown[0]}".')
        query = body.get("jql") or ""
        token = body.get("nextPageToken")
        raw_max = body.get("maxResults", 50)
        fields_spec = body.get("fields") or []
        expand_spec = body.get("expand") or ""
        if not isinstance(query, str) or (token is not None and not isinstance(token, str)):
            return jira_error(400, "'jql' and 'nextPageToken' must be strings.")
        if not isinstance(fields_spec, list) or not all(isinstance(f, str) for f in fields_spec):
            return jira_error(400, "'fields' must be an array of strings.")
        if not isinstance(expand_spec, str):
            return jira_error(400, "'expand' must be a comma-separated string.")
        if isinstance(raw_max, bool) or not isinstance(raw_max, int):
            return jira_error(400, "'maxResults' must be an integer.")
        max_results = raw_max
        expand = _expand_set([expand_spec])
    else:
        query = request.query.get("jql", "")
        token = request.query.get("nextPageToken") or None
        try:
            max_results = _int_param(call, "maxResults", 50)
        except BadRequest as exc:
            return jira_error(400, str(exc))
        fields_spec = request.query.getall("fields", [])
        expand = _expand_set(request.query.getall("expand", []))
    if max_results < 1:
        return jira_error(400, "The 'maxResults' parameter must be between 1 and 5000.")
    selected, small = select_fields(fields_spec, "id")
    cap = 5000 if small else 100
    page_size = min(max_results, cap)
    digest = hashlib.sha256(
        f"{call.account.account_id}|{call.cloud_id}|{query}".encode()
    ).hexdigest()[:16]
    offset = 0
    if token is not None:
        decoded = _decode_token(token, digest)
        if decoded is None:
            return jira_error(400, "The provided next page token is invalid or expired.")
        offset = decoded
    jira = request.app[JIRA_KEY]
    try:
        issues = jira.search(call, query, cached=token is not None)
    except jql.JQLError as exc:
        return jira_error(400, str(exc))
    page = issues[offset : offset + page_size]
    renderer = jira.renderer
    if selected is None:
        out_issues: list[dict[str, Any]] = [{"id": str(i.id)} for i in page]
    else:
        out_issues = [
            renderer.issue(call.base, i, selected, expand, SEARCH_COMMENT_CAP) for i in page
        ]
    result: dict[str, Any] = {"issues": out_issues}
    end = offset + len(page)
    if end < len(issues):
        result["nextPageToken"] = _encode_token(end, digest)
        result["isLast"] = False
    else:
        result["isLast"] = True
    if selected is not None and "names" in expand:
        result["names"] = {fid: FIELD_NAMES.get(fid, fid) for fid in selected}
    if selected is not None and "schema" in expand:
        schemas = {f["id"]: f["schema"] for f in FIELDS}
        result["schema"] = {fid: schemas[fid] for fid in selected if fid in schemas}
    return json_bytes(result)


@jira_route("read:jira-work")
async def approximate_count(call: JiraCall) -> web.StreamResponse:
    try:
        body = await call.request.json()
    except ValueError:
        return jira_error(400, "The request body is not valid JSON.")
    if not isinstance(body, dict) or set(body) - {"jql"}:
        return jira_error(400, 'The request body must be {"jql": "..."}.')
    query = body.get("jql") or ""
    if not isinstance(query, str):
        return jira_error(400, "'jql' must be a string.")
    try:
        issues = call.request.app[JIRA_KEY].search(call, query, cached=True)
    except jql.JQLError as exc:
        return jira_error(400, str(exc))
    return json_bytes({"count": len(issues)})


def _find(call: JiraCall) -> IssueCore | None:
    dataset = call.request.app[JIRA_KEY].dataset
    return dataset.find_issue(call.account, call.cloud_id, call.request.match_info["issueIdOrKey"])


@jira_route("read:jira-work")
async def get_issue(call: JiraCall) -> web.StreamResponse:
    issue = _find(call)
    if issue is None:
        return jira_error(404, ISSUE_NOT_FOUND)
    query = call.request.query
    selected, _ = select_fields(query.getall("fields", []), "*all")
    expand = _expand_set(query.getall("expand", []))
    renderer = call.request.app[JIRA_KEY].renderer
    body = renderer.issue(call.base, issue, selected or [], expand, ISSUE_COMMENT_CAP)
    if selected is None:
        body["fields"] = {}
    return json_bytes(body)


@jira_route("read:jira-work")
async def get_comments(call: JiraCall) -> web.StreamResponse:
    issue = _find(call)
    if issue is None:
        return jira_error(404, ISSUE_NOT_FOUND)
    try:
        start = _int_param(call, "startAt", 0)
        max_results = _int_param(call, "maxResults", 100)
    except BadRequest as exc:
        return jira_error(400, str(exc))
    order = call.request.query.get("orderBy", "created")
    if order not in ("created", "+created", "-created"):
        return jira_error(
            400, f"Invalid orderBy value '{order}'. Valid values are created, +created, -created."
        )
    if start < 0 or max_results < 0:
        return jira_error(400, "startAt and maxResults must not be negative.")
    max_results = min(max_results, 100)
    expand = _expand_set(call.request.query.getall("expand", []))
    renderer = call.request.app[JIRA_KEY].renderer
    source = (
        renderer.rendered_comments(call.base, issue)
        if "renderedBody" in expand
        else renderer.comments(call.base, issue)
    )
    if order == "-created":
        source = source[::-1]
    return json_bytes(
        {
            "startAt": start,
            "maxResults": max_results,
            "total": len(source),
            "comments": source[start : start + max_results],
        }
    )


@jira_route("read:jira-work")
async def get_changelog(call: JiraCall) -> web.StreamResponse:
    issue = _find(call)
    if issue is None:
        return jira_error(404, ISSUE_NOT_FOUND)
    try:
        start = _int_param(call, "startAt", 0)
        max_results = _int_param(call, "maxResults", 100)
    except BadRequest as exc:
        return jira_error(400, str(exc))
    if start < 0 or max_results < 1:
        return jira_error(400, "startAt must not be negative and maxResults must be positive.")
    max_results = min(max_results, 100)
    values = call.request.app[JIRA_KEY].renderer.changelog_values(call.base, issue)
    page = values[start : start + max_results]
    url = f"{call.base}/rest/api/3/issue/{issue.key}/changelog"
    return json_bytes(_page_bean(url, start, max_results, len(values), len(page), page))


def _page_bean(
    url: str, start: int, max_results: int, total: int, count: int, values: list[Any]
) -> dict[str, Any]:
    """Jira's offset-paginated envelope (PageBean), with ``nextPage`` unless it is the last."""
    out: dict[str, Any] = {
        "self": f"{url}?startAt={start}&maxResults={max_results}",
        "maxResults": max_results,
        "startAt": start,
        "total": total,
        "isLast": start + count >= total,
        "values": values,
    }
    if not out["isLast"]:
        out["nextPage"] = f"{url}?startAt={start + count}&maxResults={max_results}"
    return out


def _project_of(call: JiraCall) -> Project | None:
    """The project named by ``{projectIdOrKey}`` (its id, or its key: case-sensitive, as the
    OpenAPI says) if the caller may browse it on this site."""
    wanted = call.request.match_info["projectIdOrKey"]
    jira = call.request.app[JIRA_KEY]
    for project in jira.dataset.visible_projects(call.account, call.cloud_id):
        if wanted in (project.key, project.id):
            return project
    return None


def _no_project(call: JiraCall) -> web.StreamResponse:
    wanted = call.request.match_info["projectIdOrKey"]
    return jira_error(404, f"No project could be found with key '{wanted}'.")


@jira_route("read:jira-work")
async def project_versions(call: JiraCall) -> web.StreamResponse:
    """``GET /rest/api/3/project/{projectIdOrKey}/versions``: every version, unpaginated, in the
    project's order (Jira's ``sequence``), archived ones included."""
    project = _project_of(call)
    if project is None:
        return _no_project(call)
    jira = call.request.app[JIRA_KEY]
    today = jira.dataset.now.date()
    return web.json_response(
        [v.as_project_json(call.base, today) for v in jira.dataset.versions[project.key]]
    )


VERSION_STATUSES = frozenset({"released", "unreleased", "archived"})


@jira_route("read:jira-work")
async def project_version_page(call: JiraCall) -> web.StreamResponse:
    """``GET /rest/api/3/project/{projectIdOrKey}/version``: the same versions, paginated
    (``startAt``, ``maxResults`` up to 50), filtered by ``query`` (in the name or description)
    and ``status`` (comma-separated ``released``, ``unreleased``, ``archived``)."""
    project = _project_of(call)
    if project is None:
        return _no_project(call)
    query = call.request.query
    try:
        start = _int_param(call, "startAt", 0)
        max_results = _int_param(call, "maxResults", 50)
    except BadRequest as exc:
        return jira_error(400, str(exc))
    if start < 0 or max_results < 0:
        return jira_error(400, "startAt and maxResults must not be negative.")
    max_results = min(max_results, 50)
    jira = call.request.app[JIRA_KEY]
    versions = list(jira.dataset.versions[project.key])
    text = query.get("query", "").casefold()
    if text:
        versions = [
            v for v in versions if text in v.name.casefold() or text in v.description.casefold()
        ]
    statuses = {s for s in query.get("status", "").split(",") if s}
    if statuses - VERSION_STATUSES:
        return jira_error(400, f"Invalid status value '{query.get('status')}'.")
    if statuses:
        versions = [
            v
            for v in versions
            if ("archived" in statuses and v.archived)
            or ("released" in statuses and v.released and not v.archived)
            or ("unreleased" in statuses and not v.released and not v.archived)
        ]
    today = jira.dataset.now.date()
    page = versions[start : start + max_results]
    url = str(call.request.url.with_query(None))
    out: dict[str, Any] = {
        "self": f"{url}?startAt={start}&maxResults={max_results}",
        "maxResults": max_results,
        "startAt": start,
        "total": len(versions),
        "isLast": start + len(page) >= len(versions),
        "values": [v.as_project_json(call.base, today) for v in page],
    }
    if not out["isLast"]:
        out["nextPage"] = f"{url}?startAt={start + len(page)}&maxResults={max_results}"
    return web.json_response(out)


@jira_route("read:jira-work")
async def project_search(call: JiraCall) -> web.StreamResponse:
    query = call.request.query
    try:
        start = _int_param(call, "startAt", 0)
        max_results = _int_param(call, "maxResults", 50)
    except BadRequest as exc:
        return jira_error(400, str(exc))
    if start < 0 or max_results < 0:
        return jira_error(400, "startAt and maxResults must not be negative.")
    max_results = min(max_results, 100)
    jira = call.request.app[JIRA_KEY]
    projects = jira.dataset.visible_projects(call.account, call.cloud_id)
    text = query.get("query", "").casefold()
    if text:
        projects = [p for p in projects if text in p.key.casefold() or text in p.name.casefold()]
    wanted_keys = {k for v in query.getall("keys", []) for k in v.split(",") if k}
    if wanted_keys:
        projects = [p for p in projects if p.key in wanted_keys]
    wanted_ids = {k for v in query.getall("id", []) for k in v.split(",") if k}
    if wanted_ids:
        projects = [p for p in projects if p.id in wanted_ids]
    order = query.get("orderBy", "key")
    descending = order.startswith("-")
    field = order.lstrip("+-")
    if field not in ("key", "name", "issueCount", "category", "owner", "lastIssueUpdatedTime"):
        return jira_error(400, f"Invalid orderBy value '{order}'.")
    sorter: dict[str, Callable[[Project], Any]] = {
        "name": lambda p: p.name.casefold(),
        "issueCount": lambda p: p.issue_count,
    }
    projects = sorted(projects, key=sorter.get(field, lambda p: p.key), reverse=descending)
    expand = _expand_set(query.getall("expand", []))
    page = projects[start : start + max_results]
    values = []
    for p in page:
        value: dict[str, Any] = {
            "expand": "description,lead,issueTypes,url,projectKeys,permissions,insight",
            **jira.renderer.project(call.base, p),
            "style": "classic",
            "isPrivate": False,
            "properties": {},
        }
        if "description" in expand:
            value["description"] = f"Projet {p.name}" if p.lang == "fr" else f"{p.name} project"
        if "url" in expand:
            value["url"] = f"{SITES[p.site].url}/browse/{p.key}"
        if "insight" in expand:
            last = max(i.updated for i in jira.dataset.by_project[p.key])
            value["insight"] = {
                "totalIssueCount": p.issue_count,
                "lastIssueUpdateTime": jira_ts(last),
            }
        if "lead" in expand:
            value["lead"] = jira.renderer.user(call.base, ALICE)
        values.append(value)
    url = f"{call.base}/rest/api/3/project/search"
    return json_bytes(_page_bean(url, start, max_results, len(projects), len(page), values))


@jira_route("read:jira-work")
async def list_fields(call: JiraCall) -> web.StreamResponse:
    return json_bytes(list(FIELDS))


# --- Jira Software (Agile REST API 1.0) ------------------------------------------------------
# Envelopes as Jira Software Cloud serves them (developer.atlassian.com/cloud/jira/software/rest/,
# groups "Board" and "Sprint"): ``GET /board`` -> {maxResults, startAt, total, isLast, values};
# ``GET /board/{id}/sprint`` -> {maxResults, startAt, isLast, values} (no total);
# ``GET /sprint/{id}/issue`` -> the platform's search shape {expand, startAt, maxResults, total,
# issues}, with the sprint's *current* members only. Scopes: read:board-scope:jira-software for
# boards, read:sprint:jira-software for sprints (classic scopes do not cover /rest/agile/1.0).

BOARD_SCOPE = "read:board-scope:jira-software"
SPRINT_SCOPE = "read:sprint:jira-software"
AGILE_MAX = 50
BOARD_NOT_FOUND = "Board does not exist or you do not have permission to see it."
SPRINT_STATES = ("future", "active", "closed")


def _visible_board(call: JiraCall, board: Board | None) -> bool:
    if board is None or board.project.site != call.cloud_id:
        return False
    return board.project.key in call.account.access.get(call.cloud_id, ())


def _paging(call: JiraCall) -> tuple[int, int]:
    start = _int_param(call, "startAt", 0)
    max_results = _int_param(call, "maxResults", AGILE_MAX)
    if start < 0 or max_results < 0:
        raise BadRequest("startAt and maxResults must not be negative.")
    return start, min(max_results or AGILE_MAX, AGILE_MAX)


@jira_route(BOARD_SCOPE)
async def agile_boards(call: JiraCall) -> web.StreamResponse:
    dataset = call.request.app[JIRA_KEY].dataset
    query = call.request.query
    try:
        start, max_results = _paging(call)
    except BadRequest as exc:
        return jira_error(400, str(exc))
    types = [t.strip() for t in query.get("type", "").split(",") if t.strip()]
    bad = [t for t in types if t not in ("scrum", "kanban", "simple")]
    if bad:
        return jira_error(400, f"Board type '{bad[0]}' is not valid. Use scrum, kanban or simple.")
    project = query.get("projectKeyOrId", "").strip()
    boards = [b for b in dataset.boards.values() if _visible_board(call, b)]
    if project:
        if not any(project.upper() == b.project.key or project == b.project.id for b in boards):
            visible = call.account.access.get(call.cloud_id, ())
            if not any(project.upper() == k or project == PROJECTS[k].id for k in visible):
                return jira_error(400, f"No project could be found with key or id '{project}'.")
        boards = [b for b in boards if project.upper() == b.project.key or project == b.project.id]
    if types:
        boards = [b for b in boards if b.type in types]
    page = boards[start : start + max_results]
    return json_bytes(
        {
            "maxResults": max_results,
            "startAt": start,
            "total": len(boards),
            "isLast": start + len(page) >= len(boards),
            "values": [b.as_json(call.base) for b in page],
        }
    )


def _board(call: JiraCall) -> Board | None:
    dataset = call.request.app[JIRA_KEY].dataset
    raw = call.request.match_info["boardId"]
    board = dataset.boards.get(int(raw)) if raw.isdigit() else None
    return board if _visible_board(call, board) else None


@jira_route(BOARD_SCOPE)
async def agile_board(call: JiraCall) -> web.StreamResponse:
    board = _board(call)
    if board is None:
        return jira_error(404, BOARD_NOT_FOUND)
    return json_bytes(board.as_json(call.base))


@jira_route(SPRINT_SCOPE)
async def agile_board_sprints(call: JiraCall) -> web.StreamResponse:
    board = _board(call)
    if board is None:
        return jira_error(404, BOARD_NOT_FOUND)
    if board.type != "scrum":
        return jira_error(400, "The board does not support sprints")
    try:
        start, max_results = _paging(call)
    except BadRequest as exc:
        return jira_error(400, str(exc))
    states = [s.strip() for s in call.request.query.get("state", "").split(",") if s.strip()]
    bad = [s for s in states if s not in SPRINT_STATES]
    if bad:
        return jira_error(400, f"Sprint state '{bad[0]}' is not valid: use future, active, closed.")
    dataset = call.request.app[JIRA_KEY].dataset
    sprints = [s for s in dataset.board_sprints(board) if not states or s.state in states]
    page = sprints[start : start + max_results]
    return json_bytes(
        {
            "maxResults": max_results,
            "startAt": start,
            "isLast": start + len(page) >= len(sprints),
            "values": [s.agile_json(call.base) for s in page],
        }
    )


def _sprint(call: JiraCall) -> tuple[Board | None, Sprint | None]:
    dataset = call.request.app[JIRA_KEY].dataset
    raw = call.request.match_info["sprintId"]
    sprint = dataset.find_sprint(int(raw)) if raw.isdigit() else None
    board = dataset.boards.get(sprint.board_id) if sprint is not None else None
    if sprint is None or not _visible_board(call, board):
        return None, None
    return board, sprint


def _sprint_missing(call: JiraCall) -> web.Response:
    raw = call.request.match_info["sprintId"]
    return jira_error(404, f"Sprint with id {raw} does not exist or you do not have permission.")


@jira_route(SPRINT_SCOPE)
async def agile_sprint(call: JiraCall) -> web.StreamResponse:
    _, sprint = _sprint(call)
    if sprint is None:
        return _sprint_missing(call)
    return json_bytes(sprint.agile_json(call.base))


@jira_route(SPRINT_SCOPE)
async def agile_sprint_issues(call: JiraCall) -> web.StreamResponse:
    board, sprint = _sprint(call)
    if board is None:
        return _sprint_missing(call)
    try:
        start, max_results = _paging(call)
    except BadRequest as exc:
        return jira_error(400, str(exc))
    jira = call.request.app[JIRA_KEY]
    members = [i for i in jira.dataset.by_project[board.project.key] if i.sprint is sprint]
    query = call.request.query.get("jql", "").strip()
    if query:
        try:
            matching = {i.key for i in jira.search(call, query, cached=False)}
        except jql.JQLError as exc:
            return jira_error(400, str(exc))
        members = [i for i in members if i.key in matching]
    selected, _ = select_fields(call.request.query.getall("fields", []), "*navigable")
    expand = _expand_set(call.request.query.getall("expand", []))
    page = members[start : start + max_results]
    issues = []
    for issue in page:
        body = jira.renderer.issue(call.base, issue, selected or [], expand, SEARCH_COMMENT_CAP)
        if selected is None:
            body["fields"] = {}
        issues.append(body)
    return json_bytes(
        {
            "expand": "schema,names",
            "startAt": start,
            "maxResults": max_results,
            "total": len(members),
            "issues": issues,
        }
    )


# --- bulk changelogs ---------------------------------------------------------------------------
# POST /rest/api/3/changelog/bulkfetch (operationId getBulkChangelogs in the platform OpenAPI
# document): BulkChangelogRequestBean {issueIdsOrKeys: 1..1000, fieldIds: 0..10 unique,
# maxResults: 1..10000 (default 1000), nextPageToken} -> BulkChangelogResponseBean
# {issueChangeLogs: [{issueId, changeHistories}], nextPageToken (absent on the last page)}; the
# histories are sorted by date then issue id, oldest first; maxResults counts histories.

BULK_KEYS = frozenset({"issueIdsOrKeys", "fieldIds", "maxResults", "nextPageToken"})


@jira_route("read:jira-work")
async def bulk_changelogs(call: JiraCall) -> web.StreamResponse:
    try:
        body = await call.request.json()
    except ValueError:
        return jira_error(400, "The request body is not valid JSON.")
    if not isinstance(body, dict):
        return jira_error(400, "The request body must be a JSON object.")
    unknown = sorted(set(body) - BULK_KEYS)
    if unknown:
        return jira_error(400, f'Unrecognized field "{unknown[0]}".')
    ids = body.get("issueIdsOrKeys")
    fields = body.get("fieldIds") or []
    raw_max = body.get("maxResults", 1000)
    token = body.get("nextPageToken")
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids) or not ids:
        return jira_error(400, "issueIdsOrKeys must be a non-empty array of strings.")
    if len(ids) > 1000:
        return jira_error(400, "You can request the changelogs of up to 1000 issues.")
    if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
        return jira_error(400, "fieldIds must be an array of strings.")
    if len(fields) > 10:
        return jira_error(400, "You can filter changelogs by up to 10 field IDs.")
    if isinstance(raw_max, bool) or not isinstance(raw_max, int) or not 1 <= raw_max <= 10000:
        return jira_error(400, "maxResults must be an integer between 1 and 10000.")
    if token is not None and not isinstance(token, str):
        return jira_error(400, "nextPageToken must be a string.")
    jira = call.request.app[JIRA_KEY]
    issues = []
    for ref in ids:
        issue = jira.dataset.find_issue(call.account, call.cloud_id, ref)
        if issue is not None and issue not in issues:
            issues.append(issue)
    wanted = set(fields)
    entries: list[tuple[str, int, dict[str, Any]]] = []
    for issue in issues:
        for history in jira.renderer.changelog_values(call.base, issue):
            items = [i for i in history["items"] if not wanted or i.get("fieldId") in wanted]
            if items:
                entries.append((history["created"], issue.id, {**history, "items": items}))
    entries.sort(key=lambda e: (e[0], e[1]))
    digest = hashlib.sha256(
        f"{call.account.account_id}|{call.cloud_id}|{ids}|{fields}".encode()
    ).hexdigest()[:16]
    offset = 0
    if token is not None:
        decoded = _decode_token(token, digest)
        if decoded is None:
            return jira_error(400, "The provided next page token is invalid or expired.")
        offset = decoded
    page = entries[offset : offset + raw_max]
    grouped: dict[int, list[dict[str, Any]]] = {}
    for _, issue_id, history in page:
        grouped.setdefault(issue_id, []).append(history)
    result: dict[str, Any] = {
        "issueChangeLogs": [
            {"issueId": str(issue_id), "changeHistories": histories}
            for issue_id, histories in grouped.items()
        ]
    }
    if offset + len(page) < len(entries):
        result["nextPageToken"] = _encode_token(offset + len(page), digest)
    return json_bytes(result)


@jira_route("read:jira-work")
async def all_statuses(call: JiraCall) -> web.StreamResponse:
    """``GET /rest/api/3/status`` (getStatuses): every status of the projects the user can
    browse, each with its ``statusCategory`` (a changelog names statuses by id only)."""
    seen: dict[str, Status] = {}
    for project in call.request.app[JIRA_KEY].dataset.visible_projects(call.account, call.cloud_id):
        for status in project.statuses:
            seen.setdefault(status.id, status)
    renderer = call.request.app[JIRA_KEY].renderer
    return json_bytes(
        [
            {**renderer.status(call.base, status), "untranslatedName": status.name}
            for status in seen.values()
        ]
    )


# --- JQL tooling (parse, autocomplete): sandbox.atlassian.jql_check -------------------------


@jira_route("read:jira-work")
async def jql_parse(call: JiraCall) -> web.StreamResponse:
    """``POST /rest/api/3/jql/parse?validation=strict|warn|none`` (parseJqlQueries): the
    ``validation`` parameter is required, the body is ``JqlQueriesToParse`` (a non-empty list
    of non-empty strings)."""
    validation = call.request.query.get("validation")
    if validation is None:
        return jira_error(400, "The 'validation' parameter is required.")
    if validation not in jql_check.VALIDATIONS:
        return jira_error(
            400, f"Invalid validation option '{validation}'. Valid options: strict, warn, none."
        )
    try:
        body = await call.request.json()
    except ValueError:
        return jira_error(400, "The request body is not valid JSON.")
    if not isinstance(body, dict):
        return jira_error(400, "The request body must be a JSON object.")
    unknown = sorted(set(body) - {"queries"})
    if unknown:
        return jira_error(400, f'Unrecognized field "{unknown[0]}".')
    queries = body.get("queries")
    if not isinstance(queries, list) or not queries:
        return jira_error(400, "At least one query is required.")
    if not all(isinstance(q, str) and q.strip() for q in queries):
        return jira_error(400, "Queries must be non-empty strings.")
    dataset = call.request.app[JIRA_KEY].dataset
    parsed = [
        jql_check.parse_one(dataset, call.account, call.cloud_id, q, validation) for q in queries
    ]
    return json_bytes({"queries": parsed})


@jira_route("read:jira-work")
async def jql_autocomplete(call: JiraCall) -> web.StreamResponse:
    """``GET /rest/api/3/jql/autocompletedata`` (getAutoComplete): the fields, functions and
    reserved words the parser knows."""
    return json_bytes(jql_check.reference_data())


@jira_route("read:jira-work")
async def jql_suggestions(call: JiraCall) -> web.StreamResponse:
    """``GET /rest/api/3/jql/autocompletedata/suggestions?fieldName=&fieldValue=``: values of a
    field (priorities, issue types, statuses, projects, sprints, labels); an unknown field has
    none, as on Jira."""
    query = call.request.query
    if "predicateName" in query and "fieldName" not in query:
        return jira_error(400, "A 'fieldName' is required with a 'predicateName'.")
    dataset = call.request.app[JIRA_KEY].dataset
    results = jql_check.suggestions(
        dataset,
        call.account,
        call.cloud_id,
        query.get("fieldName", ""),
        query.get("fieldValue", ""),
    )
    return json_bytes({"results": results})


@jira_route(None)
async def not_found(call: JiraCall) -> web.StreamResponse:
    return jira_error(404, f"null for uri: {call.request.path}")


# --- control ---------------------------------------------------------------------------------


async def post_ratelimit(request: web.Request) -> web.Response:
    try:
        body = await request.json()
    except ValueError:
        return web.json_response({"error": "body must be JSON"}, status=400)
    if not isinstance(body, dict) or "points" not in body:
        return web.json_response({"error": 'body must be {"points": N|null, ...}'}, status=400)
    points, window = body.get("points"), body.get("window_seconds", 3600)
    if points is not None and (
        isinstance(points, bool) or not isinstance(points, int) or points < 0
    ):
        return web.json_response({"error": "points must be a non-negative integer"}, status=400)
    if isinstance(window, bool) or not isinstance(window, int | float) or window <= 0:
        return web.json_response({"error": "window_seconds must be positive"}, status=400)
    request.app[JIRA_KEY].limits.configure(points, float(window))
    return web.json_response({"points": points, "window_seconds": window})


def setup(app: web.Application, jira: Jira) -> None:
    app[JIRA_KEY] = jira
    router = app.router
    router.add_get("/oauth/token/accessible-resources", accessible_resources)
    prefix = "/ex/jira/{cloudId}/rest/api"
    router.add_get(prefix + "/3/myself", myself)
    router.add_get(prefix + "/2/myself", myself)
    router.add_get(prefix + "/3/serverInfo", server_info)
    router.add_get(prefix + "/2/serverInfo", server_info)
    router.add_get(prefix + "/3/search/jql", search_jql)
    router.add_post(prefix + "/3/search/jql", search_jql)
    router.add_post(prefix + "/3/search/approximate-count", approximate_count)
    for version in ("2", "3"):
        router.add_get(prefix + f"/{version}/search", removed_search)
        router.add_post(prefix + f"/{version}/search", removed_search)
    router.add_get(prefix + "/3/issue/{issueIdOrKey}", get_issue)
    router.add_get(prefix + "/3/issue/{issueIdOrKey}/comment", get_comments)
    router.add_get(prefix + "/3/issue/{issueIdOrKey}/changelog", get_changelog)
    router.add_get(prefix + "/3/project/search", project_search)
    router.add_get(prefix + "/3/project/{projectIdOrKey}/versions", project_versions)
    router.add_get(prefix + "/3/project/{projectIdOrKey}/version", project_version_page)
    router.add_post(prefix + "/3/changelog/bulkfetch", bulk_changelogs)
    agile = "/ex/jira/{cloudId}/rest/agile/1.0"
    router.add_get(agile + "/board", agile_boards)
    router.add_get(agile + "/board/{boardId}", agile_board)
    router.add_get(agile + "/board/{boardId}/sprint", agile_board_sprints)
    router.add_get(agile + "/sprint/{sprintId}", agile_sprint)
    router.add_get(agile + "/sprint/{sprintId}/issue", agile_sprint_issues)
    router.add_get(prefix + "/3/status", all_statuses)
    router.add_get(prefix + "/3/field", list_fields)
    router.add_get(prefix + "/2/field", list_fields)
    router.add_post(prefix + "/3/jql/parse", jql_parse)
    router.add_get(prefix + "/3/jql/autocompletedata", jql_autocomplete)
    router.add_get(prefix + "/3/jql/autocompletedata/suggestions", jql_suggestions)
    router.add_route("*", "/ex/jira/{cloudId}/{tail:.*}", not_found)
    router.add_post("/_sandbox/ratelimit", post_ratelimit)
