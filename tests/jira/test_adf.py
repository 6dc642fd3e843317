"""ADF -> text: a corpus covering every node and mark type, and the pathological documents."""

from __future__ import annotations

import json
from typing import Any

from jira.adf import TOO_DEEP_TEXT, adf_field_text, adf_to_text, clean_text
from jira.wire import loads


def doc(*content: Any) -> dict[str, Any]:
    return {"type": "doc", "version": 1, "content": list(content)}


def para(*content: dict[str, Any]) -> dict[str, Any]:
    return {"type": "paragraph", "content": list(content)}


def text(value: str, *marks: dict[str, Any]) -> dict[str, Any]:
    node: dict[str, Any] = {"type": "text", "text": value}
    if marks:
        node["marks"] = list(marks)
    return node


def item(*content: dict[str, Any]) -> dict[str, Any]:
    return {"type": "listItem", "content": list(content)}


def deep_list(levels: int, leaf: str) -> dict[str, Any]:
    node: dict[str, Any] = para(text(leaf))
    for _ in range(levels // 2):
        node = {"type": "bulletList", "content": [item(node)]}
    return doc(node)


def test_inline_nodes_and_marks() -> None:
    document = doc(
        para(
            text("plain "),
            text("bold", {"type": "strong"}),
            text(" "),
            text("it", {"type": "em"}),
            text(" "),
            text("gone", {"type": "strike"}),
            text(" "),
            text("x = 1", {"type": "code"}),
            text(" "),
            text("docs", {"type": "link", "attrs": {"href": "https://example.com/d"}}),
            text(" "),
            text("u", {"type": "underline"}, {"type": "textColor", "attrs": {"color": "#f00"}}),
            text("2", {"type": "subsup", "attrs": {"type": "sup"}}),
            text(" ", {"type": "backgroundColor", "attrs": {"color": "#ff0"}}),
            text(
                "n", {"type": "annotation", "attrs": {"id": "a", "annotationType": "inlineComment"}}
            ),
            text("!", {"type": "unknownMark"}),
        ),
        para(
            {"type": "mention", "attrs": {"id": "712020:x", "text": "@Mia Krystof"}},
            text(" "),
            {"type": "mention", "attrs": {"id": "712020:y", "text": "Bo"}},
            {"type": "hardBreak"},
            {"type": "emoji", "attrs": {"shortName": ":rocket:", "text": "🚀"}},
            {"type": "emoji", "attrs": {"shortName": ":custom:"}},
            text(" "),
            {"type": "inlineCard", "attrs": {"url": "https://acme.atlassian.net/browse/PAY-1"}},
            text(" "),
            {"type": "date", "attrs": {"timestamp": "1736467200000"}},
            text(" "),
            {"type": "status", "attrs": {"text": "IN PROGRESS", "color": "blue"}},
            {"type": "placeholder", "attrs": {"text": "Type here"}},
            {"type": "mediaInline", "attrs": {"id": "m1", "type": "file"}},
            {"type": "inlineExtension", "attrs": {"extensionKey": "k", "text": "ext text"}},
        ),
    )
    assert adf_to_text(document) == (
        "plain **bold** *it* ~~gone~~ `x = 1` [docs](https://example.com/d) u2 n!\n"
        "@Mia Krystof @Bo\n"
        "🚀:custom: <https://acme.atlassian.net/browse/PAY-1> 2025-01-10 [IN PROGRESS]"
        "[attachment]ext text"
    )


def test_block_nodes() -> None:
    document = doc(
        {"type": "heading", "attrs": {"level": 2}, "content": [text("Steps")]},
        {
            "type": "bulletList",
            "content": [
                item(
                    para(text("one")),
                    {
                        "type": "orderedList",
                        "attrs": {"order": 3},
                        "content": [item(para(text("three"))), item(para(text("four")))],
                    },
                ),
                item(para(text("two"))),
            ],
        },
        {
            "type": "taskList",
            "attrs": {"localId": "t"},
            "content": [
                {
                    "type": "taskItem",
                    "attrs": {"localId": "1", "state": "DONE"},
                    "content": [text("done")],
                },
                {
                    "type": "taskItem",
                    "attrs": {"localId": "2", "state": "TODO"},
                    "content": [text("todo")],
                },
            ],
        },
        {
            "type": "decisionList",
            "attrs": {"localId": "d"},
            "content": [
                {
                    "type": "decisionItem",
                    "attrs": {"localId": "3", "state": "DECIDED"},
                    "content": [text("ship")],
                }
            ],
        },
        {"type": "codeBlock", "attrs": {"language": "python"}, "content": [text("print('*x*')")]},
        {"type": "blockquote", "content": [para(text("q1")), para(text("q2"))]},
        {"type": "panel", "attrs": {"panelType": "warning"}, "content": [para(text("careful"))]},
        {"type": "rule"},
        {
            "type": "table",
            "attrs": {"isNumberColumnEnabled": False},
            "content": [
                {
                    "type": "tableRow",
                    "content": [
                        {"type": "tableHeader", "content": [para(text("Env"))]},
                        {"type": "tableHeader", "content": [para(text("A|B"))]},
                    ],
                },
                {
                    "type": "tableRow",
                    "content": [
                        {"type": "tableCell", "content": [para(text("prod")), para(text("eu"))]},
                        {"type": "tableCell", "content": [para(text("ok"))]},
                    ],
                },
            ],
        },
        {"type": "expand", "attrs": {"title": "Details"}, "content": [para(text("hidden"))]},
        {"type": "nestedExpand", "attrs": {"title": ""}, "content": [para(text("nested"))]},
        {
            "type": "layoutSection",
            "content": [
                {"type": "layoutColumn", "attrs": {"width": 50}, "content": [para(text("left"))]},
                {"type": "layoutColumn", "attrs": {"width": 50}, "content": [para(text("right"))]},
            ],
        },
        {
            "type": "mediaSingle",
            "attrs": {"layout": "center"},
            "content": [
                {
                    "type": "media",
                    "attrs": {"id": "m", "type": "file", "collection": "c", "alt": "shot.png"},
                },
                {"type": "caption", "content": [text("A screenshot")]},
            ],
        },
        {
            "type": "mediaGroup",
            "content": [{"type": "media", "attrs": {"id": "n", "type": "file"}}],
        },
        {"type": "blockCard", "attrs": {"url": "https://example.com/card"}},
        {"type": "embedCard", "attrs": {"url": "https://example.com/embed", "layout": "wide"}},
        {"type": "extension", "attrs": {"extensionKey": "macro", "extensionType": "com.x"}},
        {
            "type": "bodiedExtension",
            "attrs": {"extensionKey": "m"},
            "content": [para(text("bodied"))],
        },
        {"type": "syncBlock", "content": [para(text("synced"))]},
    )
    assert adf_to_text(document) == (
        "## Steps\n"
        "- one\n"
        "  3. three\n"
        "  4. four\n"
        "- two\n"
        "- [x] done\n"
        "- [ ] todo\n"
        "- ship\n"
        "```python\n"
        "print('*x*')\n"
        "```\n"
        "> q1\n"
        "> q2\n"
        "> careful\n"
        "---\n"
        "| Env | A\\|B |\n"
        "| prod eu | ok |\n"
        "**Details**\n"
        "hidden\n"
        "nested\n"
        "left\n"
        "right\n"
        "[attachment: shot.png]\n"
        "A screenshot\n"
        "[attachment]\n"
        "<https://example.com/card>\n"
        "<https://example.com/embed>\n"
        "bodied\n"
        "synced"
    )


def test_unknown_and_malformed_nodes_degrade_to_their_text() -> None:
    document = doc(
        {"type": "futureBlock", "content": [para(text("kept"))]},
        {"type": "futureLeaf", "text": "leaf text"},
        {"type": "paragraph", "content": "not a list"},
        "not a node",
        {"no": "type"},
        para(text("end")),
    )
    assert adf_to_text(document) == "kept\nleaf text\nend"


def test_plain_string_and_none() -> None:
    assert adf_to_text(None) == ""
    assert adf_to_text("wiki *text*") == "wiki *text*"


def test_invisible_unicode_is_stripped_and_emoji_sequences_kept() -> None:
    raw = "a\u200bb\u200cc\u200dd\u2060e\ufeff \u202eevil\u202c \u2066iso\u2069 "
    raw += "\U000e0041tag 👩\u200d💻"
    assert clean_text(raw) == "abcde evil iso tag 👩\u200d💻"


def test_200_levels_of_nesting_convert() -> None:
    text_out = adf_to_text(deep_list(200, "the leaf"))
    assert text_out.endswith("- the leaf")
    assert text_out.count("\n") == 99


def test_one_megabyte_document_converts() -> None:
    # Linear time is by construction (one explicit-stack walk, output joined once); timing is
    # measured by benchmarks, not asserted in tests.
    big = doc(*(para(text(f"Ligne {n} " + "x" * 90)) for n in range(10_000)))
    assert len(json.dumps(big)) > 1_000_000

    out = adf_to_text(big)

    assert out.count("\n") == 9_999
    assert out.startswith("Ligne 0 x")
    assert out.endswith("Ligne 9999 " + "x" * 90)


def test_document_too_deep_for_json_becomes_a_field_error() -> None:
    levels = 2_400
    raw = '{"type":"doc","version":1,"content":[' + '{"type":"bulletList","content":[' * levels
    raw += '{"type":"paragraph","content":[{"type":"text","text":"x"}]}' + "]}" * levels + "]}"
    body = '{"key":"PAY-4","fields":{"summary":"ok","description":' + raw + "}}"
    parsed = loads(body.encode())
    assert parsed["fields"]["summary"] == "ok"
    assert adf_field_text(parsed["fields"]["description"]) == TOO_DEEP_TEXT
