"""What every plot of the app shares: one fixed colour per LED wavelength (the same in every
run and every view) and the saturation check of a detector image."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

# The board's LED wavelengths (nm) in colours that stay the same between runs.
WAVELENGTH_COLOURS = {
    660.0: "#d32f2f",
    760.0: "#8e24aa",
    810.0: "#6d4c41",
    850.0: "#1e88e5",
    880.0: "#00897b",
    940.0: "#43a047",
}
OTHER_COLOURS = ("#fb8c00", "#3949ab", "#c0ca33", "#5d4037")
FULL_SCALE_DN = 4095.0
"""Full scale of the detector board's 12-bit ADC, DN."""
SATURATION_WARNING_FRACTION = 0.001
"""Share of pixels at full scale above which the live image is marked saturated."""


def wavelength_colour(wavelength_nm: float) -> str:
    """The colour of an LED wavelength (nm): fixed for the board's wavelengths, else chosen
    from the wavelength itself, so it never depends on the order curves appear in."""
    colour = WAVELENGTH_COLOURS.get(float(wavelength_nm))
    if colour is not None:
        return colour
    return OTHER_COLOURS[round(wavelength_nm) % len(OTHER_COLOURS)]


def saturated_fraction(image: NDArray[np.floating], full_scale_dn: float = FULL_SCALE_DN) -> float:
    """Share (0–1) of an image's pixels at or above the ADC's full scale (DN)."""
    if image.size == 0:
        return 0.0
    return float(np.count_nonzero(image >= full_scale_dn)) / image.size
