"""The public inbox API (behind the gateway, under /api/v1)."""
