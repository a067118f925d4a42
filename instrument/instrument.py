"""The :class:`Instrument`: devices composed from a configuration, and acquisitions into records.

A QC script drives the simulated instrument exactly as the real one::

    from instrument.config import load_config
    from instrument.instrument import Instrument

    config, text = load_config(None)          # built-in: every device simulated
    with Instrument(config, text) as nir:
        result = nir.acquire(5.0, "runs", operator="qc-bot")
        print(result.stats.frames, result.record_path)
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from drivers.detector_board import DetectorBoard
from drivers.errors import DeviceError
from drivers.sim.faults import FaultPlan
from drivers.sim.processes import DetectorBoardSimulator
from instrument.acquisition import (
    Acquisition,
    AcquisitionStats,
    FramesCallback,
    ProgressCallback,
    frames_in,
)
from instrument.bench import BenchInstruments
from instrument.config import DetectorConfig, InstrumentConfig, dump_config
from instrument.pseudonym import load_site_key, pseudonymise
from instrument.run_record import (
    RunRecordWriter,
    detector_settings_attributes,
    led_pattern_attribute,
    new_record_path,
    record_metadata,
)
from instrument.version import VERSION

logger = logging.getLogger(__name__)


def software_version() -> str:
    """The version of nirpoct that writes the record."""
    return VERSION


@dataclass(frozen=True)
class AcquisitionResult:
    """A finished acquisition: its counts and the run record that holds it."""

    stats: AcquisitionStats
    record_path: Path


class AcquisitionError(DeviceError):
    """An acquisition ended by a device fault; every frame received before it is recorded.

    Attributes
    ----------
    record_path : pathlib.Path
        The run record (status ``aborted``).
    stats : AcquisitionStats
        Counts up to the fault.
    """

    def __init__(self, cause: DeviceError, record_path: Path, stats: AcquisitionStats) -> None:
        super().__init__(str(cause))
        self.record_path = record_path
        self.stats = stats


class Instrument:
    """Detector board plus bench instruments, opened and closed together.

    Parameters
    ----------
    config : InstrumentConfig
        Which devices, where, with which settings.
    config_text : str
        The configuration file's text, stored in every run record beside the configuration
        actually used (which differs when, e.g., ``--sim`` replaced the devices).
    sim_fault : FaultPlan or None
        A fault to inject on the simulated detector link (ignored for real hardware).
    """

    def __init__(
        self,
        config: InstrumentConfig,
        config_text: str,
        *,
        sim_fault: FaultPlan | None = None,
    ) -> None:
        self.config = config
        self.config_text = config_text
        self.sim_fault = sim_fault
        self.board: DetectorBoard | None = None
        self.sensor_shape: tuple[int, int] | None = None
        self.bench = BenchInstruments(config.bench, seed=config.simulator.seed)
        self.identities: dict[str, dict[str, str]] = {}
        self._board_simulator: DetectorBoardSimulator | None = None
        self._detector_port = ""
        self._stack = contextlib.ExitStack()

    # ------------------------------------------------------------------ lifetime
    def open(self) -> Instrument:
        """Start simulators as configured, connect every device, apply the detector settings."""
        try:
            # The bench starts (or connects) while the detector does: both mostly wait.
            with ThreadPoolExecutor(max_workers=1) as pool:
                bench_opening = pool.submit(self.bench.open)
                self._stack.callback(self.bench.close)
                self._open_detector()
                bench_opening.result()
            self.identities.update(self.bench.identities)
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        """Disconnect every device and stop every simulator (idempotent)."""
        self._stack.close()
        self.board = None

    def __enter__(self) -> Instrument:
        return self.open()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _open_detector(self) -> None:
        settings = self.config.detector
        port = settings.port
        if settings.simulated:
            sim = self.config.simulator
            simulator = DetectorBoardSimulator(
                sim.seed,
                self.sim_fault,
                scenario=sim.scenario,
                scenario_period_s=sim.scenario_period_s,
                speed=sim.speed,
            )
            self._stack.enter_context(simulator)
            self._board_simulator = simulator
            port = simulator.port
        board = DetectorBoard(port, timeout_s=settings.timeout_s)
        self._stack.callback(self._close_board)
        self.board = board.connect()
        self._detector_port = port
        identity = board.identify()
        board.reset()
        self.board = board
        self.sensor_shape = (identity.sensor_height, identity.sensor_width)
        self.configure_detector(settings)
        self.identities["detector"] = {
            "kind": "detector board",
            "model": identity.model,
            "serial": identity.serial,
            "firmware": identity.firmware,
            "address": f"sim ({port})" if settings.simulated else settings.port,
            "calibration_id": board.calibration_id,
        }
        logger.info(
            "detector board %s %s (firmware %s) on %s",
            identity.model,
            identity.serial,
            identity.firmware,
            self.identities["detector"]["address"],
        )

    def _close_board(self) -> None:
        if self.board is not None:
            self.board.close()

    def reconnect_detector(self) -> None:
        """Open the detector board again after its link was lost, on the port it was opened
        on (a stable name such as ``/dev/serial/by-id/…`` finds it under a new tty), check that
        it is the same board (serial number) and apply the instrument's detector settings
        (:meth:`configure_detector`; a step sets its LED pattern when it acquires).

        Raises
        ------
        DeviceError
            The board is not back (yet), does not answer, or another board answers.
        """
        expected = self.identities.get("detector", {}).get("serial", "")
        if self.board is not None:
            self.board.close()
        board = DetectorBoard(self._detector_port, timeout_s=self.config.detector.timeout_s)
        self.board = board.connect()
        try:
            serial = board.identify().serial
            if expected and serial != expected:
                raise DeviceError(
                    f"detector board {serial} answers on {self._detector_port} instead of "
                    f"{expected}; reconnect the board the run started with"
                )
            board.reset()
            self.configure_detector(self.config.detector)
        except BaseException:
            board.close()
            raise
        logger.info("detector board %s reconnected on %s", serial, self._detector_port)

    def configure_detector(self, settings: DetectorConfig) -> None:
        """Apply detector settings to the open board; they become the instrument's
        configuration (stored in every record made after).

        Raises
        ------
        ValueError
            The board refuses a setting (e.g. an ROI beyond its sensor).
        """
        board = self._require_board()
        # The exposure must fit the frame period at every step: shorten it first when the new
        # period is shorter than the current exposure, else lengthen the period first.
        if settings.integration_time_us <= board.integration_time_us:
            board.integration_time_us = settings.integration_time_us
            board.frame_rate_hz = settings.frame_rate_hz
        else:
            board.frame_rate_hz = settings.frame_rate_hz
            board.integration_time_us = settings.integration_time_us
        board.gain = settings.gain
        if settings.roi is not None:
            board.roi = settings.roi.to_roi()
        board.led_pattern = tuple(step.to_led_step() for step in settings.led_pattern)
        self.config = self.config.model_copy(update={"detector": settings})

    @property
    def board_simulator_pid(self) -> int | None:
        """Process id of the simulated board, when the detector is simulated."""
        return self._board_simulator.pid if self._board_simulator is not None else None

    # ------------------------------------------------------------------ acquisition
    def record_metadata(self, operator: str, subject_id: str, **extra: object) -> dict[str, object]:
        """Root attributes of a new run record on this instrument: the subject id is
        pseudonymised before it touches the record."""
        return record_metadata(
            software_version=software_version(),
            operator=operator,
            subject_pseudonym=pseudonymise(subject_id, load_site_key()) if subject_id else "",
            config_yaml=dump_config(self.config),
            config_source=self.config_text,
            sim_fault=str(self.sim_fault) if self.sim_fault else "",
            **extra,
        )

    def detector_settings(self) -> dict[str, object]:
        """The board's current settings as run-record attributes."""
        board = self._require_board()
        roi = board.roi
        return detector_settings_attributes(
            board.frame_rate_hz,
            board.integration_time_us,
            board.gain,
            (roi.row, roi.col, roi.height, roi.width, roi.binning),
        )

    def _require_board(self) -> DetectorBoard:
        if self.board is None:
            raise DeviceError("the instrument is not open; use it in a with-block or call open()")
        return self.board

    def acquire(
        self,
        duration_s: float,
        out_dir: str | Path,
        *,
        operator: str = "",
        subject_id: str = "",
        on_progress: ProgressCallback | None = None,
        on_frames: FramesCallback | None = None,
        calibrations: dict[str, dict[str, str]] | None = None,
        metadata: Mapping[str, object] | None = None,
    ) -> AcquisitionResult:
        """Acquire ``duration_s`` seconds into a new run record in ``out_dir``.

        The subject id is pseudonymised before it touches the record; ``calibrations``
        (``ID@version`` → id, content hash, state …) says which calibrations the run used;
        ``metadata`` adds root attributes (e.g. the calibration registry's audit head).

        Raises
        ------
        AcquisitionError
            A device fault ended the run; the record holds every frame received before it.
        """
        board = self._require_board()
        frame_rate_hz = board.frame_rate_hz
        frames_in(duration_s, frame_rate_hz)
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        path = new_record_path(out_dir)
        settings = {
            **self.detector_settings(),
            "led_pattern": led_pattern_attribute(
                (s.wavelength_nm, s.drive_current_ma) for s in board.led_pattern
            ),
        }
        with RunRecordWriter(
            path,
            board.roi.frame_shape,
            self.record_metadata(operator, subject_id, **(metadata or {})),
            self.identities,
            flush_interval_s=self.config.acquisition.flush_interval_s,
            calibrations=calibrations,
            probe=self.config.probe.model_dump(),
        ) as writer:
            acquisition = Acquisition(
                board,
                writer,
                frame_rate_hz=frame_rate_hz,
                buffer_frames=self.config.acquisition.buffer_frames,
                stall_timeout_s=self.config.acquisition.stall_timeout_s,
            )
            try:
                stats = acquisition.run(duration_s, on_progress, on_frames)
            except DeviceError as exc:
                stats = acquisition.stats()
                writer.close("aborted", {**settings, **stats.as_dict()}, error=str(exc))
                raise AcquisitionError(exc, path, stats) from exc
            except BaseException as exc:  # Ctrl-C, a signal, a full disk: the reason is kept
                why = str(exc) or "interrupted"
                writer.close("aborted", {**settings, **acquisition.stats().as_dict()}, why)
                raise
            writer.close("completed", {**settings, **stats.as_dict()})
        return AcquisitionResult(stats, path)
