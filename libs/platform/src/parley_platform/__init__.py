"""Parley shared platform library."""
