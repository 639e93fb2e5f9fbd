"""Consumed topics and their handlers, and the live feed of changes for dashboards."""
