"""Device side of the SR830 and SR860 lock-ins, with real demodulation of the bench signal.

Parsing accepts both dialects found in drivers: ``SENS20`` and ``SENS 20``, ``OUTP?1`` and
``OUTP? 1``; ``;`` separates commands and the answers of several queries on one line.
Command sets (tables in :mod:`drivers.sim.lockin_models`, one line per setting): reference
(frequency, phase wrapped to ±180°, harmonic with harmonic × frequency within range, sine
amplitude, source, trigger; SR86x internal/external/detection frequency, presets), input
(configuration, coupling, grounding, notch, reserve; SR86x mode, range, current gain, signal
level), filters (sensitivity, time constant, slope, synchronous/advanced; SR86x ``ENBW?``),
displays and outputs (SR830 ``DDEF``/``OEXP``/``OUTR?``, SR86x ``CDSP``/``OUTR?``/``SNAPD?``,
``OUTP?``, ``SNAP?``, aux in/out), auto functions (``AGAN``, ``APHS``, ``AOFF``; ``ARSV`` is
accepted), setups (``SSET``/``RSET``), status (``*STB?``, ``*SRE``, ``*ESR?``, ``*ESE``,
``LIAS?``/``LIAE``, ``ERRS?``/``ERRE``, each with the optional bit argument) and SR830 data
storage (``SRAT``, ``SEND``, ``TSTR``, ``STRT``/``STRD``/``PAUS``/``REST``/``TRIG``,
``SPTS?``, ``TRCA?``, binary ``TRCB?`` and ``TRCL?``). ``*ESR?`` reports EXE (bit 4) for a
parameter out of range or a wrong number of parameters (the setting is not applied) and CMD
(bit 5) for unknown commands; ``LIAS?`` reports latched overload/unlock bits and clears them.
Not simulated: the SR86x capture buffer and streaming (``CAPTURE…``, ``STREAM…``).

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
from typing import Protocol

import numpy as np
from scipy.signal import lfilter

from drivers.sim.bench import OpticalBench
from drivers.sim.lockin_models import (
    SR830_BUFFER_POINTS,
    SR830_FACTS,
    SR830_SAMPLE_RATES_HZ,
    SR860_FACTS,
    SR860_INPUT_RANGES_V,
    LockInFacts,
    Param,
)
from drivers.sim.scpi_core import CommandError, DeviceSim, ExecutionError, token_matches

__all__ = ["SR830_FACTS", "SR860_FACTS", "Demodulator", "LockInSim", "sr830_sim", "sr860_sim"]

MAX_SAMPLES_PER_STEP = 200_000
SAMPLES_PER_CARRIER_PERIOD = 32.0
MIN_SAMPLES_PER_CARRIER_PERIOD = 5.0
SAMPLES_PER_TIME_CONSTANT = 20.0
WINDOW_SETTLE_TIMES = 10.0
SETTLE_TIME_CONSTANTS = (5.0, 7.0, 9.0, 10.0)
INPUT_RANGE_V = 1.0
OUTPUT_CLIP_FRACTION = 1.09
ENBW_TIMES_TAU = (1.0 / 4.0, 1.0 / 8.0, 3.0 / 32.0, 5.0 / 64.0)
"""Equivalent noise bandwidth × tau of 1..4 cascaded RC stages."""
STRD_DELAY_S = 0.5
LIAS_TRIGGERED = 1 << 6
LIAS_RANGE_SWITCHED = 1 << 4
RANGE_SWITCH_HZ = 200.0
"""The SR830 switches its detection range when harmonic × frequency crosses this, Hz."""
STB_NO_SCAN = 1 << 0
STB_IDLE = 1 << 1
STB_ERROR_SUMMARY = 1 << 2
STB_LIA_SUMMARY = 1 << 3
STB_EVENT_SUMMARY = 1 << 5
STB_SERVICE_REQUEST = 1 << 6

_COMMAND = re.compile(r"^(\*?[A-Za-z]+)\s*(\?)?\s*(.*)$")


class SignalSource(Protocol):
    """What the demodulator reads: the bench's TIA output (signal and noise)."""

    def tia_signal(self, frequency_hz: float) -> complex:
        """Complex amplitude (peak, V) at ``frequency_hz``."""
        ...

    def tia_noise_psd_v2_per_hz(self, frequency_hz: np.ndarray) -> np.ndarray:
        """One-sided voltage noise density, V²/Hz."""
        ...


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
        bench: SignalSource,
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
        self, carrier_rad: np.ndarray, rate_hz: float, frequency_hz: float, bench: SignalSource
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


Handler = Callable[[list[str]], "str | bytes | None"]


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
        Fault injection: while True, every step latches the UNLK bit (so does selecting the
        external reference, whose input nothing drives on the bench).

    Notes
    -----
    Settings of the input stage (configuration, coupling, grounding, notch, reserve, current
    gain), the sine output, aux outputs, display layout and presets are stored, validated and
    reported as the instrument does; they do not change the simulated signal, which is the
    bench's TIA output (a low-impedance voltage source without DC or line pick-up). Aux inputs
    read 0 V (nothing connected). A harmonic above 1 finds only noise (the LED is modulated at
    the fundamental).
    """

    def __init__(
        self,
        bench: OpticalBench,
        facts: LockInFacts,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(bench, facts.idn, clock)
        self.facts = facts
        self.params = {param.mnemonic: param for param in facts.params}
        self.demodulator = Demodulator(bench.rng(facts.idn))
        self.reference_unlocked = False
        self.saved_setups: dict[int, dict[str, float]] = {}
        self.handlers = self._handlers()
        self.reset()

    def reset(self) -> None:
        """``*RST``: default settings, filter restarted, buffer cleared."""
        self.values: dict[str, float] = {}
        for param in self.facts.params:
            for channel in param.channels or (None,):
                self.values[_key(param.mnemonic, channel)] = param.default
        if "CDSP" in self.params:  # data channels show X, Y, R, theta
            for channel in self.params["CDSP"].channels:
                self.values[_key("CDSP", channel)] = channel
        self.displays = {1: [0, 0], 2: [0, 0]}  # SR830 DDEF: (quantity, ratio) per display
        self.offsets = {1: [0.0, 0], 2: [0.0, 0], 3: [0.0, 0]}  # SR830 OEXP: (%, expand)
        self.status_bits = 0
        self.error_bits = 0
        self.enables = {"*SRE": 0, "*ESE": 0, "LIAE": 0, "ERRE": 0}
        self.output = DemodulatorOutput(0j, 0.0, 0.0)
        self.demodulator.stage_outputs = None
        self.updated_at = self.clock()
        self.storage = Storage()

    # --- settings as the physics reads them -----------------------------------------------

    @property
    def sensitivity_index(self) -> int:
        """``SENS``/``SCAL`` index."""
        return int(self.values[self.facts.sensitivity_command])

    @property
    def time_constant_index(self) -> int:
        """``OFLT`` index."""
        return int(self.values["OFLT"])

    @property
    def slope_index(self) -> int:
        """``OFSL`` index (0..3 = 6..24 dB/oct)."""
        return int(self.values["OFSL"])

    @property
    def frequency_hz(self) -> float:
        """Reference frequency, Hz."""
        return self.values["FREQ"]

    @property
    def detection_frequency_hz(self) -> float:
        """Harmonic × reference frequency, Hz."""
        return self.values["HARM"] * self.values["FREQ"]

    @property
    def phase_deg(self) -> float:
        """Reference phase, degrees."""
        return self.values["PHAS"]

    @property
    def sensitivity_v(self) -> float:
        """Full-scale sensitivity, V."""
        return self.facts.sensitivities_v[self.sensitivity_index]

    @property
    def time_constant_s(self) -> float:
        """Time constant, s."""
        return self.facts.time_constants_s[self.time_constant_index]

    @property
    def input_range_v(self) -> float:
        """Peak input before the input overloads, V (SR86x: ``IRNG``)."""
        if "IRNG" in self.params:
            return SR860_INPUT_RANGES_V[int(self.values["IRNG"])]
        return INPUT_RANGE_V

    @property
    def external_reference_selected(self) -> bool:
        """Whether the reference is taken from the external input (SR830 ``FMOD 0``, SR86x
        ``RSRC`` external or dual), which nothing drives on the bench: the reference is then
        unlocked."""
        if "FMOD" in self.values:
            return self.values["FMOD"] == 0
        return self.values["RSRC"] in (1, 2)

    def equivalent_noise_bandwidth_hz(self) -> float:
        """ENBW of the output filter, Hz: 1/4, 1/8, 3/32, 5/64 of 1/tau for 1..4 poles."""
        return ENBW_TIMES_TAU[self.slope_index] / self.time_constant_s

    # --- simulation ------------------------------------------------------------------------

    def advance(self) -> None:
        """Run the demodulator up to now with the present settings; latch status bits; fill
        the data buffer."""
        now = self.clock()
        # The bench signal is at the modulation (reference) frequency: a harmonic above 1
        # finds no signal, only noise.
        self.output = self.demodulator.step(
            now - self.updated_at,
            self.frequency_hz,
            self.phase_deg,
            self.time_constant_s,
            self.slope_index + 1,
            self.bench if self.values["HARM"] == 1 else _DarkBench(self.bench),
        )
        self.updated_at = now
        if self.output.peak_input_v > self.input_range_v:
            self.status_bits |= self.facts.input_overload_bits
        if self.output.peak_r_v > self.sensitivity_v:
            self.status_bits |= self.facts.output_overload_bits
        if self.reference_unlocked or self.external_reference_selected:
            self.status_bits |= self.facts.unlock_bits
        self.storage.fill(now, self._display_pair(), self._sample_rate_hz())

    def quantity(self, name: str) -> float:
        """Present value of a quantity: ``x``, ``y``, ``r`` (V RMS, clipped near full scale),
        ``theta`` (deg), ``frequency`` (Hz), ``aux1``..``aux4`` (V, nothing connected),
        ``xnoise``/``ynoise`` (V RMS), ``ch1``/``ch2`` (SR830 displays), SR86x ``auxout1``/
        ``auxout2``, ``phase``, ``amplitude``, ``dclevel``, ``external``."""
        limit = OUTPUT_CLIP_FRACTION * self.sensitivity_v
        x = float(np.clip(self.output.xy_v.real, -limit, limit))
        y = float(np.clip(self.output.xy_v.imag, -limit, limit))
        if name in ("x", "y", "r", "theta"):
            return {
                "x": x,
                "y": y,
                "r": min(math.hypot(x, y), limit),
                "theta": math.degrees(math.atan2(y, x)),
            }[name]
        if name in ("xnoise", "ynoise"):
            return self.noise_v()
        if name in ("ch1", "ch2"):
            return self.display_value(int(name[-1]))
        aux_out = self.facts.aux_channels
        values = {
            "frequency": self.frequency_hz,
            "phase": self.phase_deg,
            "amplitude": self.values["SLVL"],
            "dclevel": self.values.get("SOFF", 0.0),
            "external": 0.0,  # nothing at the external reference input
            "auxout1": self.values[_key("AUXV", aux_out[0])],
            "auxout2": self.values[_key("AUXV", aux_out[1])],
        }
        return values.get(name, 0.0)  # aux inputs: nothing connected

    def noise_v(self) -> float:
        """RMS noise of X (or Y) at the present filter: the bench's voltage noise density at
        the detection frequency times the square root of the ENBW (each of X and Y carries
        half of the noise power of R's complex sum, hence 1/sqrt 2 per axis is not applied:
        the lock-in scales X and Y to RMS of the input)."""
        truth = self.bench.truth(self.detection_frequency_hz)
        return truth.lockin_noise_density_v_per_rthz * math.sqrt(
            self.equivalent_noise_bandwidth_hz()
        )

    def display_value(self, display: int) -> float:
        """SR830 CH1/CH2 display: X, R, X noise, Aux In 1, Aux In 2 (CH1) or Y, theta, Y noise,
        Aux In 3, Aux In 4 (CH2), with the offset and expand of X, Y or R applied."""
        quantity, _ratio = self.displays[display]
        names = (("x", "r", "xnoise", "aux1", "aux2"), ("y", "theta", "ynoise", "aux3", "aux4"))
        name = names[display - 1][quantity]
        value = self.quantity(name)
        offset_channel = {"x": 1, "y": 2, "r": 3}.get(name)
        if offset_channel is not None:
            percent, expand = self.offsets[offset_channel]
            value = (value - percent / 100.0 * self.sensitivity_v) * (1, 10, 100)[int(expand)]
        return value

    def _display_pair(self) -> tuple[float, float]:
        if self.facts is SR830_FACTS:
            return self.display_value(1), self.display_value(2)
        return self.quantity("x"), self.quantity("y")

    def _sample_rate_hz(self) -> float | None:
        index = int(self.values.get("SRAT", 14))
        return None if index == 14 else SR830_SAMPLE_RATES_HZ[index]

    # --- command parsing -------------------------------------------------------------------

    def handle_command(self, command: str) -> str | bytes | None:
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

    def _handlers(self) -> dict[tuple[str, bool], Handler]:
        handlers: dict[tuple[str, bool], Handler] = {}
        for param in self.facts.params:
            handlers[(param.mnemonic, False)] = self._param_setter(param)
            handlers[(param.mnemonic, True)] = self._param_query(param)
        handlers.update(self._status_handlers())
        handlers.update(self._output_handlers())
        handlers.update(self._auto_handlers())
        if self.facts is SR830_FACTS:
            handlers.update(self._sr830_handlers())
        else:
            handlers.update(self._sr860_handlers())
        return handlers

    def _param_setter(self, param: Param) -> Handler:
        def set_param(arguments: list[str]) -> None:
            channel = _channel(arguments, param, expected=2)
            value = _parse_value(arguments[-1], param)
            self.check_setting(param.mnemonic, value)
            if param.mnemonic == "PHAS":
                value = _wrap_phase(value)
            detection_before = self.detection_frequency_hz
            self.values[_key(param.mnemonic, channel)] = value
            crossed = (detection_before > RANGE_SWITCH_HZ) != (
                self.detection_frequency_hz > RANGE_SWITCH_HZ
            )
            if crossed and self.facts is SR830_FACTS:
                self.status_bits |= LIAS_RANGE_SWITCHED

        return set_param

    def _param_query(self, param: Param) -> Handler:
        def query_param(arguments: list[str]) -> str:
            channel = _channel(arguments, param, expected=1)
            return _format(self.values[_key(param.mnemonic, channel)], param)

        return query_param

    def check_setting(self, mnemonic: str, value: float) -> None:
        """Refuse settings the instrument refuses in combination (ExecutionError)."""
        top = self.facts.frequency_range_hz[1]
        if mnemonic == "HARM" and value * self.values["FREQ"] > top:
            raise ExecutionError(-222, "Data out of range")
        if mnemonic == "FREQ" and value * self.values["HARM"] > top:
            raise ExecutionError(-222, "Data out of range")

    def _status_handlers(self) -> dict[tuple[str, bool], Handler]:
        handlers: dict[tuple[str, bool], Handler] = {
            ("*IDN", True): lambda _: self.idn,
            ("*RST", False): lambda _: self.reset(),
            ("*CLS", False): lambda _: self._clear_status(),
            ("*OPC", False): lambda _: None,
            ("*OPC", True): lambda _: "1",
            ("*TRG", False): lambda _: self.storage.trigger(self._display_pair()),
            ("*STB", True): lambda args: _bit_or_all(self.status_byte(), args, 8),
            ("*ESR", True): lambda args: self._read_and_clear("event_status", args, 8),
            ("LIAS", True): lambda args: self._read_and_clear(
                "status_bits", args, self.facts.lia_status_bits
            ),
            ("ERRS", True): lambda args: self._read_and_clear("error_bits", args, 8),
        }
        widths = {"*SRE": 8, "*ESE": 8, "LIAE": self.facts.lia_status_bits, "ERRE": 8}
        for name, width in widths.items():
            handlers[(name, False)] = self._enable_setter(name, width)
            handlers[(name, True)] = self._enable_query(name, width)
        return handlers

    def _output_handlers(self) -> dict[tuple[str, bool], Handler]:
        facts = self.facts
        return {
            ("OUTP", True): lambda args: self._values(args, (1, 1), facts.output_indices),
            ("SNAP", True): lambda args: self._values(args, facts.snap_count, facts.snap_indices),
            ("OAUX", True): self._aux_input,
        }

    def _auto_handlers(self) -> dict[tuple[str, bool], Handler]:
        return {
            ("AGAN", False): lambda _: self._auto_gain(),
            ("ARSV", False): lambda _: None,  # the reserve is not simulated
            ("APHS", False): lambda _: self._auto_phase(),
        }

    def _sr830_handlers(self) -> dict[tuple[str, bool], Handler]:
        return {
            ("DDEF", False): self._set_display,
            ("DDEF", True): lambda args: ",".join(
                str(value) for value in self.displays[_index_in(args, (1, 2))]
            ),
            ("OEXP", False): self._set_offset,
            ("OEXP", True): lambda args: "{:.2f},{}".format(
                *self.offsets[_index_in(args, (1, 2, 3))]
            ),
            ("AOFF", False): self._auto_offset,
            ("OUTR", True): lambda args: _format_float(self.display_value(_index_in(args, (1, 2)))),
            ("SSET", False): lambda args: self._save_setup(_index_in(args, tuple(range(1, 10)))),
            ("RSET", False): lambda args: self._recall_setup(_index_in(args, tuple(range(1, 10)))),
            ("STRT", False): lambda _: self.storage.start(self.clock(), 0.0),
            ("STRD", False): lambda _: self.storage.start(self.clock(), STRD_DELAY_S),
            ("PAUS", False): lambda _: self.storage.pause(),
            ("REST", False): lambda _: self.storage.reset(),
            ("TRIG", False): lambda _: self._trigger(),
            ("SPTS", True): lambda _: str(len(self.storage.points)),
            ("TRCA", True): lambda args: ",".join(
                _format_float(value) for value in self._trace(args)
            ),
            ("TRCB", True): lambda args: np.asarray(self._trace(args), "<f4").tobytes(),
            ("TRCL", True): lambda args: _lia_format(self._trace(args)),
        }

    def _sr860_handlers(self) -> dict[tuple[str, bool], Handler]:
        return {
            ("OUTR", True): lambda args: _format_float(self._data_channel(args)),
            ("SNAPD", True): lambda _: ",".join(
                _format_float(self._data_channel([str(channel)])) for channel in range(4)
            ),
            ("FREQINT", False): self.handlers_freq_set,
            ("FREQINT", True): lambda _: _format_float(self.frequency_hz),
            ("FREQEXT", True): lambda _: _format_float(0.0),
            ("FREQDET", True): lambda _: _format_float(self.detection_frequency_hz),
            ("ENBW", True): lambda _: _format_float(self.equivalent_noise_bandwidth_hz()),
            ("ILVL", True): lambda _: str(self._input_level()),
            ("TBSTAT", True): lambda _: "1",  # no external 10 MHz: internal timebase
            ("DCAP", False): lambda _: None,
        }

    def handlers_freq_set(self, arguments: list[str]) -> None:
        """``FREQINT x``: the internal reference frequency (as ``FREQ``)."""
        self._param_setter(self.params["FREQ"])(arguments)

    # --- status ---------------------------------------------------------------------------

    def status_byte(self) -> int:
        """Serial-poll status byte: SCN (SR830: no scan running), IFC (no command executing),
        ERR, LIA, ESB summaries, SRQ."""
        status = 0
        if self.facts is SR830_FACTS:
            status |= STB_IDLE | (0 if self.storage.running else STB_NO_SCAN)
        if self.error_bits & self.enables["ERRE"]:
            status |= STB_ERROR_SUMMARY
        if self.status_bits & self.enables["LIAE"]:
            status |= STB_LIA_SUMMARY
        if self.event_status & self.enables["*ESE"]:
            status |= STB_EVENT_SUMMARY
        if status & self.enables["*SRE"]:
            status |= STB_SERVICE_REQUEST
        return status

    def _clear_status(self) -> None:
        self.event_status = 0
        self.status_bits = 0
        self.error_bits = 0

    def _read_and_clear(self, attribute: str, arguments: list[str], width: int) -> str:
        value = getattr(self, attribute)
        if arguments:
            bit = _index_in(arguments, tuple(range(width)))
            setattr(self, attribute, value & ~(1 << bit))
            return str((value >> bit) & 1)
        setattr(self, attribute, 0)
        return str(value)

    def _enable_setter(self, name: str, width: int) -> Handler:
        def set_enable(arguments: list[str]) -> None:
            if len(arguments) == 2:
                bit = _index_in(arguments[:1], tuple(range(width)))
                on = _index_in(arguments[1:], (0, 1))
                mask = self.enables[name] & ~(1 << bit)
                self.enables[name] = mask | (on << bit)
                return
            self.enables[name] = _index_in(arguments, tuple(range(1 << width)))

        return set_enable

    def _enable_query(self, name: str, width: int) -> Handler:
        return lambda arguments: _bit_or_all(self.enables[name], arguments, width)

    # --- outputs ---------------------------------------------------------------------------

    def _values(
        self, arguments: list[str], count: tuple[int, int], accepted: Collection[int]
    ) -> str:
        """Answer ``OUTP?``/``SNAP?``: the requested quantities, comma-separated."""
        if not count[0] <= len(arguments) <= count[1]:
            raise ExecutionError(-109, "Wrong number of parameters")
        names = []
        for argument in arguments:
            index = self._parameter_index(argument)
            if index not in accepted or index not in self.facts.snap_indices:
                raise ExecutionError(-222, "Data out of range")
            names.append(self.facts.snap_indices[index])
        return ",".join(_format_float(self.quantity(name)) for name in names)

    def _aux_input(self, arguments: list[str]) -> str:
        """``OAUX? i``: an aux input, V (nothing is connected to them on the bench)."""
        number = self.facts.aux_channels.index(_index_in(arguments, self.facts.aux_channels))
        return _format_float(self.quantity(f"aux{number + 1}"))

    def _parameter_index(self, argument: str) -> int:
        """An SR86x parameter token (``THeta``, ``theta``) or a number."""
        for token, index in self.facts.tokens.items():
            if token_matches(argument, token):
                return index
        return _parse_index([argument], 1 + max(self.facts.snap_indices))

    def _data_channel(self, arguments: list[str]) -> float:
        channel = self._channel_token(arguments)
        return self.quantity(self.facts.snap_indices[int(self.values[_key("CDSP", channel)])])

    def _channel_token(self, arguments: list[str]) -> int:
        names = {"DAT1": 0, "DAT2": 1, "DAT3": 2, "DAT4": 3}
        if len(arguments) == 1 and arguments[0].upper() in names:
            return names[arguments[0].upper()]
        return _index_in(arguments, (0, 1, 2, 3))

    def _input_level(self) -> int:
        """Signal strength 0..4: peak input against the input range (overload = 4)."""
        fraction = self.output.peak_input_v / self.input_range_v
        return int(np.searchsorted([0.01, 0.1, 0.5, 1.0], fraction, side="right"))

    # --- SR830 displays, offsets, setups, storage -------------------------------------------

    def _set_display(self, arguments: list[str]) -> None:
        if len(arguments) != 3:
            raise ExecutionError(-109, "Wrong number of parameters")
        display = _index_in(arguments[:1], (1, 2))
        quantity = _index_in(arguments[1:2], tuple(range(5)))
        ratio = _index_in(arguments[2:], (0, 1, 2))
        self.displays[display] = [quantity, ratio]

    def _set_offset(self, arguments: list[str]) -> None:
        if len(arguments) != 3:
            raise ExecutionError(-109, "Wrong number of parameters")
        channel = _index_in(arguments[:1], (1, 2, 3))
        percent = _parse_number(arguments[1:2])
        if not -105.0 <= percent <= 105.0:
            raise ExecutionError(-222, "Data out of range")
        self.offsets[channel] = [round(percent, 2), _index_in(arguments[2:], (0, 1, 2))]

    def _auto_offset(self, arguments: list[str]) -> None:
        channel = _index_in(arguments, (1, 2, 3))
        value = self.quantity(("x", "y", "r")[channel - 1])
        percent = float(np.clip(100.0 * value / self.sensitivity_v, -105.0, 105.0))
        self.offsets[channel][0] = round(percent, 2)

    def _auto_gain(self) -> None:
        """The most sensitive range that holds R with 10 % to spare (input noise included)."""
        r = math.hypot(self.output.xy_v.real, self.output.xy_v.imag)
        fitting = [i for i, s in enumerate(self.facts.sensitivities_v) if s >= 1.1 * r]
        best = min(fitting, key=lambda i: self.facts.sensitivities_v[i]) if fitting else None
        if best is None:
            best = int(np.argmax(self.facts.sensitivities_v))
        self.values[self.facts.sensitivity_command] = best

    def _auto_phase(self) -> None:
        """Turn the reference phase so that theta reads zero."""
        theta = math.degrees(math.atan2(self.output.xy_v.imag, self.output.xy_v.real))
        self.values["PHAS"] = _wrap_phase(self.phase_deg + theta)
        self.demodulator.stage_outputs = None  # the outputs restart from the new phase

    def _save_setup(self, number: int) -> None:
        self.saved_setups[number] = dict(self.values)

    def _recall_setup(self, number: int) -> None:
        if number not in self.saved_setups:
            raise ExecutionError(-222, "Data out of range")
        self.values.update(self.saved_setups[number])

    def _trigger(self) -> None:
        if self.values["TSTR"] and not self.storage.running:
            self.storage.start(self.clock(), 0.0)
        if self._sample_rate_hz() is None and self.storage.running:
            self.storage.trigger(self._display_pair())
            self.status_bits |= LIAS_TRIGGERED

    def _trace(self, arguments: list[str]) -> list[float]:
        """Points ``j .. j+k-1`` of buffer ``i`` (1 = CH1, 2 = CH2); error if beyond N."""
        if len(arguments) != 3:
            raise ExecutionError(-109, "Wrong number of parameters")
        buffer = _index_in(arguments[:1], (1, 2))
        stored = len(self.storage.points)
        first = _parse_index(arguments[1:2], stored + 1)
        count = _parse_index(arguments[2:], stored + 1)
        if count < 1 or first + count > stored:
            raise ExecutionError(-222, "Data out of range")
        return [point[buffer - 1] for point in self.storage.points[first : first + count]]


class Storage:
    """SR830 data storage: CH1/CH2 display pairs at the sample rate (or at each trigger), one
    shot or loop (``SEND``), at most ``SR830_BUFFER_POINTS``."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """``REST``: empty and stopped."""
        self.points: list[tuple[float, float]] = []
        self.running = False
        self.started_at = 0.0
        self.taken = 0
        self.loop = True

    def start(self, now_s: float, delay_s: float) -> None:
        """``STRT`` (``STRD``: after ``delay_s``)."""
        if not self.running:
            self.started_at = now_s + delay_s
            self.taken = 0
            self.running = True

    def pause(self) -> None:
        """``PAUS``."""
        self.running = False

    def fill(self, now_s: float, pair: tuple[float, float], rate_hz: float | None) -> bool:
        """Store the samples due by ``now_s`` (all equal to the present displays: the
        simulation runs from command to command); True if any was stored."""
        if not self.running or rate_hz is None or now_s < self.started_at:
            return False
        due = int((now_s - self.started_at) * rate_hz) + 1 - self.taken
        for _ in range(max(due, 0)):
            self._store(pair)
        self.taken += max(due, 0)
        return due > 0

    def trigger(self, pair: tuple[float, float]) -> None:
        """A trigger in trigger mode (``SRAT 14``) stores one sample."""
        if self.running:
            self._store(pair)

    def _store(self, pair: tuple[float, float]) -> None:
        if len(self.points) >= SR830_BUFFER_POINTS:
            if not self.loop:
                self.running = False
                return
            del self.points[0]
        self.points.append(pair)


class _DarkBench:
    """The bench seen at a harmonic of the modulation: noise only, no signal."""

    def __init__(self, bench: OpticalBench) -> None:
        self._bench = bench

    def tia_signal(self, frequency_hz: float) -> complex:
        return 0j

    def tia_noise_psd_v2_per_hz(self, frequency_hz: np.ndarray) -> np.ndarray:
        return self._bench.tia_noise_psd_v2_per_hz(frequency_hz)


def _key(mnemonic: str, channel: int | None) -> str:
    return mnemonic if channel is None else f"{mnemonic}{channel}"


def _channel(arguments: list[str], param: Param, *, expected: int) -> int | None:
    """The channel argument of ``param`` (None if it has none); checks the argument count
    (``expected`` = with channel for a set: 2, for a query: 1)."""
    count = expected if param.channels else expected - 1
    if len(arguments) != count:
        raise ExecutionError(-109, "Wrong number of parameters")
    return _index_in(arguments[:1], param.channels) if param.channels else None


def _parse_value(text: str, param: Param) -> float:
    value = _parse_number([text])
    if param.integer and not value.is_integer():
        raise ExecutionError(-222, "Data out of range")
    if not param.low <= value <= param.high:
        raise ExecutionError(-222, "Data out of range")
    return int(value) if param.integer else value


def _format(value: float, param: Param) -> str:
    return str(int(value)) if param.integer else _format_float(value)


def _format_float(value: float) -> str:
    return f"{value:.7g}"


def _wrap_phase(phase_deg: float) -> float:
    """Phase wrapped into (-180, 180] degrees, as the instrument shows it."""
    wrapped = math.remainder(phase_deg, 360.0)
    return 180.0 if wrapped == -180.0 else wrapped


def _bit_or_all(value: int, arguments: list[str], width: int) -> str:
    if arguments:
        return str((value >> _index_in(arguments, tuple(range(width)))) & 1)
    return str(value)


def _lia_format(values: list[float]) -> bytes:
    """SR830 ``TRCL?`` "LIA" format: per point a 16-bit mantissa m and a 16-bit exponent e,
    little-endian, value = m × 2^(e - 124)."""
    out = bytearray()
    for value in values:
        exponent = 124 if value == 0 else math.ceil(math.log2(abs(value) / 32767.0)) + 124
        mantissa = round(value / 2.0 ** (exponent - 124))
        out += int(mantissa).to_bytes(2, "little", signed=True)
        out += int(exponent).to_bytes(2, "little", signed=True)
    return bytes(out)


def _parse_number(arguments: list[str]) -> float:
    """The one numeric parameter of a command; ExecutionError otherwise."""
    if len(arguments) != 1:
        raise ExecutionError(-109, "Missing parameter")
    try:
        value = float(arguments[0])
    except ValueError:
        raise ExecutionError(-224, "Illegal parameter value") from None
    if not math.isfinite(value):
        raise ExecutionError(-224, "Illegal parameter value")
    return value


def _parse_index(arguments: list[str], count: int) -> int:
    """One integer parameter in ``0 .. count - 1``; ExecutionError otherwise."""
    value = _parse_number(arguments)
    if not value.is_integer() or not 0 <= value < count:
        raise ExecutionError(-222, "Data out of range")
    return int(value)


def _index_in(arguments: list[str], allowed: tuple[int, ...]) -> int:
    """One integer parameter that is one of ``allowed``; ExecutionError otherwise."""
    value = _parse_number(arguments)
    if not value.is_integer() or int(value) not in allowed:
        raise ExecutionError(-222, "Data out of range")
    return int(value)


def sr830_sim(bench: OpticalBench, clock: Callable[[], float] = time.monotonic) -> LockInSim:
    """A simulated SR830 on ``bench``."""
    return LockInSim(bench, SR830_FACTS, clock)


def sr860_sim(bench: OpticalBench, clock: Callable[[], float] = time.monotonic) -> LockInSim:
    """A simulated SR860 on ``bench``."""
    return LockInSim(bench, SR860_FACTS, clock)
