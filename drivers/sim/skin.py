"""Epidermal melanin of the simulated subject: light lost crossing the epidermis twice.

Melanin absorption of the melanosome interior, μa.mel(λ) = 6.6 × 10¹¹ λ^−3.33 cm⁻¹ (λ in nm),
and the melanosome volume fractions of the epidermis, 1.3–6.3 % in light-skinned adults,
11–16 % in moderately pigmented and 18–43 % in darkly pigmented adults, are from S. L.
Jacques, "Skin optics", Oregon Medical Laser Center News, January 1998 (and S. L. Jacques,
Phys. Med. Biol. 58, R37, 2013, eq. 5 and Table 1). The epidermis absorbs
μa.epi = f_mel μa.mel + (1 − f_mel) μa.base with the melanin-free baseline
μa.base = 0.244 + 85.3 exp(−(λ − 154)/66.2) cm⁻¹ (same source).

Light reaching the detector crosses the epidermis on the way in and out:
T(λ) = exp(−2 μa.epi d) for an epidermis of thickness d (100 µm by default), a multiplicative
loss per wavelength (the photon-path changes a pigmented layer causes deeper down are not
modelled, so melanin here costs signal, hence signal-to-noise, and does not shift R).

The Monk skin-tone scale has no published melanosome fractions; :data:`MONK_MELANOSOME_FRACTION`
places the ranges above on it (1–4 light, 5–7 moderate, 8–10 dark), an assumption of this
simulator.
"""

from __future__ import annotations

import math

MONK_MELANOSOME_FRACTION = {
    1: 0.013,
    2: 0.025,
    3: 0.040,
    4: 0.063,
    5: 0.110,
    6: 0.135,
    7: 0.160,
    8: 0.180,
    9: 0.300,
    10: 0.430,
}
"""Melanosome volume fraction of the epidermis assigned to each Monk skin tone."""
EPIDERMIS_THICKNESS_MM = 0.1


def melanin_absorption_per_mm(wavelength_nm: float) -> float:
    """Absorption coefficient of the melanosome interior, mm⁻¹ (Jacques 1998)."""
    return float(6.6e11 * wavelength_nm**-3.33 / 10.0)


def epidermis_absorption_per_mm(wavelength_nm: float, melanosome_fraction: float) -> float:
    """Absorption coefficient of the epidermis, mm⁻¹.

    Raises
    ------
    ValueError
        A fraction outside 0–1.
    """
    if not 0.0 <= melanosome_fraction <= 1.0:
        raise ValueError(f"melanosome fraction must lie in 0-1, got {melanosome_fraction}")
    baseline_per_cm = 0.244 + 85.3 * math.exp(-(wavelength_nm - 154.0) / 66.2)
    return melanosome_fraction * melanin_absorption_per_mm(wavelength_nm) + (
        1.0 - melanosome_fraction
    ) * (baseline_per_cm / 10.0)


def epidermal_transmission(
    wavelength_nm: float,
    melanosome_fraction: float,
    thickness_mm: float = EPIDERMIS_THICKNESS_MM,
) -> float:
    """Fraction of the light that crosses the epidermis in and out, exp(−2 μa.epi d)."""
    mua = epidermis_absorption_per_mm(wavelength_nm, melanosome_fraction)
    return math.exp(-2.0 * mua * thickness_mm)


def monk_transmission(monk_tone: int) -> SkinTransmission:
    """The epidermis of a Monk skin tone (1–10) as a per-wavelength transmission."""
    if monk_tone not in MONK_MELANOSOME_FRACTION:
        raise ValueError(f"Monk skin tone must be 1-10, got {monk_tone}")
    return SkinTransmission(MONK_MELANOSOME_FRACTION[monk_tone])


class SkinTransmission:
    """Callable ``transmission(wavelength_nm)`` of an epidermis (for ``Scene.skin``).

    Parameters
    ----------
    melanosome_fraction : float
        Melanosome volume fraction, 0–1.
    thickness_mm : float
        Epidermis thickness, mm.
    """

    def __init__(self, melanosome_fraction: float, thickness_mm: float = EPIDERMIS_THICKNESS_MM):
        self.melanosome_fraction = melanosome_fraction
        self.thickness_mm = thickness_mm

    def __call__(self, wavelength_nm: float) -> float:
        return epidermal_transmission(wavelength_nm, self.melanosome_fraction, self.thickness_mm)
