"""Protocol files (YAML): schema, validation with line numbers, and the shipped protocols.

A protocol names itself, its version and intended use, the calibrations it needs, the
detector settings it runs with and its steps. :func:`load_protocol` validates the whole file
before anything touches hardware; a :class:`ProtocolError` names the file, the line, the field
and what is allowed there. The format is documented in ``docs/protocols.md``.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated, Any, Literal, NoReturn, Union

import yaml
from pydantic import Field, ValidationError, create_model

from instrument import safe_yaml
from instrument.config import DetectorConfig, LedStepConfig, RoiConfig
from protocols.schema import EarlierSteps, StepBase, StepKind, Strict, explain
from protocols.steps import STEP_KINDS

SHIPPED_DIR = Path(__file__).parent / "shipped"
"""Where the shipped protocol files are."""


class ProtocolError(ValueError):
    """A protocol file is missing or invalid; the message names file, line and field."""


class DeviceSettings(Strict):
    """Detector settings that replace the instrument configuration's for this protocol."""

    frame_rate_hz: Annotated[float, Field(gt=0)] | None = None
    integration_time_us: Annotated[int, Field(gt=0)] | None = None
    gain: Literal[1, 2, 4, 8] | None = None
    roi: RoiConfig | None = None
    led_pattern: Annotated[list[LedStepConfig], Field(min_length=1, max_length=8)] | None = None


def step_figures(step: Any) -> tuple[str, ...]:
    """Names (or name patterns, e.g. ``signal_\\d+_dn``) of the numeric figures ``step``
    produces."""
    return STEP_KINDS[step.kind].figures_of(step)


class _ProtocolFields(Strict):
    name: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$")]
    version: Annotated[str, Field(min_length=1, max_length=32)]
    intended_use: Literal["clinical", "qc", "research"]
    description: str = ""
    required_calibrations: list[Annotated[str, Field(min_length=1)]] = Field(default_factory=list)
    device: DeviceSettings = DeviceSettings()


@functools.cache
def _spec_model(models: tuple[type[StepBase], ...]) -> type[_ProtocolFields]:
    """The whole file's model for these step models (one union, told apart by ``kind``)."""
    step = Annotated[Union[models], Field(discriminator="kind")]  # type: ignore[valid-type]  # noqa: UP007
    spec: type[_ProtocolFields] = create_model(
        "ProtocolSpec",
        __base__=_ProtocolFields,
        steps=(Annotated[list[step], Field(min_length=1)], ...),
    )
    return spec


@dataclass(frozen=True)
class Protocol:
    """A validated protocol and the text it came from.

    Attributes
    ----------
    steps : tuple
        Step models; every step has a unique ``name`` (defaulted to ``kind``, numbered when
        repeated).
    text, sha256 : str
        The file's text exactly as stored (line endings kept) and the SHA-256 (hex) of its
        UTF-8 bytes, which are the file's bytes; both are stored in the run record.
    source : str
        Where it came from (file path, or ``shipped:<name>``).
    """

    name: str
    version: str
    intended_use: str
    description: str
    required_calibrations: tuple[str, ...]
    device: DeviceSettings
    steps: tuple[Any, ...]
    text: str
    sha256: str
    source: str

    @property
    def clinical(self) -> bool:
        """True for clinical protocols (their calibrations must be approved and in date)."""
        return self.intended_use == "clinical"

    def step(self, name: str) -> Any:
        """The step named ``name``."""
        for step in self.steps:
            if step.name == name:
                return step
        raise KeyError(name)

    def with_monitor_duration(self, duration_s: float) -> Protocol:
        """This protocol with every ``monitor`` step limited to ``duration_s`` (s, > 0).

        Raises
        ------
        ValueError
            When the protocol has no monitor step.
        """
        if not any(step.kind == "monitor" for step in self.steps):
            raise ValueError(f"a duration applies to monitor steps; {self.name} has none")
        steps = tuple(
            step.model_copy(update={"duration_s": duration_s}) if step.kind == "monitor" else step
            for step in self.steps
        )
        return replace(self, steps=steps)


def shipped_protocols() -> dict[str, str]:
    """Names of the protocols that ship with nirpoct and their one-line descriptions."""
    folder = SHIPPED_DIR
    found = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml"):
            data = yaml.safe_load(entry.read_bytes().decode("utf-8")) or {}
            found[entry.name[: -len(".yaml")]] = str(data.get("description", "")).strip()
    return found


def load_protocol(name_or_path: str | Path) -> Protocol:
    """A shipped protocol by name, or a protocol file by path, validated.

    Raises
    ------
    ProtocolError
        The file is missing, not YAML, or invalid (naming the line and field).
    """
    text_name = str(name_or_path)
    path = Path(name_or_path)
    if path.suffix.lower() in (".yaml", ".yml") or path.exists() or "/" in text_name:
        try:
            content = path.read_bytes()
        except OSError as exc:
            raise ProtocolError(f"cannot read protocol {path}: {exc.strerror}") from None
        return parse_protocol(_decoded(content, str(path)), str(path))
    shipped = shipped_protocols()
    if text_name not in shipped:
        raise ProtocolError(
            f"no shipped protocol named {text_name!r} and no such file; shipped: "
            + ", ".join(shipped)
        )
    content = (SHIPPED_DIR / f"{text_name}.yaml").read_bytes()
    return parse_protocol(_decoded(content, f"shipped:{text_name}"), f"shipped:{text_name}")


def _decoded(content: bytes, source: str) -> str:
    """The file's text, line endings untouched (so that it hashes to the file's bytes)."""
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        raise ProtocolError(f"{source}: not a UTF-8 text file") from None


def parse_protocol(text: str, source: str, kinds: Mapping[str, StepKind] = STEP_KINDS) -> Protocol:
    """Validate protocol text; ``source`` names it in errors; ``kinds`` are the step kinds it
    may use (every kind of :mod:`protocols.steps`).

    Raises
    ------
    ProtocolError
        ``source:LINE: FIELD: problem (allowed …)``.
    """
    try:
        node = safe_yaml.compose(text)
        data = safe_yaml.construct(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        problem = getattr(exc, "problem", None) or str(exc)
        raise ProtocolError(f"{where}: not valid YAML: {problem}") from None
    if not isinstance(data, dict) or node is None:
        raise ProtocolError(f"{source}:1: expected a mapping with name, version, steps …")
    _check_unique_keys(node, source)
    try:
        spec: Any = _spec_model(tuple(kind.model for kind in kinds.values())).model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = tuple(error["loc"])
        line, field = _locate(node, loc, kinds)
        raise ProtocolError(f"{source}:{line}: {field}: {_explain(error, kinds)}") from None
    steps = _named_steps(spec.steps)
    steps = _check_references(spec, steps, node, source, kinds)
    if spec.intended_use == "clinical" and not spec.required_calibrations:
        line, _ = _locate(node, ("intended_use",))
        raise ProtocolError(
            f"{source}:{line}: required_calibrations: a clinical protocol must name the "
            "calibration kinds it needs (the runner refuses it unless each is usable)"
        )
    return Protocol(
        name=spec.name,
        version=spec.version,
        intended_use=spec.intended_use,
        description=spec.description.strip(),
        required_calibrations=tuple(spec.required_calibrations),
        device=spec.device,
        steps=steps,
        text=text,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        source=source,
    )


def detector_settings(
    protocol: Protocol, detector: DetectorConfig, sensor_shape: tuple[int, int] | None
) -> DetectorConfig:
    """The detector settings a protocol runs with: its ``device:`` settings over the
    instrument configuration's ``detector``, checked against each other and, when
    ``sensor_shape`` (rows, cols) is known, the ROI against the sensor.

    Raises
    ------
    ProtocolError
        ``source:LINE: device.FIELD: problem`` (the line of the field in the protocol file).
    """
    node = yaml.compose(protocol.text, Loader=yaml.SafeLoader)
    assert node is not None  # the text was validated as a mapping
    merged = {**detector.model_dump(), **protocol.device.model_dump(exclude_none=True)}
    try:
        settings = type(detector).model_validate(merged)
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = tuple(error["loc"])
        line, field = _locate(node, ("device", *loc[:1]))
        if loc and loc[0] not in protocol.device.model_fields_set:
            field = ".".join(str(part) for part in ("device", *loc))
        raise ProtocolError(
            f"{protocol.source}:{line}: {field}: {_explain(error)} "
            "(with the instrument configuration's other detector settings)"
        ) from None
    roi = settings.roi
    if roi is not None and sensor_shape is not None:
        rows, cols = sensor_shape
        if roi.row + roi.height > rows or roi.col + roi.width > cols:
            line, field = _locate(node, ("device", "roi"))
            raise ProtocolError(
                f"{protocol.source}:{line}: {field}: rows {roi.row}+{roi.height}, cols "
                f"{roi.col}+{roi.width} extend beyond the {rows}×{cols} sensor"
            )
    return settings


def _explain(error: Any, kinds: Mapping[str, StepKind] = STEP_KINDS) -> str:
    kind = error["type"]
    if kind == "union_tag_invalid":
        return f"unknown step kind {error['input'].get('kind')!r}; allowed: " + ", ".join(kinds)
    if kind == "union_tag_not_found":
        return "a step needs a kind: one of " + ", ".join(kinds)
    return explain(error)


def _check_unique_keys(node: yaml.Node, source: str) -> None:
    """Refuse a mapping that repeats a key (YAML loaders would silently keep the last)."""
    pending = [node]
    while pending:
        current = pending.pop()
        if isinstance(current, yaml.MappingNode):
            seen: set[str] = set()
            for key, value in current.value:
                if isinstance(key, yaml.ScalarNode):
                    if key.value in seen:
                        raise ProtocolError(
                            f"{source}:{key.start_mark.line + 1}: {key.value}: duplicate key "
                            "(each key may appear once in a mapping)"
                        )
                    seen.add(key.value)
                pending.append(value)
        elif isinstance(current, yaml.SequenceNode):
            pending.extend(current.value)


def _locate(
    node: yaml.Node, loc: tuple[Any, ...], kinds: Mapping[str, StepKind] = STEP_KINDS
) -> tuple[int, str]:
    """Line (1-based) and dotted field name of a pydantic error location in the YAML tree."""
    parts: list[str] = []
    for part in loc:
        if isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                break
            node = node.value[part]
            parts[-1:] = [f"{parts[-1]}[{part}]"] if parts else [f"[{part}]"]
            continue
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if k.value == part), None)
            if match is None:
                if str(part) in kinds:
                    continue  # the discriminator tag pydantic puts into the location
                parts.append(str(part))
                return node.start_mark.line + 1, ".".join(parts)
            parts.append(str(part))
            node = match
    return node.start_mark.line + 1, ".".join(parts) or "(top level)"


def _named_steps(steps: list[Any]) -> tuple[Any, ...]:
    counts: dict[str, int] = {}
    named = []
    for step in steps:
        if step.name is None:
            counts[step.kind] = counts.get(step.kind, 0) + 1
            total = sum(1 for s in steps if s.kind == step.kind and s.name is None)
            name = step.kind if total == 1 else f"{step.kind}-{counts[step.kind]}"
            step = step.model_copy(update={"name": name})
        named.append(step)
    return tuple(named)


def _check_references(
    spec: Any,
    steps: tuple[Any, ...],
    node: yaml.Node,
    source: str,
    kinds: Mapping[str, StepKind],
) -> tuple[Any, ...]:
    """Cross-step rules: unique names, then each kind's own check (sources of the right kind
    before use, gate figures the gated step produces, analysis options, wavelengths the LEDs
    have); the steps as their checks return them."""
    step_nodes = next(v for k, v in node.value if k.value == "steps").value
    earlier = EarlierSteps(
        kinds={},
        steps={},
        figures={},
        led_wavelengths_nm=(
            frozenset(step.wavelength_nm for step in spec.device.led_pattern)
            if spec.device.led_pattern
            else None
        ),
    )
    checked = []
    for index, (step, step_node) in enumerate(zip(steps, step_nodes, strict=True)):

        def fail(
            field: str, problem: str, index: int = index, step_node: Any = step_node
        ) -> NoReturn:
            value: Any = step_node
            for part in field.split("."):
                if isinstance(value, yaml.MappingNode):
                    value = next((v for k, v in value.value if k.value == part), value)
            raise ProtocolError(
                f"{source}:{value.start_mark.line + 1}: steps[{index}].{field}: {problem}"
            )

        if step.name in earlier.kinds:
            fail("name", f"step name {step.name!r} is used twice; names must be unique")
        kind = kinds[step.kind]
        step = kind.check(step, earlier, fail)
        earlier.kinds[step.name] = step.kind
        earlier.steps[step.name] = step
        earlier.figures[step.name] = kind.figures_of(step)
        checked.append(step)
    return tuple(checked)
