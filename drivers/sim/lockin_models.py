"""Command-set facts of the simulated SR830 and SR860 (device side).

One line per setting (:class:`Param`): mnemonic, allowed values, default, channel indices when
the first argument selects a channel. Sources: ``../shared/reference/lockin-commands.md``
(SR830 manual ch. 5, SR865A manual ch. 4, and drivers that agree with them).
"""

from __future__ import annotations

from dataclasses import dataclass


def _decades(mantissas: tuple[float, ...], exponents: range) -> list[float]:
    return [float(f"{m}e{e}") for e in exponents for m in mantissas]


@dataclass(frozen=True)
class Param:
    """One stored setting, ``MNEM (?) {ch,} value``.

    ``low``/``high`` bound the value; ``integer`` settings are indices. ``channels`` lists the
    channel numbers the first argument may take (empty: no channel argument).
    """

    mnemonic: str
    low: float
    high: float
    default: float
    integer: bool = True
    channels: tuple[int, ...] = ()


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
    harmonic_max: int
    params: tuple[Param, ...]
    """Every stored setting, the core ones (sensitivity, time constant, slope, frequency,
    phase, sine amplitude, harmonic) included."""
    snap_indices: dict[int, str]
    """Index -> quantity name for SNAP?/OUTP?."""
    snap_count: tuple[int, int]
    output_indices: tuple[int, ...]
    """Indices ``OUTP?`` accepts."""
    tokens: dict[str, int]
    """Parameter tokens (short forms; long forms are accepted too) -> index (SR86x)."""
    aux_channels: tuple[int, ...]
    input_overload_bits: int
    output_overload_bits: int
    unlock_bits: int
    lia_status_bits: int
    """Width of the LIA status register, bits."""
    interface_command: bool
    """Whether ``OUTX`` exists."""


_SR830_SNAP = {1: "x", 2: "y", 3: "r", 4: "theta", 5: "aux1", 6: "aux2", 7: "aux3", 8: "aux4",
               9: "frequency", 10: "ch1", 11: "ch2"}  # fmt: skip
_SR830_AUX = (1, 2, 3, 4)

SR830_FACTS = LockInFacts(
    idn="Stanford_Research_Systems,SR830,s/n86012,ver1.07",
    sensitivity_command="SENS",
    sensitivities_v=tuple(_decades((2, 5, 10), range(-9, 0))),
    time_constants_s=tuple(_decades((1, 3), range(-5, 5))),
    frequency_range_hz=(0.001, 102e3),
    phase_range_deg=(-360.0, 729.99),
    sine_amplitude_range_v=(0.004, 5.0),
    harmonic_max=19999,
    params=(
        Param("SENS", 0, 26, 26),
        Param("OFLT", 0, 19, 10),
        Param("OFSL", 0, 3, 1),
        Param("FREQ", 0.001, 102e3, 1000.0, integer=False),
        Param("PHAS", -360.0, 729.99, 0.0, integer=False),
        Param("SLVL", 0.004, 5.0, 1.0, integer=False),
        Param("HARM", 1, 19999, 1),
        Param("FMOD", 0, 1, 1),  # reference source: 0 external, 1 internal
        Param("RSLP", 0, 2, 0),  # external reference trigger: sine, TTL rising, TTL falling
        Param("ISRC", 0, 3, 0),  # input: A, A-B, I (1 MOhm), I (100 MOhm)
        Param("IGND", 0, 1, 0),  # shield: float, ground
        Param("ICPL", 0, 1, 0),  # coupling: AC, DC
        Param("ILIN", 0, 3, 3),  # notch: none, line, 2x line, both
        Param("RMOD", 0, 2, 1),  # reserve: high reserve, normal, low noise
        Param("SYNC", 0, 1, 0),  # synchronous filter below 200 Hz
        Param("AUXV", -10.5, 10.5, 0.0, integer=False, channels=_SR830_AUX),
        Param("OUTX", 0, 1, 1),  # output interface: RS-232, GPIB
        Param("OVRM", 0, 1, 0),  # GPIB override remote
        Param("LOCL", 0, 2, 0),  # local, remote, local lockout
        Param("KCLK", 0, 1, 1),  # key click
        Param("ALRM", 0, 1, 1),  # alarms
        Param("SRAT", 0, 14, 10),  # storage sample rate 62.5 mHz … 512 Hz, 14 = trigger
        Param("SEND", 0, 1, 1),  # end of buffer: one shot, loop
        Param("TSTR", 0, 1, 0),  # a trigger starts the scan
        Param("FAST", 0, 2, 0),  # fast data transfer (GPIB only)
        Param("*PSC", 0, 1, 1),
    ),
    snap_indices=_SR830_SNAP,
    snap_count=(2, 6),
    output_indices=(1, 2, 3, 4),
    tokens={},
    aux_channels=_SR830_AUX,
    input_overload_bits=1 << 0,
    output_overload_bits=1 << 2,
    unlock_bits=1 << 3,
    lia_status_bits=8,
    interface_command=True,
)

_SR860_AUX = (0, 1, 2, 3)
_PRESETS = (0, 1, 2, 3)
_DATA_CHANNELS = (0, 1, 2, 3)

SR860_FACTS = LockInFacts(
    idn="Stanford_Research_Systems,SR860,003241,v1.51",
    sensitivity_command="SCAL",
    sensitivities_v=(1.0, *_decades((5, 2, 1), range(-1, -10, -1))),
    time_constants_s=tuple(_decades((1, 3), range(-6, 5))),
    frequency_range_hz=(0.001, 500e3),
    phase_range_deg=(-360000.0, 360000.0),
    sine_amplitude_range_v=(1e-9, 2.0),
    harmonic_max=99,
    params=(
        Param("SCAL", 0, 27, 0),
        Param("OFLT", 0, 21, 12),
        Param("OFSL", 0, 3, 1),
        Param("FREQ", 0.001, 500e3, 1000.0, integer=False),
        Param("PHAS", -360000.0, 360000.0, 0.0, integer=False),
        Param("SLVL", 1e-9, 2.0, 1.0, integer=False),
        Param("HARM", 1, 99, 1),
        Param("HARMDUAL", 1, 99, 1),
        Param("SOFF", -5.0, 5.0, 0.0, integer=False),  # sine out DC level, V
        Param("REFM", 0, 1, 0),  # sine DC mode: common, difference
        Param("RSRC", 0, 3, 0),  # reference: internal, external, dual, chop
        Param("RTRG", 0, 4, 0),  # external trigger: sine, pos/neg TTL, pos/neg TTL
        Param("REFZ", 0, 1, 1),  # external reference input: 50 Ohm, 1 MOhm
        Param("TBMODE", 0, 1, 0),  # 10 MHz timebase: auto, internal
        Param("IVMD", 0, 1, 0),  # input: voltage, current
        Param("ISRC", 0, 1, 0),  # voltage input: A, A-B
        Param("ICPL", 0, 1, 0),
        Param("IGND", 0, 1, 0),
        Param("IRNG", 0, 4, 0),  # voltage input range 1 V, 300 mV, 100 mV, 30 mV, 10 mV
        Param("ICUR", 0, 1, 0),  # current gain 1 MOhm, 100 MOhm
        Param("SYNC", 0, 1, 0),
        Param("ADVFILT", 0, 1, 0),
        Param("PSTF", 0.001, 500e3, 1000.0, integer=False, channels=_PRESETS),
        Param("PSTA", 1e-9, 2.0, 1.0, integer=False, channels=_PRESETS),
        Param("PSTL", -5.0, 5.0, 0.0, integer=False, channels=_PRESETS),
        Param("AUXV", -10.5, 10.5, 0.0, integer=False, channels=_SR860_AUX),
        Param("CDSP", 0, 16, 0, channels=_DATA_CHANNELS),  # defaults per channel: X, Y, R, θ
        Param("CGRF", 0, 1, 1, channels=_DATA_CHANNELS),
        Param("DBLK", 0, 1, 0),
        Param("DLAY", 0, 5, 0),
        Param("GSPD", 0, 16, 1),
        Param("*PSC", 0, 1, 1),
    ),
    snap_indices={
        0: "x",
        1: "y",
        2: "r",
        3: "theta",
        4: "aux1",
        5: "aux2",
        6: "aux3",
        7: "aux4",
        8: "xnoise",
        9: "ynoise",
        10: "auxout1",
        11: "auxout2",
        12: "phase",
        13: "amplitude",
        14: "dclevel",
        15: "frequency",
        16: "external",
    },
    snap_count=(2, 3),
    output_indices=tuple(range(17)),
    tokens={
        "X": 0,
        "Y": 1,
        "R": 2,
        "THeta": 3,
        "IN1": 4,
        "IN2": 5,
        "IN3": 6,
        "IN4": 7,
        "XNOise": 8,
        "YNOise": 9,
        "OUT1": 10,
        "OUT2": 11,
        "PHAse": 12,
        "SAMp": 13,
        "LEVel": 14,
        "FInt": 15,
        "FExt": 16,
    },
    aux_channels=_SR860_AUX,
    input_overload_bits=1 << 4,
    output_overload_bits=(1 << 0) | (1 << 1) | (0b1111 << 8),
    unlock_bits=1 << 3,
    lia_status_bits=16,
    interface_command=False,
)

SR860_INPUT_RANGES_V = (1.0, 0.3, 0.1, 0.03, 0.01)
SR830_SAMPLE_RATES_HZ = tuple(0.0625 * 2.0**k for k in range(14))
"""SRAT 0..13: 62.5 mHz … 512 Hz (14 = trigger)."""
SR830_BUFFER_POINTS = 16383
