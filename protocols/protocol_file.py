"""Protocol files (YAML): schema, validation with line numbers, and the shipped protocols.

A protocol names itself, its version and intended use, the calibrations it needs, the
detector settings it runs with and its steps. :func:`load_protocol` validates the whole file
before anything touches hardware; a :class:`ProtocolError` names the file, the line, the field
and what is allowed there. The format is documented in ``docs/protocols.md``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, fields
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal, NoReturn

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from calibration.emva1288 import Emva1288Result
from instrument import safe_yaml
from instrument.config import DetectorConfig, LedStepConfig, RoiConfig

SHIPPED_PACKAGE = "protocols.shipped"
INTENDED_USES = ("clinical", "qc", "research")
ANALYSES = (
    "spo2",
    "imaging_ppg",
    "sto2",
    "dot",
    "detector_characterisation",
    "frame_statistics",
    "led_signal",
)


class ProtocolError(ValueError):
    """A protocol file is missing or invalid; the message names file, line and field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


PositiveSeconds = Annotated[float, Field(gt=0, le=86_400)]
# Analyses hold an acquiring step's frames in memory (about 3 MB/s at the full frame and the
# highest frame rate), so one acquiring step records at most this long.
MAX_ACQUISITION_S = 600.0
StepName = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


class DeviceSettings(_Strict):
    """Detector settings that replace the instrument configuration's for this protocol."""

    frame_rate_hz: Annotated[float, Field(gt=0)] | None = None
    integration_time_us: Annotated[int, Field(gt=0)] | None = None
    gain: Literal[1, 2, 4, 8] | None = None
    roi: RoiConfig | None = None
    led_pattern: Annotated[list[LedStepConfig], Field(min_length=1, max_length=8)] | None = None


class AnalysisRoi(_Strict):
    """Part of each frame an analysis uses, in frame pixels (after binning)."""

    row: Annotated[int, Field(ge=0)] = 0
    col: Annotated[int, Field(ge=0)] = 0
    height: Annotated[int, Field(ge=1)]
    width: Annotated[int, Field(ge=1)]


class _Step(_Strict):
    name: StepName | None = None
    description: str = ""


class CheckCalibrationsStep(_Step):
    """Report the states of the required calibrations; fail when any is not usable."""

    kind: Literal["check_calibrations"]
    stops_run: bool = True


class WarmUpStep(_Step):
    """Wait until the board temperature varies less than ``stable_within_c`` over ``window_s``."""

    kind: Literal["warm_up"]
    stable_within_c: Annotated[float, Field(gt=0, le=10)] = 0.2
    window_s: PositiveSeconds = 10.0
    max_duration_s: PositiveSeconds = 300.0
    poll_interval_s: Annotated[float, Field(gt=0, le=60)] = 0.5
    on_timeout: Literal["fail", "warn"] = "fail"

    @model_validator(mode="after")
    def _window_fits(self) -> WarmUpStep:
        if self.window_s > self.max_duration_s:
            raise ValueError(
                f"window_s {self.window_s:g} must not exceed max_duration_s {self.max_duration_s:g}"
            )
        return self


class DarkReferenceStep(_Step):
    """Acquire frames with every LED off (mean dark frame for the later steps)."""

    kind: Literal["dark_reference"]
    duration_s: PositiveSeconds = 2.0

    @model_validator(mode="after")
    def _fits_memory(self) -> DarkReferenceStep:
        _check_acquisition_time(self.duration_s)
        return self


class AcquireStep(_Step):
    """Acquire ``duration_s`` seconds with the LEDs of ``wavelengths_nm`` (all by default)."""

    kind: Literal["acquire"]
    duration_s: PositiveSeconds
    wavelengths_nm: Annotated[list[int], Field(min_length=1, max_length=8)] | None = None
    roi: AnalysisRoi | None = None
    live: bool = True

    @model_validator(mode="after")
    def _fits_memory(self) -> AcquireStep:
        _check_acquisition_time(self.duration_s)
        return self


def _check_acquisition_time(duration_s: float) -> None:
    if duration_s > MAX_ACQUISITION_S:
        raise ValueError(
            f"duration_s {duration_s:g} exceeds {MAX_ACQUISITION_S:g} s, the longest one "
            "acquiring step can record (its frames are held in memory for the analyses); "
            "split the measurement into several acquire steps"
        )


class LockinSweepStep(_Step):
    """Lock-in amplitude of the modulated bench LED at each reference frequency."""

    kind: Literal["lockin_sweep"]
    frequencies_hz: Annotated[list[Annotated[float, Field(gt=0)]], Field(min_length=1)]
    wavelength_nm: Annotated[float, Field(ge=300, le=2000)] = 850.0
    led_current_a: Annotated[float, Field(gt=0, le=2)] = 0.1
    time_constant_s: Annotated[float, Field(gt=0, le=30)] = 0.03
    readings: Annotated[int, Field(ge=2, le=100)] = 3


class PhotonTransferStep(_Step):
    """EMVA 1288 photon-transfer series (integrating-sphere rig; simulated with ``--sim``).

    On hardware the series is read from ``file`` (the rig's HDF5 export).
    """

    kind: Literal["photon_transfer"]
    file: str | None = None
    height: Annotated[int, Field(ge=8, le=512)] = 32
    width: Annotated[int, Field(ge=8, le=512)] = 32
    exposure_steps: Annotated[int, Field(ge=10, le=200)] = 50
    wavelength_nm: Annotated[float, Field(ge=300, le=2000)] = 850.0
    temperature_c: Annotated[float, Field(ge=-20, le=80)] = 40.0


class AnalyseStep(_Step):
    """Run an analysis on an earlier step's data; its figures become the step's results."""

    kind: Literal["analyse"]
    analysis: Literal[ANALYSES]  # type: ignore[valid-type]
    source: StepName
    dark: StepName | None = None
    options: dict[str, Any] = Field(default_factory=dict)


class QcGateStep(_Step):
    """A named figure of an earlier step against limits."""

    kind: Literal["qc_gate"]
    figure: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_]+$")]
    low: float | None = None
    high: float | None = None
    unit: str = ""
    stops_run: bool = False

    @model_validator(mode="after")
    def _limits(self) -> QcGateStep:
        if self.low is None and self.high is None:
            raise ValueError("a QC gate needs low, high or both")
        if self.low is not None and self.high is not None and self.low > self.high:
            raise ValueError(f"low {self.low:g} is above high {self.high:g}")
        return self


class PromptStep(_Step):
    """Ask the operator to do something (e.g. move the probe) and wait until they confirm."""

    kind: Literal["prompt"]
    message: Annotated[str, Field(min_length=1, max_length=500)]


class ReportStep(_Step):
    """Write the PDF report and the JSON summary (also written when a run ends early)."""

    kind: Literal["report"]
    title: str = ""


PositiveFloat = Annotated[float, Field(gt=0)]
Fraction = Annotated[float, Field(ge=0, le=1)]
DarkLevel = Annotated[float, Field(ge=0)]


class _RoiOptions(_Strict):
    roi: AnalysisRoi | None = None


class _NoOptions(_Strict):
    pass


class _Spo2Options(_Strict):
    roi: AnalysisRoi | None = None
    black_level_dn: DarkLevel | None = None
    full_scale_dn: PositiveFloat = 4095.0


class _ImagingPpgOptions(_Strict):
    block: Annotated[int, Field(ge=1)] = 1


class _Sto2Options(_Strict):
    region_px: Annotated[int, Field(ge=1)] | None = None
    min_distance_mm: PositiveFloat | None = None
    black_level_dn: DarkLevel | None = None
    max_dn: PositiveFloat | None = None
    scattering_a_per_mm: PositiveFloat | None = None
    scattering_power: PositiveFloat | None = None
    refractive_index: Annotated[float, Field(ge=1, le=2)] | None = None
    water_fraction: Fraction | None = None


class _DotOptions(_Strict):
    baseline: StepName
    thickness_mm: PositiveFloat
    mua_per_mm: Annotated[list[PositiveFloat], Field(min_length=1)] | None = None
    musp_per_mm: Annotated[list[PositiveFloat], Field(min_length=1)] | None = None
    voxel_mm: PositiveFloat = 4.0
    method: Literal["gauss-newton", "linear"] = "gauss-newton"
    alpha: PositiveFloat | None = None
    rule: Literal["gcv", "lcurve"] = "gcv"
    n_tissue: Annotated[float, Field(ge=1, le=2)] = 1.4
    water_fraction: Fraction = 0.7


# Per analysis: the options it takes and the step kinds its source may be.
ANALYSIS_OPTIONS: dict[str, type[_Strict]] = {
    "frame_statistics": _RoiOptions,
    "led_signal": _RoiOptions,
    "detector_characterisation": _NoOptions,
    "spo2": _Spo2Options,
    "imaging_ppg": _ImagingPpgOptions,
    "sto2": _Sto2Options,
    "dot": _DotOptions,
}
ANALYSIS_SOURCES: dict[str, tuple[str, ...]] = {
    "frame_statistics": ("acquire", "dark_reference"),
    "led_signal": ("acquire",),
    "detector_characterisation": ("photon_transfer",),
    "spo2": ("acquire",),
    "imaging_ppg": ("acquire",),
    "sto2": ("acquire",),
    "dot": ("acquire",),
}


def _emva_figures() -> tuple[str, ...]:
    names = []
    for item in fields(Emva1288Result):
        if item.name.endswith("pixels"):
            names.append(item.name.removesuffix("s") + "_count")
        elif "Measurement" in str(item.type):
            names += [item.name, f"{item.name}_uncertainty"]
        else:
            names.append(item.name)
    return tuple(names)


# Numeric figures each step kind (and each analysis) produces, for the QC gates; a pattern
# stands for a family (``signal_<nm>_dn``).
STEP_FIGURES: dict[str, tuple[str, ...]] = {
    "check_calibrations": ("unusable_count",),
    "warm_up": ("board_temperature_c", "temperature_span_c", "warm_up_s"),
    "dark_reference": ("frames", "mean_dn", "board_temperature_c"),
    "acquire": ("frames", "duration_s", "dropped_frames"),
    "lockin_sweep": ("amplitude_v", "relative_response_min_percent", "valid_fraction"),
    "photon_transfer": ("exposure_steps", "wavelength_nm"),
}
ANALYSIS_FIGURES: dict[str, tuple[str, ...]] = {
    "frame_statistics": ("frames", "mean_dn", "temporal_noise_dn", "dsnu_dn", "hot_pixels"),
    "led_signal": ("min_signal_dn", r"signal_\d+_dn"),
    "detector_characterisation": _emva_figures(),
    "spo2": (
        "spo2_percent",
        "pulse_rate_bpm",
        "perfusion_index_percent",
        "signal_quality",
        "withheld_percent",
        "beats",
        "roi_pixels",
    ),
    "imaging_ppg": (
        "spo2_median_percent",
        "perfusion_index_median_percent",
        "signal_quality_median",
        "valid_regions_percent",
    ),
    "sto2": ("sto2_percent", "toi_percent", "hbt_um", "valid_regions_percent", "region_px"),
    "dot": (
        "lesion_count",
        "lesion_peak_contrast",
        "lesion_depth_mm",
        "lesion_volume_mm3",
        "dark_level_dn",
    ),
}


def step_figures(step: Any) -> tuple[str, ...]:
    """Names (or name patterns) of the numeric figures ``step`` produces."""
    if step.kind == "analyse":
        return ANALYSIS_FIGURES[step.analysis]
    return STEP_FIGURES.get(step.kind, ())


Step = Annotated[
    CheckCalibrationsStep
    | WarmUpStep
    | DarkReferenceStep
    | AcquireStep
    | LockinSweepStep
    | PhotonTransferStep
    | AnalyseStep
    | QcGateStep
    | PromptStep
    | ReportStep,
    Field(discriminator="kind"),
]
FIGURE_KINDS = (
    "check_calibrations",
    "warm_up",
    "dark_reference",
    "acquire",
    "lockin_sweep",
    "photon_transfer",
    "analyse",
)
STEP_KINDS = (
    "check_calibrations",
    "warm_up",
    "dark_reference",
    "acquire",
    "lockin_sweep",
    "photon_transfer",
    "analyse",
    "qc_gate",
    "prompt",
    "report",
)


class _ProtocolSpec(_Strict):
    name: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$")]
    version: Annotated[str, Field(min_length=1, max_length=32)]
    intended_use: Literal["clinical", "qc", "research"]
    description: str = ""
    required_calibrations: list[Annotated[str, Field(min_length=1)]] = Field(default_factory=list)
    device: DeviceSettings = DeviceSettings()
    steps: Annotated[list[Step], Field(min_length=1)]


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


def shipped_protocols() -> dict[str, str]:
    """Names of the protocols that ship with nirpoct and their one-line descriptions."""
    folder = resources.files(SHIPPED_PACKAGE)
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
    content = resources.files(SHIPPED_PACKAGE).joinpath(f"{text_name}.yaml").read_bytes()
    return parse_protocol(_decoded(content, f"shipped:{text_name}"), f"shipped:{text_name}")


def _decoded(content: bytes, source: str) -> str:
    """The file's text, line endings untouched (so that it hashes to the file's bytes)."""
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        raise ProtocolError(f"{source}: not a UTF-8 text file") from None


def parse_protocol(text: str, source: str) -> Protocol:
    """Validate protocol text; ``source`` names it in errors.

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
        spec = _ProtocolSpec.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = tuple(error["loc"])
        line, field = _locate(node, loc)
        raise ProtocolError(f"{source}:{line}: {field}: {_explain(error)}") from None
    steps = _named_steps(spec.steps)
    steps = _check_references(spec, steps, node, source)
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


def _explain(error: dict[str, Any]) -> str:
    kind = error["type"]
    if kind == "union_tag_invalid":
        return f"unknown step kind {error['input'].get('kind')!r}; allowed: " + ", ".join(
            STEP_KINDS
        )
    if kind == "union_tag_not_found":
        return "a step needs a kind: one of " + ", ".join(STEP_KINDS)
    if kind == "extra_forbidden":
        return "unknown field (not allowed here)"
    message = str(error["msg"])
    return message.removeprefix("Value error, ")


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


def _locate(node: yaml.Node, loc: tuple[Any, ...]) -> tuple[int, str]:
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
                if str(part) in STEP_KINDS:
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
    spec: _ProtocolSpec, steps: tuple[Any, ...], node: yaml.Node, source: str
) -> tuple[Any, ...]:
    """Cross-step rules: unique names, sources of the right kind before use, gate figures the
    gated step produces, analysis options, wavelengths the LEDs have; the steps with their
    analysis options validated."""
    step_nodes = next(v for k, v in node.value if k.value == "steps").value
    seen: dict[str, str] = {}
    led_wavelengths = (
        {step.wavelength_nm for step in spec.device.led_pattern}
        if spec.device.led_pattern
        else None
    )
    seen_steps: dict[str, Any] = {}
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

        if step.name in seen:
            fail("name", f"step name {step.name!r} is used twice; names must be unique")
        if step.kind == "analyse":
            kinds = ANALYSIS_SOURCES[step.analysis]
            if seen.get(step.source) not in kinds:
                fail("source", _earlier(step.source, seen, kinds, f"data for {step.analysis}"))
            if step.dark is not None and seen.get(step.dark) != "dark_reference":
                fail("dark", _earlier(step.dark, seen, ("dark_reference",), "dark frames"))
            step = _with_checked_options(step, seen, fail)
        if step.kind == "qc_gate":
            target, figure = step.figure.rsplit(".", 1)
            if seen.get(target) not in FIGURE_KINDS:
                fail("figure", _earlier(target, seen, FIGURE_KINDS, "figures"))
            produced = step_figures(seen_steps[target])
            if not any(re.fullmatch(name, figure) for name in produced):
                fail(
                    "figure",
                    f"step {target!r} produces no figure {figure!r}; allowed: "
                    + ", ".join(name.replace(r"\d+", "<nm>") for name in produced),
                )
        if step.kind == "acquire" and step.wavelengths_nm and led_wavelengths is not None:
            missing = sorted(set(step.wavelengths_nm) - led_wavelengths)
            if missing:
                fail(
                    "wavelengths_nm",
                    f"{missing} nm not in device.led_pattern; allowed: {sorted(led_wavelengths)}",
                )
        seen[step.name] = step.kind
        seen_steps[step.name] = step
        checked.append(step)
    return tuple(checked)


def _with_checked_options(
    step: AnalyseStep, seen: dict[str, str], fail: Callable[[str, str], NoReturn]
) -> AnalyseStep:
    """The step with its ``options`` validated for its analysis (unset options left out)."""
    try:
        options = ANALYSIS_OPTIONS[step.analysis].model_validate(step.options)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(part) for part in ("options", *error["loc"]))
        allowed = ", ".join(ANALYSIS_OPTIONS[step.analysis].model_fields) or "none"
        fail(field, f"{_explain(error)} (options of {step.analysis}: {allowed})")
    baseline = getattr(options, "baseline", None)
    if baseline is not None and seen.get(baseline) != "acquire":
        fail("options.baseline", _earlier(baseline, seen, ("acquire",), "baseline frames"))
    values = options.model_dump(exclude_unset=True, exclude_none=True)
    return step.model_copy(update={"options": values})


def _earlier(name: str, seen: dict[str, str], kinds: tuple[str, ...], holding: str) -> str:
    candidates = [n for n, k in seen.items() if k in kinds]
    return f"{name!r} is not an earlier step with {holding}; allowed: " + (
        ", ".join(candidates) or "none so far"
    )
