"""Parley auth service."""
