"""Jira's JQL tooling over the sandbox's parser (``sandbox.atlassian.jql``): what
``POST /rest/api/3/jql/parse`` answers (the syntax tree and the validation messages), and the
reference data of ``GET /rest/api/3/jql/autocompletedata`` and its ``/suggestions``.

Validation, as the OpenAPI document describes ``validation`` and as Jira Cloud answers:

* a syntax error is always an error, and the query then has no ``structure``;
* ``strict``: every validation message is an error and an invalid query has no ``structure``;
* ``warn``: a value that does not exist (``The value 'X' does not exist for the field
  'project'.``) is a warning, the other messages (an unknown field, an operator the field does not
  support) stay errors, and a well-formed query keeps its ``structure``;
* ``none``: no validation, the ``structure`` of any well-formed query.

Every leaf clause is validated on its own (Jira lists all the messages of a query, not only the
first), with the evaluator's own checks (``Context.compile_clause``), so that a query this module
accepts is one the search endpoints run.
"""

from __future__ import annotations

import re
from typing import Any

from sandbox.atlassian import jql
from sandbox.atlassian.data import ISSUE_TYPES, PRIORITIES, STATUSES, Account, Dataset

VALIDATIONS = ("strict", "warn", "none")
_MISSING_VALUE = re.compile(r"^The value '.*' does not exist for the field '.*'\.$", re.DOTALL)
_PLAIN = re.compile(r"^[\w.\-]+$", re.UNICODE)

# -- the syntax tree ------------------------------------------------------------------------------


def encode(value: str) -> str:
    """A value as it can be written back in JQL: bare when it is one plain word, else quoted."""
    if _PLAIN.match(value) and value.lower() not in jql.KEYWORDS:
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _field(raw: str) -> dict[str, Any]:
    return {"name": raw, "encodedName": encode(raw)}


def _operand(operand: jql.Operand) -> dict[str, Any]:
    if operand.kind == "empty":
        return {"keyword": "empty"}
    if operand.kind == "function":
        name = operand.token.value if operand.token else operand.value
        args = list(operand.args)
        return {
            "function": name,
            "arguments": args,
            "encodedOperand": f"{name}({', '.join(encode(a) for a in args)})",
        }
    return {"value": operand.value, "encodedValue": encode(operand.value)}


OPERATOR_NAMES = {"in": "in", "notin": "not in", "is": "is", "isnot": "is not"}


def _clause(node: Any) -> dict[str, Any]:
    if isinstance(node, jql.BoolExpr):
        return {"operator": node.op, "clauses": [_clause(c) for c in node.children]}
    operator = OPERATOR_NAMES.get(node.op, node.op)
    if node.op in ("is", "isnot"):
        operand: dict[str, Any] = {"keyword": "empty"}
    elif node.op in ("in", "notin") and not (
        len(node.operands) == 1 and node.operands[0].kind == "function"
    ):
        values = [_operand(o) for o in node.operands]
        encoded = ", ".join(
            v.get("encodedValue") or v.get("encodedOperand") or "EMPTY" for v in values
        )
        operand = {"values": values, "encodedOperand": f"({encoded})"}
    else:
        operand = _operand(node.operands[0])
    return {"field": _field(node.raw_field), "operator": operator, "operand": operand}


def structure(query: jql.Query) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if query.where is not None:
        out["where"] = _clause(query.where)
    if query.order:
        out["orderBy"] = {
            "fields": [
                {"field": _field(s.raw_field), "direction": "desc" if s.descending else "asc"}
                for s in query.order
            ]
        }
    return out


# -- validation -----------------------------------------------------------------------------------


def _leaves(node: Any) -> list[jql.Clause]:
    if isinstance(node, jql.BoolExpr):
        return [leaf for child in node.children for leaf in _leaves(child)]
    return [node]


def _unique(messages: list[str]) -> list[str]:
    return list(dict.fromkeys(messages))


def parse_one(
    dataset: Dataset, account: Account, cloud_id: str, source: str, validation: str
) -> dict[str, Any]:
    """One entry of ``ParsedJqlQueries.queries`` for ``source``."""
    out: dict[str, Any] = {"query": source}
    try:
        query = jql.parse(source)
    except jql.JQLError as exc:
        out["errors"] = [str(exc)]
        return out
    errors: list[str] = []
    warnings: list[str] = []
    if validation != "none" and query.where is not None:
        context = jql.Context(dataset, account, cloud_id)
        for leaf in _leaves(query.where):
            try:
                context.compile_clause(leaf)
            except jql.JQLError as exc:
                message = str(exc)
                if validation == "warn" and _MISSING_VALUE.match(message):
                    warnings.append(message)
                else:
                    errors.append(message)
    if errors:
        out["errors"] = _unique(errors)
    if warnings:
        out["warnings"] = _unique(warnings)
    if not (errors and validation == "strict"):
        out["structure"] = structure(query)
    return out


# -- reference data -------------------------------------------------------------------------------

_EQUALITY = ["=", "!=", "in", "not in", "is", "is not"]
_ORDERED = ["=", "!=", ">", ">=", "<", "<=", "in", "not in", "is", "is not"]
_TEXT = ["~", "!~", "is", "is not"]

# value, displayName, operators, types, orderable, auto, cfid: one entry per field the parser
# knows (its aliases, ``type``, ``due``, ``issuekey``..., are accepted but not listed, as Jira
# lists a field once).
FIELD_REFERENCE: tuple[tuple[str, str, list[str], str, bool, bool, str | None], ...] = (
    ("project", "project", _EQUALITY, "com.atlassian.jira.project.Project", True, True, None),
    ("status", "status", _EQUALITY, "com.atlassian.jira.issue.status.Status", True, True, None),
    (
        "statusCategory",
        "statusCategory",
        _EQUALITY,
        "com.atlassian.jira.issue.status.category.StatusCategory",
        True,
        True,
        None,
    ),
    (
        "assignee",
        "assignee",
        _EQUALITY,
        "com.atlassian.jira.user.ApplicationUser",
        True,
        True,
        None,
    ),
    (
        "reporter",
        "reporter",
        _EQUALITY,
        "com.atlassian.jira.user.ApplicationUser",
        True,
        True,
        None,
    ),
    (
        "priority",
        "priority",
        _ORDERED,
        "com.atlassian.jira.issue.priority.Priority",
        True,
        True,
        None,
    ),
    (
        "issuetype",
        "issuetype",
        _EQUALITY,
        "com.atlassian.jira.issue.issuetype.IssueType",
        True,
        True,
        None,
    ),
    ("labels", "labels", _EQUALITY, "com.atlassian.jira.issue.label.Label", True, True, None),
    (
        "Sprint",
        "Sprint - cf[10020]",
        _EQUALITY,
        "com.atlassian.greenhopper.service.sprint.Sprint",
        True,
        True,
        "cf[10020]",
    ),
    (
        "fixVersion",
        "fixVersion",
        _ORDERED,
        "com.atlassian.jira.project.version.Version",
        True,
        True,
        None,
    ),
    ("created", "Created", _ORDERED, "java.util.Date", True, False, None),
    ("updated", "Updated", _ORDERED, "java.util.Date", True, False, None),
    ("duedate", "Due Date", _ORDERED, "java.util.Date", True, False, None),
    ("text", "text", _TEXT, "java.lang.String", False, False, None),
    ("summary", "summary", _TEXT, "java.lang.String", True, False, None),
    ("description", "description", _TEXT, "java.lang.String", False, False, None),
    ("comment", "comment", _TEXT, "java.lang.String", False, False, None),
    ("key", "key", _ORDERED, "com.atlassian.jira.issue.Issue", True, False, None),
    ("parent", "parent", _EQUALITY, "com.atlassian.jira.issue.Issue", False, False, None),
    (
        '"Story point estimate"',
        "Story point estimate - cf[10016]",
        _ORDERED,
        "java.lang.Number",
        True,
        False,
        "cf[10016]",
    ),
)
FUNCTION_REFERENCE: tuple[tuple[str, bool, str], ...] = (
    ("currentUser()", False, "com.atlassian.jira.user.ApplicationUser"),
    ("openSprints()", True, "com.atlassian.greenhopper.service.sprint.Sprint"),
    ("closedSprints()", True, "com.atlassian.greenhopper.service.sprint.Sprint"),
    ("futureSprints()", True, "com.atlassian.greenhopper.service.sprint.Sprint"),
    ("now()", False, "java.util.Date"),
    *(
        (f"{edge}Of{unit}()", False, "java.util.Date")
        for edge in ("start", "end")
        for unit in ("Day", "Week", "Month", "Year")
    ),
)
RESERVED_WORDS = sorted(
    {*jql.KEYWORDS, "was", "changed", "after", "before", "during", "on", "from", "to", "distinct"}
)


def reference_data() -> dict[str, Any]:
    """``JQLReferenceData``: booleans as the strings ``"true"``/``"false"``, as Jira sends them."""
    fields = []
    for value, display, operators, kind, orderable, auto, cfid in FIELD_REFERENCE:
        entry: dict[str, Any] = {
            "value": value,
            "displayName": display,
            "orderable": str(orderable).lower(),
            "searchable": "true",
            "operators": list(operators),
            "types": [kind],
        }
        if auto:
            entry["auto"] = "true"
        if cfid:
            entry["cfid"] = cfid
        fields.append(entry)
    functions = [
        {"value": name, "displayName": name, "isList": str(is_list).lower(), "types": [kind]}
        for name, is_list, kind in FUNCTION_REFERENCE
    ]
    return {
        "visibleFieldNames": fields,
        "visibleFunctionNames": functions,
        "jqlReservedWords": RESERVED_WORDS,
    }


def _bold(name: str, typed: str) -> str:
    """The display name with the typed prefix of a word in ``<b>``, as Jira highlights it."""
    if not typed:
        return name
    match = re.search(r"(?:^|(?<=\s))" + re.escape(typed), name, re.IGNORECASE)
    if match is None:
        return name
    return f"{name[: match.start()]}<b>{match.group(0)}</b>{name[match.end() :]}"


def suggestions(
    dataset: Dataset, account: Account, cloud_id: str, field_name: str, typed: str
) -> list[dict[str, str]]:
    """Values of ``field_name`` whose words start with ``typed`` (every value when empty)."""
    canonical = jql.FIELD_ALIASES.get(field_name.strip().strip('"').lower())
    projects = dataset.visible_projects(account, cloud_id)
    names: list[str]
    if canonical == "priority":
        names = [name for _, name, _ in PRIORITIES]
    elif canonical == "issuetype":
        names = list(ISSUE_TYPES)
    elif canonical == "status":
        used = {s.id for p in projects for s in p.statuses}
        names = [s.name for s in STATUSES if s.id in used]
    elif canonical == "project":
        names = [p.name for p in projects]
    elif canonical == "sprint":
        names = [s.name for p in projects for s in dataset.sprints[p.key]]
    elif canonical == "labels":
        names = sorted(
            {label for p in projects for i in dataset.by_project[p.key] for label in i.labels}
        )
    else:
        names = []
    folded = typed.casefold()
    matching = [
        n
        for n in dict.fromkeys(names)
        if not folded
        or any(w.startswith(folded) for w in n.casefold().split())
        or n.casefold().startswith(folded)
    ]
    return [{"value": n, "displayName": _bold(n, typed)} for n in matching[:15]]
