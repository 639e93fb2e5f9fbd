"""The auth service's public REST API (reached through the gateway under /api/v1)."""
