"""Parley whatsapp service."""
