"""Simulated devices: the device side of the same wire, fed by one physics scene."""
