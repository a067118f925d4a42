"""Chromophore spectra and tissue scattering: the published tables every analysis shares.

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
            f"wavelength {wavelength_nm!s} nm is outside the tabulated range {low:g}-{high:g} nm"
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
    mua_per_mm: NDArray[np.float64] = 4.0 * np.pi * k / (wavelengths * 1e-6)
    return mua_per_mm


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
    mua_per_mm: NDArray[np.float64] = LN10 * decadic + water_fraction * water_absorption_per_mm(
        wavelength_nm
    )
    return mua_per_mm
