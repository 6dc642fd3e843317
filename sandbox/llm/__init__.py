"""LLM stand-in of the sandbox: OpenAI chat completions and Ollama, on their wire protocols, as
unkind as the real servers by default (sandbox/README.md, "The LLM", has every rule and knob).

Routes
  ``POST /v1/chat/completions``: ``gpt-*`` / ``o<digit>*`` names are answered as OpenAI does
  (``Authorization: Bearer`` required; reasoning models refuse ``temperature`` ≠ 1 and
  ``max_tokens``; quota and token-per-minute limits per key, ``x-ratelimit-*`` headers), every
  other name as Ollama's OpenAI-compatible layer does (unknown fields such as ``num_ctx``,
  ``options``, ``keep_alive`` dropped; ``max_tokens`` is ``num_predict``; Ollama's error bodies).
  JSON or SSE ending ``data: [DONE]``, ``stream_options.include_usage``, ``response_format`` text /
  json_object / json_schema. ``GET /v1/models`` (bearer). ``POST /api/chat`` (NDJSON by default,
  ``"stream": false`` one object; ``format`` "json" or a schema; ``options.num_ctx``,
  ``num_predict``, ``temperature``; ``keep_alive``; ``think``), ``GET /api/tags``,
  ``POST /api/show``, ``GET /api/ps``.

Models (:mod:`sandbox.llm.models`)
  Ollama: ``llama3.1:8b``, ``qwen3:8b`` (thinks by default), and the sandbox's own, shown as
  ``llama3.1:8b`` by ``/api/show``: ``thinker`` (``<think>`` in the content), ``sloppy`` and
  ``obedient`` (misbehave on a conversation's first answer, :mod:`sandbox.llm.misbehave`).
  OpenAI: ``gpt-4o-mini``, ``gpt-4.1-mini``, ``gpt-5-mini``, ``o4-mini``. Unknown: 404 in the
  vendor's shape. With a ``gpt-*`` model, ``json_schema`` with ``strict: true`` is checked as
  OpenAI does (every object needs ``additionalProperties: false`` and all its properties in
  ``required``; 400 otherwise).

Serving (:mod:`sandbox.llm.runtime`, :mod:`sandbox.llm.tokens`)
  Ollama: one request at a time per model in FIFO order, nothing sent while queued, 503 beyond the
  queue bound; a load on first use, after ``keep_alive`` of idleness and when ``num_ctx`` changes;
  the prompt evaluated within the runner's context: a chat too long loses its oldest messages, then
  all but its first 5 and last ``num_ctx - 5`` tokens, and the answer is built only from what
  survived. OpenAI: quota and rate buckets per API key. Tokens are counted by one calibrated rule.

Answers (deterministic: same messages and format give the same content bytes)
  jira-ai's own prompts (summaries, combines, analyses, streamed sections) get product-owner prose
  grounded in the facts they state (:mod:`sandbox.llm.grounded`). Any other prompt: grounded in
  the system and user messages the model saw (assistant turns are ignored): issue keys
  (Jira's shape ``[A-Z][A-Z0-9_]+-\\d+``: ``PAY-42``, ``AB_C-1``;
  user messages first), per-issue summaries and statuses (``KEY summary``
  lines, ``summary:`` / ``status:`` fields, Jira JSON), quoted text. Free text: 2-5 sentences, in
  French when the prompt is mostly French or asks for French ("answer in French", "en français"),
  else English; after a cut, English unless a language instruction survived. json_schema / Ollama
  schema: an object valid against the schema (``$ref``/``$defs``, ``allOf``, ``anyOf``/``oneOf``
  first non-null branch, enums, nullable types, min/max items and lengths); key-like strings
  (``key``, ``issue_key``, ``*_key``) and arrays (``keys``, ``cited_keys``, ``citations``,
  ``*_keys``...) hold keys from the prompt only; arrays of objects with a key property get one item
  per issue (1-3 items). json_object / ``format: "json"``: a schema in a fenced block of the prompt
  (preferably after the word "schema") is used, else ``{"summary": "<prose>"}``. Thinking models
  first muse (in English) over the same material.

Markers (in the last user message)
  ``[[sandbox:cite-unknown]]``: the output also cites ``ZZZ-9999`` (a key not in the prompt).
  ``[[sandbox:invalid-json]]``: a JSON answer is cut in half (invalid JSON).
  ``[[sandbox:invalid-json-once]]``: the same, unless the conversation already has an assistant
  message (so one repair attempt succeeds).

Pace
  ``--llm-tokens-per-second`` (200) per generated token, ``--llm-first-token-ms`` (20),
  ``--ollama-load-ms`` (3000), ``--ollama-prompt-tokens-per-second`` (1000);
  ``POST /_sandbox/llm`` changes these (and ``queue_max``) at run time, ``GET /_sandbox/llm`` shows
  them with ``active_streams`` and the runners; ``POST /_sandbox/reset`` restores the CLI values and
  unloads every model.

Faults (target ``llm``)
  ``status``, ``delay``, ``hang``, ``malformed``, ``cut_stream``, ``runner_crash`` (Ollama's 500
  "model runner has unexpectedly stopped…"), ``stream_error`` (a mid-stream error: on Ollama's
  ``/v1`` one chunk with ``"content":""`` then a clean end without ``finish_reason`` or
  ``[DONE]``).

Stats
  ``llm_cancelled``, ``llm_truncated``, ``llm_prompt_tokens``, ``llm_reloads``, ``llm_queue_max``
  at the top of ``GET /_sandbox/stats``; ``counters`` also has ``llm_requests``, ``llm_loads``,
  ``llm_load_aborted``, ``llm_messages_dropped``.
"""

from sandbox.llm.routes import setup

__all__ = ["setup"]
