"""Use cases of the knowledge service (they never commit: the route or handler does)."""
