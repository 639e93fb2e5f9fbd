"""Queries of the ai service."""
