"""Driver of the NIR detector board on a serial / USB-CDC link (pyserial).

One reader thread owns the receive side of the port: it decodes every packet, hands
responses to the command that waits for them (matched by sequence number) and streamed
frames to the consumer given to :meth:`DetectorBoard.start_stream`. Commands are serialised
by one lock per board, and every wait has a timeout. A port that is a device file is emptied
by a pump process (:mod:`drivers.serial_pump`) and the reader thread reads its pipe, so the
board's buffer never waits on this process.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import serial

from drivers import detector_messages as msg
from drivers.detector_protocol import (
    ERROR_DESCRIPTIONS,
    RESPONSE_FLAG,
    MessageType,
    Packet,
    PacketError,
    StreamDecoder,
    StreamFrame,
    decode_stream_frame,
    encode_packet,
)
from drivers.errors import DeviceDisconnected, DeviceError, DeviceErrorResponse, DeviceTimeout
from drivers.serial_pump import SerialPump

logger = logging.getLogger(__name__)

READ_POLL_S = 0.02
Parsed = TypeVar("Parsed")


@dataclass(frozen=True)
class ReceivedFrame:
    """A streamed frame with the host's monotonic clock at its arrival (s)."""

    frame: StreamFrame
    host_time_s: float


FrameConsumer = Callable[[ReceivedFrame], None]
FailureConsumer = Callable[[DeviceError], None]


class _PendingCommand:
    def __init__(self) -> None:
        self.done = threading.Event()
        self.packet: Packet | None = None
        self.error: DeviceError | None = None


class DetectorBoard:
    """One detector board.

    Nothing is opened by the constructor; call :meth:`connect` or use it as a context manager.

    Parameters
    ----------
    port : str
        Serial device path (``/dev/ttyACM0``, a pseudo-terminal) or a pyserial URL.
    timeout_s : float
        How long a command waits for its response, s.
    baudrate : int
        Line rate; USB-CDC ignores it, real UARTs do not.

    Attributes
    ----------
    resyncs : int
        Corrupt chunks the decoder discarded (garbage, lost or corrupted bytes).
    discarded_bytes : int
        Bytes thrown away with them.
    """

    def __init__(self, port: str, *, timeout_s: float = 1.0, baudrate: int = 3_000_000) -> None:
        if timeout_s <= 0:
            raise ValueError(f"timeout must be > 0 s, got {timeout_s}")
        self.port = port
        self.timeout_s = timeout_s
        self.baudrate = baudrate
        self._serial: serial.Serial | None = None
        self._reader: threading.Thread | None = None
        self._pump: SerialPump | None = None
        self._running = threading.Event()
        self._command_lock = threading.Lock()
        self._pending: dict[int, _PendingCommand] = {}
        self._pending_lock = threading.Lock()
        self._sequence = itertools.count(1)
        self._decoder = StreamDecoder()
        self._frame_consumer: FrameConsumer | None = None
        self._failure_consumer: FailureConsumer | None = None
        self._failure: DeviceError | None = None
        self._identity: msg.Identity | None = None
        self.malformed_frames = 0

    # ------------------------------------------------------------------ connection
    def connect(self) -> DetectorBoard:
        """Open the port and start the reader thread."""
        if self._serial is not None:
            return self
        try:
            self._serial = serial.serial_for_url(
                self.port,
                baudrate=self.baudrate,
                timeout=READ_POLL_S,
                write_timeout=self.timeout_s,
                exclusive=True,
            )
        except (serial.SerialException, OSError, ValueError) as exc:
            logger.info("cannot open the detector board port %s: %s", self.port, exc)
            raise DeviceDisconnected(
                f"cannot open the detector board port {self.port}: {exc}"
            ) from None
        if SerialPump.usable(self.port):
            self._pump = SerialPump(self.port)
            self._pump.start()
        logger.info("detector board port %s open", self.port)
        self._failure = None
        self._running.set()
        self._reader = threading.Thread(
            target=self._read_loop, name=f"detector-board-reader {self.port}", daemon=True
        )
        self._reader.start()
        return self

    def close(self) -> None:
        """Stop streaming if possible, stop the reader thread and close the port."""
        if self._serial is None:
            return
        if self._failure is None:
            with contextlib.suppress(DeviceError):
                self._command(MessageType.STOP_STREAM)
        self._running.clear()
        if self._pump is not None:
            self._pump.stop()
        if self._reader is not None:
            self._reader.join(timeout=5 * READ_POLL_S + 1)
        if self._pump is not None:
            self._pump.close()
            self._pump = None
        with contextlib.suppress(serial.SerialException, OSError):
            self._serial.close()
        self._serial = None
        self._reader = None
        logger.info(
            "detector board port %s closed (%d resyncs, %d bytes discarded)",
            self.port,
            self.resyncs,
            self.discarded_bytes,
        )

    def __enter__(self) -> DetectorBoard:
        return self.connect()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def resyncs(self) -> int:
        """Corrupt chunks discarded by the decoder so far."""
        return self._decoder.resyncs + self.malformed_frames

    @property
    def discarded_bytes(self) -> int:
        """Bytes discarded by the decoder so far."""
        return self._decoder.discarded_bytes

    # ------------------------------------------------------------------ receive side
    def _read_loop(self) -> None:
        assert self._serial is not None
        port, pump = self._serial, self._pump
        while self._running.is_set():
            try:
                data = port.read(max(1, port.in_waiting)) if pump is None else pump.read()
                if pump is not None and not data:
                    if not self._running.is_set():
                        return
                    raise OSError(pump.ending())
            except (serial.SerialException, OSError, TypeError, ValueError) as exc:
                if self._running.is_set():
                    self._fail(
                        DeviceDisconnected(
                            f"detector board on {self.port} disconnected ({exc}); "
                            "check the cable and power"
                        )
                    )
                return
            if data:
                arrival = time.monotonic()
                resyncs = self.resyncs
                try:
                    for packet in self._decoder.feed(data):
                        self._dispatch(packet, arrival)
                except Exception as exc:  # a consumer's bug must not silently kill the reader
                    logger.info("detector board on %s: receiving failed", self.port, exc_info=True)
                    self._fail(
                        DeviceError(f"detector board on {self.port}: receiving failed ({exc})")
                    )
                    return
                if self.resyncs != resyncs:
                    self._report_resyncs(first=resyncs == 0)

    def _report_resyncs(self, *, first: bool) -> None:
        """Log corrupt data the decoder skipped: the first time as a warning, then as debug."""
        logger.log(
            logging.WARNING if first else logging.DEBUG,
            "detector board on %s: resynchronised after corrupt data "
            "(%d resyncs, %d bytes discarded so far)",
            self.port,
            self.resyncs,
            self.discarded_bytes,
        )

    def _dispatch(self, packet: Packet, arrival_s: float) -> None:
        if packet.message_type == MessageType.STREAM_FRAME:
            try:
                frame = decode_stream_frame(packet.payload)
            except PacketError:
                self.malformed_frames += 1
                return
            consumer = self._frame_consumer
            if consumer is not None:
                consumer(ReceivedFrame(frame, arrival_s))
            return
        with self._pending_lock:
            pending = self._pending.pop(packet.sequence, None)
        if pending is not None:
            pending.packet = packet
            pending.done.set()

    def _fail(self, error: DeviceError) -> None:
        logger.info("link failed: %s", error)
        self._failure = error
        with self._pending_lock:
            waiting = list(self._pending.values())
            self._pending.clear()
        for pending in waiting:
            pending.error = error
            pending.done.set()
        if self._failure_consumer is not None:
            self._failure_consumer(error)

    # ------------------------------------------------------------------ commands
    def _command(self, message_type: MessageType, payload: bytes = b"") -> bytes:
        if self._serial is None:
            raise DeviceError(f"detector board on {self.port} is not connected; call connect()")
        if self._failure is not None:
            raise self._failure
        with self._command_lock:
            sequence = next(self._sequence) & 0xFFFF
            pending = _PendingCommand()
            with self._pending_lock:
                self._pending[sequence] = pending
            try:
                self._serial.write(encode_packet(message_type, sequence, payload))
            except serial.SerialTimeoutException:
                self._forget(sequence)
                logger.info(
                    "detector board on %s: write of %s timed out", self.port, message_type.name
                )
                raise DeviceTimeout(
                    f"detector board on {self.port} did not accept {message_type.name} "
                    f"within {self.timeout_s} s"
                ) from None
            except (serial.SerialException, OSError) as exc:
                self._forget(sequence)
                logger.info(
                    "detector board on %s: link lost sending %s (%s)",
                    self.port,
                    message_type.name,
                    exc,
                )
                raise DeviceDisconnected(
                    f"detector board on {self.port} disconnected while sending "
                    f"{message_type.name} ({exc})"
                ) from None
            if not pending.done.wait(self.timeout_s):
                self._forget(sequence)
                logger.info(
                    "detector board on %s: no answer to %s within %g s",
                    self.port,
                    message_type.name,
                    self.timeout_s,
                )
                raise DeviceTimeout(
                    f"detector board on {self.port} did not answer {message_type.name} "
                    f"within {self.timeout_s} s; is it powered and connected?"
                )
        if pending.error is not None:
            raise pending.error
        assert pending.packet is not None
        return self._check_response(message_type, pending.packet)

    def _forget(self, sequence: int) -> None:
        with self._pending_lock:
            self._pending.pop(sequence, None)

    def _check_response(self, message_type: MessageType, packet: Packet) -> bytes:
        if packet.message_type == MessageType.ERROR:
            try:
                code, _, text = msg.unpack_error(packet.payload)
            except PacketError as exc:
                raise DeviceErrorResponse(-1, f"unreadable error response ({exc})") from None
            meaning = ERROR_DESCRIPTIONS.get(code, f"error code {code}")
            logger.info(
                "detector board on %s refused %s (%s): %s",
                self.port,
                message_type.name,
                meaning,
                text,
            )
            raise DeviceErrorResponse(code, f"{message_type.name} rejected ({meaning}): {text}")
        if packet.message_type != message_type | RESPONSE_FLAG:
            raise DeviceError(
                f"detector board answered {message_type.name} with message type "
                f"0x{packet.message_type:02x}"
            )
        return packet.payload

    def _parse(self, parser: Callable[[bytes], Parsed], payload: bytes, what: str) -> Parsed:
        try:
            return parser(payload)
        except PacketError as exc:
            raise DeviceError(f"detector board sent a malformed {what}: {exc}") from None

    def identify(self) -> msg.Identity:
        """Model, serial number, firmware and sensor description."""
        identity = self._parse(msg.unpack_identity, self._command(MessageType.IDENTIFY), "identity")
        self._identity = identity
        return identity

    def _known_identity(self) -> msg.Identity:
        return self._identity if self._identity is not None else self.identify()

    @property
    def integration_time_us(self) -> int:
        """Exposure of each frame, µs (10..1 000 000, at most one frame period)."""
        return self._parse(
            msg.unpack_u32, self._command(MessageType.GET_INTEGRATION_TIME), "integration time"
        )

    @integration_time_us.setter
    def integration_time_us(self, value: int) -> None:
        msg.validate_integration_time_us(value)
        self._command(MessageType.SET_INTEGRATION_TIME, msg.pack_u32(value))

    @property
    def gain(self) -> int:
        """Analogue gain factor, one of 1, 2, 4, 8."""
        return self._parse(msg.unpack_u8, self._command(MessageType.GET_GAIN), "gain")

    @gain.setter
    def gain(self, value: int) -> None:
        msg.validate_gain(value)
        self._command(MessageType.SET_GAIN, msg.pack_u8(value))

    @property
    def frame_rate_hz(self) -> float:
        """Frames per second over all LED steps, Hz (1..1000, 1 mHz resolution)."""
        millihertz = self._parse(
            msg.unpack_u32, self._command(MessageType.GET_FRAME_RATE), "frame rate"
        )
        return millihertz / 1000

    @frame_rate_hz.setter
    def frame_rate_hz(self, value: float) -> None:
        msg.validate_frame_rate_hz(value)
        self._command(MessageType.SET_FRAME_RATE, msg.pack_u32(round(value * 1000)))

    @property
    def roi(self) -> msg.Roi:
        """Region of interest and binning."""
        return self._parse(msg.unpack_roi, self._command(MessageType.GET_ROI), "ROI")

    @roi.setter
    def roi(self, value: msg.Roi) -> None:
        identity = self._known_identity()
        msg.validate_roi(value, identity.sensor_height, identity.sensor_width)
        self._command(MessageType.SET_ROI, msg.pack_roi(value))

    @property
    def led_pattern(self) -> tuple[msg.LedStep, ...]:
        """LED steps lit in turn, one per frame."""
        return self._parse(
            msg.unpack_led_pattern, self._command(MessageType.GET_LED_PATTERN), "LED pattern"
        )

    @led_pattern.setter
    def led_pattern(self, steps: tuple[msg.LedStep, ...]) -> None:
        msg.validate_led_pattern(tuple(steps), self._known_identity().wavelengths_nm)
        self._command(MessageType.SET_LED_PATTERN, msg.pack_led_pattern(tuple(steps)))

    @property
    def calibration_id(self) -> str:
        """Id of the calibration record stored on the board."""
        payload = self._command(MessageType.GET_CALIBRATION_ID)
        text, _ = self._parse(msg.unpack_string, payload, "calibration id")
        return text

    @calibration_id.setter
    def calibration_id(self, value: str) -> None:
        msg.validate_calibration_id(value)
        self._command(MessageType.SET_CALIBRATION_ID, msg.pack_string(value))

    def read_temperature_c(self) -> float:
        """Board temperature, °C."""
        return self._parse(
            msg.unpack_f32, self._command(MessageType.READ_TEMPERATURE), "temperature"
        )

    def reset(self) -> None:
        """Return the board to its power-on settings (stops streaming)."""
        self._command(MessageType.RESET)

    def start_stream(
        self, on_frame: FrameConsumer, on_failure: FailureConsumer | None = None
    ) -> None:
        """Start streaming; ``on_frame`` is called from the reader thread for every frame.

        ``on_failure`` is called once if the link fails while streaming.
        """
        self._frame_consumer = on_frame
        self._failure_consumer = on_failure
        try:
            self._command(MessageType.START_STREAM)
        except DeviceError:
            self._frame_consumer = None
            self._failure_consumer = None
            raise

    def stop_stream(self) -> None:
        """Detach the frame consumer, stop streaming and detach the failure consumer.

        Frames still in flight are decoded and dropped: a backlog left by a slow consumer
        cannot delay the board's answer."""
        self._frame_consumer = None
        try:
            self._command(MessageType.STOP_STREAM)
        finally:
            self._frame_consumer = None
            self._failure_consumer = None
