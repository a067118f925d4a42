"""Photon-transfer datasets (EMVA 1288 input) in HDF5: layout, validation, reading, writing.

Layout (frames are uint16 DN, H × W pixels):

- ``/temporal/bright``, ``/temporal/dark``: (steps, 2, H, W), a pair of frames per exposure step
- ``/temporal/exposure_s``: (steps,), s; ``/temporal/photons_per_pixel``: (steps,), photons
- ``/spatial/bright``, ``/spatial/dark``: (L, H, W); attributes of group ``/spatial``:
  ``exposure_s`` (s) and ``photons_per_pixel`` (photons, bright set near 50 % saturation)
- optional ``/dark_current/temperature_c``: (temps,), °C, ``/dark_current/frames``:
  (temps, M, H, W); attribute of group ``/dark_current``: ``exposure_s`` (s)
- root attributes ``wavelength_nm`` (nm) and ``bit_depth`` (bits)
"""

from dataclasses import dataclass
from os import PathLike
from typing import Any

import h5py
import numpy as np
from numpy.typing import ArrayLike, NDArray

TEMPORAL_BRIGHT = "/temporal/bright"
TEMPORAL_DARK = "/temporal/dark"
TEMPORAL_EXPOSURE = "/temporal/exposure_s"
TEMPORAL_PHOTONS = "/temporal/photons_per_pixel"
SPATIAL_BRIGHT = "/spatial/bright"
SPATIAL_DARK = "/spatial/dark"
SPATIAL_GROUP = "/spatial"
DARK_CURRENT_TEMPERATURE = "/dark_current/temperature_c"
DARK_CURRENT_FRAMES = "/dark_current/frames"
DARK_CURRENT_GROUP = "/dark_current"

_REQUIRED_DATASETS = {
    "temporal_bright": TEMPORAL_BRIGHT,
    "temporal_dark": TEMPORAL_DARK,
    "exposure_s": TEMPORAL_EXPOSURE,
    "photons_per_pixel": TEMPORAL_PHOTONS,
    "spatial_bright": SPATIAL_BRIGHT,
    "spatial_dark": SPATIAL_DARK,
}
_REQUIRED_ATTRIBUTES = {
    "spatial_exposure_s": (SPATIAL_GROUP, "exposure_s"),
    "spatial_photons_per_pixel": (SPATIAL_GROUP, "photons_per_pixel"),
    "wavelength_nm": ("/", "wavelength_nm"),
    "bit_depth": ("/", "bit_depth"),
}
_DARK_CURRENT_DATASETS = {
    "dark_current_temperature_c": DARK_CURRENT_TEMPERATURE,
    "dark_current_frames": DARK_CURRENT_FRAMES,
}
_DARK_CURRENT_ATTRIBUTES = {"dark_current_exposure_s": (DARK_CURRENT_GROUP, "exposure_s")}


def _attribute_location(group: str, name: str) -> str:
    return f"{'root' if group == '/' else group} attribute '{name}'"


_LOCATIONS = {
    **_REQUIRED_DATASETS,
    **_DARK_CURRENT_DATASETS,
    **{
        field: _attribute_location(group, name)
        for field, (group, name) in (_REQUIRED_ATTRIBUTES | _DARK_CURRENT_ATTRIBUTES).items()
    },
}


@dataclass(frozen=True, eq=False)
class PhotonTransferData:
    """A validated photon-transfer dataset.

    Parameters
    ----------
    temporal_bright, temporal_dark : ndarray of uint16, shape (steps, 2, H, W)
        Illuminated and dark frame pairs per exposure step, DN.
    exposure_s : ndarray, shape (steps,)
        Exposure time per step, s.
    photons_per_pixel : ndarray, shape (steps,)
        Mean photons per pixel per exposure, photons.
    spatial_bright, spatial_dark : ndarray of uint16, shape (L, H, W)
        Frame stacks for the spatial non-uniformity, DN.
    spatial_exposure_s : float
        Exposure time of the spatial stacks, s.
    spatial_photons_per_pixel : float
        Mean photons per pixel of the bright spatial stack, photons.
    wavelength_nm : float
        Wavelength of the illumination, nm.
    bit_depth : int
        ADC resolution, bits.
    dark_current_temperature_c : ndarray, shape (temps,), optional
        Sensor temperatures of the dark-current stacks, °C.
    dark_current_frames : ndarray of uint16, shape (temps, M, H, W), optional
        Dark frames per temperature, DN.
    dark_current_exposure_s : float, optional
        Exposure time of the dark-current frames, s.

    Raises
    ------
    ValueError
        Naming the dataset or attribute whose shape, dtype or value is wrong.
    """

    temporal_bright: NDArray[np.uint16]
    temporal_dark: NDArray[np.uint16]
    exposure_s: NDArray[np.float64]
    photons_per_pixel: NDArray[np.float64]
    spatial_bright: NDArray[np.uint16]
    spatial_dark: NDArray[np.uint16]
    spatial_exposure_s: float
    spatial_photons_per_pixel: float
    wavelength_nm: float
    bit_depth: int
    dark_current_temperature_c: NDArray[np.float64] | None = None
    dark_current_frames: NDArray[np.uint16] | None = None
    dark_current_exposure_s: float | None = None

    def __post_init__(self) -> None:
        _check_frames(self.temporal_bright, "temporal_bright", ndim=4)
        steps, _, height, width = self.temporal_bright.shape
        pixels = (height, width)
        _check_frames(self.temporal_dark, "temporal_dark", ndim=4)
        _check_shape(self.temporal_bright, "temporal_bright", (steps, 2, *pixels))
        _check_shape(self.temporal_dark, "temporal_dark", (steps, 2, *pixels))
        for name in ("exposure_s", "photons_per_pixel"):
            _check_shape(_check_real(getattr(self, name), name), name, (steps,))
        _check_frames(self.spatial_bright, "spatial_bright", ndim=3)
        _check_frames(self.spatial_dark, "spatial_dark", ndim=3)
        _check_shape(self.spatial_bright, "spatial_bright", (None, *pixels))
        _check_shape(self.spatial_dark, "spatial_dark", (None, *pixels))
        optional = (
            self.dark_current_temperature_c,
            self.dark_current_frames,
            self.dark_current_exposure_s,
        )
        if any(item is not None for item in optional):
            for name, item in zip(
                ("dark_current_temperature_c", "dark_current_frames", "dark_current_exposure_s"),
                optional,
                strict=True,
            ):
                if item is None:
                    raise ValueError(f"{_LOCATIONS[name]} is missing")
            temperatures_c, frames, _ = self.dark_current_series()
            temperatures = _check_real(temperatures_c, "dark_current_temperature_c")
            _check_shape(temperatures, "dark_current_temperature_c", (None,))
            _check_frames(frames, "dark_current_frames", ndim=4)
            _check_shape(
                frames,
                "dark_current_frames",
                (temperatures.shape[0], None, *pixels),
            )
        if not 1 <= int(self.bit_depth) <= 16:
            raise ValueError(f"{_LOCATIONS['bit_depth']} must lie in 1-16, got {self.bit_depth}")

    @property
    def has_dark_current_series(self) -> bool:
        """True when dark-current frames at several temperatures are present."""
        return self.dark_current_frames is not None

    def dark_current_series(self) -> tuple[NDArray[np.float64], NDArray[np.uint16], float]:
        """Temperatures (°C), frames (DN) and exposure time (s) of the dark-current series.

        Raises
        ------
        ValueError
            The dataset has no dark-current series (/dark_current).
        """
        temperatures_c = self.dark_current_temperature_c
        frames = self.dark_current_frames
        exposure_s = self.dark_current_exposure_s
        if temperatures_c is None or frames is None or exposure_s is None:
            raise ValueError(
                "the photon-transfer dataset has no dark-current series (/dark_current)"
            )
        return temperatures_c, frames, exposure_s


def _check_frames(array: object, name: str, *, ndim: int) -> None:
    if not isinstance(array, np.ndarray) or array.dtype != np.uint16:
        dtype = getattr(array, "dtype", type(array).__name__)
        raise ValueError(f"{_LOCATIONS[name]} must be uint16 frames, got dtype {dtype}")
    if array.ndim != ndim:
        raise ValueError(f"{_LOCATIONS[name]} must have {ndim} dimensions, got shape {array.shape}")


def _check_real(array: object, name: str) -> NDArray[np.float64]:
    values = np.asarray(array)
    if not (np.issubdtype(values.dtype, np.floating) or np.issubdtype(values.dtype, np.integer)):
        raise ValueError(f"{_LOCATIONS[name]} must be real numbers, got dtype {values.dtype}")
    return values


def _check_shape(array: NDArray[Any], name: str, expected: tuple[int | None, ...]) -> None:
    matches = len(array.shape) == len(expected) and all(
        want is None or got == want for got, want in zip(array.shape, expected, strict=False)
    )
    if not matches:
        wanted = "(" + ", ".join("any" if n is None else str(n) for n in expected) + ")"
        raise ValueError(f"{_LOCATIONS[name]} has shape {array.shape}, expected {wanted}")


def photon_transfer_from_mappings(
    datasets: dict[str, NDArray[Any]], attrs: dict[str, dict[str, float]]
) -> PhotonTransferData:
    """Build the data from in-memory datasets (HDF5 path → array) and attributes (object path
    → name → value), laid out as in the file (the form a simulator returns)."""
    fields: dict[str, Any] = {}
    for table, optional in ((_REQUIRED_DATASETS, False), (_DARK_CURRENT_DATASETS, True)):
        for field, location in table.items():
            if location in datasets or not optional:
                fields[field] = datasets[location]
    for attribute_table, optional in (
        (_REQUIRED_ATTRIBUTES, False),
        (_DARK_CURRENT_ATTRIBUTES, True),
    ):
        for field, (group, name) in attribute_table.items():
            if name in attrs.get(group, {}) or not optional:
                fields[field] = attrs[group][name]
    fields["bit_depth"] = int(fields["bit_depth"])
    return PhotonTransferData(**fields)


def read_photon_transfer(path: str | PathLike[str]) -> PhotonTransferData:
    """Read and validate a photon-transfer HDF5 file.

    Raises
    ------
    ValueError
        Naming the file and the dataset or attribute that is missing or malformed.
    """
    try:
        file = h5py.File(path, "r")
    except FileNotFoundError:
        raise ValueError(f"{path}: no such file") from None
    except OSError as error:
        raise ValueError(f"{path}: not a readable HDF5 file ({error})") from None
    with file:
        try:
            datasets = _read_datasets(file, _REQUIRED_DATASETS)
            attrs = _read_attributes(file, _REQUIRED_ATTRIBUTES)
            if DARK_CURRENT_GROUP in file:
                datasets |= _read_datasets(file, _DARK_CURRENT_DATASETS)
                attrs |= _read_attributes(file, _DARK_CURRENT_ATTRIBUTES)
            fields: dict[str, Any] = {**datasets, **attrs, "bit_depth": int(attrs["bit_depth"])}
            return PhotonTransferData(**fields)
        except ValueError as error:
            raise ValueError(f"{path}: {error}") from error


def _read_datasets(file: h5py.File, locations: dict[str, str]) -> dict[str, NDArray[Any]]:
    datasets = {}
    for field, location in locations.items():
        item = file.get(location)
        if not isinstance(item, h5py.Dataset):
            raise ValueError(f"dataset {location} is missing")
        datasets[field] = item[()]
    return datasets


def _read_attributes(file: h5py.File, locations: dict[str, tuple[str, str]]) -> dict[str, float]:
    attrs = {}
    for field, (group, name) in locations.items():
        where = _attribute_location(group, name)
        if group not in file or name not in file[group].attrs:
            raise ValueError(f"{where} is missing")
        value = np.asarray(file[group].attrs[name])
        if value.shape != () or not np.issubdtype(value.dtype, np.number):
            raise ValueError(f"{where} must be a number, got {value!r}")
        attrs[field] = float(value)
    return attrs


def write_photon_transfer(path: str | PathLike[str], data: PhotonTransferData) -> None:
    """Write `data` to `path` (HDF5, overwritten) in the layout `read_photon_transfer` reads.

    Public API: the writer of this module's format (for datasets measured elsewhere or
    edited copies); the simulator writes the same layout on its side of the wire.
    """
    with h5py.File(path, "w") as file:
        for field, location in (_REQUIRED_DATASETS | _DARK_CURRENT_DATASETS).items():
            value = getattr(data, field)
            if value is not None:
                file.create_dataset(location, data=value, compression="gzip", shuffle=True)
        for field, (group, name) in (_REQUIRED_ATTRIBUTES | _DARK_CURRENT_ATTRIBUTES).items():
            value = getattr(data, field)
            if value is not None:
                file[group].attrs[name] = value


PLANCK_J_S = 6.62607015e-34
LIGHT_SPEED_M_PER_S = 299792458.0
DARK_CURRENT_MIN_SPAN_C = 3.0
"""Smallest temperature span of dark-current stacks that gives a doubling temperature, °C."""


def photons_per_pixel(
    power_w: ArrayLike,
    aperture_area_mm2: float,
    pixel_area_um2: float,
    exposure_s: ArrayLike,
    wavelength_nm: float,
) -> NDArray[np.float64]:
    """Mean photons a pixel receives in a uniform field, from a power meter in that field.

    μ_p = E · A · t · λ / (h c) with the irradiance E = P / A_aperture (EMVA 1288 eq. 3).

    Parameters
    ----------
    power_w : array_like
        Power-meter reading(s) at the sensor plane, W.
    aperture_area_mm2 : float
        Aperture area of the power-meter sensor, mm².
    pixel_area_um2 : float
        Geometric pixel area, µm².
    exposure_s : array_like
        Exposure time(s), s.
    wavelength_nm : float
        Wavelength, nm.
    """
    irradiance_w_per_m2 = np.asarray(power_w, dtype=float) / (aperture_area_mm2 * 1e-6)
    photon_energy_j = PLANCK_J_S * LIGHT_SPEED_M_PER_S / (wavelength_nm * 1e-9)
    energy_j = irradiance_w_per_m2 * pixel_area_um2 * 1e-12 * np.asarray(exposure_s, dtype=float)
    photons: NDArray[np.float64] = energy_j / photon_energy_j
    return photons
