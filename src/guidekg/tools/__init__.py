"""Maintenance tools run from a source checkout (example generators)."""
