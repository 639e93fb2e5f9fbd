"""Parley knowledge service."""
