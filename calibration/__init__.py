"""Calibration records, lifecycle, characterisation and uncertainty."""
