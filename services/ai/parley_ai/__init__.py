"""Parley ai service."""
