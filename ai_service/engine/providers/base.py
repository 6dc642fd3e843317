"""The provider protocol: a streamed chat call in, typed chunks out; what the model can do.

Every call is streamed, JSON ones included: the first byte and each later one are what the
engine's first-token and idle timeouts watch, and a thinking model shows it is alive.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

# What both adapters send and assume: a low temperature for factual prose, and the wait reported
# for a vendor rate limit that came without a usable Retry-After.
TEMPERATURE = 0.2
DEFAULT_RETRY_AFTER_SECONDS = 30


@dataclass(frozen=True)
class Message:
    role: str
    content: str


@dataclass(frozen=True)
class ChatCall:
    messages: Sequence[Message]
    # The answer's room (Ollama ``num_predict``, OpenAI ``max_completion_tokens``).
    max_output_tokens: int
    # The context to run in (Ollama ``num_ctx``; one value per model, see llm.py).
    context_tokens: int
    schema: dict[str, Any] | None = None
    schema_name: str = ""


@dataclass(frozen=True)
class Piece:
    """Answer text as it comes (reasoning is never in it)."""

    text: str


@dataclass(frozen=True)
class Thinking:
    """The model is reasoning (the reasoning itself is dropped)."""

    characters: int


@dataclass(frozen=True)
class Finished:
    """The end of an answer: why it stopped and what the server counted."""

    reason: str  # "stop" or "length" (cut at max_output_tokens)
    prompt_tokens: int | None
    completion_tokens: int | None


Chunk = Piece | Thinking | Finished


@dataclass(frozen=True)
class ModelInfo:
    present: bool
    context_tokens: int | None = None  # the model's own maximum (None: unknown)
    thinking: bool = False
    loaded: bool | None = None  # in memory now (None: unknown)


class Provider(Protocol):
    model: str

    def stream(self, call: ChatCall) -> AsyncIterator[Chunk]:
        """The answer's chunks, ending with one ``Finished``; closing the iterator closes the
        upstream response. Failures are ``EngineError``s."""
        ...

    async def model_info(self) -> ModelInfo: ...

    async def loaded(self, context_tokens: int | None = None) -> bool | None:
        """The model is in memory now, with that context if given (None: the vendor does not
        say)."""
        ...

    async def close(self) -> None: ...
