"""A JQL subset: tokenizer, recursive-descent parser and evaluator over the sandbox dataset.

Grammar (keywords case-insensitive)::

    query     := [or_expr] [ORDER BY sort ("," sort)*] EOF
    or_expr   := and_expr (OR and_expr)*
    and_expr  := not_expr (AND not_expr)*
    not_expr  := NOT not_expr | "(" or_expr ")" | clause
    clause    := field ( ("=" | "!=" | "~" | "!~" | ">" | ">=" | "<" | "<=") operand
                       | [NOT] IN list | IS [NOT] (EMPTY | NULL) )
    operand   := string | word | function "(" [args] ")" | EMPTY | NULL
    list      := "(" operand ("," operand)* ")"
    sort      := field [ASC | DESC]

Fields: project, status, statusCategory, assignee, reporter, priority, issuetype (type), labels,
sprint, fixVersion, created, updated, duedate (due), text, summary, description, comment, key
(issuekey, id), parent. Functions: currentUser(), openSprints(), closedSprints(), futureSprints(),
now(), startOfDay/Week/Month/Year() and endOfDay/Week/Month/Year() with an optional offset.
Errors raise :class:`JQLError` with Jira's wording.

As in Jira, ``!=`` and ``NOT IN`` never match an issue whose field is empty.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sandbox.atlassian.data import (
    ISSUE_TYPES,
    PRIORITIES,
    STATUS_CATEGORIES,
    STATUS_ORDER,
    STATUSES,
    USERS,
    Account,
    Dataset,
    IssueCore,
    Project,
    adf_to_text,
)

UTC = dt.UTC
RESERVED = set("+.,;?|*/%^$#@[]")  # outside quotes; '.' is tolerated inside words (1.0, PAY-1)
WORD_CHARS = re.compile(r"[\w\-.:]", re.UNICODE)
KEYWORDS = {"and", "or", "not", "in", "is", "empty", "null", "order", "by", "asc", "desc"}
UNSUPPORTED_KEYWORDS = {"was", "changed"}
OPERATORS_TEXT = (
    "The valid operators are '=', '!=', '<', '>', '<=', '>=', '~', '!~', 'IN', 'NOT IN', "
    "'IS' and 'IS NOT'."
)


class JQLError(ValueError):
    """A query Jira would answer with 400; ``str(self)`` is the ``errorMessages`` entry."""


class Unbounded(JQLError):
    def __init__(self) -> None:
        super().__init__(
            "Unbounded JQL queries are not allowed here. Please add a search restriction to "
            "your query."
        )


@dataclass(frozen=True)
class Token:
    kind: str  # word | string | op | lparen | rparen | comma | eof
    value: str
    pos: int  # 0-based offset

    @property
    def where(self) -> str:
        return f"(line 1, character {self.pos + 1})"


def tokenize(source: str) -> list[Token]:
    tokens: list[Token] = []
    i, n = 0, len(source)
    while i < n:
        ch = source[i]
        if ch.isspace():
            i += 1
            continue
        if ch in "\"'":
            quote, start, i = ch, i, i + 1
            buf: list[str] = []
            while i < n and source[i] != quote:
                if source[i] == "\\" and i + 1 < n:
                    nxt = source[i + 1]
                    if nxt == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", source[i + 2 : i + 6]):
                        buf.append(chr(int(source[i + 2 : i + 6], 16)))
                        i += 6
                        continue
                    buf.append({"n": "\n", "t": "\t", "r": "\r"}.get(nxt, nxt))
                    i += 2
                    continue
                buf.append(source[i])
                i += 1
            if i >= n:
                raise JQLError(
                    f"Error in the JQL Query: The quoted string '{''.join(buf)}' has not been "
                    f"completed. (line 1, character {start + 1})"
                )
            tokens.append(Token("string", "".join(buf), start))
            i += 1
            continue
        if ch == "(":
            tokens.append(Token("lparen", ch, i))
        elif ch == ")":
            tokens.append(Token("rparen", ch, i))
        elif ch == ",":
            tokens.append(Token("comma", ch, i))
        elif ch in "=~":
            tokens.append(Token("op", ch, i))
        elif ch in "!<>":
            two = source[i : i + 2]
            if two in ("!=", "!~", "<=", ">="):
                tokens.append(Token("op", two, i))
                i += 2
                continue
            if ch == "!":
                raise JQLError(
                    f"Error in the JQL Query: The character '!' is a reserved JQL character. "
                    f"You must enclose it in a string or use the escape '\\u0021' instead. "
                    f"(line 1, character {i + 1})"
                )
            tokens.append(Token("op", ch, i))
        elif ch in RESERVED - {"."} or not WORD_CHARS.match(ch):
            raise JQLError(
                f"Error in the JQL Query: The character '{ch}' is a reserved JQL character. "
                f"You must enclose it in a string or use the escape '\\u{ord(ch):04x}' instead. "
                f"(line 1, character {i + 1})"
            )
        elif (cf := re.match(r"cf\[\d+\]", source[i:], re.IGNORECASE)) is not None:
            tokens.append(Token("word", cf.group(0), i))
            i += cf.end()
            continue
        else:
            start = i
            while i < n and WORD_CHARS.match(source[i]) and source[i] != "'":
                i += 1
            word = source[start:i]
            # relative durations like "4w 2d" are not supported unquoted beyond one unit
            tokens.append(Token("word", word, start))
            continue
        i += 1
    tokens.append(Token("eof", "", n))
    return tokens


# --- AST -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Operand:
    kind: str  # value | function | empty
    value: str
    args: tuple[str, ...] = ()
    token: Token | None = None

    def describe(self) -> str:
        if self.kind == "function":
            return f"{self.value}()"
        return self.value


@dataclass(frozen=True)
class Clause:
    field: str  # canonical field name
    raw_field: str
    op: str  # = != ~ !~ > >= < <= in notin is isnot
    operands: tuple[Operand, ...]


@dataclass(frozen=True)
class BoolExpr:
    op: str  # and | or | not
    children: tuple[Any, ...]


@dataclass(frozen=True)
class Sort:
    field: str
    raw_field: str
    descending: bool


@dataclass(frozen=True)
class Query:
    where: Any | None
    order: tuple[Sort, ...]


FIELD_ALIASES: dict[str, str] = {
    "project": "project",
    "status": "status",
    "statuscategory": "statusCategory",
    "assignee": "assignee",
    "reporter": "reporter",
    "priority": "priority",
    "issuetype": "issuetype",
    "type": "issuetype",
    "labels": "labels",
    "label": "labels",
    "sprint": "sprint",
    "cf[10020]": "sprint",
    "fixversion": "fixVersion",
    "created": "created",
    "createddate": "created",
    "updated": "updated",
    "updateddate": "updated",
    "duedate": "duedate",
    "due": "duedate",
    "text": "text",
    "summary": "summary",
    "description": "description",
    "comment": "comment",
    "key": "key",
    "issuekey": "key",
    "id": "key",
    "issue": "key",
    "parent": "parent",
    "story point estimate": "storypoints",
    "cf[10016]": "storypoints",
}
TEXT_FIELDS = {"text", "summary", "description", "comment"}
DATE_FIELDS = {"created", "updated", "duedate"}
ORDERED_FIELDS = DATE_FIELDS | {"priority", "key", "storypoints"}
SORTABLE = {
    "project",
    "status",
    "statusCategory",
    "assignee",
    "reporter",
    "priority",
    "issuetype",
    "created",
    "updated",
    "duedate",
    "summary",
    "key",
    "fixVersion",
    "sprint",
    "storypoints",
}
# Jira's date functions: the start or end of the user's day, week (Monday to Sunday, as in the
# sandbox users' European locales), month or year, with an optional offset (``startOfWeek(-1)``,
# ``startOfMonth(-1M)``, ``endOfDay("+2d")``): a bare number counts the function's own unit.
DATE_FUNCTIONS = {
    f"{edge}of{unit}" for edge in ("start", "end") for unit in ("day", "week", "month", "year")
}
FUNCTIONS = {"currentuser", "opensprints", "closedsprints", "futuresprints", "now", *DATE_FUNCTIONS}


class Parser:
    def __init__(self, source: str) -> None:
        self.tokens = tokenize(source)
        self.i = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def advance(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def is_kw(self, *words: str) -> bool:
        return self.tok.kind == "word" and self.tok.value.lower() in words

    def parse(self) -> Query:
        where = None
        if not (self.tok.kind == "eof" or self.is_kw("order")):
            where = self.or_expr()
        order: list[Sort] = []
        if self.is_kw("order"):
            self.advance()
            if not self.is_kw("by"):
                raise self.expected("'by'")
            self.advance()
            while True:
                order.append(self.sort())
                if self.tok.kind != "comma":
                    break
                self.advance()
        if self.tok.kind != "eof":
            tok = self.tok
            raise JQLError(
                f"Error in the JQL Query: Expecting either 'OR' or 'AND' but got "
                f"'{tok.value}'. {tok.where}"
            )
        return Query(where, tuple(order))

    def expected(self, what: str) -> JQLError:
        tok = self.tok
        if tok.kind == "eof":
            return JQLError(
                f"Error in the JQL Query: Expecting {what} before the end of the query."
            )
        return JQLError(
            f"Error in the JQL Query: Expecting {what} but got '{tok.value}'. {tok.where}"
        )

    def or_expr(self) -> Any:
        children = [self.and_expr()]
        while self.is_kw("or"):
            self.advance()
            children.append(self.and_expr())
        return children[0] if len(children) == 1 else BoolExpr("or", tuple(children))

    def and_expr(self) -> Any:
        children = [self.not_expr()]
        while self.is_kw("and"):
            self.advance()
            children.append(self.not_expr())
        return children[0] if len(children) == 1 else BoolExpr("and", tuple(children))

    def not_expr(self) -> Any:
        if self.is_kw("not"):
            self.advance()
            return BoolExpr("not", (self.not_expr(),))
        if self.tok.kind == "lparen":
            self.advance()
            inner = self.or_expr()
            if self.tok.kind != "rparen":
                raise self.expected("')'")
            self.advance()
            return inner
        return self.clause()

    def field_name(self) -> tuple[str, str, Token]:
        tok = self.tok
        if tok.kind not in ("word", "string") or (
            tok.kind == "word" and tok.value.lower() in KEYWORDS
        ):
            raise self.expected("a field name")
        self.advance()
        raw = tok.value
        name = raw.lower()
        canonical = FIELD_ALIASES.get(name)
        if canonical is None:
            raise JQLError(
                f"Field '{raw}' does not exist or you do not have permission to view it."
            )
        return canonical, raw, tok

    def clause(self) -> Clause:
        field, raw, _ = self.field_name()
        tok = self.tok
        if tok.kind == "op":
            self.advance()
            op = tok.value
            operand = self.operand()
            return Clause(field, raw, op, (operand,))
        if tok.kind == "word":
            word = tok.value.lower()
            if word == "in":
                self.advance()
                return Clause(field, raw, "in", self.operand_list())
            if word == "not":
                self.advance()
                if not self.is_kw("in"):
                    raise self.expected("'IN'")
                self.advance()
                return Clause(field, raw, "notin", self.operand_list())
            if word == "is":
                self.advance()
                negate = False
                if self.is_kw("not"):
                    self.advance()
                    negate = True
                if not self.is_kw("empty", "null"):
                    raise JQLError(
                        "Error in the JQL Query: The operator 'IS' and 'IS NOT' can only be "
                        f"used with EMPTY or NULL. {self.tok.where}"
                    )
                self.advance()
                return Clause(field, raw, "isnot" if negate else "is", ())
            if word in UNSUPPORTED_KEYWORDS:
                raise JQLError(
                    f"The operator '{tok.value.upper()}' is not supported by this Jira sandbox "
                    f"(history searches are not implemented). {tok.where}"
                )
        if tok.kind == "eof":
            raise JQLError(
                "Error in the JQL Query: Expecting operator before the end of the query. "
                + OPERATORS_TEXT
            )
        raise JQLError(
            f"Error in the JQL Query: Expecting operator but got '{tok.value}'. "
            f"{OPERATORS_TEXT} {tok.where}"
        )

    def operand(self) -> Operand:
        tok = self.tok
        if tok.kind == "string":
            self.advance()
            return Operand("value", tok.value, token=tok)
        if tok.kind == "word":
            low = tok.value.lower()
            if low in ("empty", "null"):
                self.advance()
                return Operand("empty", low, token=tok)
            if low in KEYWORDS:
                raise self.expected("either a value, list or function")
            self.advance()
            if self.tok.kind == "lparen":
                self.advance()
                args: list[str] = []
                while self.tok.kind != "rparen":
                    if self.tok.kind not in ("word", "string"):
                        raise self.expected("')'")
                    args.append(self.advance().value)
                    if self.tok.kind == "comma":
                        self.advance()
                self.advance()
                if low not in FUNCTIONS:
                    raise JQLError(f"Unable to find JQL function '{tok.value}({', '.join(args)})'.")
                return Operand("function", low, tuple(args), tok)
            return Operand("value", tok.value, token=tok)
        if tok.kind == "lparen":
            raise JQLError(
                "Error in the JQL Query: a list of values can only be used with the 'IN' and "
                f"'NOT IN' operators. {tok.where}"
            )
        raise self.expected("either a value, list or function")

    def operand_list(self) -> tuple[Operand, ...]:
        if self.tok.kind != "lparen":
            if self.tok.kind == "word" and self.tok.value.lower() not in KEYWORDS:
                operand = self.operand()
                if operand.kind == "function":
                    return (operand,)
                raise JQLError(
                    "Error in the JQL Query: Expecting '(' after 'IN' or 'NOT IN'. "
                    f"{operand.token.where if operand.token else ''}".rstrip()
                )
            raise self.expected("'('")
        self.advance()
        items = [self.operand()]
        while self.tok.kind == "comma":
            self.advance()
            items.append(self.operand())
        if self.tok.kind != "rparen":
            raise self.expected("')'")
        self.advance()
        return tuple(items)

    def sort(self) -> Sort:
        field, raw, _tok = self.field_name()
        if field not in SORTABLE:
            raise JQLError(f"Field '{raw}' does not support sorting.")
        descending = False
        if self.is_kw("asc", "desc"):
            descending = self.advance().value.lower() == "desc"
        return Sort(field, raw, descending)


def parse(source: str) -> Query:
    query = Parser(source).parse()
    if len(query.order) > 7:
        raise JQLError("The ORDER BY clause can contain a maximum of 7 fields.")
    return query


# --- evaluation ------------------------------------------------------------------------------

Predicate = Callable[[IssueCore], bool]
EMPTY = object()

_DATE_RE = re.compile(r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:\s+(\d{1,2}):(\d{2}))?$")
_REL_RE = re.compile(r"^([+-]?)\s*((?:\d+\s*[wdhm]\s*)+)$", re.IGNORECASE)
_UNIT = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60}


def _fold(value: str) -> str:
    return value.casefold().strip()


def _words(value: str) -> list[str]:
    return re.findall(r"\w+", unicodedata.normalize("NFC", value.casefold()))


class Context:
    def __init__(
        self, dataset: Dataset, account: Account, cloud_id: str, now: dt.datetime | None = None
    ) -> None:
        self.dataset = dataset
        self.account = account
        self.cloud_id = cloud_id
        self.now = now or dt.datetime.now(UTC)
        self.projects: list[Project] = dataset.visible_projects(account, cloud_id)

    # values -----------------------------------------------------------------------------

    def bad_value(self, value: str, raw_field: str) -> JQLError:
        return JQLError(f"The value '{value}' does not exist for the field '{raw_field}'.")

    def unsupported(self, op: str, raw_field: str) -> JQLError:
        shown = {"notin": "NOT IN", "in": "IN", "is": "IS", "isnot": "IS NOT"}.get(op, op)
        return JQLError(f"The operator '{shown}' is not supported by the '{raw_field}' field.")

    def resolve(self, clause: Clause, operand: Operand) -> list[Any]:
        """Values an operand stands for, for ``clause.field``; EMPTY for EMPTY/NULL."""
        field, raw = clause.field, clause.raw_field
        if operand.kind == "empty":
            return [EMPTY]
        if operand.kind == "function":
            name = operand.value
            if name == "currentuser" and field in ("assignee", "reporter"):
                return [self.account.account_id]
            if name in ("opensprints", "closedsprints", "futuresprints") and field == "sprint":
                state = {"opensprints": "active", "closedsprints": "closed"}.get(name, "future")
                return [
                    s.id
                    for p in self.projects
                    for s in self.dataset.sprints[p.key]
                    if s.state == state
                ]
            if name == "now" and field in DATE_FIELDS:
                return [self.now]
            if name in DATE_FUNCTIONS and field in DATE_FIELDS:
                written = operand.token.value if operand.token else name
                shown = f"{written}({', '.join(operand.args)})"
                return [self.date_function(name, operand.args, shown)]
            raise JQLError(
                f"Error in the JQL Query: The function '{operand.describe()}' is not supported "
                f"by the '{raw}' field."
            )
        value = operand.value
        folded = _fold(value)
        if field == "project":
            for p in self.projects:
                if folded in (p.key.casefold(), p.name.casefold(), p.id):
                    return [p.key]
            raise self.bad_value(value, raw)
        if field == "status":
            found = [s.id for s in STATUSES if folded in (s.name.casefold(), s.id)]
            if not found:
                raise self.bad_value(value, raw)
            return found
        if field == "statusCategory":
            for key, cat in STATUS_CATEGORIES.items():
                if folded in (key, cat["name"].casefold(), str(cat["id"])):
                    return [key]
            raise self.bad_value(value, raw)
        if field in ("assignee", "reporter"):
            for user in USERS.values():
                if folded in (
                    user.account_id.casefold(),
                    user.display_name.casefold(),
                    user.email.casefold(),
                ):
                    return [user.account_id]
            raise self.bad_value(value, raw)
        if field == "priority":
            for pid, name, rank in PRIORITIES:
                if folded in (name.casefold(), pid):
                    return [rank]
            raise self.bad_value(value, raw)
        if field == "issuetype":
            for name, info in ISSUE_TYPES.items():
                if folded in (name.casefold(), info["id"]):
                    return [name]
            raise self.bad_value(value, raw)
        if field == "labels":
            return [value]
        if field == "sprint":
            sprints = [s for p in self.projects for s in self.dataset.sprints[p.key]]
            sprint_ids: list[Any] = [
                s.id for s in sprints if folded in (s.name.casefold(), str(s.id))
            ]
            if not sprint_ids:
                raise self.bad_value(value, raw)
            return sprint_ids
        if field == "fixVersion":
            found = [
                v.id
                for p in self.projects
                for v in self.dataset.versions[p.key]
                if folded in (v.name.casefold(), v.id)
            ]
            if not found:
                raise self.bad_value(value, raw)
            return found
        if field in DATE_FIELDS:
            return [self.parse_date(value, raw)]
        if field == "storypoints":
            try:
                return [float(value)]
            except ValueError:
                raise JQLError(
                    f"The value '{value}' for field '{raw}' is invalid: a number is expected."
                ) from None
        if field in ("key", "parent"):
            issue = self.dataset.find_issue(self.account, self.cloud_id, value)
            if issue is None:
                if re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*-\d+|\d+", value):
                    raise JQLError(f"An issue with key '{value}' does not exist for field '{raw}'.")
                raise JQLError(f"The issue key '{value}' for field '{raw}' is invalid.")
            return [issue]
        return [value]

    def date_function(self, name: str, args: tuple[str, ...], shown: str) -> dt.datetime:
        """``startOfDay()``... in the user's time zone, shifted by the optional offset."""
        if len(args) > 1:
            raise JQLError(
                f"Function '{shown}' expects zero or one argument, but received {len(args)}."
            )
        edge, unit = name.split("of")
        local = self.now.astimezone(ZoneInfo(self.account.time_zone))
        start = local.replace(hour=0, minute=0, second=0, microsecond=0)
        if args:
            match = re.fullmatch(r"\s*([+-]?)\s*(\d+)\s*([dwMy]?)\s*", args[0])
            if match is None:
                raise JQLError(
                    f"Function '{shown}' could not parse the increment '{args[0]}'. The valid "
                    "format is (+/-)nn(y|M|w|d), e.g. -1M."
                )
            sign = -1 if match.group(1) == "-" else 1
            amount = sign * int(match.group(2))
            step = match.group(3) or {"day": "d", "week": "w", "month": "M", "year": "y"}[unit]
        else:
            amount, step = 0, "d"
        if unit == "week":
            start -= dt.timedelta(days=start.weekday())
        elif unit == "month":
            start = start.replace(day=1)
        elif unit == "year":
            start = start.replace(month=1, day=1)
        if step in ("d", "w"):
            start += dt.timedelta(days=amount * (7 if step == "w" else 1))
        else:
            months = amount * (12 if step == "y" else 1)
            total = start.year * 12 + start.month - 1 + months
            start = start.replace(year=total // 12, month=total % 12 + 1, day=min(start.day, 28))
        if edge == "end":
            length = {"day": 1, "week": 7}.get(unit)
            if length is not None:
                end = start + dt.timedelta(days=length)
            else:
                total = start.year * 12 + start.month - 1 + (12 if unit == "year" else 1)
                end = start.replace(year=total // 12, month=total % 12 + 1, day=1)
            start = end - dt.timedelta(milliseconds=1)
        return start.astimezone(UTC)

    def parse_date(self, value: str, raw_field: str) -> dt.datetime:
        text = value.strip()
        match = _DATE_RE.match(text)
        if match:
            year, month, day, hour, minute = match.groups()
            try:
                return dt.datetime(
                    int(year), int(month), int(day), int(hour or 0), int(minute or 0), tzinfo=UTC
                )
            except ValueError:
                pass
        rel = _REL_RE.match(text)
        if rel:
            sign = -1 if rel.group(1) == "-" else 1
            seconds = sum(
                int(num) * _UNIT[unit.lower()]
                for num, unit in re.findall(r"(\d+)\s*([wdhm])", rel.group(2), re.IGNORECASE)
            )
            return self.now + dt.timedelta(seconds=sign * seconds)
        raise JQLError(
            f"Date value '{value}' for field '{raw_field}' is invalid. Valid formats include: "
            "'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period "
            "format e.g. '-5d', '4w 2d'."
        )

    # compile ----------------------------------------------------------------------------

    def compile(self, node: Any) -> Predicate:
        if isinstance(node, BoolExpr):
            parts = [self.compile(c) for c in node.children]
            if node.op == "and":
                return lambda i: all(p(i) for p in parts)
            if node.op == "or":
                return lambda i: any(p(i) for p in parts)
            inner = parts[0]
            return lambda i: not inner(i)
        return self.compile_clause(node)

    def compile_clause(self, clause: Clause) -> Predicate:
        field, op, raw = clause.field, clause.op, clause.raw_field
        if field in TEXT_FIELDS:
            return self.compile_text(clause)
        if op in ("~", "!~"):
            raise self.unsupported(op, raw)
        if op in (">", ">=", "<", "<=") and field not in ORDERED_FIELDS:
            raise self.unsupported(op, raw)
        getter = GETTERS[field]
        if op in ("is", "isnot"):
            if field in (
                "project",
                "status",
                "statusCategory",
                "issuetype",
                "key",
                "created",
                "updated",
                "reporter",
                "priority",
            ):
                return (lambda i: False) if op == "is" else (lambda i: True)
            want_empty = op == "is"
            return lambda i: (not getter(i)) == want_empty
        values: list[Any] = []
        for operand in clause.operands:
            if op in (">", ">=", "<", "<=") and operand.kind == "empty":
                raise JQLError(
                    f"The operator '{op}' is not supported by the 'EMPTY' value for the "
                    f"'{raw}' field."
                )
            values.extend(self.resolve(clause, operand))
        if field in DATE_FIELDS:
            return self.compile_date(field, op, values)
        if field == "storypoints" and op in (">", ">=", "<", "<="):
            limit = values[0]
            compare = _COMPARE[op]
            return lambda i: i.story_points is not None and compare(i.story_points, limit)
        if field == "priority" and op in (">", ">=", "<", "<="):
            bound = values[0]
            cmp = _COMPARE[op]
            return lambda i: cmp(i.priority[2], bound)
        if field == "key" and op in (">", ">=", "<", "<="):
            target = values[0]
            cmp = _COMPARE[op]
            return lambda i: i.project.key == target.project.key and cmp(i.number, target.number)
        if field in ("key", "parent"):
            values = [v.key if isinstance(v, IssueCore) else v for v in values]
        want_empty = EMPTY in values
        wanted = {v for v in values if v is not EMPTY}
        negate = op in ("!=", "notin")

        def predicate(issue: IssueCore) -> bool:
            have = getter(issue)
            if not have:
                return want_empty and not negate
            if negate:
                return not (have & wanted)
            return bool(have & wanted)

        return predicate

    def compile_date(self, field: str, op: str, values: list[Any]) -> Predicate:
        date_only = field == "duedate"
        attr = {"created": "created", "updated": "updated", "duedate": "duedate"}[field]
        if op in ("in", "notin", "=", "!="):
            targets = [v for v in values if v is not EMPTY]
            want_empty = EMPTY in values
            keys = {v.date() if date_only else v for v in targets}
            negate = op in ("!=", "notin")

            def eq(issue: IssueCore) -> bool:
                have = getattr(issue, attr)
                if have is None:
                    return want_empty and not negate
                return (have in keys) != negate

            return eq
        bound = values[0]
        cmp = _COMPARE[op]
        if date_only:
            day = bound.date()

            def due(issue: IssueCore) -> bool:
                have = issue.duedate
                return have is not None and cmp(have, day)

            return due
        return lambda i: cmp(getattr(i, attr), bound)

    def compile_text(self, clause: Clause) -> Predicate:
        field, op, raw = clause.field, clause.op, clause.raw_field
        if op not in ("~", "!~"):
            if field == "text" or op not in ("is", "isnot"):
                raise self.unsupported(op, raw)
            want_empty = op == "is"
            if field == "summary":
                return lambda i: (not i.summary) == want_empty
            if field == "description":
                return lambda i: (self.dataset.description(i) is None) == want_empty
            return lambda i: (i.n_comments == 0) == want_empty
        operand = clause.operands[0]
        if operand.kind != "value":
            raise JQLError(
                f"The operator '{op}' is not supported by the '{operand.describe()}' value for "
                f"the '{raw}' field."
            )
        matcher = text_matcher(operand.value)
        dataset = self.dataset
        extract: Callable[[IssueCore], str]
        if field == "summary":
            extract = lambda i: i.summary.casefold()  # noqa: E731
        elif field == "description":
            extract = lambda i: adf_to_text(dataset.description(i)).casefold()  # noqa: E731
        elif field == "comment":
            extract = lambda i: "\n".join(  # noqa: E731
                adf_to_text(c["body"]) for c in dataset.comments(i)
            ).casefold()
        else:
            extract = dataset.plain_text
        if op == "~":
            return lambda i: matcher(extract(i))
        return lambda i: not matcher(extract(i))

    # run --------------------------------------------------------------------------------

    def run(self, query: Query) -> list[IssueCore]:
        if query.where is None:
            raise Unbounded()
        predicate = self.compile(query.where)
        issues = [
            issue
            for project in self.projects
            for issue in self.dataset.by_project[project.key]
            if predicate(issue)
        ]
        issues.sort(key=lambda i: i.id, reverse=True)
        for sort in reversed(query.order):
            issues = sort_issues(issues, sort)
        return issues


def text_matcher(query: str) -> Callable[[str], bool]:
    """Jira-like text search: every term must match a word (``term*`` matches a prefix);
    a quoted phrase inside the value must appear verbatim."""
    phrases = [p.casefold() for p in re.findall(r'"([^"]+)"', query)]
    rest = re.sub(r'"[^"]+"', " ", query)
    terms = [t.casefold() for t in re.findall(r"[\w*]+", rest)]
    if not phrases and not terms:
        raise JQLError(f"The text query '{query}' is not valid: it must contain at least one word.")

    def match(haystack: str) -> bool:
        if any(p not in haystack for p in phrases):
            return False
        if not terms:
            return True
        words = set(_words(haystack))
        for term in terms:
            if term.endswith("*"):
                stem = term.rstrip("*")
                if not any(w.startswith(stem) for w in words):
                    return False
            elif term not in words:
                return False
        return True

    return match


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
}

GETTERS: dict[str, Callable[[IssueCore], set[Any]]] = {
    "project": lambda i: {i.project.key},
    "status": lambda i: {i.status.id},
    "statusCategory": lambda i: {i.status.category},
    "assignee": lambda i: {i.assignee.account_id} if i.assignee else set(),
    "reporter": lambda i: {i.reporter.account_id},
    "priority": lambda i: {i.priority[2]},
    "issuetype": lambda i: {i.issuetype},
    "labels": lambda i: set(i.labels),
    # as in Jira, the Sprint field also holds the closed sprints an issue was carried over from
    "sprint": lambda i: {s.id for s in (*i.sprint_trail, i.sprint)} if i.sprint else set(),
    "fixVersion": lambda i: {v.id for v in i.fix_versions},
    "key": lambda i: {i.key},
    "parent": lambda i: {i.parent} if i.parent else set(),
    "created": lambda i: {i.created},
    "updated": lambda i: {i.updated},
    "duedate": lambda i: {i.duedate} if i.duedate else set(),
    "storypoints": lambda i: {i.story_points} if i.story_points is not None else set(),
}

_SORT_KEYS: dict[str, Callable[[IssueCore], Any]] = {
    "project": lambda i: i.project.key,
    "status": lambda i: STATUS_ORDER[i.status.id],
    "statusCategory": lambda i: ("new", "indeterminate", "done").index(i.status.category),
    "assignee": lambda i: i.assignee.display_name if i.assignee else None,
    "reporter": lambda i: i.reporter.display_name,
    "priority": lambda i: i.priority[2],
    "issuetype": lambda i: i.issuetype,
    "created": lambda i: i.created,
    "updated": lambda i: i.updated,
    "duedate": lambda i: i.duedate,
    "summary": lambda i: i.summary.casefold(),
    "key": lambda i: (i.project.key, i.number),
    "fixVersion": lambda i: i.fix_versions[0].name if i.fix_versions else None,
    "sprint": lambda i: i.sprint.id if i.sprint else None,
    "storypoints": lambda i: i.story_points,
}


def sort_issues(issues: list[IssueCore], sort: Sort) -> list[IssueCore]:
    """Stable sort on one key; empty values come last ascending and first descending."""
    key = _SORT_KEYS[sort.field]
    present = [i for i in issues if key(i) is not None]
    missing = [i for i in issues if key(i) is None]
    present.sort(key=key, reverse=sort.descending)
    return missing + present if sort.descending else present + missing


def search(
    dataset: Dataset,
    account: Account,
    cloud_id: str,
    jql: str,
    now: dt.datetime | None = None,
) -> list[IssueCore]:
    """Issues matching ``jql`` visible to ``account`` on ``cloud_id``, in result order."""
    if not jql or not jql.strip():
        raise Unbounded()
    return Context(dataset, account, cloud_id, now).run(parse(jql))


def keys(issues: Iterable[IssueCore]) -> list[str]:
    return [i.key for i in issues]
