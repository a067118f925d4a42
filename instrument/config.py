"""Instrument configuration files (YAML or TOML) and their validation."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from drivers import detector_messages as msg
from drivers.sim.scenario_names import SCENARIOS
from instrument import safe_yaml

SIM = "sim"


class ConfigError(ValueError):
    """A configuration file is missing, unreadable or invalid; the message names the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RoiConfig(_Strict):
    """Region of interest in full-resolution pixels, and on-chip binning."""

    row: Annotated[int, Field(ge=0)] = 0
    col: Annotated[int, Field(ge=0)] = 0
    height: Annotated[int, Field(ge=1)]
    width: Annotated[int, Field(ge=1)]
    binning: Literal[1, 2, 4] = 1

    def to_roi(self) -> msg.Roi:
        """As the driver's ROI value."""
        return msg.Roi(self.row, self.col, self.height, self.width, self.binning)


class LedStepConfig(_Strict):
    """One LED step: wavelength (nm) and drive current (mA)."""

    wavelength_nm: Annotated[int, Field(ge=300, le=2000)]
    drive_current_ma: Annotated[
        float, Field(ge=msg.DRIVE_CURRENT_RANGE_MA[0], le=msg.DRIVE_CURRENT_RANGE_MA[1])
    ]

    def to_led_step(self) -> msg.LedStep:
        """As the driver's LED step value."""
        return msg.LedStep(self.wavelength_nm, self.drive_current_ma)


class DetectorConfig(_Strict):
    """The detector board and its acquisition settings."""

    port: str = SIM
    timeout_s: Annotated[float, Field(gt=0, le=60)] = 1.0
    integration_time_us: Annotated[
        int, Field(ge=msg.INTEGRATION_TIME_RANGE_US[0], le=msg.INTEGRATION_TIME_RANGE_US[1])
    ] = 2000
    gain: Literal[1, 2, 4, 8] = 1
    frame_rate_hz: Annotated[
        float, Field(ge=msg.FRAME_RATE_RANGE_HZ[0], le=msg.FRAME_RATE_RANGE_HZ[1])
    ] = 200.0
    roi: RoiConfig | None = None
    led_pattern: Annotated[list[LedStepConfig], Field(min_length=1, max_length=8)]

    @model_validator(mode="after")
    def _exposure_fits_frame_period(self) -> DetectorConfig:
        period_us = 1e6 / self.frame_rate_hz
        if self.integration_time_us > period_us:
            raise ValueError(
                f"integration_time_us {self.integration_time_us} exceeds the frame period "
                f"{period_us:.0f} µs at {self.frame_rate_hz:g} Hz"
            )
        return self

    @property
    def simulated(self) -> bool:
        """True when the detector board is the simulator."""
        return self.port == SIM


class LockinConfig(_Strict):
    """A lock-in amplifier: model and VISA resource (or ``sim``)."""

    model: Literal["SR830", "SR860"] = "SR830"
    resource: str = SIM

    @property
    def simulated(self) -> bool:
        """True when the instrument is the simulator."""
        return self.resource == SIM


class BenchInstrumentConfig(_Strict):
    """A SCPI bench instrument: VISA resource (or ``sim``)."""

    resource: str = SIM

    @property
    def simulated(self) -> bool:
        """True when the instrument is the simulator."""
        return self.resource == SIM


class PhotodiodeSetupConfig(_Strict):
    """Stated facts of the photodiode test set-up (from its drawings and certificates)."""

    area_cm2: Annotated[float, Field(gt=0)]
    tia_gain_v_per_a: Annotated[float, Field(gt=0)]
    split_ratio: Annotated[float, Field(gt=0)]


class BenchConfig(_Strict):
    """Bench instruments; any may be left out."""

    lockin: LockinConfig | None = None
    sourcemeter: BenchInstrumentConfig | None = None
    powermeter: BenchInstrumentConfig | None = None
    ledsource: BenchInstrumentConfig | None = None
    photodiode: PhotodiodeSetupConfig | None = None


class SimulatorConfig(_Strict):
    """The physics scene behind every simulated device.

    ``scenario`` plays a named patient scenario (``drivers.sim.scenarios``) laid out over
    ``scenario_period_s`` from the first stream; ``speed`` runs the simulated board's clock that
    many times faster than real time (timestamps stay on the simulated clock).
    """

    seed: Annotated[int, Field(ge=0)] = 0
    scenario: str | None = None
    scenario_period_s: Annotated[float, Field(gt=0, le=1e6)] | None = None
    speed: Annotated[float, Field(gt=0, le=1000)] = 1.0

    @field_validator("scenario")
    @classmethod
    def _known_scenario(cls, name: str | None) -> str | None:
        if name is not None and name not in SCENARIOS:
            raise ValueError(f"unknown scenario {name!r}; choose one of {', '.join(SCENARIOS)}")
        return name


class ProbeConfig(_Strict):
    """Geometry of the optical pad: the detector array and the LED on the skin surface.

    Coordinates in mm on the surface plane: x along the array's columns, y along its rows,
    full-resolution pixel (0, 0) spanning 0..pitch in both (the simulator's frame).
    """

    pixel_pitch_mm: Annotated[float, Field(gt=0, le=10)] = 0.4
    led_xy_mm: tuple[float, float] = (12.8, -4.8)


class AcquisitionConfig(_Strict):
    """How frames travel from the link to the run record."""

    buffer_frames: Annotated[int, Field(ge=16, le=1_000_000)] = 4000
    stall_timeout_s: Annotated[float, Field(gt=0, le=600)] = 2.0
    flush_interval_s: Annotated[float, Field(gt=0, le=1.0)] = 0.5


class Hl7DestinationConfig(_Strict):
    """An HL7 v2 receiver reached over MLLP (a hospital's interface engine)."""

    host: str
    port: Annotated[int, Field(ge=1, le=65535)]
    sending_application: str = "NIRPOCT"
    sending_facility: str = ""
    receiving_application: str = ""
    receiving_facility: str = ""
    timeout_s: Annotated[float, Field(gt=0, le=600)] = 10.0


class FhirDestinationConfig(_Strict):
    """A FHIR R4 server; transaction Bundles are POSTed to ``base_url``."""

    base_url: Annotated[str, Field(pattern=r"^https?://")]
    patient_identifier_system: str = "urn:nirpoct:mrn"
    timeout_s: Annotated[float, Field(gt=0, le=600)] = 10.0


class DicomDestinationConfig(_Strict):
    """A DICOM storage SCP (PACS) reached by C-STORE."""

    host: str
    port: Annotated[int, Field(ge=1, le=65535)]
    called_ae: Annotated[str, Field(min_length=1, max_length=16)] = "ANY-SCP"
    calling_ae: Annotated[str, Field(min_length=1, max_length=16)] = "NIRPOCT"
    timeout_s: Annotated[float, Field(gt=0, le=600)] = 30.0


class ExchangeConfig(_Strict):
    """Where finished runs are sent (any destination may be left out) and the outbox."""

    hl7: Hl7DestinationConfig | None = None
    fhir: FhirDestinationConfig | None = None
    dicom: DicomDestinationConfig | None = None
    outbox_dir: str | None = None
    retry_initial_s: Annotated[float, Field(gt=0, le=86400)] = 30.0
    retry_max_s: Annotated[float, Field(gt=0, le=86400)] = 3600.0


class InstrumentConfig(_Strict):
    """A whole instrument."""

    detector: DetectorConfig
    bench: BenchConfig = BenchConfig()
    simulator: SimulatorConfig = SimulatorConfig()
    acquisition: AcquisitionConfig = AcquisitionConfig()
    probe: ProbeConfig = ProbeConfig()
    exchange: ExchangeConfig | None = None

    @property
    def uses_simulator(self) -> bool:
        """True when any device is simulated."""
        bench = [
            self.bench.lockin,
            self.bench.sourcemeter,
            self.bench.powermeter,
            self.bench.ledsource,
        ]
        return self.detector.simulated or any(d and d.simulated for d in bench)


SIMULATED_PHOTODIODE_SETUP = PhotodiodeSetupConfig(
    area_cm2=0.01, tia_gain_v_per_a=1e5, split_ratio=100.0
)


def dump_config(config: InstrumentConfig) -> str:
    """The configuration as YAML that :func:`parse_config` reads back to an equal one."""
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False, allow_unicode=True)


def default_config_text() -> str:
    """Text of the built-in configuration (every device simulated)."""
    return (Path(__file__).parent / "default_config.yaml").read_text(encoding="utf-8")


def parse_config(text: str, source: str, fmt: Literal["yaml", "toml"] = "yaml") -> InstrumentConfig:
    """Parse and validate configuration text.

    Raises
    ------
    ConfigError
        Naming ``source``, the field and what is allowed.
    """
    try:
        data = tomllib.loads(text) if fmt == "toml" else safe_yaml.load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{where}: not valid YAML: {problem}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping of sections at the top level")
    try:
        return InstrumentConfig.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or '(top level)'}: {error['msg']}"
            for error in exc.errors()
        )
        raise ConfigError(f"{source}: {problems}") from None


def load_config(path: str | Path | None) -> tuple[InstrumentConfig, str]:
    """Load a YAML (``.yaml``/``.yml``) or TOML (``.toml``) file, or the built-in default.

    Returns the validated configuration and the text it came from (for the run record).
    """
    if path is None:
        text = default_config_text()
        return parse_config(text, "built-in configuration"), text
    path = Path(path)
    fmt: Literal["yaml", "toml"] = "toml" if path.suffix.lower() == ".toml" else "yaml"
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read configuration {path}: {exc.strerror}") from None
    return parse_config(text, str(path), fmt), text


def simulated(config: InstrumentConfig) -> InstrumentConfig:
    """The same configuration with every device replaced by its simulator."""
    bench = config.bench
    return config.model_copy(
        update={
            "detector": config.detector.model_copy(update={"port": SIM}),
            "bench": BenchConfig(
                lockin=(bench.lockin or LockinConfig()).model_copy(update={"resource": SIM}),
                sourcemeter=BenchInstrumentConfig(),
                powermeter=BenchInstrumentConfig(),
                ledsource=BenchInstrumentConfig(),
                photodiode=bench.photodiode or SIMULATED_PHOTODIODE_SETUP,
            ),
        }
    )
