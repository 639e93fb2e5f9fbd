"""HTTP API of the knowledge service (behind the gateway, `/api/v1/knowledge/...`)."""
