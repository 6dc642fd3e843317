"""The models the LLM stand-in serves: Ollama's "pulled" models and OpenAI's, by name.

On ``/v1`` a name decides who answers: ``gpt-*`` and ``o<digit>*`` names get OpenAI's behaviour
(bearer required, OpenAI's parameter rules and error bodies, a token-per-minute bucket), every other
name Ollama's (its ``/v1`` compatibility layer in front of the scheduler). ``/api/*`` only knows the
Ollama models. An Ollama name without a tag means ``:latest`` (``llama3.1`` is ``llama3.1:latest``,
which is not pulled here); the sandbox's own ``thinker``, ``sloppy`` and ``obedient`` are
``<name>:latest``.

Sources: context lengths are ``model_info["<arch>.context_length"]`` as ``/api/show`` reports them
(llama3.1 131072, qwen3 40960); thinking on by default for thinking-capable models since Ollama
v0.12.4 (commit 90d429f5a, ``server/routes.go`` ~2615), on ``/v1`` in ``delta.reasoning``
(``openai/openai.go`` ~35, ~285); ``<think>`` inside the content before v0.9.0. gpt-5 and o-series
refusing ``temperature`` ≠ 1 and ``max_tokens``: OpenAI's 400 ``unsupported_value`` bodies as quoted
in jentic/standard-agent#31 and QwenLM/qwen-code#921.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from sandbox.llm.tokens import Family

Vendor = Literal["openai", "ollama"]
# How a model thinks: not at all, in its own field (Ollama ≥ 0.12.4: ``message.thinking`` /
# ``delta.reasoning``, on by default), inside the content (older servers: ``<think>…</think>``),
# or hidden (OpenAI reasoning models: counted in usage, never sent).
Thinking = Literal["none", "field", "tags", "hidden"]
# How a model behaves when it answers (:mod:`sandbox.llm.misbehave`): as a careful model does, or,
# on the first answer of a conversation, sloppily or obeying the data's injected instructions.
Behaviour = Literal["default", "sloppy", "obedient"]

OPENAI_NAME_RE = re.compile(r"^(?:gpt-|o\d)")


@dataclass(frozen=True)
class ModelSpec:
    name: str
    vendor: Vendor
    family: str  # Ollama's details.family / architecture
    tokenizer: Family
    context_length: int  # the training context (Ollama /api/show) or OpenAI's window
    parameter_size: str = ""
    parameter_count: int = 0
    size: int = 0  # bytes on disk
    kv_bytes_per_token: int = 0  # f16 KV cache per token of context (memory in /api/ps)
    thinking: Thinking = "none"
    capabilities: tuple[str, ...] = ("completion",)
    model_info: dict[str, Any] = field(default_factory=dict)
    owned_by: str = "library"
    # OpenAI reasoning models: temperature must be 1 (or absent), max_tokens refused.
    reasoning: bool = False
    behaviour: Behaviour = "default"

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.name.encode()).hexdigest()


def _llama_info(context: int) -> dict[str, Any]:
    return {
        "general.architecture": "llama",
        "general.basename": "Meta-Llama-3.1",
        "general.file_type": 15,
        "general.finetune": "Instruct",
        "general.parameter_count": 8_030_261_312,
        "general.quantization_version": 2,
        "general.size_label": "8B",
        "llama.attention.head_count": 32,
        "llama.attention.head_count_kv": 8,
        "llama.attention.layer_norm_rms_epsilon": 1e-05,
        "llama.block_count": 32,
        "llama.context_length": context,
        "llama.embedding_length": 4096,
        "llama.feed_forward_length": 14336,
        "llama.rope.dimension_count": 128,
        "llama.rope.freq_base": 500000,
        "llama.vocab_size": 128256,
        "tokenizer.ggml.bos_token_id": 128000,
        "tokenizer.ggml.eos_token_id": 128009,
        "tokenizer.ggml.model": "gpt2",
        "tokenizer.ggml.pre": "llama-bpe",
    }


def _qwen3_info(context: int) -> dict[str, Any]:
    return {
        "general.architecture": "qwen3",
        "general.basename": "Qwen3",
        "general.file_type": 15,
        "general.parameter_count": 8_190_735_360,
        "general.quantization_version": 2,
        "general.size_label": "8B",
        "qwen3.attention.head_count": 32,
        "qwen3.attention.head_count_kv": 8,
        "qwen3.attention.key_length": 128,
        "qwen3.attention.value_length": 128,
        "qwen3.block_count": 36,
        "qwen3.context_length": context,
        "qwen3.embedding_length": 4096,
        "qwen3.feed_forward_length": 12288,
        "qwen3.rope.freq_base": 1000000,
        "tokenizer.ggml.bos_token_id": 151643,
        "tokenizer.ggml.eos_token_id": 151645,
        "tokenizer.ggml.model": "gpt2",
        "tokenizer.ggml.pre": "qwen2",
    }


def _sandbox_model(
    name: str, *, thinking: Thinking = "none", behaviour: Behaviour = "default"
) -> ModelSpec:
    return ModelSpec(
        name=name,
        vendor="ollama",
        family="llama",
        tokenizer="llama",
        context_length=131_072,
        parameter_size="8.0B",
        parameter_count=8_030_261_312,
        size=4_920_753_328,
        kv_bytes_per_token=131_072,
        thinking=thinking,
        capabilities=("completion", "tools"),
        model_info=_llama_info(131_072),
        behaviour=behaviour,
    )


OLLAMA_MODELS: tuple[ModelSpec, ...] = (
    ModelSpec(
        name="llama3.1:8b",
        vendor="ollama",
        family="llama",
        tokenizer="llama",
        context_length=131_072,
        parameter_size="8.0B",
        parameter_count=8_030_261_312,
        size=4_920_753_328,
        kv_bytes_per_token=131_072,  # 32 layers x 8 KV heads x 128 dims x (K, V) x 2 bytes
        capabilities=("completion", "tools"),
        model_info=_llama_info(131_072),
    ),
    ModelSpec(
        name="qwen3:8b",
        vendor="ollama",
        family="qwen3",
        tokenizer="qwen",
        context_length=40_960,
        parameter_size="8.2B",
        parameter_count=8_190_735_360,
        size=5_225_388_164,
        kv_bytes_per_token=147_456,  # 36 layers
        thinking="field",
        capabilities=("completion", "tools", "thinking"),
        model_info=_qwen3_info(40_960),
    ),
    # The sandbox's own models are llama3.1:8b as /api/show tells (same info, tokenizer, context
    # and capabilities) with a behaviour of their own: ``thinker`` thinks inside the content
    # between <think> tags as older Ollama servers did; ``sloppy`` and ``obedient`` misbehave on a
    # conversation's first answer (sandbox.llm.misbehave).
    _sandbox_model("thinker:latest", thinking="tags"),
    _sandbox_model("sloppy:latest", behaviour="sloppy"),
    _sandbox_model("obedient:latest", behaviour="obedient"),
)

OPENAI_MODELS: tuple[ModelSpec, ...] = (
    ModelSpec("gpt-4o-mini", "openai", "gpt", "llama", 128_000, owned_by="system"),
    ModelSpec("gpt-4.1-mini", "openai", "gpt", "llama", 1_047_576, owned_by="system"),
    ModelSpec(
        "gpt-5-mini",
        "openai",
        "gpt",
        "llama",
        400_000,
        owned_by="system",
        reasoning=True,
        thinking="hidden",
    ),
    ModelSpec(
        "o4-mini",
        "openai",
        "gpt",
        "llama",
        200_000,
        owned_by="system",
        reasoning=True,
        thinking="hidden",
    ),
)

_BY_NAME = {m.name: m for m in (*OLLAMA_MODELS, *OPENAI_MODELS)}


def is_openai_name(name: str) -> bool:
    return OPENAI_NAME_RE.match(name) is not None


def ollama_name(name: str) -> str:
    """Ollama's normal form: ``model`` -> ``model:latest`` (case kept, as shown to the client)."""
    base = name.rsplit("/", 1)[-1]
    return name if ":" in base else f"{name}:latest"


def find_ollama(name: str) -> ModelSpec | None:
    spec = _BY_NAME.get(ollama_name(name).lower())
    return spec if spec is not None and spec.vendor == "ollama" else None


def find_openai(name: str) -> ModelSpec | None:
    spec = _BY_NAME.get(name)
    return spec if spec is not None and spec.vendor == "openai" else None
