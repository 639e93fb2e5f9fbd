"""Parley local stack."""
