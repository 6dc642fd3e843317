"""One adapter per LLM vendor behind one small protocol (:mod:`.base`), chosen from the
configuration by :func:`provider_for`."""

from __future__ import annotations

from ai_service.engine.config import EngineConfig
from ai_service.engine.providers.base import (
    ChatCall,
    Finished,
    ModelInfo,
    Piece,
    Provider,
    Thinking,
)


def provider_build(config: EngineConfig) -> Provider:
    if config.provider == "ollama":
        from ai_service.engine.providers.ollama import OllamaProvider

        return OllamaProvider(config)
    from ai_service.engine.providers.openai import OpenAIProvider

    return OpenAIProvider(config)


__all__ = [
    "ChatCall",
    "Finished",
    "ModelInfo",
    "Piece",
    "Provider",
    "Thinking",
    "provider_build",
]
