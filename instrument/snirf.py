"""SNIRF v1.1 files: read and write one NIRS recording.

SNIRF (Shared Near Infrared Spectroscopy Format, fNIRS/snirf specification v1.1) is the HDF5
exchange format of the fNIRS community, read by MNE, Homer3 and cedalion. Files written here
pass the ``snirf`` package's validator and open with ``mne.io.read_raw_snirf``.

Layout written
--------------
``/formatVersion`` "1.1"
``/nirs/metaDataTags``
    ``SubjectID`` (a pseudonym only: anything else is replaced by its keyed-hash pseudonym),
    ``MeasurementDate``, ``MeasurementTime``, ``LengthUnit`` "mm", ``TimeUnit`` "s",
    ``FrequencyUnit`` "Hz", and of further tags only the non-identifying ``PASSED_TAGS``.
``/nirs/data1/dataTimeSeries`` (T, M) float64 and ``/nirs/data1/time`` (T,) s
``/nirs/data1/measurementList<k>``
    ``sourceIndex``, ``detectorIndex``, ``wavelengthIndex`` (1-based), ``dataType``
    (1 CW amplitude, 99999 processed), ``dataTypeIndex`` (1), and for processed data
    ``dataTypeLabel`` ("HbO", "HbR", "HbT") and ``dataUnit`` "uM".
``/nirs/probe``
    ``wavelengths`` (W,) nm, ``sourcePos3D`` (S, 3) and ``detectorPos3D`` (D, 3) mm,
    ``sourceLabels``, ``detectorLabels``.
``/nirs/stim<k>``
    ``name`` and ``data`` (N, 3): onset s, duration s, amplitude.

Files are written to a temporary file beside the target and renamed into place; a run record
is never overwritten.

Reading accepts per-measurement ``measurementList<k>`` groups or the v1.2 ``measurementLists``
arrays, 2D or 3D positions in m, cm or mm, times in s or ms (or the two-element
start/period form), haemoglobin in any listed ``dataUnit`` (mol/L when absent, as MNE
writes), and converts everything to the units of :class:`NirsData`. Aux channels are not read.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np
from numpy.typing import NDArray

from instrument.pseudonym import load_site_key, pseudonymise

FORMAT_VERSION = "1.1"
DATA_TYPE_CW_AMPLITUDE = 1
DATA_TYPE_PROCESSED = 99999
HEMOGLOBIN_LABELS = ("HbO", "HbR", "HbT")
HEMOGLOBIN_UNIT = "uM"
UNIT_TAGS = {"LengthUnit": "mm", "TimeUnit": "s", "FrequencyUnit": "Hz"}
REQUIRED_TAGS = ("SubjectID", "MeasurementDate", "MeasurementTime")
RECORD_STATUS_TAG = "RecordStatus"
"""metaDataTag with the status of the run record a file was exported from (``running`` and
``interrupted``: the run did not finish)."""
# metaDataTags passed on when writing: none of them identifies a person.
PASSED_TAGS = (
    *REQUIRED_TAGS,
    "ManufacturerName",
    "Model",
    "RunID",
    RECORD_STATUS_TAG,
    "SessionID",
    "SoftwareVersion",
)
PSEUDONYM_PATTERN = re.compile(r"sub-[0-9a-f]+")
RUN_RECORD_FORMAT = "nirpoct-run"
# Haemoglobin units read (factor to µM); processed data without a dataUnit is taken as mol/L,
# the unit MNE writes and reads.
_CONCENTRATION_TO_UM = {
    "M": 1e6,
    "mol/L": 1e6,
    "mM": 1e3,
    "mmol/L": 1e3,
    "uM": 1.0,
    "µM": 1.0,
    "umol/L": 1.0,
    "nM": 1e-3,
    "nmol/L": 1e-3,
}
_UNITLESS_CONCENTRATION = "M"
_LENGTH_TO_MM = {"mm": 1.0, "cm": 10.0, "m": 1000.0}
_TIME_TO_S = {"s": 1.0, "ms": 1e-3}
_STRING = h5py.string_dtype("utf-8")


class SnirfError(ValueError):
    """A SNIRF file or NIRS data set is malformed; the message names the file and the problem."""


@dataclass(frozen=True)
class NirsData:
    """One NIRS recording in SNIRF terms.

    Attributes
    ----------
    time_s : ndarray, shape (T,)
        Sample times, s, strictly increasing.
    values : ndarray, shape (T, M)
        One column per measurement (CW amplitude in the instrument's units, or µM).
    source_index, detector_index : ndarray of int, shape (M,)
        1-based indices into the source and detector positions.
    wavelength_index : ndarray of int, shape (M,)
        1-based index into `wavelengths_nm` (0 for haemoglobin data).
    wavelengths_nm : ndarray, shape (W,)
        Wavelengths, nm.
    source_positions_mm, detector_positions_mm : ndarray, shape (S, 3) and (D, 3)
        Optode positions, mm.
    data_type : int
        1 (CW amplitude) or 99999 (processed).
    data_type_labels : tuple of str or None
        Processed data: per measurement "HbO", "HbR" or "HbT"; None for CW amplitude.
    metadata : dict of str to str
        SNIRF metaDataTags other than the units (SubjectID holds a pseudonym only).
    stims : dict of str to ndarray, shape (N, 3) or (N, 3 + k)
        Stimulus groups by name: onset s, duration s, amplitude (and any further columns).
    source_labels, detector_labels : tuple of str
        Optode labels, one per position; empty for the default "S1…", "D1…".

    Raises
    ------
    SnirfError
        If the arrays disagree in shape, an index is out of range or time is not increasing.
    """

    time_s: NDArray[np.float64]
    values: NDArray[np.float64]
    source_index: NDArray[np.int64]
    detector_index: NDArray[np.int64]
    wavelength_index: NDArray[np.int64]
    wavelengths_nm: NDArray[np.float64]
    source_positions_mm: NDArray[np.float64]
    detector_positions_mm: NDArray[np.float64]
    data_type: int = DATA_TYPE_CW_AMPLITUDE
    data_type_labels: tuple[str, ...] | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    stims: dict[str, NDArray[np.float64]] = field(default_factory=dict)
    source_labels: tuple[str, ...] = ()
    detector_labels: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name, dtype in (
            ("time_s", np.float64),
            ("values", np.float64),
            ("source_index", np.int64),
            ("detector_index", np.int64),
            ("wavelength_index", np.int64),
            ("wavelengths_nm", np.float64),
            ("source_positions_mm", np.float64),
            ("detector_positions_mm", np.float64),
        ):
            object.__setattr__(self, name, np.asarray(getattr(self, name), dtype=dtype))
        if self.data_type_labels is not None:
            object.__setattr__(self, "data_type_labels", tuple(self.data_type_labels))
        object.__setattr__(self, "metadata", {str(k): str(v) for k, v in self.metadata.items()})
        stims = {str(k): np.atleast_2d(np.asarray(v, dtype=float)) for k, v in self.stims.items()}
        object.__setattr__(self, "stims", stims)
        for name in ("source_labels", "detector_labels"):
            object.__setattr__(self, name, tuple(str(v) for v in getattr(self, name)))
        problem = _problem(self)
        if problem:
            raise SnirfError(problem)

    @property
    def measurement_count(self) -> int:
        """Number of measurements (columns of `values`)."""
        count: int = self.values.shape[1]
        return count

    @property
    def sample_rate_hz(self) -> float:
        """Mean sampling rate, Hz (0 for a single sample)."""
        if len(self.time_s) < 2:
            return 0.0
        return float((len(self.time_s) - 1) / (self.time_s[-1] - self.time_s[0]))


def _problem(data: NirsData) -> str:
    """The first inconsistency in `data`, or "" when there is none."""
    if data.time_s.ndim != 1 or len(data.time_s) == 0:
        return f"time must be a non-empty vector, got shape {data.time_s.shape}"
    if not np.all(np.isfinite(data.time_s)) or np.any(np.diff(data.time_s) <= 0.0):
        return "time is not strictly increasing"
    if data.values.ndim != 2 or data.values.shape[0] != len(data.time_s):
        return (
            f"dataTimeSeries has shape {data.values.shape}, expected "
            f"({len(data.time_s)}, measurements) to match time"
        )
    count = data.values.shape[1]
    if count == 0:
        return "no measurements"
    for name in ("source_index", "detector_index", "wavelength_index"):
        if getattr(data, name).shape != (count,):
            return f"{name} has shape {getattr(data, name).shape}, expected ({count},)"
    for name in ("source_positions_mm", "detector_positions_mm"):
        array = getattr(data, name)
        if array.ndim != 2 or array.shape[1] != 3 or not np.all(np.isfinite(array)):
            return f"{name} must be finite with shape (N, 3), got shape {array.shape}"
    for name, labels, positions in (
        ("source_labels", data.source_labels, data.source_positions_mm),
        ("detector_labels", data.detector_labels, data.detector_positions_mm),
    ):
        if labels and len(labels) != len(positions):
            return f"{name} has {len(labels)} labels for {len(positions)} positions"
    for name, stim in data.stims.items():
        if stim.size and (stim.ndim != 2 or stim.shape[1] < 3 or not np.isfinite(stim).all()):
            return f"stim {name!r} must be finite rows of (onset, duration, amplitude)"
    if data.wavelengths_nm.ndim != 1 or not np.all(data.wavelengths_nm > 0.0):
        return "wavelengths must be a vector of positive nm"
    limits = {
        "source_index": len(data.source_positions_mm),
        "detector_index": len(data.detector_positions_mm),
    }
    for name, limit in limits.items():
        index = getattr(data, name)
        if np.any(index < 1) or np.any(index > limit):
            return f"{name} must lie in 1..{limit}"
    low = 0 if data.data_type == DATA_TYPE_PROCESSED else 1
    if np.any(data.wavelength_index < low) or np.any(
        data.wavelength_index > len(data.wavelengths_nm)
    ):
        return f"wavelength_index must lie in {low}..{len(data.wavelengths_nm)}"
    if data.data_type == DATA_TYPE_PROCESSED:
        type_labels = data.data_type_labels
        if type_labels is None or len(type_labels) != count:
            return "processed data needs one dataTypeLabel per measurement"
        unknown = sorted(set(type_labels) - set(HEMOGLOBIN_LABELS))
        if unknown:
            return f"unsupported dataTypeLabel {unknown[0]!r} (supported: HbO, HbR, HbT)"
    elif data.data_type == DATA_TYPE_CW_AMPLITUDE:
        if data.data_type_labels is not None:
            return "CW amplitude data takes no dataTypeLabel"
    else:
        return f"unsupported dataType {data.data_type} (supported: 1, 99999)"
    return ""


# -- writing --------------------------------------------------------------------------------

_SCALAR = h5py.h5s.create(h5py.h5s.SCALAR)
_INT32 = h5py.h5t.STD_I32LE
_VLEN_STRING = h5py.h5t.py_create(_STRING, logical=True)


def _string(group: h5py.Group | h5py.h5g.GroupID, name: str, text: str) -> None:
    group_id = group.id if isinstance(group, h5py.Group) else group
    value = np.empty((), dtype=_STRING)
    value[()] = text.encode()
    dataset = h5py.h5d.create(group_id, name.encode(), _VLEN_STRING, _SCALAR)
    dataset.write(h5py.h5s.ALL, h5py.h5s.ALL, value)


def _int(group_id: h5py.h5g.GroupID, name: bytes, value: int) -> None:
    dataset = h5py.h5d.create(group_id, name, _INT32, _SCALAR)
    dataset.write(h5py.h5s.ALL, h5py.h5s.ALL, np.array(value, dtype="<i4"))


def subject_pseudonym(subject_id: str) -> str:
    """`subject_id` if a pseudonym (``sub-`` + hex) or empty, else its keyed-hash pseudonym."""
    subject_id = subject_id.strip()
    if not subject_id or PSEUDONYM_PATTERN.fullmatch(subject_id):
        return subject_id
    return pseudonymise(subject_id, load_site_key())


def _write_tags(data: NirsData) -> dict[str, str]:
    tags = {"SubjectID": "", "MeasurementDate": "unknown", "MeasurementTime": "unknown"}
    tags.update({k: v for k, v in data.metadata.items() if k in PASSED_TAGS})
    tags["SubjectID"] = subject_pseudonym(tags["SubjectID"])
    tags.update(UNIT_TAGS)
    return tags


def refuse_unsafe_output(path: str | Path, *inputs: str | Path, overwrite: bool = False) -> None:
    """Refuse to write `path` over one of `inputs`, a run record, or (unless `overwrite`) a file.

    Raises
    ------
    SnirfError
        Naming the output and why it is not written.
    """
    out = Path(path)
    for source in inputs:
        if out.resolve() == Path(source).resolve() or (
            out.exists() and Path(source).exists() and out.samefile(source)
        ):
            raise SnirfError(f"{out}: output is the input file; choose another output")
    if not out.parent.is_dir():
        raise SnirfError(f"{out}: the folder {out.parent} does not exist")
    if not out.exists():
        return
    if not out.is_file():
        raise SnirfError(f"{out}: exists and is not a file")
    if h5py.is_hdf5(out):
        try:
            with h5py.File(out, "r", locking=False) as root:
                is_run_record = root.attrs.get("format") == RUN_RECORD_FORMAT
        except (OSError, RuntimeError):
            raise SnirfError(
                f"{out}: an HDF5 file that cannot be opened; not overwritten (it may be a run "
                "record being written)"
            ) from None
    else:
        is_run_record = False
    if is_run_record:
        raise SnirfError(f"{out}: is a run record; it is never overwritten")
    if not overwrite:
        raise SnirfError(f"{out}: exists (use --force to overwrite it)")


def write_snirf(path: str | Path, data: NirsData, *, overwrite: bool = True) -> None:
    """Write `data` as a SNIRF v1.1 file.

    The file is written to a temporary file in the same directory and renamed into place, so
    a failed write leaves any earlier file intact. Only the tags in ``PASSED_TAGS`` are written;
    a SubjectID that is not a pseudonym (``sub-`` + hex) is replaced by its keyed-hash
    pseudonym (``instrument.pseudonym``).

    Parameters
    ----------
    path : str or Path
        File to create (conventionally ``*.snirf``).
    data : NirsData
        The recording; metadata without MeasurementDate/MeasurementTime gets "unknown"
        placeholders, without SubjectID an empty one.
    overwrite : bool
        Replace an existing file (never a run record).

    Raises
    ------
    SnirfError
        If `path` is a run record, or exists and `overwrite` is false.
    """
    path = Path(path)
    refuse_unsafe_output(path, overwrite=overwrite)
    tags = _write_tags(data)
    descriptor, scratch = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent or ".")
    os.close(descriptor)
    try:
        with h5py.File(scratch, "w") as root:
            _write_content(root, data, tags)
        os.replace(scratch, path)
    finally:
        if os.path.exists(scratch):
            os.unlink(scratch)


def _write_content(root: h5py.File, data: NirsData, tags: dict[str, str]) -> None:
    _string(root, "formatVersion", FORMAT_VERSION)
    nirs = root.create_group("nirs")
    meta = nirs.create_group("metaDataTags")
    for key, value in tags.items():
        _string(meta, key, value)
    block = nirs.create_group("data1")
    block.create_dataset("dataTimeSeries", data=data.values)
    block.create_dataset("time", data=data.time_s)
    columns = np.column_stack(
        [data.source_index, data.detector_index, data.wavelength_index]
    ).tolist()
    for k, (source, detector, wavelength) in enumerate(columns):
        entry = h5py.h5g.create(block.id, f"measurementList{k + 1}".encode())
        _int(entry, b"sourceIndex", source)
        _int(entry, b"detectorIndex", detector)
        _int(entry, b"wavelengthIndex", wavelength)
        _int(entry, b"dataType", data.data_type)
        _int(entry, b"dataTypeIndex", 1)
        if data.data_type_labels is not None:
            _string(entry, "dataTypeLabel", data.data_type_labels[k])
            _string(entry, "dataUnit", HEMOGLOBIN_UNIT)
    for index, (name, stim) in enumerate(data.stims.items(), start=1):
        group = nirs.create_group(f"stim{index}")
        _string(group, "name", name)
        group.create_dataset("data", data=stim if stim.size else np.zeros((0, 3)))
    probe = nirs.create_group("probe")
    probe.create_dataset("wavelengths", data=data.wavelengths_nm)
    probe.create_dataset("sourcePos3D", data=data.source_positions_mm)
    probe.create_dataset("detectorPos3D", data=data.detector_positions_mm)
    for name, given, count, prefix in (
        ("sourceLabels", data.source_labels, len(data.source_positions_mm), "S"),
        ("detectorLabels", data.detector_labels, len(data.detector_positions_mm), "D"),
    ):
        labels = list(given) or [f"{prefix}{i + 1}" for i in range(count)]
        probe.create_dataset(name, data=labels, dtype=_STRING)


# -- reading --------------------------------------------------------------------------------


def _raw(group_id: h5py.h5g.GroupID, name: str) -> np.ndarray:
    """A dataset's content read through the low-level API (one HDF5 round trip)."""
    dataset = h5py.h5d.open(group_id, name.encode())
    file_type = dataset.get_type()
    kind = file_type.get_class()
    if kind not in (h5py.h5t.STRING, h5py.h5t.INTEGER, h5py.h5t.FLOAT):
        # Variable-length sequences, compounds, references …: not SNIRF content, and a damaged
        # variable-length type can crash HDF5's conversion, so it is never read.
        raise SnirfError(f"{name} holds neither numbers nor text (HDF5 type class {kind})")
    if kind == h5py.h5t.STRING:
        if file_type.is_variable_str():
            out = np.empty(dataset.shape, dtype=_STRING)
        else:
            out = np.empty(dataset.shape, dtype=f"S{file_type.get_size()}")
        dataset.read(h5py.h5s.ALL, h5py.h5s.ALL, out)
        return out
    out = np.empty(dataset.shape, dtype=dataset.dtype)
    dataset.read(h5py.h5s.ALL, h5py.h5s.ALL, out)
    return out


def _decoded(value: object) -> object:
    return value.decode(errors="replace") if isinstance(value, bytes) else value


def _text(group: h5py.Group, name: str) -> str:
    value = _raw(group.id, name).reshape(-1)
    return str(_decoded(value[0])) if value.size else ""


def _tags(nirs: h5py.Group) -> dict[str, str]:
    meta = nirs.get("metaDataTags")
    if not isinstance(meta, h5py.Group):
        raise SnirfError("missing /nirs/metaDataTags")
    return {key: _text(meta, key) for key in meta if meta.get(key, getclass=True) is h5py.Dataset}


def _natural(name: str) -> list[object]:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def _scalar(group_id: h5py.h5g.GroupID, name: str, where: str) -> object:
    dataset = h5py.h5d.open(group_id, name.encode())
    if dataset.get_type().get_class() == h5py.h5t.INTEGER:  # the usual case: one direct read
        out = np.empty((), dtype=np.int64)
        try:
            dataset.read(_SCALAR, h5py.h5s.ALL, out)
            return int(out)
        except (TypeError, ValueError, OSError):  # more than one element
            pass
    value = _raw(group_id, name)
    if value.size != 1:
        raise SnirfError(f"{where}/{name} must be a scalar, got shape {value.shape}")
    return _decoded(value.reshape(-1)[0])


_OPTIONAL_FIELDS = {"wavelengthIndex": 0, "dataTypeLabel": "", "dataUnit": ""}


def _measurements(block: h5py.Group) -> dict[str, list[object]]:
    """Per-measurement fields from measurementList<k> groups or measurementLists arrays."""
    keys = ("sourceIndex", "detectorIndex", "dataType", *_OPTIONAL_FIELDS)
    fields: dict[str, list[object]] = {key: [] for key in keys}
    names = sorted((n for n in block if re.fullmatch(r"measurementList\d+", n)), key=_natural)
    if names:
        for name in names:
            entry = h5py.h5g.open(block.id, name.encode())
            present = {link.decode(errors="replace") for link in entry}
            where = f"/nirs/data1/{name}"
            for key in keys:
                if key in present:
                    fields[key].append(_scalar(entry, key, where))
                elif key in _OPTIONAL_FIELDS:
                    fields[key].append(_OPTIONAL_FIELDS[key])
                else:
                    raise SnirfError(f"{where} has no {key}")
        return fields
    lists = block.get("measurementLists")
    if not isinstance(lists, h5py.Group):
        raise SnirfError("/nirs/data1 has no measurementList")
    for key in keys:
        if key in lists:
            fields[key] = [_decoded(v) for v in _raw(lists.id, key).reshape(-1)]
        elif key not in _OPTIONAL_FIELDS:
            raise SnirfError(f"/nirs/data1/measurementLists has no {key}")
    count = len(fields["sourceIndex"])
    for key, default in _OPTIONAL_FIELDS.items():
        fields[key] = fields[key] or [default] * count
    return fields


def _concentration_scale(units: list[object], labels: tuple[str, ...]) -> NDArray[np.float64]:
    """Factor from each measurement's dataUnit to µM (haemoglobin measurements only)."""
    scale = np.ones(len(units))
    for k, (unit, label) in enumerate(zip(units, labels, strict=True)):
        if label not in HEMOGLOBIN_LABELS:
            continue
        text = str(unit).strip() or _UNITLESS_CONCENTRATION
        if text not in _CONCENTRATION_TO_UM:
            raise SnirfError(
                f"measurementList{k + 1}: unsupported dataUnit {text!r} for {label} "
                f"(supported: {', '.join(_CONCENTRATION_TO_UM)})"
            )
        scale[k] = _CONCENTRATION_TO_UM[text]
    return scale


def _positions(probe: h5py.Group, kind: str, scale: float) -> NDArray[np.float64]:
    if f"{kind}Pos3D" in probe:
        positions = np.atleast_2d(np.asarray(_raw(probe.id, f"{kind}Pos3D"), dtype=float))
    elif f"{kind}Pos2D" in probe:
        flat = np.atleast_2d(np.asarray(_raw(probe.id, f"{kind}Pos2D"), dtype=float))
        if flat.shape[1] != 2:
            raise SnirfError(f"/nirs/probe/{kind}Pos2D has shape {flat.shape}, expected (N, 2)")
        positions = np.column_stack([flat, np.zeros(len(flat))])
    else:
        raise SnirfError(f"/nirs/probe has no {kind}Pos3D or {kind}Pos2D")
    return positions * scale


def _labels(probe: h5py.Group, name: str, count: int) -> tuple[str, ...]:
    """Optode labels, or () when absent or not one per optode."""
    if probe.get(name, getclass=True) is not h5py.Dataset:
        return ()
    labels = tuple(str(_decoded(v)) for v in _raw(probe.id, name).reshape(-1))
    return labels if len(labels) == count else ()


def _stims(nirs: h5py.Group, scale: float) -> dict[str, NDArray[np.float64]]:
    """Stimulus groups ``stim<k>`` by name; onset and duration converted to s."""
    stims: dict[str, NDArray[np.float64]] = {}
    for group_name in sorted((n for n in nirs if re.fullmatch(r"stim\d+", n)), key=_natural):
        group = nirs[group_name]
        if not isinstance(group, h5py.Group) or "name" not in group:
            raise SnirfError(f"/nirs/{group_name} has no name")
        name = _text(group, "name")
        data = np.zeros((0, 3))
        if "data" in group:
            data = np.asarray(_raw(group.id, "data"), dtype=float)
            data = data.reshape(-1, 3) if data.ndim < 2 else data
            if data.size and data.shape[1] < 3:
                raise SnirfError(f"/nirs/{group_name}/data has shape {data.shape}, expected (N, 3)")
            data = data.copy()
            data[:, :2] *= scale
        stims[name] = data
    return stims


def _time(block: h5py.Group, count: int, scale: float) -> NDArray[np.float64]:
    if "time" not in block:
        raise SnirfError("missing /nirs/data1/time")
    time = np.asarray(_raw(block.id, "time"), dtype=float).reshape(-1) * scale
    if len(time) == 2 and count != 2:  # (start, period) form of the specification
        time = time[0] + time[1] * np.arange(count)
    return time


def _read(root: h5py.File) -> NirsData:
    nirs = root.get("nirs") if "nirs" in root else root.get("nirs1")
    if not isinstance(nirs, h5py.Group):
        raise SnirfError("missing /nirs group")
    tags = _tags(nirs)
    length_unit = tags.pop("LengthUnit", "mm")
    time_unit = tags.pop("TimeUnit", "s")
    tags.pop("FrequencyUnit", None)
    if length_unit not in _LENGTH_TO_MM:
        raise SnirfError(f"unsupported LengthUnit {length_unit!r} (supported: m, cm, mm)")
    if time_unit not in _TIME_TO_S:
        raise SnirfError(f"unsupported TimeUnit {time_unit!r} (supported: s, ms)")
    block = nirs.get("data1")
    if not isinstance(block, h5py.Group):
        raise SnirfError("missing /nirs/data1")
    if "dataTimeSeries" not in block:
        raise SnirfError("missing /nirs/data1/dataTimeSeries")
    values = np.asarray(_raw(block.id, "dataTimeSeries"), dtype=float)
    if values.ndim == 1:
        values = values[:, np.newaxis]
    time = _time(block, values.shape[0], _TIME_TO_S[time_unit])
    fields = _measurements(block)
    if values.ndim != 2 or values.shape[1] != len(fields["sourceIndex"]):
        raise SnirfError(
            f"/nirs/data1/dataTimeSeries has shape {values.shape}, expected "
            f"({len(time)}, {len(fields['sourceIndex'])}) for {len(fields['sourceIndex'])} "
            "measurements"
        )
    data_types = {int(np.asarray(t)) for t in fields["dataType"]}
    if len(data_types) != 1:
        raise SnirfError(f"mixed dataType values {sorted(data_types)} in one data block")
    data_type = data_types.pop()
    probe = nirs.get("probe")
    if not isinstance(probe, h5py.Group) or "wavelengths" not in probe:
        raise SnirfError("missing /nirs/probe/wavelengths")
    scale = _LENGTH_TO_MM[length_unit]
    labels = tuple(str(label) for label in fields["dataTypeLabel"])
    if data_type == DATA_TYPE_PROCESSED:
        values = values * _concentration_scale(fields["dataUnit"], labels)
    sources = _positions(probe, "source", scale)
    detectors = _positions(probe, "detector", scale)
    return NirsData(
        time_s=time,
        values=values,
        source_index=np.asarray(fields["sourceIndex"], dtype=np.int64),
        detector_index=np.asarray(fields["detectorIndex"], dtype=np.int64),
        wavelength_index=np.asarray(fields["wavelengthIndex"], dtype=np.int64),
        wavelengths_nm=np.asarray(_raw(probe.id, "wavelengths"), dtype=float).reshape(-1),
        source_positions_mm=sources,
        detector_positions_mm=detectors,
        data_type=data_type,
        data_type_labels=labels if data_type == DATA_TYPE_PROCESSED else None,
        metadata=tags,
        stims=_stims(nirs, _TIME_TO_S[time_unit]),
        source_labels=_labels(probe, "sourceLabels", len(sources)),
        detector_labels=_labels(probe, "detectorLabels", len(detectors)),
    )


def read_snirf(path: str | Path) -> NirsData:
    """Read the first data block of a SNIRF file.

    Parameters
    ----------
    path : str or Path
        A SNIRF (v1.0-1.2) file.

    Returns
    -------
    NirsData
        Times in s, positions in mm, wavelengths in nm, haemoglobin in µM (converted from the
        measurement's dataUnit; without one, mol/L as MNE writes); metaDataTags other than the
        units, stimulus groups and optode labels.

    Raises
    ------
    SnirfError
        Naming the file and what is wrong: missing, not HDF5, damaged HDF5 content, missing
        groups or datasets, shapes that disagree, indices out of range, time not increasing,
        unsupported units.
    """
    path = Path(path)
    if not path.is_file():
        raise SnirfError(
            f"{path}: {'is a folder, not a SNIRF file' if path.is_dir() else 'no such file'}"
        )
    try:
        root = h5py.File(path, "r")
    except OSError:
        raise SnirfError(f"{path}: not an HDF5 (SNIRF) file") from None
    try:
        with root:
            return _read(root)
    except SnirfError as exc:
        raise SnirfError(f"{path}: {exc}") from None
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise SnirfError(f"{path}: malformed SNIRF content ({exc})") from None
    except (OSError, RuntimeError) as exc:
        raise SnirfError(f"{path}: damaged SNIRF ({exc})") from None
