"""Device side of the SR830 and SR860 lock-ins, with real demodulation of the bench signal.

Parsing accepts both dialects found in drivers: ``SENS20`` and ``SENS 20``, ``OUTP?1`` and
``OUTP? 1``. ``*ESR?`` reports EXE (bit 4) for out-of-range parameters and CMD (bit 5) for
unknown commands; ``LIAS?`` reports latched overload/unlock bits and clears them.

Demodulation (:class:`Demodulator`): the TIA output is synthesised as the bench signal at the
reference frequency plus noise shaped to the bench's noise spectral density (AC coupled: no DC),
multiplied by ``sqrt(2) * (sin + i cos)`` of the reference, and low-passed by 1…4 cascaded RC
stages (6…24 dB/oct) with ``scipy.signal.lfilter``; the stage outputs are carried from query to
query. The simulation is advanced to the wall clock on every command, before a setting
changes. Only the last ten settle times matter, so at most that window is simulated per step.

Sample rate: ``max(32 f, 20 / tau)``; if that makes the window longer than
``MAX_SAMPLES_PER_STEP`` samples, the rate is lowered to fit, but never below ``5 f`` (above
the Nyquist rate of the 2f product); if even that does not fit, the window is shortened and the
carried filter state stands in for the older history.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass

import numpy as np
from scipy.signal import lfilter

from drivers.sim.bench import OpticalBench
from drivers.sim.scpi_instruments import CommandError, DeviceSim, ExecutionError

MAX_SAMPLES_PER_STEP = 200_000
SAMPLES_PER_CARRIER_PERIOD = 32.0
MIN_SAMPLES_PER_CARRIER_PERIOD = 5.0
SAMPLES_PER_TIME_CONSTANT = 20.0
WINDOW_SETTLE_TIMES = 10.0
SETTLE_TIME_CONSTANTS = (5.0, 7.0, 9.0, 10.0)
INPUT_RANGE_V = 1.0
OUTPUT_CLIP_FRACTION = 1.09

_COMMAND = re.compile(r"^(\*?[A-Za-z]+)\s*(\?)?\s*(.*)$")


def _decades(mantissas: tuple[float, ...], exponents: range) -> list[float]:
    return [float(f"{m}e{e}") for e in exponents for m in mantissas]


@dataclass
class DemodulatorOutput:
    """What one simulation step produced."""

    xy_v: complex
    """Last filter output X + iY, V RMS."""
    peak_input_v: float
    peak_r_v: float


class Demodulator:
    """Dual-phase demodulator with an RC-cascade output filter whose state persists.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of the input noise.
    """

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.stage_outputs: np.ndarray | None = None
        self.carrier_phase_rad = 0.0

    def step(
        self,
        duration_s: float,
        frequency_hz: float,
        phase_deg: float,
        time_constant_s: float,
        poles: int,
        bench: OpticalBench,
    ) -> DemodulatorOutput:
        """Advance by ``duration_s`` (s; capped to the window) and return the new outputs."""
        window_s = WINDOW_SETTLE_TIMES * SETTLE_TIME_CONSTANTS[poles - 1] * time_constant_s
        rate_hz = max(
            SAMPLES_PER_CARRIER_PERIOD * frequency_hz, SAMPLES_PER_TIME_CONSTANT / time_constant_s
        )
        if window_s * rate_hz > MAX_SAMPLES_PER_STEP:
            rate_hz = max(
                MAX_SAMPLES_PER_STEP / window_s, MIN_SAMPLES_PER_CARRIER_PERIOD * frequency_hz
            )
            window_s = min(window_s, MAX_SAMPLES_PER_STEP / rate_hz)
        if self.stage_outputs is None:
            self.stage_outputs = np.zeros(4, dtype=complex)
            duration_s = window_s
        samples = max(int(min(duration_s, window_s) * rate_hz), 2)
        carrier = self.carrier_phase_rad + 2.0 * np.pi * frequency_hz * np.arange(samples) / rate_hz
        self.carrier_phase_rad = float(
            (carrier[-1] + 2.0 * np.pi * frequency_hz / rate_hz) % (2.0 * np.pi)
        )
        signal = self._input(carrier, rate_hz, frequency_hz, bench)
        reference = carrier + math.radians(phase_deg)
        filtered = signal * math.sqrt(2.0) * (np.sin(reference) + 1j * np.cos(reference))
        alpha = -math.expm1(-1.0 / (rate_hz * time_constant_s))
        for stage in range(poles):
            initial = [(1.0 - alpha) * self.stage_outputs[stage]]
            filtered, _ = lfilter([alpha], [1.0, alpha - 1.0], filtered, zi=initial)
            self.stage_outputs[stage] = filtered[-1]
        self.stage_outputs[poles:] = filtered[-1]
        return DemodulatorOutput(
            xy_v=complex(filtered[-1]),
            peak_input_v=float(np.max(np.abs(signal))),
            peak_r_v=float(np.max(np.abs(filtered))),
        )

    def _input(
        self, carrier_rad: np.ndarray, rate_hz: float, frequency_hz: float, bench: OpticalBench
    ) -> np.ndarray:
        """AC-coupled TIA output: the locked signal plus noise with the bench's PSD, V.

        ``carrier_rad`` is the phase of the LED modulation at each sample. The noise is white
        noise shaped in the frequency domain; the zero-frequency bin takes the density at half
        the bin spacing, so that short steps keep their full white-noise power.
        """
        samples = carrier_rad.size
        amplitude = bench.tia_signal(frequency_hz)
        signal = abs(amplitude) * np.sin(carrier_rad + np.angle(amplitude))
        spectrum = np.fft.rfft(self.rng.standard_normal(samples))
        bin_frequencies = np.fft.rfftfreq(samples, 1.0 / rate_hz)
        bin_frequencies[0] = rate_hz / samples / 2.0
        spectrum *= np.sqrt(bench.tia_noise_psd_v2_per_hz(bin_frequencies) * rate_hz / 2.0)
        return signal + np.fft.irfft(spectrum, samples)


@dataclass(frozen=True)
class LockInFacts:
    """Device-side facts of one model."""

    idn: str
    sensitivity_command: str
    sensitivities_v: tuple[float, ...]
    time_constants_s: tuple[float, ...]
    frequency_range_hz: tuple[float, float]
    phase_range_deg: tuple[float, float]
    sine_amplitude_range_v: tuple[float, float]
    snap_indices: dict[int, str]
    """Index -> quantity name for SNAP?/OUTP?."""
    snap_count: tuple[int, int]
    output_indices: tuple[int, ...]
    """Indices ``OUTP?`` accepts."""
    input_overload_bits: int
    output_overload_bits: int
    unlock_bits: int
    default_sensitivity_index: int
    default_time_constant_index: int
    interface_command: bool
    """Whether ``OUTX`` exists."""


SR830_FACTS = LockInFacts(
    idn="Stanford_Research_Systems,SR830,s/n86012,ver1.07",
    sensitivity_command="SENS",
    sensitivities_v=tuple(_decades((2, 5, 10), range(-9, 0))),
    time_constants_s=tuple(_decades((1, 3), range(-5, 5))),
    frequency_range_hz=(0.001, 102e3),
    phase_range_deg=(-360.0, 729.99),
    sine_amplitude_range_v=(0.004, 5.0),
    snap_indices={
        1: "x",
        2: "y",
        3: "r",
        4: "theta",
        5: "aux",
        6: "aux",
        7: "aux",
        8: "aux",
        9: "frequency",
        10: "x",
        11: "y",
    },
    snap_count=(2, 6),
    output_indices=(1, 2, 3, 4),
    input_overload_bits=1 << 0,
    output_overload_bits=1 << 2,
    unlock_bits=1 << 3,
    default_sensitivity_index=26,
    default_time_constant_index=10,
    interface_command=True,
)

SR860_FACTS = LockInFacts(
    idn="Stanford_Research_Systems,SR860,003241,v1.51",
    sensitivity_command="SCAL",
    sensitivities_v=(1.0, *_decades((5, 2, 1), range(-1, -10, -1))),
    time_constants_s=tuple(_decades((1, 3), range(-6, 5))),
    frequency_range_hz=(0.001, 500e3),
    phase_range_deg=(-360000.0, 360000.0),
    sine_amplitude_range_v=(1e-9, 2.0),
    snap_indices={
        0: "x",
        1: "y",
        2: "r",
        3: "theta",
        4: "aux",
        5: "aux",
        6: "aux",
        7: "aux",
        15: "frequency",
    },
    snap_count=(2, 3),
    output_indices=tuple(range(17)),
    input_overload_bits=1 << 4,
    output_overload_bits=(1 << 0) | (1 << 1) | (0b1111 << 8),
    unlock_bits=1 << 3,
    default_sensitivity_index=0,
    default_time_constant_index=12,
    interface_command=False,
)

_SR860_TOKENS = {"X": 0, "Y": 1, "R": 2, "THETA": 3, "TH": 3, "FINT": 15, "FI": 15}


class LockInSim(DeviceSim):
    """Device side of one lock-in model reading the bench photodiode through the TIA.

    Parameters
    ----------
    bench : OpticalBench
        The shared scene.
    facts : LockInFacts
        ``SR830_FACTS`` or ``SR860_FACTS``.
    clock : callable
        Monotonic clock, s (the simulation follows it).

    Attributes
    ----------
    reference_unlocked : bool
        Fault injection: while True, every step latches the UNLK bit.
    """

    def __init__(
        self,
        bench: OpticalBench,
        facts: LockInFacts,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(bench, facts.idn, clock)
        self.facts = facts
        self.demodulator = Demodulator(bench.rng(facts.idn))
        self.reference_unlocked = False
        self.handlers = self._handlers()
        self.reset()

    def reset(self) -> None:
        """``*RST``: default settings, filter restarted."""
        self.sensitivity_index = self.facts.default_sensitivity_index
        self.time_constant_index = self.facts.default_time_constant_index
        self.slope_index = 1
        self.frequency_hz = 1000.0
        self.phase_deg = 0.0
        self.sine_amplitude_v = 1.0
        self.interface = 1
        self.status_bits = 0
        self.output = DemodulatorOutput(0j, 0.0, 0.0)
        self.demodulator.stage_outputs = None
        self.updated_at = self.clock()

    @property
    def sensitivity_v(self) -> float:
        """Full-scale sensitivity, V."""
        return self.facts.sensitivities_v[self.sensitivity_index]

    @property
    def time_constant_s(self) -> float:
        """Time constant, s."""
        return self.facts.time_constants_s[self.time_constant_index]

    def advance(self) -> None:
        """Run the demodulator up to now with the present settings; latch status bits."""
        now = self.clock()
        self.output = self.demodulator.step(
            now - self.updated_at,
            self.frequency_hz,
            self.phase_deg,
            self.time_constant_s,
            self.slope_index + 1,
            self.bench,
        )
        self.updated_at = now
        if self.output.peak_input_v > INPUT_RANGE_V:
            self.status_bits |= self.facts.input_overload_bits
        if self.output.peak_r_v > self.sensitivity_v:
            self.status_bits |= self.facts.output_overload_bits
        if self.reference_unlocked:
            self.status_bits |= self.facts.unlock_bits

    def quantity(self, name: str) -> float:
        """Present value of ``x``, ``y``, ``r`` (V RMS, clipped near full scale), ``theta``
        (deg), ``frequency`` (Hz) or ``aux`` (V, nothing connected)."""
        limit = OUTPUT_CLIP_FRACTION * self.sensitivity_v
        x = float(np.clip(self.output.xy_v.real, -limit, limit))
        y = float(np.clip(self.output.xy_v.imag, -limit, limit))
        values = {
            "x": x,
            "y": y,
            "r": min(math.hypot(x, y), limit),
            "theta": math.degrees(math.atan2(y, x)),
            "frequency": self.frequency_hz,
            "aux": 0.0,
        }
        return values[name]

    def handle_command(self, command: str) -> str | None:
        match = _COMMAND.match(command)
        if match is None:
            raise CommandError(command)
        mnemonic, query_mark, argument_text = match.groups()
        mnemonic = mnemonic.upper()
        arguments = [part.strip() for part in argument_text.split(",")] if argument_text else []
        handler = self.handlers.get((mnemonic, query_mark is not None))
        if handler is None:
            raise CommandError(command)
        self.advance()
        return handler(arguments)

    def _handlers(self) -> dict[tuple[str, bool], Callable[[list[str]], str | None]]:
        facts = self.facts
        handlers: dict[tuple[str, bool], Callable[[list[str]], str | None]] = {
            ("*IDN", True): lambda _: self.idn,
            ("*RST", False): lambda _: self.reset(),
            ("*CLS", False): lambda _: self._clear_status(),
            ("*ESR", True): lambda _: self.read_event_status(),
            ("LIAS", True): self._read_lia_status,
            (facts.sensitivity_command, False): self._index_setter(
                "sensitivity_index", len(facts.sensitivities_v)
            ),
            (facts.sensitivity_command, True): lambda _: str(self.sensitivity_index),
            ("OFLT", False): self._index_setter("time_constant_index", len(facts.time_constants_s)),
            ("OFLT", True): lambda _: str(self.time_constant_index),
            ("OFSL", False): self._index_setter("slope_index", 4),
            ("OFSL", True): lambda _: str(self.slope_index),
            ("FREQ", False): self._float_setter("frequency_hz", facts.frequency_range_hz),
            ("FREQ", True): lambda _: f"{self.frequency_hz:.7g}",
            ("PHAS", False): self._float_setter("phase_deg", facts.phase_range_deg),
            ("PHAS", True): lambda _: f"{self.phase_deg:.7g}",
            ("SLVL", False): self._float_setter("sine_amplitude_v", facts.sine_amplitude_range_v),
            ("SLVL", True): lambda _: f"{self.sine_amplitude_v:.7g}",
            ("OUTP", True): lambda args: self._values(args, (1, 1), facts.output_indices),
            ("SNAP", True): lambda args: self._values(args, facts.snap_count, facts.snap_indices),
        }
        if facts.interface_command:
            handlers[("OUTX", False)] = self._index_setter("interface", 2)
            handlers[("OUTX", True)] = lambda _: str(self.interface)
        return handlers

    def _clear_status(self) -> None:
        self.event_status = 0
        self.status_bits = 0

    def _read_lia_status(self, arguments: list[str]) -> str:
        if not arguments:
            status, self.status_bits = self.status_bits, 0
            return str(status)
        bit = _parse_index(arguments, 16)
        value = (self.status_bits >> bit) & 1
        self.status_bits &= ~(1 << bit)
        return str(value)

    def _index_setter(self, attribute: str, count: int) -> Callable[[list[str]], None]:
        def set_index(arguments: list[str]) -> None:
            setattr(self, attribute, _parse_index(arguments, count))

        return set_index

    def _float_setter(
        self, attribute: str, limits: tuple[float, float]
    ) -> Callable[[list[str]], None]:
        def set_float(arguments: list[str]) -> None:
            value = _parse_number(arguments)
            if not limits[0] <= value <= limits[1]:
                raise ExecutionError(-222, "Data out of range")
            setattr(self, attribute, value)

        return set_float

    def _values(
        self, arguments: list[str], count: tuple[int, int], accepted: Collection[int]
    ) -> str:
        """Answer ``OUTP?``/``SNAP?``: the requested quantities, comma-separated."""
        if not count[0] <= len(arguments) <= count[1]:
            raise ExecutionError(-109, "Wrong number of parameters")
        names = []
        for argument in arguments:
            index = _SR860_TOKENS.get(argument.upper()) if self.facts is SR860_FACTS else None
            if index is None:
                index = _parse_index([argument], 1 + max(self.facts.snap_indices))
            if index not in accepted or index not in self.facts.snap_indices:
                raise ExecutionError(-222, "Data out of range")
            names.append(self.facts.snap_indices[index])
        return ",".join(f"{self.quantity(name):.7g}" for name in names)


def _parse_number(arguments: list[str]) -> float:
    """The one numeric parameter of a command; ExecutionError otherwise."""
    if len(arguments) != 1:
        raise ExecutionError(-109, "Missing parameter")
    try:
        return float(arguments[0])
    except ValueError:
        raise ExecutionError(-224, "Illegal parameter value") from None


def _parse_index(arguments: list[str], count: int) -> int:
    """One integer parameter in ``0 .. count - 1``; ExecutionError otherwise."""
    value = _parse_number(arguments)
    if not value.is_integer() or not 0 <= value < count:
        raise ExecutionError(-222, "Data out of range")
    return int(value)


def sr830_sim(bench: OpticalBench, clock: Callable[[], float] = time.monotonic) -> LockInSim:
    """A simulated SR830 on ``bench``."""
    return LockInSim(bench, SR830_FACTS, clock)


def sr860_sim(bench: OpticalBench, clock: Callable[[], float] = time.monotonic) -> LockInSim:
    """A simulated SR860 on ``bench``."""
    return LockInSim(bench, SR860_FACTS, clock)
