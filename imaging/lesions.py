"""Inclusions in a reconstructed 3-D map: denoise, threshold, label, measure (scikit-image).

The contrast map (value - background) is smoothed with a small Gaussian, thresholded by Otsu's
method over the positive contrast, and labelled (26-connectivity). Each labelled region is
measured on its half-maximum core (voxels ≥ half the region's own peak): intensity-weighted
centroid, peak position, volume and peak contrast (peak / background), and, when haemoglobin
maps are given, HbT and StO2 at the peak. Regions weaker than `RELATIVE_FLOOR` of the strongest
are dropped, and so are regions peaking less than `MIN_PEAK_CONTRAST` × the background (noise
of a recording without inclusion stays below it). The background is everything outside the
detected regions (above the Otsu threshold) grown by one voxel.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from skimage.filters import gaussian, threshold_otsu
from skimage.measure import label, regionprops
from skimage.morphology import ball, dilation

from imaging.dot_grid import VoxelGrid

RELATIVE_FLOOR = 0.25
"""Regions whose peak contrast is below this fraction of the strongest are not reported."""

MIN_PEAK_CONTRAST = 1.05
"""Regions peaking less than 5 % above the background are noise, not inclusions."""

SMOOTHING_VOXELS = 0.5
"""σ of the denoising Gaussian, voxels."""


@dataclass(frozen=True)
class Inclusion:
    """One detected inclusion (positions in the grid's frame).

    Parameters
    ----------
    centroid_mm, peak_mm : tuple of float
        Intensity-weighted centroid of the half-maximum core, and the peak voxel, mm.
    volume_mm3 : float
        Volume of the half-maximum core, mm³.
    peak_contrast : float
        Peak value / background value (e.g. μa or HbT ratio), dimensionless.
    hbt_um, sto2_percent : float or None
        Total haemoglobin (µM) and saturation (%) at the peak, when available.
    """

    centroid_mm: tuple[float, float, float]
    peak_mm: tuple[float, float, float]
    volume_mm3: float
    peak_contrast: float
    hbt_um: float | None = None
    sto2_percent: float | None = None


@dataclass(frozen=True)
class Background:
    """Statistics of the map outside the inclusions.

    Parameters
    ----------
    mean : float
        Mean value (unit of the map).
    variation_percent : float
        Standard deviation / mean, %.
    sto2_percent : float or None
        Mean StO2 outside the inclusions, %, when available.
    """

    mean: float
    variation_percent: float
    sto2_percent: float | None = None


def _position(grid: VoxelGrid, index: NDArray[np.float64]) -> tuple[float, float, float]:
    """Grid index (possibly fractional) to mm."""
    axes = (grid.x_mm, grid.y_mm, grid.z_mm)
    x_mm, y_mm, z_mm = (
        float(np.interp(i, np.arange(a.size), a)) if a.size > 1 else float(a[0])
        for i, a in zip(index, axes, strict=True)
    )
    return x_mm, y_mm, z_mm


def find_inclusions(
    values: NDArray[np.float64],
    grid: VoxelGrid,
    background_value: float,
    hbt_um: NDArray[np.float64] | None = None,
    sto2_percent: NDArray[np.float64] | None = None,
    min_contrast: float = MIN_PEAK_CONTRAST,
) -> tuple[list[Inclusion], Background]:
    """Detect and measure inclusions of raised value in a reconstructed map.

    Parameters
    ----------
    values : ndarray
        (nx, ny, nz) map, e.g. μa (mm⁻¹) or HbT (µM), on `grid`.
    grid : VoxelGrid
        Voxel centres of the map, mm.
    background_value : float
        Background level of `values` (same unit), > 0.
    hbt_um, sto2_percent : ndarray, optional
        Haemoglobin maps on the same grid, reported at each inclusion's peak.
    min_contrast : float
        Smallest peak / background ratio reported as an inclusion.

    Returns
    -------
    (inclusions, background)
        Inclusions strongest first, and the background statistics.
    """
    values = np.asarray(values, dtype=float)
    if values.shape != grid.shape:
        raise ValueError(f"map shape {values.shape} does not match the grid {grid.shape}")
    if not background_value > 0:
        raise ValueError(f"background value must be positive, got {background_value:g}")
    contrast = gaussian(values - background_value, sigma=SMOOTHING_VOXELS, preserve_range=True)
    positive = contrast[contrast > 0]
    regions = np.zeros(values.shape, dtype=bool)
    inclusions: list[Inclusion] = []
    if positive.size >= 2 and np.ptp(positive) > 0:
        labels = label(contrast > threshold_otsu(positive), connectivity=3)
        props = regionprops(labels, intensity_image=contrast)
        strongest = max(p.intensity_max for p in props)
        for prop in sorted(props, key=lambda p: p.intensity_max, reverse=True):
            peak = prop.intensity_max
            if peak < max(RELATIVE_FLOOR * strongest, (min_contrast - 1.0) * background_value):
                break
            region = labels == prop.label
            core = region & (contrast >= 0.5 * peak)
            regions |= region
            weights = np.where(core, contrast, 0.0)
            index = np.indices(values.shape).reshape(3, -1)
            centroid = index @ weights.ravel() / weights.sum()
            peak_index = np.unravel_index(np.argmax(weights), values.shape)
            inclusions.append(
                Inclusion(
                    centroid_mm=_position(grid, centroid),
                    peak_mm=_position(grid, np.array(peak_index)),
                    volume_mm3=float(core.sum() * grid.voxel_volume_mm3),
                    peak_contrast=float(values[peak_index] / background_value),
                    hbt_um=None if hbt_um is None else float(hbt_um[peak_index]),
                    sto2_percent=None if sto2_percent is None else float(sto2_percent[peak_index]),
                )
            )
    background = ~dilation(regions, ball(1))
    outside = values[background]
    mean = float(outside.mean())
    return inclusions, Background(
        mean=mean,
        variation_percent=float(100.0 * outside.std() / mean),
        sto2_percent=None if sto2_percent is None else float(np.nanmean(sto2_percent[background])),
    )
