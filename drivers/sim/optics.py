"""Diffusion-theory reflectance of the simulated tissue.

Units: distances in mm, absorption and scattering coefficients in mm⁻¹. The chromophore tables
(Prahl; Hale & Querry) come from `imaging.chromophores`, so that simulated tissue and analysis
use one cited source; the light transport below is the simulator's own.

Sources
-------
- T. J. Farrell, M. S. Patterson and B. Wilson, "A diffusion theory model of spatially resolved,
  steady-state diffuse reflectance for the noninvasive determination of tissue optical
  properties in vivo", Med. Phys. 19, 879-888 (1992).
- R. A. J. Groenhuis, H. A. Ferwerda and J. J. Ten Bosch, "Scattering and absorption of turbid
  materials determined from reflection measurements. 1: Theory", Appl. Opt. 22, 2456-2462
  (1983) (internal diffuse reflection fit used by Farrell et al.).
- S. R. Arridge, "Optical tomography in medical imaging", Inverse Problems 15, R41-R93 (1999)
  (Rytov perturbation with the diffusion Green's function).
"""

import numpy as np
from numpy.typing import ArrayLike, NDArray


def boundary_coefficient(refractive_index: float) -> float:
    """Boundary mismatch factor A = (1 + r_id) / (1 - r_id) of the extrapolated boundary.

    r_id = -1.440 n⁻² + 0.710 n⁻¹ + 0.668 + 0.0636 n is the internal diffuse reflection of a
    tissue/air interface (Groenhuis et al. 1983, as used by Farrell et al. 1992).

    Parameters
    ----------
    refractive_index : float
        Refractive index of tissue relative to the outside medium.

    Returns
    -------
    float
        A, dimensionless.
    """
    n = refractive_index
    internal_reflection = -1.440 / n**2 + 0.710 / n + 0.668 + 0.0636 * n
    return (1.0 + internal_reflection) / (1.0 - internal_reflection)


def farrell_reflectance_per_mm2(
    rho_mm: ArrayLike,
    mua_per_mm: ArrayLike,
    musp_per_mm: ArrayLike,
    refractive_index: float = 1.4,
) -> NDArray[np.float64]:
    """Spatially resolved steady-state diffuse reflectance R(ρ) (Farrell et al. 1992).

    Dipole solution of the diffusion equation for a semi-infinite medium with an extrapolated
    boundary at z = -2AD:

    R(ρ) = a'/(4π) [ z0 (μeff + 1/r1) e^(-μeff r1) / r1²
                   + (z0 + 2zb)(μeff + 1/r2) e^(-μeff r2) / r2² ]

    with μt' = μa + μs', a' = μs'/μt', z0 = 1/μt', D = 1/(3μt'), zb = 2AD, μeff = √(3μa μt'),
    r1² = z0² + ρ², r2² = (z0 + 2zb)² + ρ². All inputs broadcast, so ρ of shape (P,) and
    μa, μs' of shape (L, 1) give an (L, P) result.

    Parameters
    ----------
    rho_mm : array_like
        Source-detector distances on the surface, mm.
    mua_per_mm, musp_per_mm : array_like
        Absorption and reduced scattering coefficients, mm⁻¹.
    refractive_index : float
        Tissue refractive index relative to the outside (1.4 for tissue against air).

    Returns
    -------
    ndarray
        Diffuse reflectance, escaping photons per incident photon per mm² (mm⁻²).
    """
    rho = np.asarray(rho_mm, dtype=float)
    mua = np.asarray(mua_per_mm, dtype=float)
    musp = np.asarray(musp_per_mm, dtype=float)
    mutp = mua + musp
    z0 = 1.0 / mutp
    image_depth = z0 + 4.0 * boundary_coefficient(refractive_index) / (3.0 * mutp)
    mueff = np.sqrt(3.0 * mua * mutp)
    rho_squared = rho * rho
    r1 = np.sqrt(z0 * z0 + rho_squared)
    r2 = np.sqrt(image_depth * image_depth + rho_squared)
    real = z0 * (mueff + 1.0 / r1) * np.exp(-mueff * r1) / (r1 * r1)
    image = image_depth * (mueff + 1.0 / r2) * np.exp(-mueff * r2) / (r2 * r2)
    reflectance: NDArray[np.float64] = musp / mutp / (4.0 * np.pi) * (real + image)
    return reflectance


def rytov_partial_pathlength_mm(
    source_xyz_mm: ArrayLike,
    detectors_xyz_mm: ArrayLike,
    voxels_xyz_mm: ArrayLike,
    voxel_volume_mm3: float,
    mua_per_mm: float,
    musp_per_mm: float,
    refractive_index: float = 1.4,
) -> NDArray[np.float64]:
    """Mean partial pathlength of detected light inside a set of voxels (Rytov, first order).

    L_d = Σ_v G(s, v) G(v, d) / G(s, d) ΔV, so that a small absorption change Δμa inside the
    voxels scales the signal of detector d by exp(-Δμa L_d) (Arridge 1999). G is the CW
    diffusion Green's function of a semi-infinite medium with a negative image source mirrored
    about the extrapolated boundary z = -2AD; z is depth into the tissue, positive.

    Parameters
    ----------
    source_xyz_mm : array_like, shape (3,)
        Effective isotropic source position, mm (conventionally at depth 1/μt').
    detectors_xyz_mm : array_like, shape (..., 3)
        Detector positions, mm.
    voxels_xyz_mm : array_like, shape (V, 3)
        Voxel centres, mm, z > 0.
    voxel_volume_mm3 : float
        Volume represented by each voxel, mm³.
    mua_per_mm, musp_per_mm : float
        Background optical properties, mm⁻¹.
    refractive_index : float
        Tissue refractive index relative to the outside.

    Returns
    -------
    ndarray, shape (...)
        Partial pathlength per detector, mm.
    """
    source = np.asarray(source_xyz_mm, dtype=float)
    detectors = np.asarray(detectors_xyz_mm, dtype=float)
    voxels = np.asarray(voxels_xyz_mm, dtype=float)
    mutp = mua_per_mm + musp_per_mm
    diffusion = 1.0 / (3.0 * mutp)
    mueff = np.sqrt(mua_per_mm / diffusion)
    boundary_z = -2.0 * boundary_coefficient(refractive_index) * diffusion

    def green(a: NDArray[np.float64], b: NDArray[np.float64]) -> NDArray[np.float64]:
        lateral = (a[..., 0] - b[..., 0]) ** 2 + (a[..., 1] - b[..., 1]) ** 2
        direct = np.sqrt(lateral + (a[..., 2] - b[..., 2]) ** 2)
        image = np.sqrt(lateral + (a[..., 2] + b[..., 2] - 2.0 * boundary_z) ** 2)
        fluence: NDArray[np.float64] = (
            np.exp(-mueff * direct) / direct - np.exp(-mueff * image) / image
        ) / (4.0 * np.pi * diffusion)
        return fluence

    source_to_voxel = green(voxels, source)  # (V,)
    voxel_to_detector = green(detectors[..., np.newaxis, :], voxels)  # (..., V)
    source_to_detector = green(detectors, source)  # (...)
    weighted = voxel_to_detector @ source_to_voxel
    return weighted * voxel_volume_mm3 / source_to_detector


class FarrellTable:
    """Farrell R(ρ) at fixed distances and μs', tabulated over an interval of μa.

    Exact `farrell_reflectance_per_mm2` values and μa-derivatives are stored at evenly spaced
    μa nodes and joined by cubic Hermite interpolation, so that repeated evaluations cost a few
    array multiply-adds. The relative interpolation error is about (L h)⁴/384, with
    L = -∂ln R/∂μa the mean pathlength and h the node spacing: below 1e-5 for L < 400 mm at
    the default h <= 5e-4 mm⁻¹.

    Parameters
    ----------
    rho_mm : array_like
        Source-detector distances, mm (any shape S).
    musp_per_mm : float
        Reduced scattering coefficient, mm⁻¹.
    mua_range_per_mm : tuple of float
        (lowest, highest) μa the table must cover, mm⁻¹.
    weights : array_like
        Factor broadcast with `rho_mm` that multiplies every tabulated value (e.g. photons/s
        per unit reflectance of each pixel).
    refractive_index : float
        Tissue refractive index relative to the outside.
    max_step_per_mm : float
        Largest node spacing, mm⁻¹.
    """

    def __init__(
        self,
        rho_mm: ArrayLike,
        musp_per_mm: float,
        mua_range_per_mm: tuple[float, float],
        weights: ArrayLike = 1.0,
        refractive_index: float = 1.4,
        max_step_per_mm: float = 5e-4,
    ) -> None:
        low, high = mua_range_per_mm
        if not 0.0 < low <= high:
            raise ValueError(f"need 0 < low <= high for the μa range, got {mua_range_per_mm}")
        count = max(2, int(np.ceil((high - low) / max_step_per_mm)) + 1)
        self.low_per_mm = low
        self.step_per_mm = max((high - low) / (count - 1), max_step_per_mm / 2.0)
        self.high_per_mm = low + self.step_per_mm * (count - 1)
        nodes = (low + self.step_per_mm * np.arange(count, dtype=np.float64)).reshape(
            (count,) + (1,) * np.ndim(rho_mm)
        )
        delta = 1e-6 * low

        def reflectance(mua: NDArray[np.float64]) -> NDArray[np.float64]:
            return farrell_reflectance_per_mm2(rho_mm, mua, musp_per_mm, refractive_index)

        scale = np.asarray(weights, dtype=float)
        values = reflectance(nodes) * scale
        slopes = (
            (reflectance(nodes + delta) - reflectance(nodes - delta))
            * (self.step_per_mm / (2.0 * delta))
            * scale
        )
        self._shape = values.shape[1:]
        values = values.reshape(count, -1)
        slopes = slopes.reshape(count, -1)
        # Per interval, the four Hermite basis arrays [V_k, h V'_k, V_k+1, h V'_k+1].
        self._basis = np.stack([values[:-1], slopes[:-1], values[1:], slopes[1:]], axis=1)

    def __call__(self, mua_per_mm: ArrayLike, factor: float = 1.0) -> NDArray[np.float64]:
        """Weighted R(ρ) at absorption `mua_per_mm`, times `factor`.

        Parameters
        ----------
        mua_per_mm : float or array_like of shape (N,)
            Absorption coefficient(s), mm⁻¹.
        factor : float
            Multiplies the result (e.g. the LED drive current).

        Returns
        -------
        ndarray
            Shape S for a scalar μa, (N, *S) for N values.

        Raises
        ------
        ValueError
            If a μa lies outside the tabulated interval.
        """
        mua = np.asarray(mua_per_mm, dtype=float)
        if mua.min() < self.low_per_mm or mua.max() > self.high_per_mm:
            raise ValueError(
                f"μa {mua_per_mm!s} mm⁻¹ outside the table "
                f"{self.low_per_mm:.6g}-{self.high_per_mm:.6g} mm⁻¹"
            )
        position = (mua - self.low_per_mm) / self.step_per_mm
        index = np.minimum(position.astype(np.intp), len(self._basis) - 1)
        if mua.ndim == 0:  # one μa: a single (4,) @ (4, P) product
            s = float(position - index)
            r = 1.0 - s
            hermite = np.array([(1 + 2 * s) * r * r, s * r * r, s * s * (3 - 2 * s), -s * s * r])
            hermite *= factor
            single: NDArray[np.float64] = (hermite @ self._basis[index]).reshape(self._shape)
            return single
        fraction = position - index
        rest = 1.0 - fraction
        hermite = np.stack(
            [
                (1.0 + 2.0 * fraction) * rest**2,
                fraction * rest**2,
                fraction * fraction * (3.0 - 2.0 * fraction),
                -fraction * fraction * rest,
            ],
            axis=-1,
        )
        result = np.matmul((hermite * factor)[..., np.newaxis, :], self._basis[index])
        rates: NDArray[np.float64] = result.reshape(mua.shape + self._shape)
        return rates
