"""HTTP routes of the ai service (behind the gateway)."""
