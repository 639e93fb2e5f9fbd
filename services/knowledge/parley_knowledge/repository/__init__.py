"""Queries of the knowledge service, one repository class per table group."""
