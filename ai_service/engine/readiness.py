"""Is the LLM usable: the model is on the server and its usable context is large enough. Read by
ai-service's ``/readyz`` and the API's ``check_services``; failures say what to do."""

from __future__ import annotations

from ai_service.engine.config import MIN_CONTEXT_TOKENS, EngineConfig
from ai_service.engine.errors import EngineError
from ai_service.engine.llm import llm_client
from core.errors import ProbeFailure


async def llm_check(config: EngineConfig) -> str:
    client = llm_client(config)
    try:
        info = await client.model_info(fresh=True)
    except EngineError as exc:
        if exc.__cause__ is not None:
            raise exc.__cause__ from None  # unreachable: reported by its type, as every probe
        raise ProbeFailure(f"{config.provider} at {config.base_url}: {exc.detail}") from exc
    model = config.model
    if not info.present:
        if config.provider == "ollama":
            raise ProbeFailure(f"model {model} is not pulled: run `ollama pull {model}`")
        raise ProbeFailure(f"model {model} is not served by {config.base_url}")
    context = client.context_for(info)
    if context < MIN_CONTEXT_TOKENS:
        raise ProbeFailure(
            f"usable context of {model} is {context} tokens, below {MIN_CONTEXT_TOKENS}: "
            "raise LLM_CONTEXT_TOKENS or choose a model with a larger context"
        )
    return "ok"
