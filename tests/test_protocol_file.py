"""Protocol files: the shipped ones validate; every error names the file, line and field."""

from __future__ import annotations

import hashlib
import sys
import textwrap
import types
from pathlib import Path

import pytest

from instrument.config import load_config, simulated
from protocols.protocol_file import (
    STEP_KINDS,
    ProtocolError,
    detector_settings,
    load_protocol,
    parse_protocol,
    shipped_protocols,
)

SHIPPED = {
    "daily-qc",
    "detector-characterisation",
    "dot-lesion-scan",
    "spo2-accuracy-study",
    "spo2-monitoring",
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


def test_shipped_protocols_are_the_six_and_all_validate():
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
    assert "allowed: signal" in message  # led_signal needs lit frames, not the dark step


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


def test_duplicate_keys_name_the_file_line_and_key():
    clinical_then_research = VALID.replace(
        "intended_use: research\n", "intended_use: clinical\nintended_use: research\n"
    )
    assert error_of(clinical_then_research) == (
        "lab/tiny.yaml:4: intended_use: duplicate key (each key may appear once in a mapping)"
    )
    two_step_lists = VALID + "steps:\n  - kind: report\n"
    assert error_of(two_step_lists).startswith("lab/tiny.yaml:24: steps: duplicate key")
    nested = with_steps_replaced("    duration_s: 2\n", "    duration_s: 2\n    duration_s: 3\n")
    assert error_of(nested).startswith("lab/tiny.yaml:15: duration_s: duplicate key")


@pytest.mark.parametrize("name", [".", "..", "a.b", "a/b"])
def test_step_names_are_letters_digits_dash_and_underscore(name):
    message = error_of(with_steps_replaced("name: dark\n", f"name: {name!r}\n"))
    assert message.startswith("lab/tiny.yaml:10: steps[0].name: String should match pattern")


def test_a_file_that_is_not_utf8_is_named(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes(VALID.replace("tiny", "tïny").encode("latin-1"))
    with pytest.raises(ProtocolError) as caught:
        load_protocol(path)
    assert str(caught.value) == f"{path}: not a UTF-8 text file"


def test_hash_and_text_are_the_files_bytes_with_crlf_line_endings(tmp_path):
    content = VALID.replace("\n", "\r\n").encode("utf-8")
    path = tmp_path / "crlf.yaml"
    path.write_bytes(content)
    protocol = load_protocol(path)
    assert protocol.sha256 == hashlib.sha256(content).hexdigest()
    assert protocol.text.encode("utf-8") == content
    assert [s.name for s in protocol.steps][:2] == ["dark", "signal"]


def test_gate_figure_must_be_one_the_gated_step_produces():
    message = error_of(with_steps_replaced("figure: led.min_signal_dn", "figure: led.mean_dn"))
    assert message == (
        "lab/tiny.yaml:22: steps[3].figure: step 'led' produces no figure 'mean_dn'; "
        "allowed: min_signal_dn, signal_<nm>_dn"
    )
    per_wavelength = with_steps_replaced("figure: led.min_signal_dn", "figure: led.signal_660_dn")
    assert parse_protocol(per_wavelength, "x").steps[3].figure == "led.signal_660_dn"


def test_analysis_options_are_checked_per_analysis():
    unknown = with_steps_replaced("    dark: dark\n", "    dark: dark\n    options: {bogus: 1}\n")
    assert error_of(unknown) == (
        "lab/tiny.yaml:21: steps[2].options.bogus: unknown field (not allowed here) "
        "(options of led_signal: roi)"
    )
    wrong_type = with_steps_replaced(
        "    dark: dark\n", "    dark: dark\n    options:\n      roi: {height: tall, width: 4}\n"
    )
    assert error_of(wrong_type).startswith(
        "lab/tiny.yaml:22: steps[2].options.roi.height: Input should be a valid integer"
    )
    good = with_steps_replaced(
        "    dark: dark\n", "    dark: dark\n    options:\n      roi: {height: '8', width: 4}\n"
    )
    assert parse_protocol(good, "x").steps[2].options == {"roi": {"height": 8, "width": 4}}


def test_analysis_source_must_be_of_a_kind_the_analysis_reads():
    message = error_of(with_steps_replaced("led_signal", "detector_characterisation"))
    assert message == (
        "lab/tiny.yaml:19: steps[2].source: 'signal' is not an earlier step with data for "
        "detector_characterisation; allowed: none so far"
    )


DOT = """\
name: dot
version: "1"
intended_use: research
steps:
  - kind: acquire
    name: reference
    duration_s: 1
  - kind: acquire
    name: lesion
    duration_s: 1
  - kind: analyse
    analysis: dot
    source: lesion
    options: {{baseline: {baseline}, thickness_mm: {thickness}}}
"""


def test_dot_baseline_must_be_an_earlier_acquire_step_and_options_are_typed():
    assert parse_protocol(DOT.format(baseline="reference", thickness=20), "x").steps[2].options == {
        "baseline": "reference",
        "thickness_mm": 20.0,
    }
    message = error_of(DOT.format(baseline="nowhere", thickness=20))
    assert message.startswith("lab/tiny.yaml:14: steps[2].options.baseline: 'nowhere' is not an")
    message = error_of(DOT.format(baseline="reference", thickness=-1))
    assert message.startswith(
        "lab/tiny.yaml:14: steps[2].options.thickness_mm: Input should be greater than 0"
    )
    missing = DOT.format(baseline="reference", thickness=1).replace(", thickness_mm: 1", "")
    assert "steps[2].options.thickness_mm: Field required" in error_of(missing)


@pytest.mark.parametrize("limit", [".nan", ".inf"])
def test_non_finite_gate_limits_are_refused(limit):
    message = error_of(with_steps_replaced("low: 10", f"low: {limit}"))
    assert message == "lab/tiny.yaml:23: steps[3].low: Input should be a finite number"


def test_an_hour_long_acquisition_is_allowed_and_a_day_is_the_limit():
    # Frames stream to the record (no step holds them in memory): no 600 s cap any more.
    protocol = parse_protocol(with_steps_replaced("duration_s: 2", "duration_s: 3600"), "x.yaml")
    assert protocol.steps[1].duration_s == 3600
    message = error_of(with_steps_replaced("duration_s: 2", "duration_s: 90000"))
    assert message.endswith("steps[1].duration_s: Input should be less than or equal to 86400")


def test_a_clinical_protocol_must_name_its_required_calibrations():
    message = error_of(VALID.replace("intended_use: research", "intended_use: clinical"))
    assert message.startswith(
        "lab/tiny.yaml:3: required_calibrations: a clinical protocol must name"
    )
    named = VALID.replace(
        "intended_use: research", "intended_use: clinical\nrequired_calibrations: [spo2-curve]"
    )
    assert parse_protocol(named, "x").required_calibrations == ("spo2-curve",)


def test_device_settings_are_checked_with_file_line_and_field_before_any_hardware():
    config, _ = load_config(None)
    detector = simulated(config).detector
    slow_exposure = VALID.replace("device:\n", "device:\n  integration_time_us: 10000\n")
    with pytest.raises(ProtocolError) as caught:
        detector_settings(parse_protocol(slow_exposure, "lab/tiny.yaml"), detector, (64, 64))
    assert str(caught.value).startswith("lab/tiny.yaml:5: device: integration_time_us 10000 ")
    beyond = VALID.replace(
        "device:\n", "device:\n  roi: {row: 32, col: 32, height: 64, width: 64}\n"
    )
    with pytest.raises(ProtocolError) as caught:
        detector_settings(parse_protocol(beyond, "lab/tiny.yaml"), detector, (64, 64))
    assert str(caught.value) == (
        "lab/tiny.yaml:5: device.roi: rows 32+64, cols 32+64 extend beyond the 64×64 sensor"
    )
    bad_gain = VALID.replace("device:\n", "device:\n  gain: 3\n")
    with pytest.raises(ProtocolError, match=r"^lab/tiny.yaml:5: device.gain: Input should be"):
        detector_settings(parse_protocol(bad_gain, "lab/tiny.yaml"), detector, None)


def test_a_prompt_needs_its_message():
    prompt = "steps:\n  - kind: prompt\n    name: place\n"
    message = error_of(with_steps_replaced("steps:\n", prompt))
    assert message.startswith("lab/tiny.yaml:9: steps[0].message: Field required")
    text = with_steps_replaced("steps:\n", "steps:\n  - kind: prompt\n    message: Place it.\n")
    assert parse_protocol(text, "lab/tiny.yaml").steps[0].message == "Place it."


def _documented_step_kind():
    """The worked example of docs/protocols.md ("Adding a step kind"), as a module."""
    text = (Path(__file__).parents[1] / "docs" / "protocols.md").read_text(encoding="utf-8")
    section = text[text.index("### Adding a step kind") :]
    code = section[section.index("```python\n") + len("```python\n") : section.index("```\n\nand")]
    module = types.ModuleType("board_temperature")
    sys.modules[module.__name__] = module  # where pydantic resolves the model's annotations
    try:
        exec(compile(code, "docs/protocols.md", "exec"), module.__dict__)
    finally:
        del sys.modules[module.__name__]
    return module.KIND


def test_the_documented_new_step_kind_joins_the_schema_and_the_gates():
    kind = _documented_step_kind()
    assert kind.name == "board_temperature"
    kinds = {**STEP_KINDS, kind.name: kind}
    text = with_steps_replaced(
        "steps:\n",
        "steps:\n  - kind: board_temperature\n"
        "  - kind: qc_gate\n    figure: board_temperature.board_temperature_c\n    high: 45\n",
    )
    protocol = parse_protocol(text, "lab/tiny.yaml", kinds)
    assert [step.kind for step in protocol.steps[:2]] == ["board_temperature", "qc_gate"]
    misspelt = text.replace(
        "  - kind: board_temperature\n", "  - kind: board_temperature\n    hot: 1\n"
    )
    with pytest.raises(ProtocolError, match=r"^lab/tiny.yaml:10: steps\[0\].hot: unknown field"):
        parse_protocol(misspelt, "lab/tiny.yaml", kinds)
    with pytest.raises(ProtocolError, match="unknown step kind 'board_temperature'"):
        parse_protocol(text, "lab/tiny.yaml")
