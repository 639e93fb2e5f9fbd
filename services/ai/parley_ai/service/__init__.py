"""Use cases of the ai service."""
