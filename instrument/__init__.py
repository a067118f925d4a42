"""Instrument composition, acquisition and run records."""
