"""Use cases: sending commands and fetching inbound media (they never commit for a caller;
each step owns its own short transaction)."""
