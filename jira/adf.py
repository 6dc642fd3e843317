"""Atlassian Document Format -> compact Markdown-like text for the LLM and the UI.

Why our own converter (evaluated, pip-downloaded, in this session):

* ``pyadf`` 0.5.2 (Rust core): fast (1 MB in ~30 ms) but its JSON reader stops at serde's 128-level
  recursion limit, so the 200-level document fails as ``InvalidJSONError``; an unknown node type
  raises ``UnsupportedNodeTypeError`` for the whole document; ``extension`` is dropped with a
  warning.
* ``atlas-doc-parser`` 1.0.1: builds a dataclass per node recursively (Python recursion per level)
  and raises ``UnimplementedTypeError`` for the whole document on any node type it does not know;
  it also pulls ``func_args``.

Neither degrades gracefully nor walks iteratively, which the requirements need (every node and mark
of the schema, unknown ones degrading to their text, 200 levels and 1 MB in linear time). This one
walks with an explicit stack (no recursion, any depth), and a value the JSON reader could not nest
(:data:`jira.wire.TOO_DEEP_TYPE`) becomes :class:`AdfTooDeep` for that field only.

Output: headings ``## x``, ``**bold**``, ``*em*``, ``~~strike~~``, `` `code` ``, links as
``[text](url)``, mentions as ``@Name``, fenced code blocks, lists with ``-``/``1.``/``[ ]``
markers indented by nesting (capped), tables as ``| a | b |`` rows, quotes and panels as ``>``.
Invisible Unicode (zero-width, bidi controls, tag characters) is stripped: Jira text is untrusted
input to an LLM, and those characters hide instructions from the humans reading it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

from jira.wire import TOO_DEEP_TYPE

MAX_INDENT_LEVELS = 8
TOO_DEEP_TEXT = "[content not shown: the document is nested too deeply to be read]"
INVALID_TEXT = "[content not shown: the document could not be read]"

_INVISIBLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180e\u200b\u200c\u200e\u200f"
    "\u202a-\u202e\u2060-\u206f\u3164\ufe00-\ufe0e\ufeff\uffa0\ufff9-\ufffb"
    "\U000e0000-\U000e007f\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
    # A zero-width joiner is kept only between two emoji (it builds 👩‍💻); elsewhere it hides text.
    "|(?<![\U0001f000-\U0001faff\u2600-\u27bf\ufe0f])\u200d"
    "|\u200d(?![\U0001f000-\U0001faff\u2600-\u27bf])"
)
_BLANK_LINES = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)+")
_TRAILING_SPACES = re.compile(r"[ \t]+\n")

_LIST_TYPES = frozenset({"bulletList", "orderedList", "taskList", "decisionList"})
_ITEM_TYPES = frozenset({"listItem", "taskItem", "decisionItem", "blockTaskItem"})
_MEDIA_TYPES = frozenset({"media", "mediaInline", "mediaSingle", "mediaGroup"})
_CARD_TYPES = frozenset({"inlineCard", "blockCard", "embedCard"})


class AdfError(ValueError):
    """The document cannot be converted (a per-field problem, never an issue-wide one)."""


class AdfTooDeep(AdfError):
    pass


def clean_text(value: str) -> str:
    """Strip invisible and control characters (keeps newlines and tabs)."""
    return _INVISIBLE.sub("", value)


def adf_field_text(value: Any) -> str:
    """Text of one ADF field (description, comment body); a document that cannot be read becomes
    a bracketed note for that field instead of an error for the whole issue."""
    try:
        return adf_to_text(value)
    except AdfTooDeep:
        return TOO_DEEP_TEXT
    except AdfError:
        return INVALID_TEXT


def adf_to_text(value: Any) -> str:
    """Convert an ADF document (or a plain string, as v2 returns) to compact text."""
    if value is None:
        return ""
    if isinstance(value, str):
        return _finish(value)
    if not isinstance(value, dict):
        raise AdfError("not an ADF document")
    return _finish(_Walker().run(value))


def _finish(text: str) -> str:
    text = clean_text(text)
    text = _TRAILING_SPACES.sub("\n", text)
    return _BLANK_LINES.sub("\n\n", text).strip()


def _date(timestamp: Any) -> str:
    try:
        when = dt.datetime.fromtimestamp(int(timestamp) / 1000, dt.UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return str(timestamp or "")
    return when.date().isoformat()


def _attrs(node: dict[str, Any]) -> dict[str, Any]:
    attrs = node.get("attrs")
    return attrs if isinstance(attrs, dict) else {}


def _children(node: dict[str, Any]) -> list[Any]:
    content = node.get("content")
    return content if isinstance(content, list) else []


def _marked(text: str, marks: Any) -> str:
    if not isinstance(marks, list) or not text:
        return text
    href = None
    kinds = set()
    for mark in marks:
        if isinstance(mark, dict):
            kinds.add(mark.get("type"))
            if mark.get("type") == "link":
                href = _attrs(mark).get("href")
    if "code" in kinds:
        text = f"`{text}`"
    if "strong" in kinds:
        text = f"**{text}**"
    if "em" in kinds:
        text = f"*{text}*"
    if "strike" in kinds:
        text = f"~~{text}~~"
    if isinstance(href, str) and href and href != text:
        text = f"[{text}]({href})"
    return text


class _Ctx:
    """Where a node sits: list nesting (for indentation) and whether inside a code block."""

    __slots__ = ("code", "depth")

    def __init__(self, depth: int = 0, code: bool = False) -> None:
        self.depth = depth
        self.code = code


# Work items on the stack: a node to visit, a literal string, or a buffer operation.
_Node = tuple[str, Any, _Ctx]


class _Walker:
    def __init__(self) -> None:
        self.buffers: list[list[str]] = [[]]
        self.stack: list[Any] = []

    # -- buffer operations (quotes and table cells are rendered, then transformed) --

    def _emit(self, text: str) -> None:
        if text:
            self.buffers[-1].append(text)

    def _ensure_newline(self) -> None:
        buffer = self.buffers[-1]
        if buffer and not buffer[-1].endswith("\n"):
            buffer.append("\n")

    def _pop(self, transform: Callable[[str], str]) -> None:
        inner = "".join(self.buffers.pop())
        self._emit(transform(inner))

    def run(self, root: dict[str, Any]) -> str:
        self.stack.append(("node", root, _Ctx()))
        while self.stack:
            item = self.stack.pop()
            kind = item[0]
            if kind == "node":
                self._visit(item[1], item[2])
            elif kind == "text":
                self._emit(item[1])
            elif kind == "newline":
                self._ensure_newline()
            elif kind == "push":
                self.buffers.append([])
            else:  # "pop"
                self._pop(item[1])
        return "".join(self.buffers[0])

    def _schedule(self, items: list[Any]) -> None:
        self.stack.extend(reversed(items))

    def _visit(self, node: Any, ctx: _Ctx) -> None:
        if not isinstance(node, dict):
            return
        kind = node.get("type")
        attrs = _attrs(node)
        children = _children(node)
        kids: list[Any] = [("node", child, ctx) for child in children]
        if kind == TOO_DEEP_TYPE:
            raise AdfTooDeep("document nested too deeply")
        if kind == "text":
            text = node.get("text")
            if isinstance(text, str):
                self._emit(text if ctx.code else _marked(text, node.get("marks")))
        elif kind == "hardBreak":
            self._emit("\n")
        elif kind == "paragraph":
            self._schedule([*kids, ("text", "\n")])
        elif kind == "heading":
            level = attrs.get("level")
            level = level if isinstance(level, int) and 1 <= level <= 6 else 2
            self._schedule([("newline",), ("text", "#" * level + " "), *kids, ("text", "\n")])
        elif kind == "mention":
            name = attrs.get("text") or attrs.get("displayName") or ""
            name = name if isinstance(name, str) and name else "unknown"
            self._emit(name if name.startswith("@") else "@" + name)
        elif kind == "emoji":
            self._emit(str(attrs.get("text") or attrs.get("shortName") or ""))
        elif kind in _CARD_TYPES:
            url = attrs.get("url")
            if not url and isinstance(attrs.get("data"), dict):
                url = attrs["data"].get("url") or attrs["data"].get("name")
            self._emit(f"<{url}>" if isinstance(url, str) and url else "[link]")
            if kind != "inlineCard":
                self._emit("\n")
        elif kind == "date":
            self._emit(_date(attrs.get("timestamp")))
        elif kind == "status":
            self._emit(f"[{attrs.get('text') or ''}]")
        elif kind == "placeholder":
            return
        elif kind == "codeBlock":
            language = attrs.get("language")
            fence = "```" + (language if isinstance(language, str) else "")
            code_ctx = _Ctx(ctx.depth, code=True)
            self._schedule(
                [
                    ("newline",),
                    ("text", fence + "\n"),
                    *[("node", child, code_ctx) for child in children],
                    ("newline",),
                    ("text", "```\n"),
                ]
            )
        elif kind in ("blockquote", "panel"):
            self._schedule(
                [("newline",), ("push",), *kids, ("pop", _quote)],
            )
        elif kind == "rule":
            self._schedule([("newline",), ("text", "---\n")])
        elif kind in _LIST_TYPES:
            self._list(kind, attrs, children, ctx)
        elif kind in _ITEM_TYPES:
            self._schedule([*kids, ("newline",)])
        elif kind == "table":
            self._schedule([("newline",), *kids])
        elif kind == "tableRow":
            self._schedule([("push",), *kids, ("pop", _row)])
        elif kind in ("tableCell", "tableHeader"):
            self._schedule([("push",), *kids, ("pop", _cell)])
        elif kind in ("expand", "nestedExpand"):
            title = attrs.get("title")
            head = [("text", f"**{title}**\n")] if isinstance(title, str) and title else []
            self._schedule([("newline",), *head, *kids])
        elif kind in _MEDIA_TYPES:
            if kind in ("media", "mediaInline"):
                label = attrs.get("alt") or attrs.get("name") or ""
                self._emit(f"[attachment: {label}]" if label else "[attachment]")
                if kind == "media":
                    self._emit("\n")
            else:
                self._schedule(kids)
        elif kind == "caption":
            self._schedule([*kids, ("text", "\n")])
        elif children:
            # doc, layouts, bodied extensions, sync blocks and any node type we do not know.
            self._schedule(kids)
        elif isinstance(node.get("text"), str):
            self._emit(node["text"])
        elif isinstance(attrs.get("text"), str):
            self._emit(attrs["text"])

    def _list(self, kind: str, attrs: dict[str, Any], items: list[Any], ctx: _Ctx) -> None:
        indent = "  " * min(ctx.depth, MAX_INDENT_LEVELS)
        inner = _Ctx(ctx.depth + 1, ctx.code)
        order = attrs.get("order")
        start = order if isinstance(order, int) else 1
        work: list[Any] = [("newline",)]
        number = 0
        for item in items:
            if not isinstance(item, dict) or item.get("type") not in _ITEM_TYPES:
                work.append(("node", item, inner))  # a nested list placed directly in the list
                continue
            if kind == "orderedList":
                marker = f"{start + number}. "
            elif kind == "taskList" or item.get("type") in ("taskItem", "blockTaskItem"):
                marker = "- [x] " if _attrs(item).get("state") == "DONE" else "- [ ] "
            else:
                marker = "- "
            number += 1
            work.extend([("text", indent + marker), ("node", item, inner)])
        self._schedule(work)


def _quote(inner: str) -> str:
    lines = inner.strip("\n").split("\n")
    return "".join(f"> {line}".rstrip() + "\n" for line in lines)


def _cell(inner: str) -> str:
    return "| " + " ".join(inner.split()).replace("|", "\\|") + " "


def _row(inner: str) -> str:
    return inner + "|\n" if inner else ""
