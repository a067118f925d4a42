"""Names and default period of the simulated patient's scenarios (no physics imported here, so
the configuration and the command line can check a name; :mod:`drivers.sim.scenarios` builds
them)."""

SCENARIOS = ("steady", "desaturation", "motion", "probe-off", "tachycardia")
"""Scenario names."""
DEFAULT_PERIOD_S = 300.0
"""Period a scenario's events are laid out over when the run has no planned length, s."""
