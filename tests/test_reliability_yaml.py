"""YAML input is read with bounded work: an alias bomb, a recursive alias or absurd nesting is
refused at once with one line naming the file, wherever the YAML comes in."""

from __future__ import annotations

import time

import pytest
import yaml

from instrument import safe_yaml
from protocols.cli import main

pytestmark = pytest.mark.timeout(60)


def alias_bomb(levels: int = 9) -> str:
    """A few hundred bytes that expand to 9**levels scalars."""
    lines = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    for level in range(1, levels):
        name, previous = chr(ord("a") + level), chr(ord("a") + level - 1)
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]")
    return "\n".join(lines) + "\n"


BAD_YAML = {
    "bomb": (alias_bomb(), "alias bomb"),
    "recursive": ("name: &n [*n]\n", "contains itself"),
    "deep": ("name: " + "[" * 200 + "]" * 200 + "\n", "levels deep"),
}


def test_alias_bomb_is_small_and_refused_quickly():
    text = alias_bomb()
    assert len(text) < 500
    started = time.perf_counter()
    with pytest.raises(safe_yaml.YamlLimitError, match="expands to more than"):
        safe_yaml.load(text)
    assert time.perf_counter() - started < 1.0


def test_ordinary_yaml_with_aliases_and_merge_keys_loads_as_yaml_does():
    text = "base: &b {rate_hz: 50, roi: [0, 0, 8, 8]}\nstep:\n  <<: *b\n  rate_hz: 100\n"
    assert safe_yaml.load(text) == yaml.safe_load(text)
    assert safe_yaml.load("") is None


@pytest.mark.parametrize("case", sorted(BAD_YAML))
def test_protocol_file_is_refused_in_one_line(tmp_path, capsys, case):
    text, message = BAD_YAML[case]
    path = tmp_path / "protocol.yaml"
    path.write_text(text)
    code = main(["run", str(path), "--sim", "--out", str(tmp_path / "runs")])
    error = capsys.readouterr().err.strip()
    assert code == 2 and len(error.splitlines()) == 1, error
    assert str(path) in error and "not valid YAML" in error and message in error
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


@pytest.mark.parametrize("case", sorted(BAD_YAML))
def test_configuration_file_is_refused_in_one_line(tmp_path, capsys, case):
    text, message = BAD_YAML[case]
    path = tmp_path / "config.yaml"
    path.write_text(text)
    code = main(["acquire", "--config", str(path), "--out", str(tmp_path / "runs")])
    error = capsys.readouterr().err.strip()
    assert code == 2 and len(error.splitlines()) == 1, error
    assert str(path) in error and message in error


def test_calibration_context_file_is_refused_in_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("NIRPOCT_CALIBRATION_DIR", str(tmp_path / "registry"))
    monkeypatch.setenv("NIRPOCT_PASSWORD", "unused")
    context = tmp_path / "context.yaml"
    context.write_text(alias_bomb())
    (tmp_path / "registry").mkdir()
    assert main(["calib", "simulate-ptc", str(tmp_path / "ptc.h5"), "--size", "16"]) == 0
    capsys.readouterr()
    code = main(
        [
            "calib", "record-detector", str(tmp_path / "ptc.h5"), "--context", str(context),
            "--performer", "tech",
        ]
    )  # fmt: skip
    error = capsys.readouterr().err.strip()
    assert code == 2 and str(context) in error and "alias bomb" in error, error
