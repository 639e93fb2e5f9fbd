"""Limits at the API edge: per-tenant and per-API-key request rates by plan, and live streams."""
