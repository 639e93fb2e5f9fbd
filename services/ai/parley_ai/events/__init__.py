"""The ai service's consumer group."""
