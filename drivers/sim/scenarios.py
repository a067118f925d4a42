"""Named physiological scenarios of the simulated patient, with their truth.

A scenario is a `TissueConfig` whose events are laid out over a period (the planned length of
the run; `DEFAULT_PERIOD_S` when the run has none), in scenario time: seconds from the start
of the board's first stream (`drivers.sim.scene.Scene.start_scenario`).

- ``steady``: SpO2 98 %, 72 beats/min, clean signal;
- ``desaturation``: SpO2 98 → 85 % over the first third, held over the second, back to 98 %
  over the last third;
- ``motion``: motion bursts of `MOTION_BURST_S` every `MOTION_EVERY_S` seconds;
- ``probe-off``: the probe leaves the skin (no light) over the middle fifth of the period;
- ``tachycardia``: 140 beats/min at SpO2 97 %.

The names and the default period are in :mod:`drivers.sim.scenario_names`, which imports no
physics, so the configuration and the command line can use them.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from drivers.sim.scenario_names import DEFAULT_PERIOD_S, SCENARIOS

if TYPE_CHECKING:
    from drivers.sim.tissue import TissueConfig

__all__ = ["DEFAULT_PERIOD_S", "SCENARIOS", "scenario_tissue"]

DESATURATION_SPO2_PERCENT = (98.0, 85.0)
"""(baseline, nadir) of the desaturation scenario, %."""
TACHYCARDIA_RATE_BPM = 140.0
"""Pulse rate of the tachycardia scenario, beats/min."""
MOTION_BURST_S = 6.0
"""Length of each motion burst of the motion scenario, s."""
MOTION_EVERY_S = 30.0
"""Start-to-start spacing of the motion bursts, s (the first starts at 20 s)."""
PROBE_OFF_SHARE = (0.4, 0.6)
"""Start and end of the probe-off stretch as shares of the period."""


def scenario_tissue(
    name: str, period_s: float = DEFAULT_PERIOD_S, base: TissueConfig | None = None
) -> TissueConfig:
    """The tissue configuration of scenario `name` laid out over `period_s` seconds.

    Parameters
    ----------
    name : str
        One of `SCENARIOS`.
    period_s : float
        Planned length of the run, s (> 0).
    base : TissueConfig, optional
        Configuration the scenario modifies (default `TissueConfig()`).

    Raises
    ------
    ValueError
        An unknown name (the known ones listed) or a period that is not positive.
    """
    from drivers.sim.tissue import MotionBurst, TissueConfig  # physics: only when simulating

    if name not in SCENARIOS:
        raise ValueError(f"unknown scenario {name!r}; choose one of {', '.join(SCENARIOS)}")
    if not period_s > 0.0:
        raise ValueError(f"scenario period must be > 0 s, got {period_s:g}")
    tissue = base or TissueConfig()
    if name == "desaturation":
        high, low = DESATURATION_SPO2_PERCENT
        third = period_s / 3.0
        knots = ((0.0, high), (third, low), (2.0 * third, low), (period_s, high))
        return replace(tissue, spo2_trajectory=knots)
    if name == "motion":
        starts = [20.0 + k * MOTION_EVERY_S for k in range(int(period_s // MOTION_EVERY_S) + 1)]
        bursts = tuple(MotionBurst(start, MOTION_BURST_S) for start in starts if start < period_s)
        return replace(tissue, motion_bursts=bursts)
    if name == "probe-off":
        start, end = (share * period_s for share in PROBE_OFF_SHARE)
        return replace(tissue, probe_off_windows_s=((start, end - start),))
    if name == "tachycardia":
        return replace(tissue, pulse_rate_bpm=TACHYCARDIA_RATE_BPM, spo2_trajectory=((0.0, 97.0),))
    return replace(tissue, spo2_trajectory=((0.0, 98.0),))
