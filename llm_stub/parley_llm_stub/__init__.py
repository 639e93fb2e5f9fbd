"""A stand-in for an OpenAI-compatible LLM server: a real HTTP server that answers
`/v1/chat/completions` from the passages in the prompt (citing them) and `/v1/embeddings`
deterministically, and can be told to fail the ways real providers do."""
