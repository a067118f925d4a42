"""Protocol files: the shipped ones validate; every error names the file, line and field."""

from __future__ import annotations

import hashlib
import textwrap

import pytest

from protocols.protocol_file import (
    STEP_KINDS,
    ProtocolError,
    load_protocol,
    parse_protocol,
    shipped_protocols,
)

SHIPPED = {
    "daily-qc",
    "detector-characterisation",
    "dot-lesion-scan",
    "spo2-screening",
    "tissue-oxygenation-map",
}

VALID = """\
name: tiny
version: "1"
intended_use: research
device:
  led_pattern:
    - {wavelength_nm: 660, drive_current_ma: 0.5}
    - {wavelength_nm: 940, drive_current_ma: 1.0}
steps:
  - kind: dark_reference
    name: dark
    duration_s: 1
  - kind: acquire
    name: signal
    duration_s: 2
    wavelengths_nm: [660, 940]
  - kind: analyse
    name: led
    analysis: led_signal
    source: signal
    dark: dark
  - kind: qc_gate
    figure: led.min_signal_dn
    low: 10
"""


def with_steps_replaced(old: str, new: str) -> str:
    assert old in VALID
    return VALID.replace(old, new)


def error_of(text: str) -> str:
    with pytest.raises(ProtocolError) as caught:
        parse_protocol(text, "lab/tiny.yaml")
    return str(caught.value)


def test_shipped_protocols_are_the_five_and_all_validate():
    assert set(shipped_protocols()) == SHIPPED
    for name in SHIPPED:
        protocol = load_protocol(name)
        assert protocol.name == name
        assert protocol.source == f"shipped:{name}"
        assert protocol.intended_use in ("clinical", "qc", "research")
        assert protocol.steps[-1].kind == "report"


def test_valid_protocol_keeps_text_hash_and_defaults_step_names():
    protocol = parse_protocol(VALID, "lab/tiny.yaml")
    assert protocol.sha256 == hashlib.sha256(VALID.encode()).hexdigest()
    assert protocol.text == VALID
    assert [s.name for s in protocol.steps] == ["dark", "signal", "led", "qc_gate"]
    assert protocol.step("signal").duration_s == 2


def test_file_path_is_named_in_errors(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text(with_steps_replaced("duration_s: 2", "duration_s: -2"))
    with pytest.raises(ProtocolError) as caught:
        load_protocol(path)
    message = str(caught.value)
    assert message.startswith(f"{path}:14: steps[1].duration_s: ")
    assert "greater than 0" in message


def test_malformed_yaml_names_the_line():
    text = VALID.replace("    name: signal\n", "    name: signal\n   bad: [unclosed\n")
    message = error_of(text)
    assert message.startswith("lab/tiny.yaml:14: not valid YAML")


def test_unknown_step_kind_names_line_and_lists_the_allowed_kinds():
    message = error_of(with_steps_replaced("kind: acquire", "kind: acquier"))
    assert message.startswith("lab/tiny.yaml:12: steps[1]: unknown step kind 'acquier'")
    assert all(kind in message for kind in STEP_KINDS)


def test_bad_limits_name_the_gate_and_its_line():
    message = error_of(with_steps_replaced("low: 10", "low: 10\n    high: 5"))
    assert message.startswith("lab/tiny.yaml:21: steps[3]: ")
    assert "low 10 is above high 5" in message


def test_gate_without_limits_is_refused():
    message = error_of(with_steps_replaced("    low: 10\n", ""))
    assert message.startswith("lab/tiny.yaml:21: steps[3]: a QC gate needs low, high or both")


def test_missing_field_names_the_step_line_and_field():
    message = error_of(with_steps_replaced("    duration_s: 2\n", ""))
    assert message.startswith("lab/tiny.yaml:12: steps[1].duration_s: Field required")


def test_unknown_field_is_named():
    message = error_of(with_steps_replaced("duration_s: 2", "duration_s: 2\n    durattion: 3"))
    assert message.startswith("lab/tiny.yaml:15: steps[1].durattion: unknown field")


def test_wrong_intended_use_lists_the_allowed_values():
    message = error_of(VALID.replace("intended_use: research", "intended_use: diagnosis"))
    assert message.startswith("lab/tiny.yaml:3: intended_use: ")
    assert "'clinical', 'qc' or 'research'" in message


def test_unknown_analysis_lists_the_allowed_ones():
    message = error_of(with_steps_replaced("analysis: led_signal", "analysis: magic"))
    assert message.startswith("lab/tiny.yaml:18: steps[2].analysis: ")
    assert "'spo2'" in message and "'dot'" in message


def test_gate_on_a_step_that_does_not_come_before_it():
    message = error_of(with_steps_replaced("figure: led.min_signal_dn", "figure: later.x_dn"))
    assert message.startswith("lab/tiny.yaml:22: steps[3].figure: 'later' is not an earlier")
    assert "allowed: dark, signal, led" in message


def test_analysis_source_must_be_an_earlier_acquiring_step():
    message = error_of(with_steps_replaced("source: signal", "source: led"))
    assert message.startswith("lab/tiny.yaml:19: steps[2].source: 'led' is not an earlier step")
    assert "allowed: dark, signal" in message


def test_acquired_wavelengths_must_be_in_the_led_pattern():
    message = error_of(with_steps_replaced("[660, 940]", "[660, 850]"))
    assert message.startswith("lab/tiny.yaml:15: steps[1].wavelengths_nm: [850] nm not in")
    assert "allowed: [660, 940]" in message


def test_duplicate_step_names_are_refused():
    message = error_of(with_steps_replaced("name: led", "name: dark"))
    assert message.startswith("lab/tiny.yaml:17: steps[2].name: step name 'dark' is used twice")


def test_unknown_shipped_name_lists_the_shipped_ones():
    with pytest.raises(ProtocolError) as caught:
        load_protocol("daily-qcc")
    assert "no shipped protocol named 'daily-qcc'" in str(caught.value)
    assert "daily-qc" in str(caught.value).split("shipped:")[1]


def test_empty_and_non_mapping_files_are_refused():
    assert error_of("") == "lab/tiny.yaml:1: expected a mapping with name, version, steps …"
    assert error_of("- 1\n- 2\n").startswith("lab/tiny.yaml:1: expected a mapping")


def test_warm_up_window_must_fit_its_time_limit():
    text = textwrap.dedent(
        """\
        name: warm
        version: "1"
        intended_use: qc
        steps:
          - kind: warm_up
            window_s: 60
            max_duration_s: 30
        """
    )
    message = error_of(text)
    assert message.startswith("lab/tiny.yaml:5: steps[0]: window_s 60 must not exceed")
