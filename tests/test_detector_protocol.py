"""Wire codec of the detector board: round trips, resynchronisation, arbitrary input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers import detector_messages as msg
from drivers.detector_protocol import (
    DELIMITER,
    MessageType,
    PacketError,
    StreamDecoder,
    StreamFrame,
    crc16,
    decode_packet,
    decode_stream_frame,
    encode_packet,
    encode_stream_frame,
)

packets = st.tuples(
    st.integers(0, 255), st.integers(0, 0xFFFF), st.binary(min_size=0, max_size=300)
)


def test_crc_is_ccitt_false():
    assert crc16(b"123456789") == 0x29B1


@given(packets)
def test_packet_round_trip(packet):
    message_type, sequence, payload = packet
    wire = encode_packet(message_type, sequence, payload)
    assert wire.endswith(DELIMITER) and DELIMITER not in wire[:-1]
    decoded = decode_packet(wire[:-1])
    assert (decoded.message_type, decoded.sequence, decoded.payload) == packet


def test_corrupted_bit_is_rejected():
    wire = bytearray(encode_packet(MessageType.IDENTIFY, 7, b"hello"))
    wire[4] ^= 0x10
    with pytest.raises(PacketError):
        decode_packet(bytes(wire[:-1]))


def test_stream_frame_round_trip():
    pixels = np.arange(12, dtype=np.uint16).reshape(3, 4) * 4000
    frame = StreamFrame(41, 123_456_789_012, 1, 940, 31.5, pixels)
    decoded = decode_stream_frame(encode_stream_frame(frame))
    assert decoded.frame_counter == 41 and decoded.device_time_us == 123_456_789_012
    assert (decoded.led_step, decoded.wavelength_nm) == (1, 940)
    assert decoded.temperature_c == pytest.approx(31.5)
    np.testing.assert_array_equal(decoded.pixels, pixels)


def test_stream_frame_with_wrong_pixel_count_is_rejected():
    payload = encode_stream_frame(StreamFrame(0, 0, 0, 660, 25.0, np.zeros((2, 2), np.uint16)))
    with pytest.raises(PacketError, match="2x2 pixels"):
        decode_stream_frame(payload[:-2])


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=4000), st.integers(1, 64))
def test_arbitrary_bytes_never_crash_the_decoder(noise, split):
    decoder = StreamDecoder()
    for start in range(0, len(noise), split):
        for packet in decoder.feed(noise[start : start + split]):
            assert packet.message_type in range(256)
    assert decoder.discarded_bytes <= len(noise) + 1


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(packets, st.binary(max_size=200)), min_size=1, max_size=20))
def test_valid_packets_inside_garbage_are_all_recovered(items):
    """Garbage separated from packets by a delimiter never costs a valid packet."""
    wire = b"".join(garbage + DELIMITER + encode_packet(*packet) for packet, garbage in items)
    decoded = StreamDecoder().feed(wire)
    assert [(p.message_type, p.sequence, p.payload) for p in decoded] == [p for p, _ in items]


def test_garbage_without_delimiter_is_bounded():
    decoder = StreamDecoder()
    chunk = b"\x01" * (1 << 20)
    for _ in range(12):
        decoder.feed(chunk)
    assert decoder.resyncs >= 1
    packet = decoder.feed(DELIMITER + encode_packet(MessageType.RESET, 3))
    assert [(p.message_type, p.sequence) for p in packet] == [(MessageType.RESET, 3)]


def test_identity_round_trip():
    identity = msg.Identity("NIRPD-A64", "SN1", "1.0", 64, 64, 12, (660, 940))
    assert msg.unpack_identity(msg.pack_identity(identity)) == identity


def test_led_pattern_round_trip():
    steps = (msg.LedStep(660, 20.0), msg.LedStep(940, 12.5))
    assert msg.unpack_led_pattern(msg.pack_led_pattern(steps)) == steps


@pytest.mark.parametrize(
    ("check", "match"),
    [
        (lambda: msg.validate_integration_time_us(5), "10..1000000"),
        (lambda: msg.validate_frame_rate_hz(2000.0), "1..1000 Hz"),
        (lambda: msg.validate_frame_rate_hz(100.0005), "0.001 Hz"),
        (lambda: msg.validate_gain(3), r"\(1, 2, 4, 8\)"),
        (lambda: msg.validate_roi(msg.Roi(0, 0, 65, 64), 64, 64), "outside the 64x64"),
        (lambda: msg.validate_roi(msg.Roi(0, 0, 63, 64, 2), 64, 64), "multiples"),
        (lambda: msg.validate_led_pattern((msg.LedStep(700, 1.0),), (660, 940)), "fitted"),
        (lambda: msg.validate_led_pattern((msg.LedStep(660, 101.0),), (660,)), "0..100 mA"),
    ],
)
def test_validation_names_the_allowed_range(check, match):
    with pytest.raises(ValueError, match=match):
        check()
