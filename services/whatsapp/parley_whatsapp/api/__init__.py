"""The whatsapp service's HTTP API (reached through the gateway)."""
