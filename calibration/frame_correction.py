"""Per-pixel frame-correction coefficients from a photon-transfer dataset, for `imaging/`.

`FrameCorrectionCoefficients` holds plain arrays (and `as_arrays`/`from_arrays` for storage in
a calibration record), so that `imaging/` can apply them without importing this package.
How to apply them to a raw frame (DN) taken with exposure t (s) at sensor temperature T (°C):

1. dark = black_level_dn + dark_current_dn_per_s · t · 2^((T − reference_temperature_c) /
   doubling_temperature_c)  (`expected_dark_dn`, via `imaging.frame_correction.dark_frame_dn`);
2. signal = raw − dark (DN above black);
3. linear = Σ_i linearity_coefficients[i] · signal^i (ascending powers), valid for
   signal ≤ valid_max_dn; larger values are near saturation and must be flagged, not used;
4. corrected = linear / flat_gain;
5. pixels of bad_pixel_mask are replaced by the mean of their good 8-neighbours.

`imaging.frame_correction.correct_frames(frames, t, T, **coefficients.imaging_arguments())`
does all of it.

How they are computed (`coefficients_from_photon_transfer`):

- bad_pixel_mask: EMVA 1288 hot | dead maps of the spatial dark and bright stacks;
- black_level_dn: per-pixel zero-exposure intercept of the temporal dark series;
- doubling_temperature_c: fit of log2(mean dark current of good pixels) against the
  temperatures of the dark-current series (dark current = (mean dark − black) / exposure);
- dark_current_dn_per_s: per pixel, least squares of the dark currents D_j at temperatures
  T_j on s_j = 2^((T_j − T_ref)/T_d): D_ref = Σ s_j D_j / Σ s_j²;
- flat_gain: spatial bright minus dark mean image over its mean on good pixels (bad pixels 1);
- linearity: the linear signal R·photons (R fitted through the origin below
  `LINEAR_FIT_MAX_FRACTION` of the saturation signal) as a polynomial of the measured signal
  (mean over good pixels), weighted for relative deviations, up to `LINEARITY_VALID_FRACTION`
  of the saturation signal (EMVA 1288 saturation: the step of maximum temporal variance).
"""

from dataclasses import dataclass, fields
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from calibration.emva1288 import (
    dead_pixel_map,
    doubling_temperature,
    hot_pixel_map,
    saturation_index,
    temporal_mean_and_variance,
)
from calibration.photon_transfer import PhotonTransferData
from imaging.frame_correction import dark_frame_dn

LINEARITY_DEGREE = 4
"""Degree of the linearisation polynomial (no constant term)."""
LINEAR_FIT_MAX_FRACTION = 0.5
"""Upper end of the responsivity fit, fraction of the saturation signal."""
LINEARITY_VALID_FRACTION = 0.95
"""Upper end of the linearisation range, fraction of the saturation signal."""

_IMAGES = ("black_level_dn", "dark_current_dn_per_s", "flat_gain", "bad_pixel_mask")
_SCALARS = (
    "reference_temperature_c",
    "doubling_temperature_c",
    "valid_max_dn",
    "bit_depth",
    "wavelength_nm",
)


@dataclass(frozen=True, eq=False)
class FrameCorrectionCoefficients:
    """Coefficients of dark, linearity, flat-field and bad-pixel correction of one sensor.

    Attributes
    ----------
    black_level_dn : ndarray, shape (H, W)
        Dark offset at zero exposure, DN.
    dark_current_dn_per_s : ndarray, shape (H, W)
        Dark current at `reference_temperature_c`, DN/s.
    reference_temperature_c : float
        Temperature of `dark_current_dn_per_s`, °C.
    doubling_temperature_c : float
        Temperature rise that doubles the dark current, °C.
    flat_gain : ndarray, shape (H, W)
        Relative photo-response (mean 1 over good pixels, 1 at bad pixels).
    linearity_coefficients : ndarray, shape (degree + 1,)
        c_0 … c_d of linear DN = Σ c_i (measured DN above dark)^i.
    valid_max_dn : float
        Largest measured signal above dark the linearisation holds for, DN.
    bad_pixel_mask : ndarray of bool, shape (H, W)
        Hot or dead pixels.
    bit_depth : int
        ADC resolution, bits.
    wavelength_nm : float
        Wavelength of the flat field, nm.

    Raises
    ------
    ValueError
        Images of different shapes, a mask that is not boolean, or 2-D linearity coefficients.
    """

    black_level_dn: NDArray[np.float64]
    dark_current_dn_per_s: NDArray[np.float64]
    reference_temperature_c: float
    doubling_temperature_c: float
    flat_gain: NDArray[np.float64]
    linearity_coefficients: NDArray[np.float64]
    valid_max_dn: float
    bad_pixel_mask: NDArray[np.bool_]
    bit_depth: int
    wavelength_nm: float

    def __post_init__(self) -> None:
        shapes = {name: np.shape(getattr(self, name)) for name in _IMAGES}
        if len(set(shapes.values())) != 1 or len(shapes["black_level_dn"]) != 2:
            raise ValueError(f"per-pixel maps must share one (H, W) shape, got {shapes}")
        if np.asarray(self.bad_pixel_mask).dtype != np.bool_:
            raise ValueError("bad_pixel_mask must be boolean")
        if np.ndim(self.linearity_coefficients) != 1:
            raise ValueError("linearity_coefficients must be 1-D")

    @property
    def shape(self) -> tuple[int, int]:
        """(H, W) of the pixel maps."""
        return np.shape(self.black_level_dn)

    def as_arrays(self) -> dict[str, NDArray[Any]]:
        """Every field as a numpy array (scalars 0-d), keyed by field name."""
        return {field.name: np.asarray(getattr(self, field.name)) for field in fields(self)}

    def imaging_arguments(self) -> dict[str, object]:
        """Keyword arguments of ``imaging.frame_correction.correct_frames``."""
        arguments: dict[str, Any] = dict(self.as_arrays())
        bit_depth = int(arguments.pop("bit_depth"))
        arguments.pop("wavelength_nm")
        arguments["reference_temperature_c"] = self.reference_temperature_c
        arguments["doubling_temperature_c"] = self.doubling_temperature_c
        arguments["valid_max_dn"] = self.valid_max_dn
        arguments["saturation_dn"] = 2**bit_depth - 1
        return arguments

    @classmethod
    def from_arrays(cls, arrays: dict[str, ArrayLike]) -> "FrameCorrectionCoefficients":
        """Rebuild from the output of `as_arrays`.

        Raises
        ------
        ValueError
            A field missing or an unexpected key.
        """
        expected = {field.name for field in fields(cls)}
        missing, extra = expected - arrays.keys(), arrays.keys() - expected
        if missing or extra:
            raise ValueError(f"missing fields {sorted(missing)}, unexpected {sorted(extra)}")
        values: dict[str, Any] = {
            name: float(np.asarray(arrays[name])) for name in _SCALARS if name != "bit_depth"
        }
        values["bit_depth"] = int(np.asarray(arrays["bit_depth"]))
        values["bad_pixel_mask"] = np.asarray(arrays["bad_pixel_mask"], dtype=bool)
        for name in ("black_level_dn", "dark_current_dn_per_s", "flat_gain"):
            values[name] = np.asarray(arrays[name], dtype=float)
        values["linearity_coefficients"] = np.asarray(arrays["linearity_coefficients"], float)
        return cls(**values)


def expected_dark_dn(
    coefficients: FrameCorrectionCoefficients, exposure_s: float, temperature_c: float
) -> NDArray[np.float64]:
    """Dark frame, DN (H × W), expected at `exposure_s` (s) and `temperature_c` (°C)."""
    return dark_frame_dn(
        exposure_s,
        temperature_c,
        black_level_dn=coefficients.black_level_dn,
        dark_current_dn_per_s=coefficients.dark_current_dn_per_s,
        reference_temperature_c=coefficients.reference_temperature_c,
        doubling_temperature_c=coefficients.doubling_temperature_c,
    )


def coefficients_from_photon_transfer(
    data: PhotonTransferData, *, reference_temperature_c: float | None = None
) -> FrameCorrectionCoefficients:
    """Frame-correction coefficients of the sensor that recorded `data`.

    Parameters
    ----------
    data : PhotonTransferData
        Photon-transfer dataset including the dark-current series at several temperatures.
    reference_temperature_c : float, optional
        Temperature of the dark-current map, °C; the mean of the series' temperatures by
        default.

    Raises
    ------
    ValueError
        The dataset has no dark-current series.
    """
    if not data.has_dark_current_series:
        raise ValueError("the photon-transfer dataset has no dark-current series (/dark_current)")
    dark_image = np.asarray(data.spatial_dark, dtype=float).mean(axis=0)
    response_image = np.asarray(data.spatial_bright, dtype=float).mean(axis=0) - dark_image
    bad = hot_pixel_map(dark_image) | dead_pixel_map(response_image)
    good = ~bad

    flat_gain = np.where(good, response_image / response_image[good].mean(), 1.0)
    black_level = _black_level_dn(data)
    temperatures_c, dark_frames, exposure_s = data.dark_current_series()
    temperatures = np.asarray(temperatures_c, dtype=float)
    dark_currents = (np.asarray(dark_frames, dtype=float).mean(axis=1) - black_level) / float(
        exposure_s
    )
    doubling = doubling_temperature(temperatures, dark_currents[:, good].mean(axis=1)).value
    reference = temperatures.mean() if reference_temperature_c is None else reference_temperature_c
    scale = 2.0 ** ((temperatures - reference) / doubling)
    dark_current_map = np.tensordot(scale, dark_currents, axes=1) / (scale @ scale)
    linearity, valid_max = _linearity(data, good)

    return FrameCorrectionCoefficients(
        black_level_dn=black_level,
        dark_current_dn_per_s=dark_current_map,
        reference_temperature_c=float(reference),
        doubling_temperature_c=float(doubling),
        flat_gain=flat_gain,
        linearity_coefficients=linearity,
        valid_max_dn=valid_max,
        bad_pixel_mask=bad,
        bit_depth=int(data.bit_depth),
        wavelength_nm=float(data.wavelength_nm),
    )


def _black_level_dn(data: PhotonTransferData) -> NDArray[np.float64]:
    """Per-pixel zero-exposure intercept of the temporal dark series, DN."""
    dark = np.asarray(data.temporal_dark, dtype=float).mean(axis=1)
    steps, height, width = dark.shape
    intercept, _ = np.polynomial.polynomial.polyfit(
        np.asarray(data.exposure_s, dtype=float), dark.reshape(steps, -1), 1
    )
    black_level: NDArray[np.float64] = intercept.reshape(height, width)
    return black_level


def _linearity(
    data: PhotonTransferData, good: NDArray[np.bool_]
) -> tuple[NDArray[np.float64], float]:
    """Linearisation polynomial (ascending, c_0 = 0) and its upper validity limit, DN."""
    bright = np.asarray(data.temporal_bright, dtype=float)[..., good]
    dark = np.asarray(data.temporal_dark, dtype=float)[..., good]
    signal = bright.mean(axis=(1, 2)) - dark.mean(axis=(1, 2))
    _, bright_variance = temporal_mean_and_variance(data.temporal_bright)
    saturation = saturation_index(bright_variance)
    photons = np.asarray(data.photons_per_pixel, dtype=float)
    up_to_saturation = np.arange(signal.size) <= saturation
    level = signal[saturation]

    linear_part = up_to_saturation & (signal > 0.0) & (signal <= LINEAR_FIT_MAX_FRACTION * level)
    x, y = photons[linear_part], signal[linear_part]
    responsivity = (x @ y) / (x @ x)

    valid = up_to_saturation & (signal > 0.0) & (signal <= LINEARITY_VALID_FRACTION * level)
    measured, linear = signal[valid], responsivity * photons[valid]
    valid_max = float(measured.max())
    normalised = measured / valid_max
    design = np.vander(normalised, LINEARITY_DEGREE + 1, increasing=True)[:, 1:]
    weights = 1.0 / linear
    fitted, *_ = np.linalg.lstsq(design * weights[:, None], linear * weights, rcond=None)
    powers = np.arange(1, LINEARITY_DEGREE + 1)
    return np.concatenate([[0.0], fitted / valid_max**powers]), valid_max
