"""Talking to OpenAI-compatible chat-completions APIs: the client, retries, the shared
circuit breaker and the primary-then-fallback chain."""
