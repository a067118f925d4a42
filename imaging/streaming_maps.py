"""Streaming imaging-PPG and StO2 maps: refreshed every `MAP_PERIOD_S` from blocks of frames.

Each analyser keeps what its batch twin needs of the last `MAP_HISTORY_S` seconds, in arrays
allocated once (memory does not grow with the run), and whenever the frames pushed pass a
multiple of the period it recomputes its map over that window with the batch formulas:

- `StreamingPpgMaps`: the red and infrared frames, reduced on arrival to the time groups and
  pixel regions of :func:`imaging.imaging_ppg.ppg_maps` (:func:`~imaging.imaging_ppg.group_sums`),
  go through :func:`~imaging.imaging_ppg.maps_from_group_sums`, the same code the batch
  function runs: on the frames of the window the streamed maps are the batch maps (up to the
  float32 rounding of the group sums, which both use).
- `StreamingSto2Map`: per-pixel sums of the frames of each wavelength (and of dark frames)
  per period; their means over the window go through the linear-range and distance rules of
  :func:`instrument.region_signals.region_reflectance` and
  :func:`imaging.srs.spatially_resolved_sto2`, as the batch StO2 analysis does.

A map covers the last `MAP_HISTORY_S` seconds of the stream (less at the start; for StO2, whose
sums are kept per period, between `MAP_HISTORY_S` − `MAP_PERIOD_S` and `MAP_HISTORY_S`);
`flush` gives the map of the frames still in the window at the end (the final map). Times are
signal times (frames counted at their rate), not wall-clock times.

Saturation: ``ppg_maps`` without ``full_scale`` guesses saturated pixels from extremes repeated
over the whole recording, which a stream cannot see; the streaming maps leave out pixels at
``full_scale`` and pixels given as NaN (a detector correction's saturated pixels), as
``ppg_maps(..., full_scale=full_scale or math.inf)`` does.

Example
-------
>>> import numpy as np
>>> from imaging.streaming_maps import StreamingPpgMaps
>>> t = np.arange(0, 12, 0.01)
>>> pulse = np.sin(2 * np.pi * 1.2 * t) ** 8
>>> frames = np.ones((t.size, 2, 4, 4)) * np.array([1e4, 2e4])[:, None, None]
>>> frames *= 1 - np.array([0.01, 0.02])[:, None, None] * pulse[:, None, None, None]
>>> maps = StreamingPpgMaps(100.0, (660.0, 940.0), block=2)
>>> updates = [maps.push(frames[i : i + 50]) for i in range(0, t.size, 50)]
>>> [u.end_s for u in updates if u is not None]
[5.0, 10.0]
>>> maps.flush().maps.perfusion_index_percent.shape
(2, 2)
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from imaging.imaging_ppg import PpgMaps, frames_per_sample, group_sums, maps_from_group_sums
from imaging.pulse_oximetry import MIN_DURATION_S
from imaging.spo2_curves import SpO2Curve, default_curve
from imaging.srs import (
    DEFAULT_REFRACTIVE_INDEX,
    DEFAULT_SCATTERING_A_PER_MM,
    DEFAULT_SCATTERING_POWER,
    spatially_resolved_sto2,
)

logger = logging.getLogger(__name__)

__all__ = [
    "DARK",
    "MAP_HISTORY_S",
    "MAP_PERIOD_S",
    "SKIP",
    "PpgMapUpdate",
    "Sto2Maps",
    "StreamingPpgMaps",
    "StreamingSto2Map",
]

MAP_PERIOD_S = 5.0
"""Signal time between two map refreshes, s."""
MAP_HISTORY_S = 30.0
"""Signal time a map covers (the last seconds of the stream), s."""
DARK = -1
"""`StreamingSto2Map.push` channel of a dark frame (LED off)."""
SKIP = -2
"""`StreamingSto2Map.push` channel of a frame the map does not use."""
_EPSILON_S = 1e-9


@dataclass(frozen=True)
class PpgMapUpdate:
    """Imaging-PPG maps of the frames in the window.

    Attributes
    ----------
    start_s, end_s : float
        Window, s of signal time from the first frame pushed.
    frames : int
        Frames per wavelength behind the maps.
    maps : PpgMaps
        SpO2, perfusion index, quality and R per region (:func:`imaging.imaging_ppg.ppg_maps`).
    """

    start_s: float
    end_s: float
    frames: int
    maps: PpgMaps


class StreamingPpgMaps:
    """Imaging-PPG maps of a stream of multi-wavelength frame blocks, every `period_s`.

    Parameters
    ----------
    sample_rate_hz : float
        Frames per second of each wavelength, Hz.
    wavelengths_nm : sequence of float
        Wavelength of each frame channel, nm (red = shortest, infrared = longest).
    curve : SpO2Curve, optional
        R → SpO2 curve (default `imaging.spo2_curves.default_curve` of the pair).
    block : int
        Side of the square pixel regions (1 = per pixel), as in ``ppg_maps``.
    full_scale : float, optional
        Level (unit of the frames) from which a pixel is saturated; None: only NaN pixels are
        left out.
    period_s : float
        Signal time between refreshes, s.
    history_s : float
        Signal time the maps cover, s (at least `MIN_DURATION_S` and `period_s`).
    """

    def __init__(
        self,
        sample_rate_hz: float,
        wavelengths_nm: Sequence[float],
        curve: SpO2Curve | None = None,
        block: int = 1,
        full_scale: float | None = None,
        period_s: float = MAP_PERIOD_S,
        history_s: float = MAP_HISTORY_S,
    ) -> None:
        wavelengths = np.asarray(wavelengths_nm, dtype=float)
        if wavelengths.size < 2 or np.unique(wavelengths).size != wavelengths.size:
            raise ValueError(f"need two or more distinct wavelengths, got {list(wavelengths_nm)}")
        if block < 1:
            raise ValueError(f"block must be >= 1, got {block}")
        if not 0.0 < period_s <= history_s or history_s < MIN_DURATION_S:
            raise ValueError(
                f"need 0 < period_s <= history_s and history_s >= {MIN_DURATION_S:g} s, got "
                f"{period_s:g} s and {history_s:g} s"
            )
        self._channels = (int(np.argmin(wavelengths)), int(np.argmax(wavelengths)))
        self.pair_nm = (
            float(wavelengths[self._channels[0]]),
            float(wavelengths[self._channels[1]]),
        )
        self.curve = curve or default_curve(*self.pair_nm)
        self.curve.check_pair(*self.pair_nm)
        self.wavelengths = wavelengths.size
        self.sample_rate_hz = float(sample_rate_hz)
        self.block = int(block)
        self.full_scale = full_scale
        self.period_s = float(period_s)
        self.history_s = float(history_s)
        self.group = frames_per_sample(self.sample_rate_hz)
        self.group_rate_hz = self.sample_rate_hz / self.group
        self.capacity = max(1, round(self.history_s * self.group_rate_hz))
        self._sums: NDArray[np.float32] | None = None  # ring of group sums (capacity, 2, R, C)
        self._saturated: NDArray[np.bool_] | None = None  # ring (capacity, R, C)
        self._pending: NDArray[np.float64] | None = None  # frames of an unfinished group
        self._pending_count = 0
        self._groups = 0  # groups written since the start
        self._next_refresh_s = self.period_s

    @property
    def samples_pushed(self) -> int:
        """Frames per wavelength received so far."""
        return self._groups * self.group + self._pending_count

    @property
    def nbytes(self) -> int:
        """Bytes of frame data held (fixed once the first block has arrived)."""
        held = (self._sums, self._saturated, self._pending)
        return sum(a.nbytes for a in held if a is not None)

    def push(self, frames: ArrayLike) -> PpgMapUpdate | None:
        """Add frames; return the maps when the stream passed a refresh time.

        Parameters
        ----------
        frames : array_like, shape (n, W, H, Wpx)
            The next frames of every wavelength (intensity above dark, any unit).
        """
        stack = np.asarray(frames)
        if stack.ndim != 4 or stack.shape[1] != self.wavelengths:
            raise ValueError(
                f"frames must be (n, {self.wavelengths}, H, W), got shape {stack.shape}"
            )
        if stack.shape[0] == 0:
            return None
        pair = stack[:, list(self._channels)]
        self._allocate(pair.shape[2:])
        assert self._pending is not None
        if self._pending_count:
            pair = np.concatenate([self._pending[: self._pending_count], pair])
        whole = pair.shape[0] // self.group * self.group
        self._store(pair[:whole])
        self._pending_count = pair.shape[0] - whole
        self._pending[: self._pending_count] = pair[whole:]
        end_s = self._groups / self.group_rate_hz
        if end_s + _EPSILON_S < self._next_refresh_s:
            return None
        self._next_refresh_s = (math.floor(end_s / self.period_s + _EPSILON_S) + 1) * self.period_s
        return self.flush()

    def flush(self) -> PpgMapUpdate | None:
        """The maps of the frames in the window now (None before `MIN_DURATION_S` of them)."""
        held = min(self._groups, self.capacity)
        if held * self.group < MIN_DURATION_S * self.sample_rate_hz:
            return None
        assert self._sums is not None and self._saturated is not None
        index = np.arange(self._groups - held, self._groups) % self.capacity
        maps = maps_from_group_sums(
            self._sums[index],
            np.any(self._saturated[index], axis=0),
            self.group * self.block**2,
            self.group_rate_hz,
            self.pair_nm,
            self.curve,
        )
        end_s = self._groups / self.group_rate_hz
        return PpgMapUpdate(end_s - held / self.group_rate_hz, end_s, held * self.group, maps)

    def _allocate(self, frame_shape: tuple[int, ...]) -> None:
        """The ring buffers, at the first block."""
        if self._pending is not None:
            if frame_shape != self._pending.shape[2:]:
                raise ValueError(f"frames changed shape to {frame_shape}")
            return
        rows, cols = frame_shape[0] // self.block, frame_shape[1] // self.block
        if rows == 0 or cols == 0:
            raise ValueError(f"frames of {frame_shape} hold no {self.block}-pixel region")
        self._sums = np.zeros((self.capacity, 2, rows, cols), dtype=np.float32)
        self._saturated = np.zeros((self.capacity, rows, cols), dtype=bool)
        self._pending = np.zeros((self.group, 2, *frame_shape))

    def _store(self, pair: NDArray[Any]) -> None:
        """Reduce whole groups of frames and write them into the ring."""
        assert self._sums is not None and self._saturated is not None
        if pair.shape[0] == 0:
            return
        rows, cols = self._sums.shape[2:]
        cropped = pair[:, :, : rows * self.block, : cols * self.block]
        sums = group_sums(cropped, self.group, self.block)[-self.capacity :]
        count = sums.shape[0]
        skipped = pair.shape[0] // self.group - count  # groups older than the window
        if self.full_scale is None:
            saturated = np.zeros((count, rows, cols), dtype=bool)
        else:
            shaped = cropped[skipped * self.group :].reshape(
                count, self.group, 2, rows, self.block, cols, self.block
            )
            saturated = np.any(shaped >= self.full_scale, axis=(1, 2, 4, 6))
        index = np.arange(self._groups + skipped, self._groups + skipped + count) % self.capacity
        self._sums[index] = sums
        self._saturated[index] = saturated
        self._groups += skipped + count


@dataclass(frozen=True)
class Sto2Maps:
    """StO2 map of the frames in the window (NaN where withheld).

    Attributes
    ----------
    sto2_percent, toi_percent : ndarray, shape (R, C)
        StO2 (Farrell slope fit) and the Suzuki tissue oxygenation index, %.
    hbt_um : ndarray, shape (R, C)
        Total haemoglobin, µM (under the assumed scattering).
    distance_mm : ndarray, shape (R, C)
        Mean distance of each region's pixels from the LED, mm.
    usable : ndarray of bool, shape (R, C)
        Regions whose every pixel is linear at every wavelength and far enough from the LED.
    region_px : int
        Region side, pixels.
    start_s, end_s : float
        Window, s of signal time from the first frame pushed.
    frames : int
        Frames in the window (every channel, skipped ones included).
    """

    sto2_percent: NDArray[np.float64]
    toi_percent: NDArray[np.float64]
    hbt_um: NDArray[np.float64]
    distance_mm: NDArray[np.float64]
    usable: NDArray[np.bool_]
    region_px: int
    start_s: float
    end_s: float
    frames: int


def _blocks(array: NDArray[np.float64], size: int) -> NDArray[np.float64]:
    """(..., H, W) → (..., H // size, W // size, size²), trailing pixels dropped."""
    *lead, height, width = array.shape
    rows, cols = height // size, width // size
    shaped = array[..., : rows * size, : cols * size].reshape(*lead, rows, size, cols, size)
    return np.moveaxis(shaped, -3, -2).reshape(*lead, rows, cols, size * size)


class StreamingSto2Map:
    """StO2 map (spatially resolved spectroscopy over pixel regions) of a stream of frames.

    Parameters
    ----------
    rho_mm : array_like, shape (H, W)
        Distance of every pixel from the LED, mm.
    wavelengths_nm : sequence of float
        Wavelength of each channel, nm (three or more; two with `water_fraction`).
    frame_rate_hz : float
        Frames per second over all channels, Hz (the clock of the refreshes).
    dark_dn : float or array_like (H, W)
        Dark level subtracted while the window holds no dark frame, DN (0 for frames already
        corrected with a detector characterisation).
    region_px : int
        Region side, pixels.
    min_distance_mm : float
        Regions with a pixel nearer the LED are withheld, mm.
    max_dn : float
        Largest mean level taken as linear (frames as pushed); brighter pixels withhold
        their region.
    min_signal_dn : float
        Smallest mean signal above dark at every wavelength, DN.
    scattering_a_per_mm, scattering_power, refractive_index, water_fraction
        As :func:`imaging.srs.spatially_resolved_sto2`.
    period_s, history_s : float
        Signal time between refreshes and covered by a map, s.
    """

    def __init__(
        self,
        rho_mm: ArrayLike,
        wavelengths_nm: Sequence[float],
        frame_rate_hz: float,
        *,
        dark_dn: float | ArrayLike = 0.0,
        region_px: int = 8,
        min_distance_mm: float = 10.0,
        max_dn: float = 3000.0,
        min_signal_dn: float = 20.0,
        scattering_a_per_mm: float = DEFAULT_SCATTERING_A_PER_MM,
        scattering_power: float = DEFAULT_SCATTERING_POWER,
        refractive_index: float = DEFAULT_REFRACTIVE_INDEX,
        water_fraction: float | None = None,
        period_s: float = MAP_PERIOD_S,
        history_s: float = MAP_HISTORY_S,
    ) -> None:
        self.rho_mm = np.asarray(rho_mm, dtype=float)
        if self.rho_mm.ndim != 2:
            raise ValueError(f"rho_mm must be (H, W), got shape {self.rho_mm.shape}")
        height, width = self.rho_mm.shape
        if not 2 <= region_px <= min(height, width):
            raise ValueError(f"region size must lie in 2..{min(height, width)} pixels")
        self.wavelengths_nm = np.asarray(wavelengths_nm, dtype=float)
        needed = 2 if water_fraction is not None else 3
        if self.wavelengths_nm.size < needed:
            raise ValueError(f"SRS needs {needed} or more wavelengths, got {self.wavelengths_nm}")
        if not 0.0 < period_s <= history_s:
            raise ValueError(f"need 0 < period_s <= history_s, got {period_s:g}, {history_s:g}")
        self.frame_rate_hz = float(frame_rate_hz)
        self.dark_dn = np.broadcast_to(np.asarray(dark_dn, dtype=float), self.rho_mm.shape)
        self.region_px = int(region_px)
        self.min_distance_mm = float(min_distance_mm)
        self.max_dn = float(max_dn)
        self.min_signal_dn = float(min_signal_dn)
        self.srs_options: dict[str, float | None] = {
            "scattering_a_per_mm": scattering_a_per_mm,
            "scattering_power": scattering_power,
            "refractive_index": refractive_index,
            "water_fraction": water_fraction,
        }
        self.period_frames = max(1, round(period_s * self.frame_rate_hz))
        self.chunks = max(1, round(history_s / period_s))
        channels = self.wavelengths_nm.size + 1  # the last one holds the dark frames
        self._sums = np.zeros((self.chunks, channels, height, width))
        self._counts = np.zeros((self.chunks, channels), dtype=np.int64)
        self._frames = 0  # frames pushed since the start
        self._period = 0  # the period being filled (chunk period % chunks)

    @property
    def nbytes(self) -> int:
        """Bytes of frame data held (fixed from the start)."""
        return int(self._sums.nbytes + self._counts.nbytes)

    def push(self, frames: ArrayLike, channel: ArrayLike) -> Sto2Maps | None:
        """Add frames; return the map when the stream passed a refresh time.

        Parameters
        ----------
        frames : array_like, shape (n, H, W)
            Pixel values, DN (raw, or corrected above dark).
        channel : array_like of int, shape (n,)
            Index into `wavelengths_nm` of each frame, `DARK` for a dark frame, `SKIP` for a
            frame to leave out.
        """
        pixels = np.asarray(frames)
        channels = np.asarray(channel, dtype=np.int64)
        if pixels.ndim != 3 or pixels.shape[1:] != self.rho_mm.shape:
            raise ValueError(f"frames must be (n, {self.rho_mm.shape}), got {pixels.shape}")
        if channels.shape != pixels.shape[:1]:
            raise ValueError(f"channel must be ({pixels.shape[0]},), got {channels.shape}")
        refreshed = False
        start = 0
        while start < pixels.shape[0]:
            period = self._frames // self.period_frames
            if period != self._period:  # a new period's frames replace the oldest period's
                self._sums[period % self.chunks] = 0.0
                self._counts[period % self.chunks] = 0
                self._period = period
            stop = min(pixels.shape[0], start + self.period_frames * (period + 1) - self._frames)
            self._add(period % self.chunks, pixels[start:stop], channels[start:stop])
            self._frames += stop - start
            start = stop
            refreshed |= self._frames % self.period_frames == 0
        return self.flush() if refreshed else None

    def flush(self) -> Sto2Maps | None:
        """The map of the frames in the window now (None until every wavelength has frames)."""
        sums, counts = self._sums.sum(axis=0), self._counts.sum(axis=0)
        lit = self.wavelengths_nm.size
        if np.any(counts[:lit] == 0):
            return None
        means = sums[:lit] / counts[:lit, np.newaxis, np.newaxis]
        dark = sums[lit] / counts[lit] if counts[lit] else self.dark_dn
        signal = means - dark
        linear = np.all((signal > self.min_signal_dn) & (means < self.max_dn), axis=0)
        near = self.rho_mm < self.min_distance_mm
        usable = np.all(_blocks((linear & ~near).astype(float), self.region_px) > 0.0, axis=-1)
        region_rho = _blocks(self.rho_mm, self.region_px)
        reflectance = np.moveaxis(_blocks(signal, self.region_px), 0, -2)  # (R, C, W, P)
        result = spatially_resolved_sto2(
            np.where(usable[..., None, None], reflectance, 1.0),
            region_rho,
            self.wavelengths_nm,
            rho_per_wavelength=False,
            **self.srs_options,  # type: ignore[arg-type]
        )
        partial = self._frames % self.period_frames
        whole = self.chunks - 1 if partial else self.chunks
        held = min(self._frames, whole * self.period_frames + partial)

        def withheld(values: NDArray[np.float64]) -> NDArray[np.float64]:
            return np.where(usable, values, np.nan)

        end_s = self._frames / self.frame_rate_hz
        return Sto2Maps(
            sto2_percent=withheld(result.sto2_percent),
            toi_percent=withheld(result.toi_percent),
            hbt_um=withheld(result.hbt_um),
            distance_mm=region_rho.mean(axis=-1),
            usable=usable,
            region_px=self.region_px,
            start_s=end_s - held / self.frame_rate_hz,
            end_s=end_s,
            frames=held,
        )

    def _add(self, chunk: int, pixels: NDArray[np.generic], channels: NDArray[np.int64]) -> None:
        """Sum frames of one period into its chunk."""
        lit = self.wavelengths_nm.size
        for index in np.unique(channels):
            if not DARK <= index < lit:
                continue
            mine = channels == index
            slot = lit if index == DARK else int(index)
            self._sums[chunk, slot] += pixels[mine].sum(axis=0, dtype=np.float64)
            self._counts[chunk, slot] += int(np.count_nonzero(mine))
