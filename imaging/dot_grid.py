"""Voxel grids for diffuse optical tomography (slab frame: z is depth below the top face, mm)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

REFLECTANCE_DEPTH_FACTOR = 0.75
"""Reflectance grids reach this fraction of the largest source-detector separation."""


@dataclass(frozen=True)
class VoxelGrid:
    """A regular grid of voxel centres.

    Parameters
    ----------
    x_mm, y_mm, z_mm : ndarray
        Voxel-centre coordinates along each axis, mm (z = depth below the top face).
    """

    x_mm: NDArray[np.float64]
    y_mm: NDArray[np.float64]
    z_mm: NDArray[np.float64]

    @property
    def shape(self) -> tuple[int, int, int]:
        """(nx, ny, nz)."""
        return (self.x_mm.size, self.y_mm.size, self.z_mm.size)

    @property
    def spacing_mm(self) -> NDArray[np.float64]:
        """Voxel edge lengths (dx, dy, dz), mm."""
        return np.array([_step(self.x_mm), _step(self.y_mm), _step(self.z_mm)])

    @property
    def voxel_volume_mm3(self) -> float:
        """Volume of one voxel, mm³."""
        return float(np.prod(self.spacing_mm))

    @property
    def centers_mm(self) -> NDArray[np.float64]:
        """(N, 3) voxel centres in C order of `shape`, mm."""
        grids = np.meshgrid(self.x_mm, self.y_mm, self.z_mm, indexing="ij")
        return np.stack([g.ravel() for g in grids], axis=1)


def _step(axis: NDArray[np.float64]) -> float:
    return float(axis[1] - axis[0]) if axis.size > 1 else 1.0


def _centred_axis(low: float, high: float, voxel_mm: float) -> NDArray[np.float64]:
    count = max(1, round((high - low) / voxel_mm))
    step = (high - low) / count
    return low + step * (np.arange(count, dtype=np.float64) + 0.5)


def probe_grid(
    sources_mm: ArrayLike,
    detectors_mm: ArrayLike,
    thickness_mm: float,
    voxel_mm: float = 4.0,
    margin_mm: float = 10.0,
) -> VoxelGrid:
    """The voxel grid under a probe layout.

    Laterally the grid covers the probes plus `margin_mm`; in depth the whole slab when probes
    sit on both faces (transmission), otherwise (reflectance) down to
    `REFLECTANCE_DEPTH_FACTOR` × the largest separation, at most the slab thickness.

    Parameters
    ----------
    sources_mm, detectors_mm : array_like
        (S, 3) and (D, 3) probe positions in the slab frame, mm.
    thickness_mm : float
        Slab thickness, mm.
    voxel_mm : float
        Target voxel edge, mm (the axes are divided evenly, so edges are close to it).
    margin_mm : float
        Lateral margin around the probes, mm.

    Returns
    -------
    VoxelGrid
    """
    if not voxel_mm > 0:
        raise ValueError(f"voxel size must be positive, got {voxel_mm:g} mm")
    probes = np.vstack([np.asarray(sources_mm, float), np.asarray(detectors_mm, float)])
    low = probes[:, :2].min(axis=0) - margin_mm
    high = probes[:, :2].max(axis=0) + margin_mm
    transmission = np.ptp(probes[:, 2]) > thickness_mm / 2
    if transmission:
        depth = thickness_mm
    else:
        src = np.asarray(sources_mm, float)[:, None, :2]
        det = np.asarray(detectors_mm, float)[None, :, :2]
        largest = float(np.sqrt(np.sum((src - det) ** 2, axis=-1)).max())
        depth = min(thickness_mm, REFLECTANCE_DEPTH_FACTOR * largest)
    return VoxelGrid(
        _centred_axis(low[0], high[0], voxel_mm),
        _centred_axis(low[1], high[1], voxel_mm),
        _centred_axis(0.0, depth, voxel_mm),
    )
