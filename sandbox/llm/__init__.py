"""LLM stand-in of the sandbox: OpenAI chat completions and Ollama chat, on their wire protocols.

Routes
  ``POST /v1/chat/completions`` (needs ``Authorization: Bearer <anything>``; JSON or SSE with
  ``"stream": true``, ending ``data: [DONE]``; ``stream_options.include_usage`` adds a usage chunk;
  ``response_format`` text / json_object / json_schema; ``max_tokens`` / ``max_completion_tokens``
  truncate with ``finish_reason: "length"``), ``GET /v1/models`` (bearer too), ``POST /api/chat``
  (Ollama NDJSON stream by default, ``"stream": false`` one object; ``format`` "json" or a schema;
  ``options.num_predict`` truncates with ``done_reason: "length"``), ``GET /api/tags``.

Models
  ``llama3.1:8b`` (default Ollama model), ``qwen2.5:7b``, ``gpt-4o-mini`` (default OpenAI model),
  ``gpt-4.1-mini``; each is served on both protocols (``name:latest`` accepted too). Unknown model:
  404 ``{"error": {"message", "type", "param", "code": "model_not_found"}}`` (OpenAI) or
  ``{"error": "model \\"x\\" not found, try pulling it first"}`` (Ollama). With a ``gpt-*`` model,
  ``json_schema`` with ``strict: true`` is checked like OpenAI does (every object needs
  ``additionalProperties: false`` and all its properties in ``required``; 400 otherwise).

Answers (deterministic: same messages and format give the same content bytes)
  Grounded in the system and user messages (assistant turns are ignored): issue keys in Jira's
  shape (``[A-Z][A-Z0-9_]+-\\d+``: ``PAY-42``, ``AB_C-1``; user messages first), per-issue
  summaries and statuses (``KEY summary`` lines, ``summary:`` / ``status:`` fields, Jira JSON),
  quoted text. Free text: 2-5 sentences, in
  French when the prompt is mostly French or asks for French ("answer in French", "en français"),
  else English. json_schema / Ollama schema: an object valid against the schema (``$ref``/``$defs``,
  ``allOf``, ``anyOf``/``oneOf`` first non-null branch, enums, nullable types, min/max items and
  lengths); key-like strings (``key``, ``issue_key``, ``*_key``) and arrays (``keys``,
  ``cited_keys``, ``citations``, ``*_keys``...) hold keys from the prompt only; arrays of objects
  with a key property get one item per issue (1-3 items). json_object / ``format: "json"``: a schema
  in a fenced block of the prompt (preferably after the word "schema") is used, else
  ``{"summary": "<prose>"}``. Usage: ceil(chars / 4) tokens.

Markers (in the last user message)
  ``[[sandbox:cite-unknown]]``: the output also cites ``ZZZ-9999`` (a key not in the prompt).
  ``[[sandbox:invalid-json]]``: a JSON answer is cut in half (invalid JSON).
  ``[[sandbox:invalid-json-once]]``: the same, unless the conversation already has an assistant
  message (so one repair attempt succeeds).

Pace
  ``--llm-tokens-per-second`` (200) and ``--llm-first-token-ms`` (20): stream chunks (~one word or
  five characters) are due at start + first-token delay + i / rate; a non-streamed answer waits the
  same total. ``POST /_sandbox/llm {"tokens_per_second": N, "first_token_ms": M}`` changes it at
  runtime, ``GET /_sandbox/llm`` shows it with ``active_streams`` and ``last_stream`` (when the
  last streamed answer's pieces were written, by the sandbox's clock); ``POST /_sandbox/reset``
  restores the CLI values.

Faults (target ``llm``)
  ``status``: the vendor's error body (429: ``Retry-After``, plus ``retry-after-ms`` on OpenAI);
  ``delay``; ``hang`` (until the client leaves); ``malformed``: non-streamed, a valid envelope whose
  content is truncated JSON; streamed, one chunk line cut in half; ``cut_stream``: streamed OpenAI,
  about half the chunks then the socket closes (no ``[DONE]``, no last chunk); streamed Ollama,
  half the lines then ``{"error": "..."}``; non-streamed, the socket closes mid-body.

Stats
  ``counters["llm_requests"]`` (chat requests), ``counters["llm_cancelled"]`` (the client went away
  before the end of the response, counted once per request; also ``llm_cancelled`` at the top of
  ``GET /_sandbox/stats``). ``GET /_sandbox/llm/requests``: the chat requests received since the
  reset (vendor, model, stream, messages; the last 50), for tests that check what a prompt held.
"""

from sandbox.llm.routes import setup

__all__ = ["setup"]
