"""Command handling and frame production of the simulated detector board.

This is the firmware side of ``docs/detector-protocol.md``: it knows nothing about file
descriptors; :mod:`drivers.sim.board` moves its bytes over a pseudo-terminal.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from drivers import detector_messages as msg
from drivers.detector_protocol import (
    RESPONSE_FLAG,
    ErrorCode,
    MessageType,
    Packet,
    PacketError,
    StreamFrame,
    encode_packet,
    encode_stream_frame,
)
from drivers.sim.scene import Scene

FIRMWARE_VERSION = "1.3.0-sim"
MODEL = "NIRPD-A64"


@dataclass(frozen=True)
class BoardSettings:
    """Settings the board keeps between commands."""

    integration_time_us: int
    gain: int
    frame_rate_hz: float
    roi: msg.Roi
    led_pattern: tuple[msg.LedStep, ...]
    calibration_id: str = ""


class CommandRejected(Exception):
    """A command the board answers with an ``ERROR`` response."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code


class BoardDevice:
    """State machine of one simulated detector board.

    Parameters
    ----------
    scene : drivers.sim.scene.Scene
        Physics that produces the pixels and the board temperature.
    serial : str
        Serial number the board reports.
    scenario_at_first_stream : bool
        Anchor the scene's tissue time at the start of the first stream (a scenario's events
        then count from the first frame).
    """

    def __init__(self, scene: Scene, serial: str, scenario_at_first_stream: bool = False) -> None:
        self.scene = scene
        self._scenario_pending = scenario_at_first_stream
        height, width = scene.sensor_shape
        self.identity = msg.Identity(
            model=MODEL,
            serial=serial,
            firmware=FIRMWARE_VERSION,
            sensor_height=height,
            sensor_width=width,
            bit_depth=scene.bit_depth,
            wavelengths_nm=scene.wavelengths_nm,
        )
        self.settings = self.default_settings()
        self.streaming = False
        self.stream_start_s = 0.0
        self.frames_produced = 0
        self.powered_on_s = 0.0
        self._stream_sequence = 0

    def power_on(self, now_s: float) -> None:
        """Power the board up again at `now_s` (s on the simulation's clock), as when its USB
        cable is plugged back: power-on settings (the calibration id is kept in flash), not
        streaming, its clock restarted at 0."""
        kept = self.settings.calibration_id
        self.settings = replace(self.default_settings(), calibration_id=kept)
        self.streaming = False
        self.frames_produced = 0
        self.powered_on_s = now_s

    def default_settings(self) -> BoardSettings:
        """Power-on settings: full sensor, 200 Hz, red and infrared LEDs interleaved at 0.5 mA."""
        wavelengths = self.identity.wavelengths_nm
        return BoardSettings(
            integration_time_us=2000,
            gain=1,
            frame_rate_hz=200.0,
            roi=msg.Roi(0, 0, self.identity.sensor_height, self.identity.sensor_width, 1),
            led_pattern=(msg.LedStep(wavelengths[0], 0.5), msg.LedStep(wavelengths[-1], 0.5)),
        )

    # ----------------------------------------------------------------- commands
    def handle(self, packet: Packet, now_s: float) -> bytes:
        """Answer one command packet; return the encoded response."""
        queries = self._queries()
        setters = self._setters()
        try:
            if packet.message_type in queries:
                if packet.payload:
                    raise PacketError(f"query takes no payload, got {len(packet.payload)} bytes")
                payload = queries[packet.message_type](now_s)
            elif packet.message_type in setters:
                payload = setters[packet.message_type](packet.payload, now_s)
            else:
                return self._error(packet, ErrorCode.UNKNOWN_COMMAND, "unknown command")
        except CommandRejected as exc:
            return self._error(packet, exc.code, str(exc))
        except PacketError as exc:
            return self._error(packet, ErrorCode.BAD_LENGTH, str(exc))
        except ValueError as exc:
            return self._error(packet, ErrorCode.OUT_OF_RANGE, str(exc))
        return encode_packet(packet.message_type | RESPONSE_FLAG, packet.sequence, payload)

    def _error(self, packet: Packet, code: ErrorCode, message: str) -> bytes:
        payload = msg.pack_error(code, packet.message_type & 0xFF, message)
        return encode_packet(MessageType.ERROR, packet.sequence, payload)

    def _queries(self) -> dict[int, Callable[[float], bytes]]:
        t = MessageType
        settings = self.settings
        return {
            t.IDENTIFY: lambda now: msg.pack_identity(self.identity),
            t.GET_INTEGRATION_TIME: lambda now: msg.pack_u32(settings.integration_time_us),
            t.GET_GAIN: lambda now: msg.pack_u8(settings.gain),
            t.GET_FRAME_RATE: lambda now: msg.pack_u32(round(settings.frame_rate_hz * 1000)),
            t.GET_ROI: lambda now: msg.pack_roi(settings.roi),
            t.GET_LED_PATTERN: lambda now: msg.pack_led_pattern(settings.led_pattern),
            t.READ_TEMPERATURE: lambda now: msg.pack_f32(self.scene.board_temperature_c(now)),
            t.GET_CALIBRATION_ID: lambda now: msg.pack_string(settings.calibration_id),
            t.START_STREAM: self._start_stream,
            t.STOP_STREAM: self._stop_stream,
            t.RESET: self._reset,
        }

    def _setters(self) -> dict[int, Callable[[bytes, float], bytes]]:
        t = MessageType
        return {
            t.SET_INTEGRATION_TIME: self._set_integration_time,
            t.SET_GAIN: self._set_gain,
            t.SET_FRAME_RATE: self._set_frame_rate,
            t.SET_ROI: self._set_roi,
            t.SET_LED_PATTERN: self._set_led_pattern,
            t.SET_CALIBRATION_ID: self._set_calibration_id,
        }

    def _require_idle(self) -> None:
        if self.streaming:
            raise CommandRejected(ErrorCode.BUSY_STREAMING, "stop streaming before changing it")

    def _update(self, **changes: Any) -> bytes:
        self._require_idle()
        self.settings = replace(self.settings, **changes)
        return b""

    def _set_integration_time(self, payload: bytes, now_s: float) -> bytes:
        value = msg.validate_integration_time_us(msg.unpack_u32(payload))
        if value > 1e6 / self.settings.frame_rate_hz:
            raise ValueError(
                f"integration time {value} µs exceeds the frame period "
                f"{1e6 / self.settings.frame_rate_hz:.0f} µs"
            )
        return self._update(integration_time_us=value)

    def _set_gain(self, payload: bytes, now_s: float) -> bytes:
        return self._update(gain=msg.validate_gain(msg.unpack_u8(payload)))

    def _set_frame_rate(self, payload: bytes, now_s: float) -> bytes:
        rate = msg.validate_frame_rate_hz(msg.unpack_u32(payload) / 1000)
        if self.settings.integration_time_us > 1e6 / rate:
            raise ValueError(
                f"frame period {1e6 / rate:.0f} µs is shorter than the integration time "
                f"{self.settings.integration_time_us} µs"
            )
        return self._update(frame_rate_hz=rate)

    def _set_roi(self, payload: bytes, now_s: float) -> bytes:
        roi = msg.validate_roi(
            msg.unpack_roi(payload), self.identity.sensor_height, self.identity.sensor_width
        )
        return self._update(roi=roi)

    def _set_led_pattern(self, payload: bytes, now_s: float) -> bytes:
        steps = msg.unpack_led_pattern(payload)
        return self._update(
            led_pattern=msg.validate_led_pattern(steps, self.identity.wavelengths_nm)
        )

    def _set_calibration_id(self, payload: bytes, now_s: float) -> bytes:
        text, end = msg.unpack_string(payload)
        if end != len(payload):
            raise PacketError("calibration id payload has trailing bytes")
        return self._update(calibration_id=msg.validate_calibration_id(text))

    def _start_stream(self, now_s: float) -> bytes:
        if self._scenario_pending:
            self.scene.start_scenario(now_s)
            self._scenario_pending = False
        self.streaming = True
        self.stream_start_s = now_s
        self.frames_produced = 0
        return b""

    def _stop_stream(self, now_s: float) -> bytes:
        self.streaming = False
        return b""

    def _reset(self, now_s: float) -> bytes:
        self.streaming = False
        self.settings = self.default_settings()
        return b""

    # ------------------------------------------------------------------ streaming
    def next_frame_due_s(self) -> float:
        """Device time at which the next frame's exposure starts, s."""
        return self.stream_start_s + self.frames_produced / self.settings.frame_rate_hz

    def produce_frame(self) -> tuple[StreamFrame, bytes]:
        """Expose the next frame of the stream; return it and its encoded packet."""
        settings = self.settings
        counter = self.frames_produced
        step_index = counter % len(settings.led_pattern)
        step = settings.led_pattern[step_index]
        start_s = self.next_frame_due_s()
        roi = settings.roi
        exposure_s = settings.integration_time_us * 1e-6
        pixels = self.scene.frame(
            start_s + exposure_s / 2,
            step.wavelength_nm,
            step.drive_current_ma,
            exposure_s,
            roi=(roi.row, roi.col, roi.height, roi.width),
            binning=roi.binning,
            gain=settings.gain,
        )
        frame = StreamFrame(
            frame_counter=counter,
            device_time_us=round((start_s - self.powered_on_s) * 1e6),
            led_step=step_index,
            wavelength_nm=step.wavelength_nm,
            temperature_c=self.scene.board_temperature_c(start_s),
            pixels=pixels,
        )
        self.frames_produced += 1
        self._stream_sequence = (self._stream_sequence + 1) & 0xFFFF
        packet = encode_packet(
            MessageType.STREAM_FRAME, self._stream_sequence, encode_stream_frame(frame)
        )
        return frame, packet
