"""Streaming pulse oximetry: SpO2, pulse rate, perfusion index and signal quality once per
second from blocks of PPG samples as they arrive.

The streaming analyser shares every formula with the batch function
`imaging.pulse_oximetry.pulse_oximetry`: it keeps the last `HISTORY_S` seconds of samples
(bounded memory) and, whenever a second has ended more than `delay_s` ago, runs the batch
analysis over that history and takes the per-second and per-beat values of the seconds that
have become ready. The delay buys the beats and filter context after a second that the batch
analysis uses (the ±`WINDOW_HALF_S` beat window, the next beat that closes a cycle, the
zero-phase filters' settling), so on the same samples the streaming values agree with the
batch ones; at the end of a recording, `flush` reports the seconds still waiting from the
final history, as the batch analysis sees the end of the recording.

Signal-generation delay: a second's values are reported once `delay_s` (default
`DEFAULT_DELAY_S` = 2.4 s) of samples after the end of that second have been pushed, which
leaves 0.1 s for the frames to reach the analyser so that a value is out at most 2.5 s after
its second ends; the first values wait until `MIN_DURATION_S` of samples have arrived.

Example
-------
>>> import numpy as np
>>> from imaging.streaming_oximetry import StreamingOximeter
>>> t = np.arange(0, 12, 0.01)
>>> pulse = np.sin(2 * np.pi * 1.2 * t) ** 8
>>> signals = np.column_stack([1e4 * (1 - 0.01 * pulse), 2e4 * (1 - 0.02 * pulse)])
>>> oximeter = StreamingOximeter(100.0, (660.0, 940.0))
>>> seconds = oximeter.push(signals[:700]) + oximeter.push(signals[700:]) + oximeter.flush()
>>> [s.index for s in seconds][:3]
[0, 1, 2]
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from imaging.pulse_oximetry import MIN_DURATION_S, OximetryResult, pulse_oximetry
from imaging.spo2_curves import SpO2Curve, default_curve

logger = logging.getLogger(__name__)

DEFAULT_DELAY_S = 2.4
"""Samples awaited after a second ends before its values are reported, s (2.5 s at most from
a second's end to its value, with the acquisition's batching of frames)."""
HISTORY_S = 40.0
"""Samples kept and analysed at each update, s (whole seconds are dropped from the front)."""

__all__ = ["DEFAULT_DELAY_S", "HISTORY_S", "SecondResult", "StreamingOximeter", "stack_seconds"]


@dataclass(frozen=True)
class SecondResult:
    """Pulse oximetry of one whole second of a stream.

    Attributes
    ----------
    index : int
        Second number from the first sample (0, 1, …).
    time_s : float
        Centre of the second, s from the first sample (``index + 0.5``).
    spo2_percent, pulse_rate_bpm, perfusion_index_percent : float
        SpO2 (%), pulse rate (beats/min), infrared perfusion index (%); NaN when withheld.
    signal_quality : float
        Mean beat quality in the second's window, 0..1.
    ratio_of_ratios : float
        Median R of the accepted beats (NaN when withheld).
    beat_time_s : ndarray, shape (K,)
        Middle of each beat cycle whose middle falls in this second, s from the first sample.
    beat_interval_s, beat_spo2_percent, beat_perfusion_index_percent, beat_quality : ndarray
        Per beat of `beat_time_s`: interval (s), SpO2 (%, NaN if not accepted), perfusion
        index (%), quality (0..1).
    """

    index: int
    time_s: float
    spo2_percent: float
    pulse_rate_bpm: float
    perfusion_index_percent: float
    signal_quality: float
    ratio_of_ratios: float
    beat_time_s: NDArray[np.float64]
    beat_interval_s: NDArray[np.float64]
    beat_spo2_percent: NDArray[np.float64]
    beat_perfusion_index_percent: NDArray[np.float64]
    beat_quality: NDArray[np.float64]

    @property
    def withheld(self) -> bool:
        """True when no SpO2 is reported for this second (quality or too few beats)."""
        return not np.isfinite(self.spo2_percent)


class StreamingOximeter:
    """Per-second pulse oximetry of a stream of PPG sample blocks.

    Parameters
    ----------
    sample_rate_hz : float
        Sample rate of every channel, Hz.
    wavelengths_nm : sequence of float
        Wavelength of each column, nm (shortest = red, longest = infrared).
    curve : SpO2Curve, optional
        R → SpO2 curve; default `imaging.spo2_curves.default_curve` of the pair.
    delay_s : float
        Samples awaited after a second ends before it is reported, s (>= 0).
    history_s : float
        Samples kept, s (at least `MIN_DURATION_S` + `delay_s` + 1).
    """

    def __init__(
        self,
        sample_rate_hz: float,
        wavelengths_nm: Sequence[float],
        curve: SpO2Curve | None = None,
        delay_s: float = DEFAULT_DELAY_S,
        history_s: float = HISTORY_S,
    ) -> None:
        if delay_s < 0.0:
            raise ValueError(f"delay must be >= 0 s, got {delay_s:g} s")
        if history_s < MIN_DURATION_S + delay_s + 1.0:
            raise ValueError(
                f"history of {history_s:g} s is shorter than {MIN_DURATION_S + delay_s + 1:g} s"
            )
        self.sample_rate_hz = float(sample_rate_hz)
        self.wavelengths_nm = tuple(float(w) for w in wavelengths_nm)
        if len(set(self.wavelengths_nm)) > 1:
            pair = (min(self.wavelengths_nm), max(self.wavelengths_nm))
            curve = curve or default_curve(*pair)
        self.curve = curve
        self.delay_s = float(delay_s)
        self.history_s = float(history_s)
        self._buffer = np.zeros((0, len(self.wavelengths_nm)))
        self._first_sample = 0  # absolute index of self._buffer[0]
        self._next_second = 0

    @property
    def samples_pushed(self) -> int:
        """Samples received so far."""
        return self._first_sample + self._buffer.shape[0]

    @property
    def next_second(self) -> int:
        """Number of the next second to be reported."""
        return self._next_second

    def push(self, block: ArrayLike) -> list[SecondResult]:
        """Add samples; return the seconds that became ready (possibly none).

        Parameters
        ----------
        block : array_like, shape (n, W)
            The next samples of every channel (any unit, dark subtracted).
        """
        values = np.asarray(block, dtype=float)
        if values.ndim == 1 and len(self.wavelengths_nm) == 1:
            values = values[:, np.newaxis]
        if values.ndim != 2 or values.shape[1] != len(self.wavelengths_nm):
            raise ValueError(
                f"block must be (samples, {len(self.wavelengths_nm)}), got shape {values.shape}"
            )
        self._buffer = np.concatenate([self._buffer, values])
        end_s = self.samples_pushed / self.sample_rate_hz
        if self._buffer.shape[0] < MIN_DURATION_S * self.sample_rate_hz:
            return []
        last_ready = int(np.floor(end_s - self.delay_s + 1e-9)) - 1
        results = self._analyse(last_ready) if last_ready >= self._next_second else []
        self._trim()
        return results

    def flush(self) -> list[SecondResult]:
        """The seconds still waiting at the end of the stream (whole seconds only)."""
        if self._buffer.shape[0] < MIN_DURATION_S * self.sample_rate_hz:
            return []
        last = int(np.floor(self.samples_pushed / self.sample_rate_hz + 1e-6)) - 1
        return self._analyse(last) if last >= self._next_second else []

    def _analyse(self, last_second: int) -> list[SecondResult]:
        """Run the batch analysis over the history; report seconds up to `last_second`."""
        if not np.all(np.isfinite(self._buffer)):
            self._buffer = np.nan_to_num(self._buffer, nan=0.0, posinf=0.0, neginf=0.0)
        result = pulse_oximetry(self._buffer, self.sample_rate_hz, self.wavelengths_nm, self.curve)
        offset_s = self._first_sample / self.sample_rate_hz
        seconds = []
        for index in range(self._next_second, last_second + 1):
            local = round(index - offset_s)
            if 0 <= local < result.time_s.size:
                seconds.append(_second(result, index, local, offset_s))
        self._next_second = last_second + 1
        return seconds

    def _trim(self) -> None:
        """Drop whole seconds from the front beyond `history_s`."""
        excess_s = self._buffer.shape[0] / self.sample_rate_hz - self.history_s
        if excess_s < 1.0:
            return
        whole = int(excess_s)
        end_s = (self._first_sample / self.sample_rate_hz) + whole
        drop = round(end_s * self.sample_rate_hz) - self._first_sample
        self._buffer = self._buffer[drop:].copy()
        self._first_sample += drop


def _second(result: OximetryResult, index: int, local: int, offset_s: float) -> SecondResult:
    """Second `index` (number `local` of the batch result over a history starting at
    `offset_s`) with the beats whose middle falls in it."""
    middle_s = 0.5 * (result.beats_s[:-1] + result.beats_s[1:]) + offset_s
    mine = (middle_s >= index) & (middle_s < index + 1)
    return SecondResult(
        index=index,
        time_s=index + 0.5,
        spo2_percent=float(result.spo2_percent[local]),
        pulse_rate_bpm=float(result.pulse_rate_bpm[local]),
        perfusion_index_percent=float(result.perfusion_index_percent[local]),
        signal_quality=float(result.signal_quality[local]),
        ratio_of_ratios=float(result.ratio_of_ratios[local]),
        beat_time_s=middle_s[mine],
        beat_interval_s=result.beat_interval_s[mine],
        beat_spo2_percent=result.beat_spo2_percent[mine],
        beat_perfusion_index_percent=result.beat_perfusion_index_percent[mine],
        beat_quality=result.beat_quality[mine],
    )


def stack_seconds(seconds: Sequence[SecondResult]) -> dict[str, NDArray[np.float64]]:
    """Per-second fields of `seconds` as arrays (``time_s``, ``spo2_percent``, …), shape (S,)."""
    names = (
        "time_s",
        "spo2_percent",
        "pulse_rate_bpm",
        "perfusion_index_percent",
        "signal_quality",
        "ratio_of_ratios",
    )
    return {name: np.array([getattr(s, name) for s in seconds], dtype=float) for name in names}
