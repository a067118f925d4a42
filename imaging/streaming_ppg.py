"""PPG samples from a stream of interleaved LED frames, as they arrive.

The streaming twin of ``instrument.ppg_signals.ppg_signals_from_run``, with the same rules
where the stream allows them: each frame of a wavelength's first lit LED step gives one
sample of that wavelength, the mean over the region of pixels in the sensor's linear range
(below `LINEAR_FRACTION` of full scale) that see at least `MIN_SIGNAL_DN` above dark at every
wavelength, minus the dark level (the latest dark step of the pattern, else the black level
of the first frames); each wavelength is interpolated linearly onto the instants of the first
wavelength's exposures (one sample per pattern cycle). The region is chosen from the first
`SETUP_CYCLES` complete pattern cycles in which one exists (the stream cannot see the
recording's future frames as the batch adapter does).

Each sample also says whether the light was lost (every lit level below `LIGHT_LOST_FRACTION`
of its level when the region was chosen: the probe left the skin) or the detector saturated
(more than `SATURATED_SHARE` of the region at full scale): the probe-off condition.

Pattern cycles with lost frames are bridged: their samples are interpolated linearly between
the cycles on either side (as the batch adapter's interpolation onto its uniform grid does),
so the samples stay evenly spaced and the analysers' clocks stay right.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

logger = logging.getLogger(__name__)

LINEAR_FRACTION = 0.75
"""Pixels brighter than this fraction of full scale during set-up are left out."""
MIN_SIGNAL_DN = 20.0
"""Least mean signal above dark, DN, at every wavelength for a pixel to count."""
SETUP_CYCLES = 20
"""Pattern cycles the region is chosen from."""
MIN_REGION_PIXELS = 4
"""Fewest pixels of a usable region (fewer: no tissue in front of the probe yet)."""
LIGHT_LOST_FRACTION = 0.1
"""A sample whose every lit level falls below this share of its set-up level has lost the
light."""
SATURATED_SHARE = 0.5
"""A frame with more than this share of the region at full scale is saturated."""
DARK_PIXEL_FRACTION = 0.01
"""Share of the darkest pixels whose level is the black level without a dark step."""


@dataclass(frozen=True)
class PpgBlock:
    """Samples completed by one block of frames.

    Attributes
    ----------
    time_s : ndarray, shape (n,)
        Sample instants (the first wavelength's exposures), s on the frames' clock.
    signals : ndarray, shape (n, W)
        Mean DN above dark over the region, per wavelength (`StreamingPpg.wavelengths_nm`).
    probe_off : ndarray of bool, shape (n,)
        Light lost or detector saturated at the sample.
    """

    time_s: NDArray[np.float64]
    signals: NDArray[np.float64]
    probe_off: NDArray[np.bool_]


class StreamingPpg:
    """Per-wavelength PPG samples from interleaved frames.

    Parameters
    ----------
    led_pattern : sequence of (wavelength nm, drive current mA)
        The LED steps of the stream in order (drive 0: dark step).
    full_scale_dn : float
        ADC full scale, DN.
    black_level_dn : float, optional
        Dark level of the frames, DN, when the pattern has no dark step (0 for frames already
        corrected with a detector characterisation); default: the darkest pixels' level.
    """

    def __init__(
        self,
        led_pattern: Sequence[tuple[float, float]],
        full_scale_dn: float = 4095.0,
        black_level_dn: float | None = None,
    ) -> None:
        self.led_pattern = tuple((float(w), float(c)) for w, c in led_pattern)
        lit: dict[float, int] = {}
        for index, (wavelength, current) in enumerate(self.led_pattern):
            if current > 0.0 and wavelength not in lit:
                lit[wavelength] = index
        if not lit:
            raise ValueError("the LED pattern has no lit step")
        self.wavelengths_nm = tuple(lit)
        self._lit_steps = np.array(list(lit.values()))
        self._dark_steps = np.array(
            [i for i, (_, current) in enumerate(self.led_pattern) if current == 0.0], dtype=int
        )
        self.full_scale_dn = float(full_scale_dn)
        self.black_level_dn = black_level_dn
        self.region: NDArray[np.bool_] | None = None
        self._setup: list[tuple[int, NDArray[np.float64]]] = []  # (step, frame) of set-up
        self._reference_dn: NDArray[np.float64] | None = None
        self._black_dn = 0.0
        self._cycle = -1
        self._levels = np.full(len(self.led_pattern), np.nan)
        self._times = np.full(len(self.led_pattern), np.nan)
        self._saturated = False
        self._previous: tuple[NDArray[np.float64], NDArray[np.float64]] | None = None
        self._last_sample: tuple[int, float, NDArray[np.float64]] | None = None
        self.bridged_samples = 0

    def push(
        self,
        frames: ArrayLike,
        frame_counter: ArrayLike,
        time_s: ArrayLike,
        saturated: ArrayLike | None = None,
    ) -> PpgBlock:
        """Add frames; return the samples their pattern cycles completed.

        Parameters
        ----------
        frames : array_like, shape (n, H, W)
            Pixel values, DN.
        frame_counter : array_like of int, shape (n,)
            Stream frame counters (step = counter modulo the pattern length).
        time_s : array_like, shape (n,)
            Exposure instants, s.
        saturated : array_like of bool, shape (n, H, W), optional
            Saturated pixels (of corrected frames); default: pixels at `full_scale_dn`.
        """
        pixels = np.asarray(frames)
        counters = np.asarray(frame_counter, dtype=np.int64)
        times = np.asarray(time_s, dtype=float)
        if self.region is None:
            self._collect_setup(pixels, counters)
            if self.region is None:
                return _empty(len(self.wavelengths_nm))
        region = self.region
        levels = pixels[:, region].mean(axis=1, dtype=np.float64)
        at_limit = (
            pixels[:, region] >= self.full_scale_dn
            if saturated is None
            else np.asarray(saturated)[:, region]
        )
        saturated_frames = np.mean(at_limit, axis=1) > SATURATED_SHARE
        samples: list[tuple[float, NDArray[np.float64], bool]] = []
        length = len(self.led_pattern)
        for counter, level, instant, full in zip(
            counters, levels, times, saturated_frames, strict=True
        ):
            cycle, step = divmod(int(counter), length)
            if cycle != self._cycle:
                self._close_cycle(samples)
                self._cycle = cycle
                self._levels[:] = np.nan
                self._saturated = False
            self._levels[step] = level
            self._times[step] = instant
            self._saturated |= bool(full)
        if not np.isnan(self._levels).any():  # the last cycle is complete
            self._close_cycle(samples)
            self._cycle += 1
            self._levels[:] = np.nan
            self._saturated = False
        if not samples:
            return _empty(len(self.wavelengths_nm))
        return PpgBlock(
            time_s=np.array([s[0] for s in samples]),
            signals=np.stack([s[1] for s in samples]),
            probe_off=np.array([s[2] for s in samples]),
        )

    def _close_cycle(self, samples: list[tuple[float, NDArray[np.float64], bool]]) -> None:
        """Turn the current cycle's levels into a sample (incomplete cycles are skipped)."""
        if self._cycle < 0 or np.isnan(self._levels[self._lit_steps]).any():
            return
        if self._dark_steps.size and np.isfinite(self._levels[self._dark_steps]).all():
            self._black_dn = float(self._levels[self._dark_steps].mean())
        values = self._levels[self._lit_steps] - self._black_dn
        times = self._times[self._lit_steps].copy()
        grid_s = float(times[0])
        sample = values.copy()
        if self._previous is not None:
            previous_values, previous_times = self._previous
            span = times - previous_times
            share = np.divide(
                grid_s - previous_times, span, out=np.ones_like(span), where=span > 0.0
            )
            sample = previous_values + np.clip(share, 0.0, 1.0) * (values - previous_values)
        self._previous = (values, times)
        assert self._reference_dn is not None
        lost = bool(np.all(values < LIGHT_LOST_FRACTION * self._reference_dn))
        if self._last_sample is not None:
            self._bridge(samples, grid_s, sample, lost)
        samples.append((grid_s, sample, lost or self._saturated))
        self._last_sample = (self._cycle, grid_s, sample)

    def _bridge(
        self,
        samples: list[tuple[float, NDArray[np.float64], bool]],
        grid_s: float,
        sample: NDArray[np.float64],
        lost: bool,
    ) -> None:
        """Samples of the cycles missing between the last sample and this one (interpolated)."""
        last_cycle, last_s, last_values = self._last_sample or (self._cycle - 1, grid_s, sample)
        missing = self._cycle - last_cycle - 1
        for k in range(1, missing + 1):
            share = k / (missing + 1)
            instant = last_s + share * (grid_s - last_s)
            samples.append((instant, last_values + share * (sample - last_values), lost))
        self.bridged_samples += max(missing, 0)

    def _collect_setup(self, pixels: NDArray[np.float64], counters: NDArray[np.int64]) -> None:
        """Keep the first cycles' frames until a region can be chosen from them."""
        steps = counters % len(self.led_pattern)
        self._setup += [(int(s), f.astype(float)) for s, f in zip(steps, pixels, strict=True)]
        cycles = len(self._setup) // len(self.led_pattern)
        if cycles < SETUP_CYCLES:
            return
        region, reference, black = self._choose_region()
        if np.count_nonzero(region) < MIN_REGION_PIXELS:
            logger.info("no pixel sees the LEDs yet; waiting for tissue in front of the probe")
            self._setup = self._setup[len(self.led_pattern) :]
            return
        self.region, self._reference_dn, self._black_dn = region, reference, black
        self._setup = []
        logger.info("PPG region: %d pixels", np.count_nonzero(region))

    def _choose_region(self) -> tuple[NDArray[np.bool_], NDArray[np.float64], float]:
        """(region, lit levels above dark over it, black level) from the set-up frames."""
        by_step: dict[int, list[NDArray[np.float64]]] = {}
        for step, frame in self._setup:
            by_step.setdefault(step, []).append(frame)
        if self._dark_steps.size:
            dark = np.mean([np.mean(by_step[int(s)], axis=0) for s in self._dark_steps], axis=0)
        elif self.black_level_dn is not None:
            dark = np.full(self._setup[0][1].shape, float(self.black_level_dn))
        else:
            first = np.mean(by_step[int(self._lit_steps[0])], axis=0)
            dark = np.full_like(first, np.quantile(first, DARK_PIXEL_FRACTION))
        region = np.ones(dark.shape, dtype=bool)
        for step in self._lit_steps:
            stack = np.stack(by_step[int(step)])
            region &= stack.max(axis=0) < LINEAR_FRACTION * self.full_scale_dn
            region &= stack.mean(axis=0) - dark >= MIN_SIGNAL_DN
        black = float(dark[region].mean()) if region.any() else float(dark.mean())
        reference = np.array(
            [
                np.mean(by_step[int(step)], axis=0)[region].mean() - black if region.any() else 0.0
                for step in self._lit_steps
            ]
        )
        return region, reference, black


def _empty(channels: int) -> PpgBlock:
    return PpgBlock(np.zeros(0), np.zeros((0, channels)), np.zeros(0, dtype=bool))
