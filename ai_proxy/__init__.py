"""The /ai/* router of the public API: fetches Jira data, then calls ai-service or the engine."""
