"""SNIRF v1.1 files: read and write one NIRS recording.

SNIRF (Shared Near Infrared Spectroscopy Format, fNIRS/snirf specification v1.1) is the HDF5
exchange format of the fNIRS community, read by MNE, Homer3 and cedalion. Files written here
pass the ``snirf`` package's validator and open with ``mne.io.read_raw_snirf``.

Layout written
--------------
``/formatVersion`` "1.1"
``/nirs/metaDataTags``
    ``SubjectID`` (a pseudonym only), ``MeasurementDate``, ``MeasurementTime``,
    ``LengthUnit`` "mm", ``TimeUnit`` "s", ``FrequencyUnit`` "Hz", plus any further tags.
``/nirs/data1/dataTimeSeries`` (T, M) float64 and ``/nirs/data1/time`` (T,) s
``/nirs/data1/measurementList<k>``
    ``sourceIndex``, ``detectorIndex``, ``wavelengthIndex`` (1-based), ``dataType``
    (1 CW amplitude, 99999 processed), ``dataTypeIndex`` (1), and for processed data
    ``dataTypeLabel`` ("HbO", "HbR", "HbT") and ``dataUnit`` "uM".
``/nirs/probe``
    ``wavelengths`` (W,) nm, ``sourcePos3D`` (S, 3) and ``detectorPos3D`` (D, 3) mm,
    ``sourceLabels``, ``detectorLabels``.

Reading accepts per-measurement ``measurementList<k>`` groups or the v1.2 ``measurementLists``
arrays, 2D or 3D positions in m, cm or mm, times in s or ms (or the two-element
start/period form), and converts everything to the units of :class:`NirsData`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np
from numpy.typing import NDArray

FORMAT_VERSION = "1.1"
DATA_TYPE_CW_AMPLITUDE = 1
DATA_TYPE_PROCESSED = 99999
HEMOGLOBIN_LABELS = ("HbO", "HbR", "HbT")
HEMOGLOBIN_UNIT = "uM"
UNIT_TAGS = {"LengthUnit": "mm", "TimeUnit": "s", "FrequencyUnit": "Hz"}
REQUIRED_TAGS = ("SubjectID", "MeasurementDate", "MeasurementTime")
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
        problem = _problem(self)
        if problem:
            raise SnirfError(problem)

    @property
    def measurement_count(self) -> int:
        """Number of measurements (columns of `values`)."""
        return self.values.shape[1]

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
        labels = data.data_type_labels
        if labels is None or len(labels) != count:
            return "processed data needs one dataTypeLabel per measurement"
        unknown = sorted(set(labels) - set(HEMOGLOBIN_LABELS))
        if unknown:
            return f"unsupported dataTypeLabel {unknown[0]!r} (supported: HbO, HbR, HbT)"
    elif data.data_type == DATA_TYPE_CW_AMPLITUDE:
        if data.data_type_labels is not None:
            return "CW amplitude data takes no dataTypeLabel"
    else:
        return f"unsupported dataType {data.data_type} (supported: 1, 99999)"
    return ""


# -- writing --------------------------------------------------------------------------------


def _string(group: h5py.Group, name: str, text: str) -> None:
    group.create_dataset(name, data=text, dtype=_STRING)


def write_snirf(path: str | Path, data: NirsData) -> None:
    """Write `data` as a SNIRF v1.1 file.

    Parameters
    ----------
    path : str or Path
        File to create or overwrite (conventionally ``*.snirf``).
    data : NirsData
        The recording; metadata without MeasurementDate/MeasurementTime gets "unknown"
        placeholders, without SubjectID an empty one.
    """
    tags = {"SubjectID": "", "MeasurementDate": "unknown", "MeasurementTime": "unknown"}
    tags.update({k: v for k, v in data.metadata.items() if k not in UNIT_TAGS})
    tags.update(UNIT_TAGS)
    with h5py.File(Path(path), "w") as root:
        _string(root, "formatVersion", FORMAT_VERSION)
        nirs = root.create_group("nirs")
        meta = nirs.create_group("metaDataTags")
        for key, value in tags.items():
            _string(meta, key, value)
        block = nirs.create_group("data1")
        block.create_dataset("dataTimeSeries", data=data.values)
        block.create_dataset("time", data=data.time_s)
        for k in range(data.measurement_count):
            entry = block.create_group(f"measurementList{k + 1}")
            entry.create_dataset("sourceIndex", data=np.int32(data.source_index[k]))
            entry.create_dataset("detectorIndex", data=np.int32(data.detector_index[k]))
            entry.create_dataset("wavelengthIndex", data=np.int32(data.wavelength_index[k]))
            entry.create_dataset("dataType", data=np.int32(data.data_type))
            entry.create_dataset("dataTypeIndex", data=np.int32(1))
            if data.data_type_labels is not None:
                _string(entry, "dataTypeLabel", data.data_type_labels[k])
                _string(entry, "dataUnit", HEMOGLOBIN_UNIT)
        probe = nirs.create_group("probe")
        probe.create_dataset("wavelengths", data=data.wavelengths_nm)
        probe.create_dataset("sourcePos3D", data=data.source_positions_mm)
        probe.create_dataset("detectorPos3D", data=data.detector_positions_mm)
        for name, count, prefix in (
            ("sourceLabels", len(data.source_positions_mm), "S"),
            ("detectorLabels", len(data.detector_positions_mm), "D"),
        ):
            labels = [f"{prefix}{i + 1}" for i in range(count)]
            probe.create_dataset(name, data=labels, dtype=_STRING)


# -- reading --------------------------------------------------------------------------------


def _text(dataset: h5py.Dataset) -> str:
    value = dataset[()]
    if isinstance(value, np.ndarray):
        value = value.reshape(-1)[0] if value.size else b""
    return value.decode() if isinstance(value, bytes) else str(value)


def _tags(nirs: h5py.Group) -> dict[str, str]:
    meta = nirs.get("metaDataTags")
    if not isinstance(meta, h5py.Group):
        raise SnirfError("missing /nirs/metaDataTags")
    return {key: _text(item) for key, item in meta.items() if isinstance(item, h5py.Dataset)}


def _natural(name: str) -> list[object]:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def _scalar(group: h5py.Group, name: str, where: str) -> object:
    if name not in group:
        raise SnirfError(f"{where} has no {name}")
    value = np.asarray(group[name][()])
    if value.size != 1:
        raise SnirfError(f"{where}/{name} must be a scalar, got shape {value.shape}")
    item = value.reshape(-1)[0]
    return item.decode() if isinstance(item, bytes) else item


def _measurements(block: h5py.Group) -> dict[str, list[object]]:
    """Per-measurement fields from measurementList<k> groups or measurementLists arrays."""
    fields: dict[str, list[object]] = {
        "sourceIndex": [],
        "detectorIndex": [],
        "wavelengthIndex": [],
        "dataType": [],
        "dataTypeLabel": [],
    }
    names = sorted((n for n in block if re.fullmatch(r"measurementList\d+", n)), key=_natural)
    if names:
        for name in names:
            entry = block[name]
            where = f"/nirs/data1/{name}"
            for key in ("sourceIndex", "detectorIndex", "dataType"):
                fields[key].append(_scalar(entry, key, where))
            fields["wavelengthIndex"].append(
                _scalar(entry, "wavelengthIndex", where) if "wavelengthIndex" in entry else 0
            )
            fields["dataTypeLabel"].append(
                _scalar(entry, "dataTypeLabel", where) if "dataTypeLabel" in entry else ""
            )
        return fields
    lists = block.get("measurementLists")
    if not isinstance(lists, h5py.Group):
        raise SnirfError("/nirs/data1 has no measurementList")
    for key in fields:
        if key in lists:
            values = np.asarray(lists[key][()]).reshape(-1)
            fields[key] = [v.decode() if isinstance(v, bytes) else v for v in values]
        elif key in ("wavelengthIndex", "dataTypeLabel"):
            fields[key] = []
        else:
            raise SnirfError(f"/nirs/data1/measurementLists has no {key}")
    count = len(fields["sourceIndex"])
    fields["wavelengthIndex"] = fields["wavelengthIndex"] or [0] * count
    fields["dataTypeLabel"] = fields["dataTypeLabel"] or [""] * count
    return fields


def _positions(probe: h5py.Group, kind: str, scale: float) -> NDArray[np.float64]:
    if f"{kind}Pos3D" in probe:
        positions = np.atleast_2d(np.asarray(probe[f"{kind}Pos3D"][()], dtype=float))
    elif f"{kind}Pos2D" in probe:
        flat = np.atleast_2d(np.asarray(probe[f"{kind}Pos2D"][()], dtype=float))
        if flat.shape[1] != 2:
            raise SnirfError(f"/nirs/probe/{kind}Pos2D has shape {flat.shape}, expected (N, 2)")
        positions = np.column_stack([flat, np.zeros(len(flat))])
    else:
        raise SnirfError(f"/nirs/probe has no {kind}Pos3D or {kind}Pos2D")
    return positions * scale


def _time(block: h5py.Group, count: int, scale: float) -> NDArray[np.float64]:
    if "time" not in block:
        raise SnirfError("missing /nirs/data1/time")
    time = np.asarray(block["time"][()], dtype=float).reshape(-1) * scale
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
    values = np.asarray(block["dataTimeSeries"][()], dtype=float)
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
    return NirsData(
        time_s=time,
        values=values,
        source_index=np.asarray(fields["sourceIndex"], dtype=np.int64),
        detector_index=np.asarray(fields["detectorIndex"], dtype=np.int64),
        wavelength_index=np.asarray(fields["wavelengthIndex"], dtype=np.int64),
        wavelengths_nm=np.asarray(probe["wavelengths"][()], dtype=float).reshape(-1),
        source_positions_mm=_positions(probe, "source", scale),
        detector_positions_mm=_positions(probe, "detector", scale),
        data_type=data_type,
        data_type_labels=labels if data_type == DATA_TYPE_PROCESSED else None,
        metadata=tags,
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
        Times in s, positions in mm, wavelengths in nm; metaDataTags other than the units.

    Raises
    ------
    SnirfError
        Naming the file and what is wrong: missing, not HDF5, missing groups or datasets,
        shapes that disagree, indices out of range, time not increasing, unsupported units.
    """
    path = Path(path)
    if not path.is_file():
        raise SnirfError(f"{path}: no such file")
    try:
        root = h5py.File(path, "r")
    except OSError:
        raise SnirfError(f"{path}: not an HDF5 (SNIRF) file") from None
    try:
        with root:
            return _read(root)
    except SnirfError as exc:
        raise SnirfError(f"{path}: {exc}") from None
    except (KeyError, TypeError, ValueError) as exc:
        raise SnirfError(f"{path}: malformed SNIRF content ({exc})") from None
