"""PPG input: per-wavelength time series from a run record or a CSV file.

From a run record, each frame of a wavelength's (first) lit LED step becomes one sample of that
wavelength: the mean over a region of interest of the frame minus the dark level (a frame's
step is its frame counter modulo the length of the recorded LED pattern). The region holds
the pixels that stay in the sensor's linear range at every wavelength (below
`LINEAR_FRACTION` of full scale) and see at least `MIN_SIGNAL_DN` above dark, optionally
within a user rectangle. The dark level is the mean of the pattern's dark steps (drive
current 0) interpolated to each frame when the pattern has them, else a given black level,
else the level of the darkest 1 % of pixels.
Interleaved LED steps are exposed at different instants; every wavelength is interpolated
(linearly in time) onto a uniform grid that starts at the first exposure of the pattern's first
wavelength and steps by the pattern period (frame period from the frame counter and the device
clock × pattern length), which also bridges dropped frames.

A CSV file (UTF-8, with or without a byte-order mark) has the header ``time,<nm>,<nm>…`` (time
in s, one column per wavelength) and one row per sample; rows are resampled onto a uniform grid
at the rows' rate (or ``--fs``). Loggers stamp rows with jitter and repeat a time at millisecond
resolution: time may stay the same from one row to the next (rows with the same time are
averaged) and the steps may vary; the rate is then the mean over the rows (span / (rows − 1)),
which equals the median rate of a regular time base and is not biased by rounded stamps. Time
that goes back, or a gap longer than `MAX_GAP_S` (a beat), is refused naming the line; so are
time steps outside 0.1-80 ms (e.g. a time column in ms) rather than guessed at.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from instrument.run_record import RunRecord
from instrument.run_steps import frames_by_led_step, led_pattern

LINEAR_FRACTION = 0.75
"""Pixels whose brightest frame exceeds this fraction of full scale are left out."""
MIN_SIGNAL_DN = 20.0
"""Least mean signal above dark, DN, at every wavelength for a pixel to count."""
DARK_PIXEL_FRACTION = 0.01
"""Share of the darkest pixels whose level estimates the black level when nothing else does."""
FRAME_CHUNK = 1024
"""Frames read at once (bounds memory on long records)."""
MIN_TIME_STEP_S = 1e-4
"""Shortest CSV time step accepted (10 kHz sampling), s."""
MAX_TIME_STEP_S = 0.08
"""Longest CSV time step accepted (12.5 Hz sampling, the least the pulse band needs), s."""
MAX_SAMPLES = 20_000_000
"""Most samples per wavelength a resampled recording may have."""
MAX_GAP_S = 0.25
"""Longest gap between two CSV rows bridged by interpolation, s (shorter than a beat at 240/min)."""
JITTER_FRACTION = 0.1
"""A CSV time step that deviates from the mean step by more than this fraction is jittered."""
MIN_WAVELENGTH_SEPARATION_NM = 1.0
"""CSV columns whose wavelengths are closer than this are one wavelength repeated, nm."""


@dataclass(frozen=True)
class PpgSignals:
    """Uniformly sampled intensities per wavelength.

    Attributes
    ----------
    time_s : ndarray, shape (N,)
        Sample times, s (from the start of the run, or as in the CSV file).
    signals : ndarray, shape (N, W)
        Intensity per sample and wavelength (run records: mean DN above dark over the ROI).
    wavelengths_nm : tuple of float
        Wavelength of each column, nm.
    sample_rate_hz : float
        Sample rate, Hz.
    roi_pixels : int
        Pixels averaged per sample (0 for CSV input).
    time_base_note : str
        How an irregular CSV time base was made uniform (repeated and jittered stamps
        counted); empty when there was nothing to say.
    """

    time_s: NDArray[np.float64]
    signals: NDArray[np.float64]
    wavelengths_nm: tuple[float, ...]
    sample_rate_hz: float
    roi_pixels: int = 0
    time_base_note: str = ""


def ppg_signals_from_run(
    record: RunRecord,
    roi: tuple[int, int, int, int] | None = None,
    black_level_dn: float | None = None,
    full_scale_dn: float = 4095.0,
) -> PpgSignals:
    """Per-wavelength PPG signals from a run record.

    Parameters
    ----------
    record : RunRecord
        The run (frames interleaved over the LED pattern's steps).
    roi : tuple of int, optional
        (row, col, height, width) rectangle the region is restricted to, pixels.
    black_level_dn : float, optional
        Dark level, DN, used when the pattern has no dark step.
    full_scale_dn : float
        ADC full scale, DN.

    Raises
    ------
    ValueError
        No frames, no lit wavelength, an ROI outside the frame, or no pixel in the linear range.
    """
    frames = record.frames
    if frames.shape[0] == 0:
        raise ValueError(f"{record.path}: the record holds no frames")
    steps, dark_steps = frames_by_led_step(record)
    lit_nm = list(steps)
    usable, dark_frame = _usable_pixels(
        record, steps, dark_steps, roi, black_level_dn, full_scale_dn
    )

    def roi_means(index: NDArray[np.intp]) -> NDArray[np.float64]:
        parts = [
            frames[index[s : s + FRAME_CHUNK]][:, usable].mean(axis=1)
            for s in range(0, index.size, FRAME_CHUNK)
        ]
        return np.concatenate(parts)

    time_s = np.asarray(record.time_s, dtype=float)
    dark_trace = roi_means(dark_steps) if dark_steps.size else None
    grid, period_s = _uniform_grid(record, steps)
    columns = []
    for w in lit_nm:
        values = roi_means(steps[w])
        times = time_s[steps[w]]
        if dark_trace is not None:
            values = values - np.interp(times, time_s[dark_steps], dark_trace)
        else:
            values = values - float(dark_frame[usable].mean())
        columns.append(np.interp(grid, times, values))
    return PpgSignals(
        time_s=grid,
        signals=np.stack(columns, axis=1),
        wavelengths_nm=tuple(lit_nm),
        sample_rate_hz=float(1.0 / period_s),
        roi_pixels=int(np.count_nonzero(usable)),
    )


def _usable_pixels(
    record: RunRecord,
    steps: dict[float, NDArray[np.intp]],
    dark_steps: NDArray[np.intp],
    roi: tuple[int, int, int, int] | None,
    black_level_dn: float | None,
    full_scale_dn: float,
) -> tuple[NDArray[np.bool_], NDArray[np.float64]]:
    """The pixels of the ROI in the linear range at every wavelength, and the dark frame, DN
    (the dark steps' mean, else the black level, else the dimmest pixels' mean level)."""
    frames = record.frames
    height, width = frames.shape[1:]
    window = np.zeros((height, width), dtype=bool)
    row, col, rows, cols = roi if roi is not None else (0, 0, height, width)
    if rows < 1 or cols < 1 or row < 0 or col < 0 or row + rows > height or col + cols > width:
        raise ValueError(f"ROI {roi} does not fit in the {height}x{width} frame")
    window[row : row + rows, col : col + cols] = True
    brightest = np.zeros((height, width))
    mean = {w: np.zeros((height, width)) for w in steps}
    for w, index in steps.items():
        for start in range(0, index.size, FRAME_CHUNK):
            chunk = frames[index[start : start + FRAME_CHUNK]]
            brightest = np.maximum(brightest, chunk.max(axis=0))
            mean[w] += chunk.sum(axis=0, dtype=np.float64) / index.size
    if dark_steps.size:
        dark_frame = sum(
            frames[dark_steps[s : s + FRAME_CHUNK]].sum(axis=0, dtype=np.float64)
            for s in range(0, dark_steps.size, FRAME_CHUNK)
        ) / float(dark_steps.size)
    else:
        level = black_level_dn
        if level is None:
            dimmest = min(mean.values(), key=lambda m: float(m.mean()))
            count = max(1, int(DARK_PIXEL_FRACTION * dimmest.size))
            level = float(np.mean(np.partition(dimmest.ravel(), count - 1)[:count]))
        dark_frame = np.full((height, width), float(level))
    usable = window & (brightest < LINEAR_FRACTION * full_scale_dn)
    for w in steps:
        usable &= mean[w] - dark_frame >= MIN_SIGNAL_DN
    if not usable.any():
        raise ValueError(
            f"{record.path}: no pixel of the ROI stays below {LINEAR_FRACTION:.0%} of full "
            f"scale with at least {MIN_SIGNAL_DN:g} DN above dark at every wavelength"
        )
    return usable, dark_frame


def _uniform_grid(
    record: RunRecord, steps: dict[float, NDArray[np.intp]]
) -> tuple[NDArray[np.float64], float]:
    """Sample times common to every wavelength, s, and the sample period, s: a uniform grid at
    the pattern period (from the frame counter), not the surviving frames' times, so that
    dropped frames leave gaps that the interpolation bridges."""
    time_s = np.asarray(record.time_s, dtype=float)
    first_step = next(iter(steps.values()))
    start = max(time_s[index[0]] for index in steps.values())
    stop = min(time_s[index[-1]] for index in steps.values())
    first = time_s[first_step]
    first = first[(first >= start) & (first <= stop)]
    if first.size < 2:
        raise ValueError(f"{record.path}: too few frames per wavelength")
    cycle = len(led_pattern(record)) or int(
        np.median(np.diff(np.asarray(record.frame_counter, dtype=np.int64)[first_step]))
    )
    period_s = max(1, cycle) * _frame_period_s(record)
    count = int(np.floor((first[-1] - first[0]) / period_s + 1e-6)) + 1
    return first[0] + np.arange(count) * period_s, period_s


def _frame_period_s(record: RunRecord) -> float:
    """Time from one frame to the next, s: the median time per frame-counter step, on the
    device clock when it runs, else on the record's time column."""
    counter = np.asarray(record.frame_counter, dtype=np.int64)
    device_s = np.asarray(record.device_time_us, dtype=float) * 1e-6
    counted = np.diff(counter)
    for clock in (device_s, np.asarray(record.time_s, dtype=float)):
        elapsed = np.diff(clock)
        valid = (counted > 0) & (elapsed > 0.0)
        if np.any(valid):
            return float(np.median(elapsed[valid] / counted[valid]))
    raise ValueError(f"{record.path}: frame counter and time do not advance")


def read_ppg_csv(path: str | Path, sample_rate_hz: float | None = None) -> PpgSignals:
    """PPG signals from a CSV file with the header ``time,<nm>,<nm>…``.

    Parameters
    ----------
    path : str or Path
        The file.
    sample_rate_hz : float, optional
        Rate of the uniform grid the rows are resampled onto, Hz; default the median rate of
        the time column.

    Raises
    ------
    ValueError
        Naming the file and the line/column of what is wrong: not text or not CSV, header,
        non-numeric or non-finite cells, ragged rows, unsorted or irregular time, a time
        step outside `MIN_TIME_STEP_S`..`MAX_TIME_STEP_S` (e.g. a time in ms), too few rows.
    """
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            rows = [row for row in csv.reader(handle) if any(cell.strip() for cell in row)]
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read {path}: {exc}") from None
    except csv.Error as exc:
        raise ValueError(f"{path}: not a CSV file of numbers ({exc})") from None
    if not rows:
        raise ValueError(f"{path}: empty file; expected the header time,<nm>,<nm>…")
    header = [cell.strip() for cell in rows[0]]
    if header[0].lower() not in ("time", "time_s") or len(header) < 2:
        raise ValueError(
            f"{path}: header must be time,<nm>,<nm>… (time in s, one column per wavelength), "
            f"got {','.join(header)}"
        )
    wavelengths: list[float] = []
    for column, name in enumerate(header[1:], start=2):
        try:
            wavelength = float(name.removesuffix("nm").strip())
        except ValueError:
            raise ValueError(
                f"{path}: header column {column} is {name!r}, not a wavelength in nm"
            ) from None
        if not 0.0 < wavelength < 1e4:
            raise ValueError(f"{path}: header column {column}: {name!r} is not a wavelength in nm")
        for earlier, other in enumerate(wavelengths, start=2):
            if abs(wavelength - other) < MIN_WAVELENGTH_SEPARATION_NM:
                raise ValueError(
                    f"{path}: header column {column}: {name!r} repeats the wavelength of column "
                    f"{earlier} ({other:g} nm); each column must be a distinct wavelength"
                )
        wavelengths.append(wavelength)
    values = np.empty((len(rows) - 1, len(header)))
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise ValueError(f"{path}: line {line} has {len(row)} cells, expected {len(header)}")
        for column, cell in enumerate(row):
            try:
                values[line - 2, column] = float(cell)
            except ValueError:
                raise ValueError(
                    f"{path}: line {line}, column {header[column]}: {cell.strip()!r} is not a "
                    "number"
                ) from None
            if not np.isfinite(values[line - 2, column]):
                raise ValueError(f"{path}: line {line}, column {header[column]}: not finite")
    if values.shape[0] < 2:
        raise ValueError(
            f"{path}: {values.shape[0]} data row(s); a recording needs at least two time points"
        )
    signals = _uniform_time_base(path, values[:, 0], values[:, 1:], tuple(wavelengths))
    return resampled(signals, sample_rate_hz or signals.sample_rate_hz)


def _uniform_time_base(
    path: str | Path,
    time_s: NDArray[np.float64],
    values: NDArray[np.float64],
    wavelengths: tuple[float, ...],
) -> PpgSignals:
    """Rows on a non-decreasing time base: checked, tied rows averaged, rate and note set."""
    steps = np.diff(time_s)
    if np.any(steps < 0.0):
        line = int(np.argmax(steps < 0.0)) + 3
        raise ValueError(
            f"{path}: line {line}: time goes back ({time_s[line - 2]:g} s after "
            f"{time_s[line - 3]:g} s)"
        )
    span = float(time_s[-1] - time_s[0])
    step = span / (time_s.size - 1)
    if not MIN_TIME_STEP_S <= step <= MAX_TIME_STEP_S:
        raise ValueError(
            f"{path}: the time column steps by {step:g} per row, i.e. {1.0 / step if step else 0:g}"
            f" samples per second; time must be in s with {1.0 / MAX_TIME_STEP_S:g}-"
            f"{1.0 / MIN_TIME_STEP_S:g} Hz sampling (a time in ms steps 1000 times too far)"
        )
    if np.any(steps > MAX_GAP_S):
        line = int(np.argmax(steps > MAX_GAP_S)) + 3
        raise ValueError(
            f"{path}: line {line}: gap of {steps[line - 3]:g} s since the row before, longer "
            f"than {MAX_GAP_S:g} s (a beat); the recording was interrupted"
        )
    repeats = int(np.count_nonzero(steps == 0.0))
    jittered = int(np.count_nonzero(np.abs(steps - step) > JITTER_FRACTION * step)) - repeats
    note = ""
    if repeats or jittered:
        note = (
            f"{path}: irregular time base ({repeats} repeated and {jittered} jittered time "
            f"stamps of {time_s.size}, largest step {steps.max() * 1e3:.3g} ms); rows resampled "
            f"to a uniform {1.0 / step:.4g} Hz grid"
        )
    unique_s, group = np.unique(time_s, return_inverse=True)
    counts = np.bincount(group).astype(float)
    merged = np.stack([np.bincount(group, weights=column) / counts for column in values.T], axis=1)
    return PpgSignals(unique_s, merged, wavelengths, 1.0 / step, time_base_note=note)


def resampled(signals: PpgSignals, sample_rate_hz: float) -> PpgSignals:
    """`signals` linearly interpolated onto a uniform grid at `sample_rate_hz` (Hz)."""
    if not np.isfinite(sample_rate_hz) or sample_rate_hz <= 0.0:
        raise ValueError(f"sample rate must be a positive number of Hz, got {sample_rate_hz:g}")
    start, stop = signals.time_s[0], signals.time_s[-1]
    samples = (stop - start) * sample_rate_hz
    if samples > MAX_SAMPLES:
        raise ValueError(
            f"resampling {stop - start:g} s at {sample_rate_hz:g} Hz gives {samples:.3g} "
            f"samples per wavelength, more than {MAX_SAMPLES:.0e}"
        )
    grid = (
        start
        + np.arange(int(np.floor((stop - start) * sample_rate_hz + 1e-6)) + 1) / sample_rate_hz
    )
    columns = [np.interp(grid, signals.time_s, column) for column in signals.signals.T]
    return PpgSignals(
        grid,
        np.stack(columns, axis=1),
        signals.wavelengths_nm,
        sample_rate_hz,
        signals.roi_pixels,
        signals.time_base_note,
    )


def selected(signals: PpgSignals, wavelengths_nm: tuple[float, ...]) -> PpgSignals:
    """Only the columns of `wavelengths_nm` (nm), in that order; ValueError if one is missing."""
    missing = [w for w in wavelengths_nm if w not in signals.wavelengths_nm]
    if missing:
        available = "/".join(f"{w:g}" for w in signals.wavelengths_nm)
        raise ValueError(
            f"no {'/'.join(f'{w:g}' for w in missing)} nm signal; the input has {available} nm"
        )
    columns = [signals.wavelengths_nm.index(w) for w in wavelengths_nm]
    return PpgSignals(
        signals.time_s,
        signals.signals[:, columns],
        tuple(wavelengths_nm),
        signals.sample_rate_hz,
        signals.roi_pixels,
        signals.time_base_note,
    )
