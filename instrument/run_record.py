"""Run records: one HDF5 file per run, written while acquiring.

The file is written in HDF5's single-writer/multiple-reader (SWMR) mode and flushed at least
once per ``flush_interval_s``, so a reader can follow a run live and a run killed outright
leaves a readable file holding every frame up to the last flush. When the run ends, the file
is closed and reopened once to store what is known only then (stop time, status, counts).

Layout
------
``/`` attrs
    ``format`` ("nirpoct-run"), ``format_version``, ``run_id``, ``software_version``,
    ``operator``, ``subject_pseudonym``, ``start_time_utc``, ``stop_time_utc``, ``status``
    (running / completed / aborted), ``error``, ``config_yaml`` (the configuration used),
    ``config_source`` (the text of the file it came from).
``/devices/<name>`` attrs
    Identity of each device: model, serial, firmware, address.
``/calibrations/<record>`` attrs
    Each calibration the run used: record ``ID@version``, content hash, state at the start of
    the run, due date, and any authorised override.
``/raw/frames`` (N, H, W) uint16, DN
``/raw/time_s`` (N,) float64, host time of each exposure start, s since the run started
``/raw/device_time_us`` (N,) uint64, board clock, µs
``/raw/host_arrival_s`` (N,) float64, when the host received the frame, s since the start
``/raw/frame_counter`` (N,) uint32
    After a board reconnected within a step, ``time_s`` shows the gap and the counter and
    board clock go on as if counted through it (``instrument.acquisition.ClockMap``).
``/raw/wavelength_nm`` (N,) uint16 and ``/raw/led_step`` (N,) uint8
``/raw/board_temperature_c`` (N,) float32
``/probe`` attrs
    Geometry of the optical pad in mm: ``pixel_pitch_mm`` and ``led_xy_mm`` (see
    ``instrument.config.ProbeConfig``); absent in records made before it was stored.
``/acquisition`` attrs
    ``dropped_frames``, ``buffer_overruns``, ``decoder_resyncs``, ``discarded_bytes``,
    ``frame_rate_hz``, ``integration_time_us``, ``gain``, ``roi``, ``led_pattern``.
``/protocol`` attrs (runs of a protocol)
    ``name``, ``version``, ``intended_use``, ``source``, ``text`` (the protocol file's text),
    ``sha256`` (of that text).
``/results/<step>`` (runs of a protocol)
    attrs ``index``, ``kind``, ``status``, ``message``, ``results_json`` (the step's figures);
    datasets for the step's arrays (e.g. a mean dark frame, DN).
``/alarm_log`` (N,) compound (monitoring runs fill it; empty otherwise)
    One row per alarm start, end, acknowledgement or pause, in order: ``time_s`` (float64,
    s since the run started), ``condition``, ``priority`` (IEC 60601-1-8: high / medium /
    low) and ``event`` (start / end / acknowledged / paused) as ASCII, ``value`` (float64,
    the value that set it off, NaN when none). Written as the alarms happen.
``/log`` (N,) UTF-8 strings
    The warnings and errors logged while the record was open, one per line:
    ``<UTC time> <LEVEL> <logger>: <message>``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import h5py
import numpy as np
import numpy.typing as npt

logger = logging.getLogger(__name__)

T = TypeVar("T")

FORMAT = "nirpoct-run"
FORMAT_VERSION = 1
FRAME_CHUNK_BYTES = 256 * 1024
VECTOR_CHUNK = 4096
CACHED_CHUNKS = 2
"""Chunks each dataset of a record being written keeps in memory: appends only ever touch the
last chunk, and HDF5's default chunk cache (8 MiB per dataset since 2.0) would keep up to 8 MiB
of every growing dataset's written data in memory."""
UNFINISHED_STATUSES = ("running", "interrupted")
"""Statuses of a record its writer never closed: still being written (or left open by a
crash), or finalised after a crash by ``nirpoct records repair``."""
READ_ERRORS = (KeyError, OSError, RuntimeError, TypeError, AttributeError, ValueError)
"""What h5py raises on a damaged file's objects; wrapped into :class:`RunRecordError`."""

ALARM_LOG_DTYPE = np.dtype(
    [("time_s", "f8"), ("condition", "S32"), ("priority", "S8"), ("event", "S16"), ("value", "f8")]
)
"""Row of ``/alarm_log``."""

PER_FRAME_FIELDS: dict[str, str] = {
    "time_s": "f8",
    "device_time_us": "u8",
    "host_arrival_s": "f8",
    "frame_counter": "u4",
    "wavelength_nm": "u2",
    "led_step": "u1",
    "board_temperature_c": "f4",
}


class RunRecordError(ValueError):
    """A file is not a readable run record; the message says what is wrong with it."""


def unfinished_note(source: str | Path, status: object) -> str:
    """The one-line warning for results of a record whose run did not finish (status
    ``running`` or ``interrupted``), or "" for a finished one."""
    if status not in UNFINISHED_STATUSES:
        return ""
    return (
        f"{source}: the run did not finish (record status {status}); the results cover only "
        "the frames it holds"
    )


def _damage_named(read: Callable[[Path], T], path: str | Path) -> T:
    """``read(path)``, with any error h5py raises on a damaged file's objects as a
    :class:`RunRecordError` naming the file."""
    try:
        return read(Path(path))
    except RunRecordError:
        raise
    except READ_ERRORS as exc:
        raise RunRecordError(f"{path}: damaged record ({type(exc).__name__}: {exc})") from None


def utc_now_iso() -> str:
    """Current UTC time, ISO 8601 with a ``Z`` suffix."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_record_path(out_dir: Path, label: str = "") -> Path:
    """A new run record's path in ``out_dir``: ``run-<UTC time>[-label].h5``."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return Path(out_dir) / (f"run-{stamp}-{label}.h5" if label else f"run-{stamp}.h5")


def led_pattern_attribute(pattern: Iterable[tuple[float, float]]) -> str:
    """The ``led_pattern`` attribute: JSON list of [wavelength nm, drive mA] per LED step."""
    return json.dumps([[wavelength, drive] for wavelength, drive in pattern])


def detector_settings_attributes(
    frame_rate_hz: float,
    integration_time_us: int,
    gain: int,
    roi: tuple[int, int, int, int, int],
) -> dict[str, object]:
    """The detector settings as ``/acquisition`` attributes (``roi`` is row, col, height,
    width, binning in sensor pixels)."""
    return {
        "frame_rate_hz": frame_rate_hz,
        "integration_time_us": integration_time_us,
        "gain": gain,
        "roi": list(roi),
    }


def record_metadata(
    *,
    software_version: str,
    operator: str,
    subject_pseudonym: str,
    config_yaml: str,
    config_source: str,
    sim_fault: str = "",
    **extra: object,
) -> dict[str, object]:
    """The root attributes a run record starts with (see the module docstring); ``extra``
    adds more (e.g. a protocol run's ``duration_scale``)."""
    return {
        "software_version": software_version,
        "operator": operator,
        "subject_pseudonym": subject_pseudonym,
        "config_yaml": config_yaml,
        "config_source": config_source,
        "sim_fault": sim_fault,
        **extra,
    }


@dataclass
class FrameBatch:
    """Consecutive frames and their per-frame fields, ready to append to a record."""

    frames: np.ndarray
    fields: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.frames)


READ_CHUNK_FRAMES = 512
"""Frames read from the record at once by `RecordFrames`."""


class RecordFrames:
    """Frames ``first .. first + count`` of an open record's ``/raw/frames``, read on demand.

    Indexing along the first axis (an int, a slice, an index or boolean array) reads only the
    frames asked for, `READ_CHUNK_FRAMES` at a time, so an analysis that walks a long step in
    chunks holds one chunk in memory; ``np.asarray`` (or ``astype``) reads them all.

    Parameters
    ----------
    dataset : h5py.Dataset
        The record's ``/raw/frames``.
    first, count : int
        The frames of the step.
    """

    def __init__(self, dataset: h5py.Dataset, first: int, count: int) -> None:
        self._dataset = dataset
        self.first = first
        self.count = count

    @property
    def shape(self) -> tuple[int, ...]:
        """(frames, rows, cols)."""
        return (self.count, *self._dataset.shape[1:])

    @property
    def dtype(self) -> np.dtype:
        """Pixel type."""
        dtype: np.dtype = self._dataset.dtype
        return dtype

    @property
    def ndim(self) -> int:
        """3."""
        return 3

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, key: Any) -> np.ndarray:
        first_axis, rest = (key[0], key[1:]) if isinstance(key, tuple) else (key, ())
        if isinstance(first_axis, int | np.integer):
            index = int(first_axis) + (self.count if first_axis < 0 else 0)
            if not 0 <= index < self.count:
                raise IndexError(f"frame {first_axis} of {self.count}")
            frame: np.ndarray = self._dataset[self.first + index]
            return frame[rest] if rest else frame
        indices = np.arange(self.count)[first_axis]
        frames = self._read(indices)
        return frames[(slice(None), *rest)] if rest else frames

    def _read(self, indices: np.ndarray) -> np.ndarray:
        """Frames at `indices` (of this step), read in contiguous chunks."""
        out = np.empty((indices.size, *self._dataset.shape[1:]), dtype=self._dataset.dtype)
        for start in range(0, indices.size, READ_CHUNK_FRAMES):
            part = indices[start : start + READ_CHUNK_FRAMES]
            low, high = int(part.min()), int(part.max()) + 1
            block = self._dataset[self.first + low : self.first + high]
            out[start : start + part.size] = block[part - low]
        return out

    def __array__(self, dtype: npt.DTypeLike | None = None, copy: object = None) -> np.ndarray:
        frames = self._read(np.arange(self.count))
        return frames if dtype is None else frames.astype(dtype)

    def astype(self, dtype: npt.DTypeLike) -> np.ndarray:
        """All frames as an array of `dtype` (reads them all)."""
        return np.asarray(self).astype(dtype)


class _WarningCollector(logging.Handler):
    """Keeps the warnings and errors logged while a record is open, for its ``/log``."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        stamp = dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds")
        self.lines.append(
            f"{stamp.replace('+00:00', 'Z')} {record.levelname} {record.name}: "
            f"{record.getMessage()}"
        )


METADATA_CACHE_BYTES = 4 * 1024 * 1024
"""Most memory HDF5's metadata cache of an open record may take (its default grows to 32 MB
on a long run), bytes."""


def _bound_metadata_cache(file: h5py.File) -> None:
    """Keep the file's metadata cache within `METADATA_CACHE_BYTES`."""
    config = file.id.get_mdc_config()
    config.max_size = METADATA_CACHE_BYTES
    config.initial_size = min(config.initial_size, METADATA_CACHE_BYTES)
    config.set_initial_size = True
    file.id.set_mdc_config(config)


def _append_cache(chunk_bytes: int) -> dict[str, float]:
    """Chunk-cache options of a dataset only ever appended to: `CACHED_CHUNKS` chunks, fully
    written chunks evicted first."""
    return {"rdcc_nbytes": CACHED_CHUNKS * chunk_bytes, "rdcc_w0": 1.0}


class RunRecordWriter:
    """Writes one run record while frames arrive.

    Parameters
    ----------
    path : pathlib.Path
        File to create (must not exist).
    frame_shape : tuple of int
        (H, W) of every frame, pixels.
    metadata : dict
        Root attributes (operator, subject pseudonym, config text, software version …).
    devices : dict of str to dict
        Identity attributes per device name.
    flush_interval_s : float
        Longest time between flushes, s.
    calibrations : dict of str to dict, optional
        Attributes per calibration record used (``ID@version`` to id, hash, state …).
    probe : dict, optional
        Geometry of the optical pad (``pixel_pitch_mm``, ``led_xy_mm``), stored under ``/probe``.
    protocol : dict of str to str, optional
        The protocol run (name, version, text, sha256 …), stored as ``/protocol`` attrs.
    """

    def __init__(
        self,
        path: Path,
        frame_shape: tuple[int, int],
        metadata: dict[str, object],
        devices: dict[str, dict[str, str]],
        flush_interval_s: float = 0.5,
        calibrations: dict[str, dict[str, str]] | None = None,
        probe: dict[str, object] | None = None,
        protocol: dict[str, str] | None = None,
    ) -> None:
        self.path = Path(path)
        self.flush_interval_s = flush_interval_s
        self.frames_written = 0
        self._last_flush = time.monotonic()
        self._file = h5py.File(self.path, "x", libver="latest")
        _bound_metadata_cache(self._file)
        root = self._file
        root.attrs.update(
            {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "run_id": str(uuid.uuid4()),
                "start_time_utc": utc_now_iso(),
                "stop_time_utc": "",
                "status": "running",
                "error": "",
                **metadata,
            }
        )
        for name, identity in devices.items():
            root.create_group(f"devices/{name}").attrs.update(identity)
        used = root.create_group("calibrations")
        for reference, attributes in (calibrations or {}).items():
            used.create_group(reference).attrs.update(attributes)
        if probe is not None:
            root.create_group("probe").attrs.update(probe)
        if protocol is not None:
            root.create_group("protocol").attrs.update(protocol)
        height, width = frame_shape
        frames_per_chunk = max(1, FRAME_CHUNK_BYTES // (2 * height * width))
        raw = root.create_group("raw")
        self._frames = raw.create_dataset(
            "frames",
            shape=(0, height, width),
            maxshape=(None, height, width),
            chunks=(frames_per_chunk, height, width),
            dtype="u2",
            **_append_cache(frames_per_chunk * height * width * 2),
        )
        self._frames.attrs["unit"] = "DN"
        self._fields = {
            name: raw.create_dataset(
                name,
                shape=(0,),
                maxshape=(None,),
                chunks=(VECTOR_CHUNK,),
                dtype=dtype,
                **_append_cache(VECTOR_CHUNK * np.dtype(dtype).itemsize),
            )
            for name, dtype in PER_FRAME_FIELDS.items()
        }
        root.create_group("acquisition")
        self._alarm_log = root.create_dataset(
            "alarm_log", shape=(0,), maxshape=(None,), chunks=(256,), dtype=ALARM_LOG_DTYPE
        )
        self._file.swmr_mode = True
        self._file.flush()
        self._log = _WarningCollector()
        logging.getLogger().addHandler(self._log)

    def __enter__(self) -> RunRecordWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Close the record on every path: ``aborted`` with the error when one is raised and
        the record is still open (a caller that finished it has closed it already)."""
        if self._file is not None:
            status = "completed" if exc is None else "aborted"
            error = "" if exc is None else (str(exc) or type(exc).__name__)
            self.close(status, {}, error)

    def append(self, batch: FrameBatch) -> None:
        """Append frames; flush when the flush interval has passed."""
        count = len(batch)
        if count == 0:
            return
        start, stop = self.frames_written, self.frames_written + count
        self._frames.resize(stop, axis=0)
        self._frames[start:stop] = batch.frames
        for name, dataset in self._fields.items():
            dataset.resize(stop, axis=0)
            dataset[start:stop] = batch.fields[name]
        self.frames_written = stop
        if time.monotonic() - self._last_flush >= self.flush_interval_s:
            self.flush()

    def read_fields(self, first: int, count: int) -> dict[str, np.ndarray]:
        """Per-frame fields (``PER_FRAME_FIELDS``) of frames ``first .. first + count``."""
        return {name: dataset[first : first + count] for name, dataset in self._fields.items()}

    def frames_view(self, first: int, count: int) -> RecordFrames:
        """Frames ``first .. first + count`` already appended, read back on demand."""
        return RecordFrames(self._frames, first, count)

    def append_alarms(self, rows: Iterable[tuple[float, str, str, str, float]]) -> None:
        """Append alarm-log rows (time_s, condition, priority, event, value) and flush them."""
        table = np.array(
            [(t, c.encode(), p.encode(), e.encode(), v) for t, c, p, e, v in rows],
            dtype=ALARM_LOG_DTYPE,
        )
        if table.size == 0:
            return
        start = self._alarm_log.shape[0]
        self._alarm_log.resize(start + table.size, axis=0)
        self._alarm_log[start:] = table
        self.flush()

    def flush(self) -> None:
        """Make everything appended so far durable and visible to readers."""
        self._file.flush()
        self._last_flush = time.monotonic()

    def close(self, status: str, acquisition: dict[str, object], error: str = "") -> None:
        """Finish the record: store status, stop time and acquisition counts."""
        if self._file is None:
            return
        if status != "completed":
            logger.warning("run record %s closed %s: %s", self.path.name, status, error)
        logging.getLogger().removeHandler(self._log)
        self._file.close()
        self._file = None
        with h5py.File(self.path, "r+", libver="latest") as root:
            root.create_dataset(
                "log", data=self._log.lines, dtype=h5py.string_dtype(), shape=len(self._log.lines)
            )
            root.attrs["status"] = status
            root.attrs["error"] = error
            root.attrs["stop_time_utc"] = utc_now_iso()
            root["acquisition"].attrs.update(
                {key: _attribute_value(value) for key, value in acquisition.items()}
            )


def write_results(
    path: Path, steps: dict[str, tuple[dict[str, object], dict[str, np.ndarray]]]
) -> None:
    """Store a protocol run's step results in a closed record's ``/results`` group.

    ``steps`` maps step name to (attributes, arrays); attributes are stored as given (dicts and
    lists as JSON), arrays as datasets.
    """
    with h5py.File(path, "r+", libver="latest") as root:
        results = root.require_group("results")
        for name, (attributes, arrays) in steps.items():
            group = results.require_group(name)
            group.attrs.update({key: _attribute_value(v) for key, v in attributes.items()})
            for key, array in arrays.items():
                group.create_dataset(key, data=array)


def step_result_attributes(
    index: int,
    kind: str,
    status: str,
    message: str,
    results: dict[str, object],
    **placement: object,
) -> dict[str, object]:
    """Attributes of a protocol step's ``/results/<step>`` group: its place in the run, status,
    message and figures (``results_json``); ``placement`` adds where its frames are."""
    return {
        "index": index,
        "kind": kind,
        "status": status,
        "message": message,
        "results_json": json.dumps(results, default=str),
        **placement,
    }


def _attribute_value(value: object) -> object:
    if isinstance(value, dict | list | tuple):
        return json.dumps(value)
    return value


@dataclass
class RunRecord:
    """Arrays and metadata of one run record.

    Attributes
    ----------
    frames : numpy.ndarray
        (N, H, W) uint16, DN.
    time_s, wavelength_nm, board_temperature_c, frame_counter, device_time_us : numpy.ndarray
        Per-frame fields (see the module docstring for units).
    metadata : dict
        Root attributes.
    devices : dict of str to dict
        Device identities.
    acquisition : dict
        Acquisition settings and loss counts.
    calibrations : dict of str to dict
        The calibrations used, by ``ID@version``.
    probe : dict
        Geometry of the optical pad (``pixel_pitch_mm``, ``led_xy_mm``), mm; empty when the
        record does not hold it.
    protocol : dict
        ``/protocol`` attributes (empty for a plain acquisition).
    results : dict of str to dict
        ``/results/<step>`` attributes and arrays per step (empty for a plain acquisition).
    log : list of str
        Warnings and errors logged while the record was open (empty in older records).
    alarm_log : list of dict
        ``/alarm_log`` rows (time_s, condition, priority, event, value); empty when none.
    complete : bool
        False when the writer never finished (the run was killed); the arrays then hold
        everything up to the writer's last flush.
    """

    path: Path
    frames: np.ndarray
    time_s: np.ndarray
    wavelength_nm: np.ndarray
    board_temperature_c: np.ndarray
    frame_counter: np.ndarray
    device_time_us: np.ndarray
    metadata: dict[str, object]
    devices: dict[str, dict[str, object]] = field(default_factory=dict)
    acquisition: dict[str, object] = field(default_factory=dict)
    calibrations: dict[str, dict[str, object]] = field(default_factory=dict)
    probe: dict[str, object] = field(default_factory=dict)
    protocol: dict[str, object] = field(default_factory=dict)
    results: dict[str, dict[str, object]] = field(default_factory=dict)
    log: list[str] = field(default_factory=list)
    alarm_log: list[dict[str, object]] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """True when the writer closed the record (status neither running nor interrupted)."""
        return self.metadata.get("status") not in UNFINISHED_STATUSES

    @property
    def wavelengths_nm(self) -> tuple[int, ...]:
        """Distinct LED wavelengths in the record, nm, ascending."""
        return tuple(int(w) for w in np.unique(self.wavelength_nm))


def _open_for_reading(path: Path) -> h5py.File:
    if path.is_dir():
        raise RunRecordError(f"{path}: is a folder, not a run record file")
    try:
        return h5py.File(path, "r")
    except FileNotFoundError:
        raise RunRecordError(f"{path}: no such file") from None
    except PermissionError:
        raise RunRecordError(f"{path}: permission denied (the file cannot be read)") from None
    except OSError as exc:
        if "already open for write" not in str(exc):
            raise RunRecordError(f"{path}: not an HDF5 file ({exc})") from None
    try:
        # A writer killed in SWMR mode leaves the file marked open; SWMR readers may open it.
        return h5py.File(path, "r", swmr=True)
    except OSError as exc:
        raise RunRecordError(f"{path}: cannot open the unfinished record ({exc})") from None


def read_run_record(path: str | Path) -> RunRecord:
    """Read a run record, finished or left by a killed writer.

    Raises
    ------
    RunRecordError
        If the file is missing, not HDF5, not a run record, its arrays disagree in length or
        its content is damaged.
    """
    return _damage_named(_read_run_record, path)


def _read_run_record(path: Path) -> RunRecord:
    with _open_for_reading(path) as root:
        _check_layout(root, path)
        raw = root["raw"]
        # Under SWMR the per-frame vectors may run ahead of the frames by one write: keep the
        # frames that have every field. A finished record's vectors all have one entry a frame.
        lengths = {name: raw[name].shape[0] for name in ("frames", *PER_FRAME_FIELDS)}
        if root.attrs.get("status") != "running" and len(set(lengths.values())) > 1:
            raise RunRecordError(
                f"{path}: damaged record: {lengths['frames']} frames but "
                + ", ".join(
                    f"{n} {length} /raw/{n}" for n, length in lengths.items() if n != "frames"
                )
            )
        count = min(lengths.values())
        arrays = {name: raw[name][:count] for name in ("frames", *PER_FRAME_FIELDS)}
        if not np.all(np.isfinite(arrays["time_s"])):
            bad = int(np.argmin(np.isfinite(arrays["time_s"])))
            raise RunRecordError(
                f"{path}: damaged record: /raw/time_s of frame {bad} is not a number"
            )
        metadata = {key: _decode(value) for key, value in root.attrs.items()}
        devices, calibrations = (
            {
                name: {key: _decode(value) for key, value in group.attrs.items()}
                for name, group in root.get(section, {}).items()
            }
            for section in ("devices", "calibrations")
        )
        acquisition = {key: _decode(value) for key, value in root["acquisition"].attrs.items()}
        probe = (
            {key: _decode(value) for key, value in root["probe"].attrs.items()}
            if "probe" in root
            else {}
        )
        protocol = (
            {key: _decode(value) for key, value in root["protocol"].attrs.items()}
            if "protocol" in root
            else {}
        )
        results = {
            name: {
                **{key: _decode(value) for key, value in group.attrs.items()},
                **{key: dataset[()] for key, dataset in group.items()},
            }
            for name, group in root.get("results", {}).items()
        }
        log = [_decode(line) for line in root["log"][()]] if "log" in root else []
        alarm_rows = root["alarm_log"][()] if "alarm_log" in root else []
        alarm_log = [
            {name: _decode(row[name]) for name in ALARM_LOG_DTYPE.names or ()} for row in alarm_rows
        ]
    return RunRecord(
        path=path,
        frames=arrays["frames"],
        time_s=arrays["time_s"],
        wavelength_nm=arrays["wavelength_nm"],
        board_temperature_c=arrays["board_temperature_c"],
        frame_counter=arrays["frame_counter"],
        device_time_us=arrays["device_time_us"],
        metadata=metadata,
        devices=devices,
        acquisition=acquisition,
        calibrations=calibrations,
        probe=probe,
        protocol=protocol,
        results=results,
        log=[str(line) for line in log],
        alarm_log=alarm_log,
    )


def _check_layout(root: h5py.File, path: Path) -> None:
    """Refuse a file that is not a run record this version reads, naming what is wrong."""
    if root.attrs.get("format") != FORMAT:
        raise RunRecordError(f"{path}: not a {FORMAT} file")
    version = _decode(root.attrs.get("format_version", FORMAT_VERSION))
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise RunRecordError(
            f"{path}: record format version {version} was written by a newer nirpoct (this one "
            f"reads up to version {FORMAT_VERSION}); update nirpoct to read it"
        )
    missing = [f"/raw/{n}" for n in ("frames", *PER_FRAME_FIELDS) if f"raw/{n}" not in root]
    missing += ["/acquisition"] if "acquisition" not in root else []
    if missing:
        raise RunRecordError(f"{path}: damaged record: missing {', '.join(missing)}")


def _decode(value: object) -> object:
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.generic):
        return value.item()
    return value


@dataclass(frozen=True)
class RunHeader:
    """What a run record says about itself, without its frames.

    Attributes
    ----------
    path : pathlib.Path
    metadata : dict
        Root attributes (run id, times, status, operator, subject pseudonym …).
    devices : dict of str to dict
        Device identities.
    protocol : dict
        ``/protocol`` attributes (empty for a plain acquisition).
    frames : int
        Frames the record holds.
    """

    path: Path
    metadata: dict[str, object]
    devices: dict[str, dict[str, object]]
    protocol: dict[str, object]
    frames: int

    @property
    def device_serials(self) -> frozenset[str]:
        """Serial numbers of the run's devices."""
        return frozenset(str(d.get("serial", "")) for d in self.devices.values())


def read_run_header(path: str | Path) -> RunHeader:
    """The header of a run record (finished, or left by a killed writer).

    Raises
    ------
    RunRecordError
        If the file is missing, not HDF5, not a run record or damaged.
    """
    return _damage_named(_read_run_header, path)


def _read_run_header(path: Path) -> RunHeader:
    with _open_for_reading(path) as root:
        if root.attrs.get("format") != FORMAT:
            raise RunRecordError(f"{path}: not a {FORMAT} file")
        return RunHeader(
            path=path,
            metadata=_attributes(root),
            devices={name: _attributes(group) for name, group in root.get("devices", {}).items()},
            protocol=_attributes(root["protocol"]) if "protocol" in root else {},
            frames=int(root["raw/frames"].shape[0]) if "raw/frames" in root else 0,
        )


def _attributes(node: h5py.Group) -> dict[str, object]:
    return {key: _decode(value) for key, value in node.attrs.items()}


def run_headers(directory: str | Path) -> list[RunHeader]:
    """Headers of every readable run record below ``directory`` (recursively), by path;
    files that are not run records are passed over."""
    headers = []
    for path in sorted(Path(directory).glob("**/*.h5")):
        try:
            headers.append(read_run_header(path))
        except RunRecordError:
            logger.info("%s is not a readable run record; passed over", path)
    return headers


def finalise_interrupted(path: Path) -> tuple[int, int]:
    """Close a record its writer never finished: keep the frames whose per-frame fields were
    all flushed, status ``interrupted`` with the reason; (frames kept, frames left out).

    The file must be openable for writing (its HDF5 consistency flags cleared).

    Raises
    ------
    RunRecordError
        The file cannot be finalised (naming it).
    """
    try:
        with h5py.File(path, "r+", libver="latest") as root:
            raw = root["raw"]
            names = [name for name in ("frames", *PER_FRAME_FIELDS) if name in raw]
            lengths = [raw[name].shape[0] for name in names]
            kept = min(lengths, default=0)
            for name in names:
                if raw[name].shape[0] > kept:
                    raw[name].resize(kept, axis=0)
            root.attrs["status"] = "interrupted"
            root.attrs["error"] = (
                "the writer stopped before closing the record (crash, kill or power loss); "
                f"finalised by nirpoct with the {kept} frames flushed"
            )
            root.attrs["stop_time_utc"] = utc_now_iso()
    except (OSError, KeyError) as exc:
        raise RunRecordError(f"{path}: cannot be finalised ({exc})") from None
    logger.info("finalised %s: %d frames kept", path, kept)
    return kept, max(lengths, default=0) - kept
