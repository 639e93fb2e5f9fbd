"""A stand-in for an OpenAI-compatible LLM server: a real HTTP server that answers
`/v1/embeddings` (and, with the AI work, `/v1/chat/completions`) deterministically, and can
be told to fail the ways real providers do."""
