"""Parley test fixtures."""
