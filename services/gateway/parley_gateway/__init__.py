"""Parley gateway service."""
