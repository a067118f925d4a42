"""Tissue optics: chromophore spectra, scattering and diffusion-theory reflectance.

Units: wavelengths in nm, distances in mm, absorption and scattering coefficients in mm⁻¹,
concentrations in µM, molar extinction coefficients in cm⁻¹/M (decadic, as tabulated).

Sources
-------
- S. Prahl, "Tabulated molar extinction coefficient for hemoglobin in water", Oregon Medical
  Laser Center (omlc.org/spectra/hemoglobin), compiled from W. B. Gratzer and N. Kollias.
- G. M. Hale and M. R. Querry, "Optical constants of water in the 200-nm to 200-µm wavelength
  region", Appl. Opt. 12, 555-563 (1973).
- S. L. Jacques, "Optical properties of biological tissues: a review", Phys. Med. Biol. 58,
  R37-R61 (2013).
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

LN10 = float(np.log(10.0))
"""Factor converting a decadic extinction into a natural absorption coefficient."""

PER_CM_PER_M_TIMES_UM_TO_PER_MM = 1e-7
"""ε [cm⁻¹/M] × C [µM] × this = decadic absorbance per mm (1e-6 M/µM × 0.1 cm/mm)."""

# Prahl (OMLC) table, 650-1000 nm every 2 nm: wavelength [nm], ε_HbO2, ε_Hb [cm⁻¹/M].
_PRAHL_TABLE = """
650 368 3750.12      652 356.8 3642.64    654 345.6 3535.16    656 335.2 3427.68
658 325.6 3320.2     660 319.6 3226.56    662 314 3140.28      664 308.4 3053.96
666 302.8 2967.68    668 298 2881.4       670 294 2795.12      672 290 2708.84
674 285.6 2627.64    676 282 2554.4       678 279.2 2481.16    680 277.6 2407.92
682 276 2334.68      684 274.4 2261.48    686 272.8 2188.24    688 274.4 2115
690 276 2051.96      692 277.6 2000.48    694 279.2 1949.04    696 282 1897.56
698 286 1846.08      700 290 1794.28      702 294 1741         704 298 1687.76
706 302.8 1634.48    708 308.4 1583.52    710 314 1540.48      712 319.6 1497.4
714 325.2 1454.36    716 332 1411.32      718 340 1368.28      720 348 1325.88
722 356 1285.16      724 364 1244.44      726 372.4 1203.68    728 381.2 1152.8
730 390 1102.2       732 398.8 1102.2     734 407.6 1102.2     736 418.8 1101.76
738 432.4 1100.48    740 446 1115.88      742 459.6 1161.64    744 473.2 1207.4
746 487.6 1266.04    748 502.8 1333.24    750 518 1405.24      752 533.2 1515.32
754 548.4 1541.76    756 562 1560.48      758 574 1560.48      760 586 1548.52
762 598 1508.44      764 610 1459.56      766 622.8 1410.52    768 636.4 1361.32
770 650 1311.88      772 663.6 1262.44    774 677.2 1213       776 689.2 1163.56
778 699.6 1114.8     780 710 1075.44      782 720.4 1036.08    784 730.8 996.72
786 740 957.36       788 748 921.8        790 756 890.8        792 764 859.8
794 772 828.8        796 786.4 802.96     798 807.2 782.36     800 816 761.72
802 828 743.84       804 836 737.08       806 844 730.28       808 856 723.52
810 864 717.08       812 872 711.84       814 880 706.6        816 887.2 701.32
818 901.6 696.08     820 916 693.76       822 930.4 693.6      824 944.8 693.48
826 956.4 693.32     828 965.2 693.2      830 974 693.04       832 982.8 692.92
834 991.6 692.76     836 1001.2 692.64    838 1011.6 692.48    840 1022 692.36
842 1032.4 692.2     844 1042.8 691.96    846 1050 691.76      848 1054 691.52
850 1058 691.32      852 1062 691.08      854 1066 690.88      856 1072.8 690.64
858 1082.4 692.44    860 1092 694.32      862 1101.6 696.2     864 1111.2 698.04
866 1118.4 699.92    868 1123.2 701.8     870 1128 705.84      872 1132.8 709.96
874 1137.6 714.08    876 1142.8 718.2     878 1148.4 722.32    880 1154 726.44
882 1159.6 729.84    884 1165.2 733.2     886 1170 736.6       888 1174 739.96
890 1178 743.6       892 1182 747.24      894 1186 750.88      896 1190 754.52
898 1194 758.16      900 1198 761.84      902 1202 765.04      904 1206 767.44
906 1209.2 769.8     908 1211.6 772.16    910 1214 774.56      912 1216.4 776.92
914 1218.8 778.4     916 1220.8 778.04    918 1222.4 777.72    920 1224 777.36
922 1225.6 777.04    924 1227.2 776.64    926 1226.8 772.36    928 1224.4 768.08
930 1222 763.84      932 1219.6 752.28    934 1217.2 737.56    936 1215.6 722.88
938 1214.8 708.16    940 1214 693.44      942 1213.2 678.72    944 1212.4 660.52
946 1210.4 641.08    948 1207.2 621.64    950 1204 602.24      952 1200.8 583.4
954 1197.6 568.92    956 1194 554.48      958 1190 540.04      960 1186 525.56
962 1182 511.12      964 1178 495.36      966 1173.2 473.32    968 1167.6 451.32
970 1162 429.32      972 1156.4 415.28    974 1150.8 402.28    976 1144 389.288
978 1136 374.944     980 1128 359.656     982 1120 344.372     984 1112 329.084
986 1102.4 313.796   988 1091.2 298.508   990 1080 283.22      992 1068.8 267.932
994 1057.6 252.648   996 1046.4 237.36    998 1035.2 222.072   1000 1024 206.784
"""
_PRAHL = np.array(_PRAHL_TABLE.split(), dtype=float).reshape(-1, 3)

# Hale & Querry (1973), imaginary refractive index k of water: wavelength [nm], k.
_WATER_K_TABLE = """
650 1.64e-8   675 2.23e-8   700 3.35e-8   725 9.15e-8   750 1.56e-7
775 1.48e-7   800 1.25e-7   825 1.82e-7   850 2.93e-7   875 3.91e-7
900 4.86e-7   925 1.06e-6   950 2.93e-6   975 3.48e-6   1000 2.89e-6
"""
_WATER_K = np.array(_WATER_K_TABLE.split(), dtype=float).reshape(-1, 2)

WAVELENGTH_RANGE_NM = (float(_PRAHL[0, 0]), float(_PRAHL[-1, 0]))
"""Range (nm) over which the chromophore tables are defined."""


def _checked_wavelengths(wavelength_nm: ArrayLike) -> NDArray[np.float64]:
    wavelengths = np.asarray(wavelength_nm, dtype=float)
    low, high = WAVELENGTH_RANGE_NM
    if np.any(~((wavelengths >= low) & (wavelengths <= high))):
        raise ValueError(
            f"wavelength {wavelength_nm} nm is outside the tabulated range {low:g}-{high:g} nm"
        )
    return wavelengths


def hemoglobin_extinction(
    wavelength_nm: ArrayLike,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Molar extinction coefficients of HbO2 and Hb (Prahl, OMLC).

    Linear interpolation between the 2 nm table points.

    Parameters
    ----------
    wavelength_nm : array_like
        Wavelengths, nm, within `WAVELENGTH_RANGE_NM`.

    Returns
    -------
    (epsilon_hbo2, epsilon_hb) : tuple of ndarray
        Decadic molar extinction coefficients, cm⁻¹/M, shaped like `wavelength_nm`.

    Raises
    ------
    ValueError
        If a wavelength is outside the table.
    """
    wavelengths = _checked_wavelengths(wavelength_nm)
    return (
        np.interp(wavelengths, _PRAHL[:, 0], _PRAHL[:, 1]),
        np.interp(wavelengths, _PRAHL[:, 0], _PRAHL[:, 2]),
    )


def water_absorption_per_mm(wavelength_nm: ArrayLike) -> NDArray[np.float64]:
    """Absorption coefficient of pure water, μa = 4πk/λ (Hale & Querry 1973).

    Parameters
    ----------
    wavelength_nm : array_like
        Wavelengths, nm, within `WAVELENGTH_RANGE_NM`.

    Returns
    -------
    ndarray
        μa of water, mm⁻¹.
    """
    wavelengths = _checked_wavelengths(wavelength_nm)
    k = np.interp(wavelengths, _WATER_K[:, 0], _WATER_K[:, 1])
    return 4.0 * np.pi * k / (wavelengths * 1e-6)


def reduced_scattering_per_mm(
    wavelength_nm: ArrayLike, a_per_mm: float, b: float
) -> NDArray[np.float64]:
    """Reduced scattering power law μs'(λ) = a (λ / 500 nm)^-b (Jacques 2013, eq. 1).

    Parameters
    ----------
    wavelength_nm : array_like
        Wavelengths, nm.
    a_per_mm : float
        μs' at 500 nm, mm⁻¹.
    b : float
        Scattering power, dimensionless.

    Returns
    -------
    ndarray
        μs', mm⁻¹.
    """
    return a_per_mm * (np.asarray(wavelength_nm, dtype=float) / 500.0) ** (-b)


def absorption_per_mm(
    wavelength_nm: ArrayLike, hbo2_um: ArrayLike, hb_um: ArrayLike, water_fraction: float
) -> NDArray[np.float64]:
    """Tissue absorption coefficient μa = ln(10) Σ εᵢ Cᵢ + W μa,water.

    Parameters
    ----------
    wavelength_nm : array_like
        Wavelengths, nm.
    hbo2_um, hb_um : array_like
        Oxy- and deoxyhaemoglobin concentrations, µM (broadcast with `wavelength_nm`).
    water_fraction : float
        Water volume fraction, 0-1.

    Returns
    -------
    ndarray
        μa, mm⁻¹.
    """
    epsilon_hbo2, epsilon_hb = hemoglobin_extinction(wavelength_nm)
    decadic = (epsilon_hbo2 * np.asarray(hbo2_um) + epsilon_hb * np.asarray(hb_um)) * (
        PER_CM_PER_M_TIMES_UM_TO_PER_MM
    )
    return LN10 * decadic + water_fraction * water_absorption_per_mm(wavelength_nm)


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
    return musp / mutp / (4.0 * np.pi) * (real + image)


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
        return (np.exp(-mueff * direct) / direct - np.exp(-mueff * image) / image) / (
            4.0 * np.pi * diffusion
        )

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
        nodes = (low + self.step_per_mm * np.arange(count)).reshape(
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
                f"μa {mua_per_mm} mm⁻¹ outside the table "
                f"{self.low_per_mm:.6g}-{self.high_per_mm:.6g} mm⁻¹"
            )
        position = (mua - self.low_per_mm) / self.step_per_mm
        index = np.minimum(position.astype(np.intp), len(self._basis) - 1)
        if mua.ndim == 0:  # one μa: a single (4,) @ (4, P) product
            s = float(position - index)
            r = 1.0 - s
            hermite = np.array([(1 + 2 * s) * r * r, s * r * r, s * s * (3 - 2 * s), -s * s * r])
            hermite *= factor
            return (hermite @ self._basis[index]).reshape(self._shape)
        s = position - index
        rest = 1.0 - s
        hermite = np.stack(
            [(1.0 + 2.0 * s) * rest**2, s * rest**2, s * s * (3.0 - 2.0 * s), -s * s * rest],
            axis=-1,
        )
        result = np.matmul((hermite * factor)[..., np.newaxis, :], self._basis[index])
        return result.reshape(mua.shape + self._shape)
