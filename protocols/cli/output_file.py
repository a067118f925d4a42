"""Files the commands write: refuse what must not be replaced, then write by rename.

Every command that writes a file checks it with :func:`refuse_unsafe_output` first: an existing
file is kept unless ``--force``; a run record, a calibration record or any file of a calibration
registry is never replaced, not even with ``--force``. The file is then written through
:func:`atomic_output`, a temporary file in the same folder renamed into place, so a failed or
interrupted write leaves any earlier file intact and never a half-written one.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

logger = logging.getLogger(__name__)

PROTECTED_HDF5_FORMATS = {
    "nirpoct-run": "a run record",
    "nirpoct-calibration": "a calibration record",
}
"""HDF5 ``format`` attributes of files no command replaces, and what they are called."""
REGISTRY_MARKER = "audit.jsonl"
"""A folder holding this file (or any folder below it) belongs to a calibration registry."""


def protected_kind(path: Path) -> str | None:
    """What ``path`` is when it must never be replaced (run record, calibration record,
    registry file), else None. An HDF5 file that cannot be opened (e.g. a run record still
    being written) counts as protected."""
    import h5py

    resolved = path.resolve()
    if any((folder / REGISTRY_MARKER).is_file() for folder in resolved.parents):
        return "a file of a calibration registry"
    if not h5py.is_hdf5(path):
        return None
    try:
        with h5py.File(path, "r", locking=False) as root:
            file_format = str(root.attrs.get("format", ""))
    except (OSError, RuntimeError):
        return "an HDF5 file that cannot be opened (it may be a run record being written)"
    return PROTECTED_HDF5_FORMATS.get(file_format)


def refuse_unsafe_output(
    out: str | Path, inputs: Sequence[str | Path] = (), *, force: bool, option: str = ""
) -> Path:
    """Check that ``out`` may be written; return it as a Path.

    Parameters
    ----------
    out : str or Path
        The file a command is about to write.
    inputs : sequence of str or Path
        Files the command reads (the output may not be one of them).
    force : bool
        Whether an existing, unprotected file may be replaced.
    option : str
        How the command line names the output (e.g. ``"--out"``), for the messages.

    Raises
    ------
    ValueError
        One line naming the file and why it is refused.
    """
    target = Path(out)
    name = f"{option} {target}" if option else str(target)
    for source in inputs:
        if target.resolve() == Path(source).resolve() or (
            target.exists() and Path(source).exists() and target.samefile(source)
        ):
            raise ValueError(f"{name}: is the input file {source}; choose another output")
    folder = target.parent
    if not folder.is_dir():
        raise ValueError(f"{name}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise ValueError(f"{name}: the folder {folder} is not writable")
    if target.is_dir():
        raise ValueError(f"{name}: is a folder; give a file name")
    if not target.exists():
        return target
    if not target.is_file():
        raise ValueError(f"{name}: exists and is not a regular file; not replaced")
    kind = protected_kind(target)
    if kind is not None:
        raise ValueError(f"{name}: is {kind}; it is never overwritten, not even with --force")
    if not force:
        raise ValueError(f"{name}: exists; give --force to overwrite it")
    return target


def output_folder(folder: str | Path, option: str = "--out") -> Path:
    """Check a folder a command writes into (created when missing); return it as a Path.

    Raises
    ------
    ValueError
        ``folder`` is an existing file, or an existing folder that is not writable.
    """
    target = Path(folder)
    if target.exists() and not target.is_dir():
        raise ValueError(f"{option} {target}: is a file, not a folder for the outputs")
    if target.is_dir() and not os.access(target, os.W_OK):
        raise ValueError(f"{option} {target}: the folder is not writable")
    return target


def finalise_unfinished_records(folder: str | Path) -> None:
    """Finalise records a crash left open in ``folder``, saying so on standard error."""
    from instrument.record_repair import RepairError, repair_unfinished

    for outcome in repair_unfinished(folder):
        if isinstance(outcome, RepairError):
            print(f"nirpoct: warning: {outcome}", file=sys.stderr)
        else:
            print(
                f"nirpoct: note: {outcome.path} was left open by an earlier run that stopped; "
                f"finalised as interrupted with its {outcome.frames} frames",
                file=sys.stderr,
            )


@contextmanager
def atomic_output(out: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``out`` to write; rename it to ``out`` on success.

    On any error the temporary file is removed and an existing ``out`` is left as it was.
    """
    descriptor, scratch = tempfile.mkstemp(
        prefix=f".{out.name}.", suffix=out.suffix, dir=out.parent
    )
    os.close(descriptor)
    try:
        yield Path(scratch)
        os.replace(scratch, out)
        logger.debug("wrote %s", out)
    finally:
        if os.path.exists(scratch):
            os.unlink(scratch)
