"""Wire codec of the detector board protocol (see ``docs/detector-protocol.md``).

A packet is ``header | payload | crc``; on the wire each packet is COBS-encoded and followed
by a single ``0x00`` delimiter, so a receiver can always find the start of the next packet
after corrupt or lost bytes.
"""

from __future__ import annotations

import binascii
import enum
import struct
from dataclasses import dataclass

import numpy as np
from cobs import cobs

PROTOCOL_VERSION = 1
HEADER = struct.Struct("<BBHI")  # version, message type, sequence number, payload length
CRC = struct.Struct("<H")
DELIMITER = b"\x00"
MAX_PAYLOAD_BYTES = 4 * 1024 * 1024
STREAM_FRAME_HEADER = struct.Struct("<IQBHfHH")
RESPONSE_FLAG = 0x80


class MessageType(enum.IntEnum):
    """Message type codes. A response to command ``c`` has type ``c | 0x80``."""

    IDENTIFY = 0x01
    GET_INTEGRATION_TIME = 0x02
    SET_INTEGRATION_TIME = 0x03
    GET_GAIN = 0x04
    SET_GAIN = 0x05
    GET_FRAME_RATE = 0x06
    SET_FRAME_RATE = 0x07
    GET_ROI = 0x08
    SET_ROI = 0x09
    GET_LED_PATTERN = 0x0A
    SET_LED_PATTERN = 0x0B
    START_STREAM = 0x0C
    STOP_STREAM = 0x0D
    READ_TEMPERATURE = 0x0E
    GET_CALIBRATION_ID = 0x0F
    SET_CALIBRATION_ID = 0x10
    RESET = 0x11
    STREAM_FRAME = 0x40
    ERROR = 0x7F


class ErrorCode(enum.IntEnum):
    """Codes carried by an ``ERROR`` response."""

    UNKNOWN_COMMAND = 1
    BAD_LENGTH = 2
    OUT_OF_RANGE = 3
    BUSY_STREAMING = 4
    CORRUPT_PACKET = 5
    UNSUPPORTED_VERSION = 6
    INTERNAL = 7


ERROR_DESCRIPTIONS: dict[int, str] = {
    ErrorCode.UNKNOWN_COMMAND: "unknown command",
    ErrorCode.BAD_LENGTH: "payload has the wrong length",
    ErrorCode.OUT_OF_RANGE: "parameter out of range",
    ErrorCode.BUSY_STREAMING: "not allowed while streaming",
    ErrorCode.CORRUPT_PACKET: "packet failed its CRC",
    ErrorCode.UNSUPPORTED_VERSION: "unsupported protocol version",
    ErrorCode.INTERNAL: "internal device error",
}


class PacketError(ValueError):
    """A chunk between delimiters is not a valid packet."""


@dataclass(frozen=True)
class Packet:
    """One decoded packet.

    Attributes
    ----------
    message_type : int
        A :class:`MessageType` code (responses have bit 7 set).
    sequence : int
        Sequence number, 0..65535; a response echoes its command's number.
    payload : bytes
        Message body, layout per message type.
    """

    message_type: int
    sequence: int
    payload: bytes


@dataclass(frozen=True)
class StreamFrame:
    """One detector frame as streamed by the board.

    Attributes
    ----------
    frame_counter : int
        Counts every frame the board produced since ``START_STREAM``, from 0.
    device_time_us : int
        Board clock at the start of the exposure, µs.
    led_step : int
        Index of the step in the LED pattern that lit this frame.
    wavelength_nm : int
        Wavelength of that step, nm.
    temperature_c : float
        Board temperature, °C.
    pixels : numpy.ndarray
        ``(height, width)`` uint16 pixel values, DN.
    """

    frame_counter: int
    device_time_us: int
    led_step: int
    wavelength_nm: int
    temperature_c: float
    pixels: np.ndarray


def crc16(data: bytes) -> int:
    """CRC-16/CCITT-FALSE (polynomial 0x1021, initial value 0xFFFF) of ``data``."""
    return binascii.crc_hqx(data, 0xFFFF)


def encode_packet(message_type: int, sequence: int, payload: bytes = b"") -> bytes:
    """Encode one packet for the wire: COBS(header + payload + CRC) + delimiter."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise ValueError(f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD_BYTES}")
    body = HEADER.pack(PROTOCOL_VERSION, message_type, sequence & 0xFFFF, len(payload)) + payload
    encoded: bytes = cobs.encode(body + CRC.pack(crc16(body)))
    return encoded + DELIMITER


def decode_packet(chunk: bytes) -> Packet:
    """Decode the bytes between two delimiters into a :class:`Packet`.

    Raises
    ------
    PacketError
        If the chunk is not valid COBS, is too short, fails its CRC, has an unknown protocol
        version or a length field that disagrees with its size.
    """
    try:
        raw = cobs.decode(chunk)
    except cobs.DecodeError as exc:
        raise PacketError(f"invalid COBS encoding ({exc})") from None
    if len(raw) < HEADER.size + CRC.size:
        raise PacketError(f"packet of {len(raw)} bytes is shorter than header and CRC")
    body, (received_crc,) = raw[: -CRC.size], CRC.unpack(raw[-CRC.size :])
    if crc16(body) != received_crc:
        raise PacketError("CRC mismatch")
    version, message_type, sequence, length = HEADER.unpack_from(body)
    if version != PROTOCOL_VERSION:
        raise PacketError(f"protocol version {version}, expected {PROTOCOL_VERSION}")
    payload = body[HEADER.size :]
    if len(payload) != length:
        raise PacketError(f"length field says {length} bytes, payload has {len(payload)}")
    return Packet(message_type, sequence, bytes(payload))


class StreamDecoder:
    """Incremental decoder: feed it bytes as they arrive, get whole packets back.

    It resynchronises on the next delimiter after any corrupt chunk and counts what it had to
    throw away. Memory is bounded: a run of bytes without a delimiter longer than the largest
    possible packet is discarded.

    Attributes
    ----------
    resyncs : int
        Number of chunks discarded because they were not valid packets.
    discarded_bytes : int
        Bytes thrown away with those chunks.
    """

    MAX_CHUNK_BYTES = 2 * (MAX_PAYLOAD_BYTES + HEADER.size + CRC.size)

    def __init__(self) -> None:
        self._buffer = bytearray()
        self.resyncs = 0
        self.discarded_bytes = 0

    def feed(self, data: bytes) -> list[Packet]:
        """Add received bytes; return every packet completed by them, in order."""
        self._buffer += data
        packets: list[Packet] = []
        start = 0
        while (end := self._buffer.find(DELIMITER, start)) >= 0:
            chunk = bytes(self._buffer[start:end])
            start = end + 1
            if not chunk:
                continue
            try:
                packets.append(decode_packet(chunk))
            except PacketError:
                self.resyncs += 1
                self.discarded_bytes += len(chunk) + 1
        del self._buffer[:start]
        if len(self._buffer) > self.MAX_CHUNK_BYTES:
            self.resyncs += 1
            self.discarded_bytes += len(self._buffer)
            self._buffer.clear()
        return packets


def encode_stream_frame(frame: StreamFrame) -> bytes:
    """Payload of a ``STREAM_FRAME`` message."""
    height, width = frame.pixels.shape
    header = STREAM_FRAME_HEADER.pack(
        frame.frame_counter & 0xFFFFFFFF,
        frame.device_time_us,
        frame.led_step,
        frame.wavelength_nm,
        frame.temperature_c,
        height,
        width,
    )
    return header + np.ascontiguousarray(frame.pixels, dtype="<u2").tobytes()


def decode_stream_frame(payload: bytes) -> StreamFrame:
    """Parse a ``STREAM_FRAME`` payload.

    Raises
    ------
    PacketError
        If the pixel block does not match the frame size in the header.
    """
    if len(payload) < STREAM_FRAME_HEADER.size:
        raise PacketError(f"stream frame payload of {len(payload)} bytes is too short")
    counter, time_us, step, wavelength, temperature, height, width = (
        STREAM_FRAME_HEADER.unpack_from(payload)
    )
    pixel_bytes = len(payload) - STREAM_FRAME_HEADER.size
    if pixel_bytes != 2 * height * width:
        raise PacketError(
            f"stream frame declares {height}x{width} pixels but carries {pixel_bytes} bytes"
        )
    pixels = np.frombuffer(payload, dtype="<u2", offset=STREAM_FRAME_HEADER.size)
    return StreamFrame(
        counter, time_us, step, wavelength, temperature, pixels.reshape(height, width)
    )
