"""Payload layouts of the detector board's commands and responses.

Both sides of the wire use these: the driver to build commands and parse responses, the
simulated board to parse commands and build responses. All integers are little-endian.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

from drivers.detector_protocol import PacketError

U8 = struct.Struct("<B")
U32 = struct.Struct("<I")
F32 = struct.Struct("<f")
ROI = struct.Struct("<HHHHB")
LED_STEP = struct.Struct("<Hf")
SENSOR = struct.Struct("<HHB")
ERROR = struct.Struct("<BB")

INTEGRATION_TIME_RANGE_US = (10, 1_000_000)
FRAME_RATE_RANGE_HZ = (1.0, 1000.0)
GAINS = (1, 2, 4, 8)
BINNINGS = (1, 2, 4)
DRIVE_CURRENT_RANGE_MA = (0.0, 100.0)
MAX_LED_STEPS = 8
MAX_CALIBRATION_ID_BYTES = 64


@dataclass(frozen=True)
class Identity:
    """What ``IDENTIFY`` returns.

    Attributes
    ----------
    model, serial, firmware : str
        Board model, serial number and firmware version.
    sensor_height, sensor_width : int
        Full sensor size, pixels.
    bit_depth : int
        ADC resolution, bits.
    wavelengths_nm : tuple of int
        LED wavelengths fitted to the board, nm.
    """

    model: str
    serial: str
    firmware: str
    sensor_height: int
    sensor_width: int
    bit_depth: int
    wavelengths_nm: tuple[int, ...]


@dataclass(frozen=True)
class Roi:
    """Region of interest on the sensor, in full-resolution pixels, and on-chip binning."""

    row: int
    col: int
    height: int
    width: int
    binning: int = 1

    @property
    def frame_shape(self) -> tuple[int, int]:
        """Shape of the frames this ROI produces, pixels."""
        return self.height // self.binning, self.width // self.binning


@dataclass(frozen=True)
class LedStep:
    """One step of the LED pattern: which LED, at what drive current (mA)."""

    wavelength_nm: int
    drive_current_ma: float


def pack_string(text: str, limit: int = 255) -> bytes:
    """Length-prefixed UTF-8 (u8 length)."""
    data = text.encode()
    if len(data) > limit:
        raise ValueError(f"text of {len(data)} bytes exceeds the {limit}-byte limit")
    return U8.pack(len(data)) + data


def unpack_string(payload: bytes, offset: int = 0) -> tuple[str, int]:
    """Read a length-prefixed string; return it and the offset after it."""
    if offset >= len(payload):
        raise PacketError("payload ends before a string")
    (length,) = U8.unpack_from(payload, offset)
    end = offset + 1 + length
    if end > len(payload):
        raise PacketError("string runs past the end of the payload")
    try:
        return payload[offset + 1 : end].decode(), end
    except UnicodeDecodeError:
        raise PacketError("string is not valid UTF-8") from None


def _unpack_exact(layout: struct.Struct, payload: bytes, what: str) -> tuple[Any, ...]:
    if len(payload) != layout.size:
        raise PacketError(f"{what} payload has {len(payload)} bytes, expected {layout.size}")
    return layout.unpack(payload)


def pack_identity(identity: Identity) -> bytes:
    """Payload of the ``IDENTIFY`` response."""
    return (
        pack_string(identity.model)
        + pack_string(identity.serial)
        + pack_string(identity.firmware)
        + SENSOR.pack(identity.sensor_height, identity.sensor_width, identity.bit_depth)
        + U8.pack(len(identity.wavelengths_nm))
        + struct.pack(f"<{len(identity.wavelengths_nm)}H", *identity.wavelengths_nm)
    )


def unpack_identity(payload: bytes) -> Identity:
    """Parse the ``IDENTIFY`` response."""
    model, offset = unpack_string(payload)
    serial, offset = unpack_string(payload, offset)
    firmware, offset = unpack_string(payload, offset)
    if len(payload) < offset + SENSOR.size + 1:
        raise PacketError("identity payload ends before the sensor description")
    height, width, bit_depth = SENSOR.unpack_from(payload, offset)
    (count,) = U8.unpack_from(payload, offset + SENSOR.size)
    start = offset + SENSOR.size + 1
    if len(payload) != start + 2 * count:
        raise PacketError("identity payload has the wrong number of wavelength bytes")
    wavelengths = struct.unpack_from(f"<{count}H", payload, start)
    return Identity(model, serial, firmware, height, width, bit_depth, tuple(wavelengths))


def pack_u32(value: int) -> bytes:
    """Unsigned 32-bit payload (integration time in µs, frame rate in mHz)."""
    return U32.pack(value)


def unpack_u32(payload: bytes) -> int:
    """Parse an unsigned 32-bit payload."""
    value: int = _unpack_exact(U32, payload, "u32")[0]
    return value


def pack_u8(value: int) -> bytes:
    """Unsigned 8-bit payload (gain)."""
    return U8.pack(value)


def unpack_u8(payload: bytes) -> int:
    """Parse an unsigned 8-bit payload."""
    value: int = _unpack_exact(U8, payload, "u8")[0]
    return value


def pack_f32(value: float) -> bytes:
    """32-bit float payload (temperature in °C)."""
    return F32.pack(value)


def unpack_f32(payload: bytes) -> float:
    """Parse a 32-bit float payload."""
    value: float = _unpack_exact(F32, payload, "f32")[0]
    return value


def pack_roi(roi: Roi) -> bytes:
    """Payload of ``SET_ROI`` and of the ``GET_ROI`` response."""
    return ROI.pack(roi.row, roi.col, roi.height, roi.width, roi.binning)


def unpack_roi(payload: bytes) -> Roi:
    """Parse an ROI payload."""
    return Roi(*_unpack_exact(ROI, payload, "ROI"))


def pack_led_pattern(steps: tuple[LedStep, ...]) -> bytes:
    """Payload of ``SET_LED_PATTERN`` and of the ``GET_LED_PATTERN`` response."""
    return U8.pack(len(steps)) + b"".join(
        LED_STEP.pack(step.wavelength_nm, step.drive_current_ma) for step in steps
    )


def unpack_led_pattern(payload: bytes) -> tuple[LedStep, ...]:
    """Parse an LED-pattern payload."""
    if not payload:
        raise PacketError("LED pattern payload is empty")
    (count,) = U8.unpack_from(payload)
    if len(payload) != 1 + count * LED_STEP.size:
        raise PacketError(f"LED pattern of {count} steps has {len(payload)} bytes")
    return tuple(
        LedStep(*LED_STEP.unpack_from(payload, 1 + i * LED_STEP.size)) for i in range(count)
    )


def pack_error(code: int, command: int, message: str) -> bytes:
    """Payload of an ``ERROR`` response."""
    return ERROR.pack(code, command) + message.encode()[:200]


def unpack_error(payload: bytes) -> tuple[int, int, str]:
    """Parse an ``ERROR`` response: (error code, offending command type, message)."""
    if len(payload) < ERROR.size:
        raise PacketError("error payload is too short")
    code, command = ERROR.unpack_from(payload)
    return code, command, payload[ERROR.size :].decode(errors="replace")


def validate_integration_time_us(value: int) -> int:
    """Check an integration time (µs); raise ``ValueError`` naming the allowed range."""
    low, high = INTEGRATION_TIME_RANGE_US
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"integration time must be a whole number of µs in {low}..{high}")
    return value


def validate_frame_rate_hz(value: float) -> float:
    """Check a frame rate (Hz, resolution 1 mHz); raise ``ValueError`` naming the range."""
    low, high = FRAME_RATE_RANGE_HZ
    if not low <= value <= high:
        raise ValueError(f"frame rate must be in {low:g}..{high:g} Hz, got {value!r}")
    if abs(value * 1000 - round(value * 1000)) > 1e-6:
        raise ValueError(f"frame rate has a resolution of 0.001 Hz, got {value!r}")
    return float(value)


def validate_gain(value: int) -> int:
    """Check an analogue gain factor; raise ``ValueError`` listing the allowed ones."""
    if value not in GAINS:
        raise ValueError(f"gain must be one of {GAINS}, got {value!r}")
    return int(value)


def validate_roi(roi: Roi, sensor_height: int, sensor_width: int) -> Roi:
    """Check an ROI against a sensor size (pixels); raise ``ValueError`` naming the limit."""
    if roi.binning not in BINNINGS:
        raise ValueError(f"binning must be one of {BINNINGS}, got {roi.binning!r}")
    if roi.height < roi.binning or roi.width < roi.binning:
        raise ValueError(f"ROI must be at least {roi.binning} pixels high and wide")
    if roi.height % roi.binning or roi.width % roi.binning:
        raise ValueError(f"ROI height and width must be multiples of the binning {roi.binning}")
    if roi.row + roi.height > sensor_height or roi.col + roi.width > sensor_width:
        raise ValueError(
            f"ROI rows {roi.row}..{roi.row + roi.height - 1}, cols {roi.col}.."
            f"{roi.col + roi.width - 1} fall outside the {sensor_height}x{sensor_width} sensor"
        )
    return roi


def validate_led_pattern(
    steps: tuple[LedStep, ...], wavelengths_nm: tuple[int, ...]
) -> tuple[LedStep, ...]:
    """Check an LED pattern against the fitted LEDs; raise ``ValueError`` naming the limit."""
    if not 1 <= len(steps) <= MAX_LED_STEPS:
        raise ValueError(f"LED pattern must have 1..{MAX_LED_STEPS} steps, got {len(steps)}")
    low, high = DRIVE_CURRENT_RANGE_MA
    for step in steps:
        if step.wavelength_nm not in wavelengths_nm:
            raise ValueError(
                f"no {step.wavelength_nm} nm LED on this board; fitted: {wavelengths_nm}"
            )
        if not low <= step.drive_current_ma <= high:
            raise ValueError(
                f"drive current must be in {low:g}..{high:g} mA, got {step.drive_current_ma!r}"
            )
    return tuple(steps)


def validate_calibration_id(value: str) -> str:
    """Check a calibration-record id; raise ``ValueError`` naming the limit."""
    if len(value.encode()) > MAX_CALIBRATION_ID_BYTES:
        raise ValueError(f"calibration id must be at most {MAX_CALIBRATION_ID_BYTES} bytes")
    return value
