"""Protocol-faithful stand-ins for Atlassian (OAuth 2.0 3LO, Jira Cloud REST v3) and an LLM
(OpenAI chat completions, Ollama chat), served on one loopback port for the demo and the tests.

The application reaches it only through settings (``ATLASSIAN_AUTH_URL``, ``ATLASSIAN_API_URL``,
``OLLAMA_BASE_URL`` / ``OPENAI_BASE_URL``): no code path of jira-ai knows it talks to a sandbox.
"""
