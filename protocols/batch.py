"""Reprocessing of archives on Dask: one pure ``process(path, options)`` per input.

The inputs (files, directories searched recursively, globs) are analysed by the same per-file
function the single commands call (`protocols.analyses.ppg_file`, ``nirs_file``,
``reconstruct_file``), as Dask tasks on a local cluster of processes or on a running
``dask scheduler``. Each task opens its own input, hashes it, analyses it and writes its results
into the output folder under a temporary name renamed when complete, so a killed worker leaves
no half-written result (Dask runs its tasks again elsewhere). The client keeps
``manifest.csv``: one row per input with its SHA-256, size, software version, options hash,
status (ok / failed / skipped), a one-line error, the wall time and the analysis' key figures.
A failing input is a ``failed`` row, never the end of the batch. Input and output folders must
be reachable under the same paths by every worker (a shared file system on a cluster).
"""

from __future__ import annotations

import csv
import dataclasses
import glob
import hashlib
import io
import json
import logging
import os
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dask
from distributed import Client, LocalCluster, as_completed

from instrument.instrument import software_version
from instrument.snirf import write_snirf
from protocols import rerun
from protocols.analyses import nirs_file, ppg_file, reconstruct_file
from protocols.analyses.dot import write_dot_maps

logger = logging.getLogger(__name__)

MANIFEST_NAME = "manifest.csv"
MANIFEST_FIELDS = (
    "path",
    "sha256",
    "size_bytes",
    "software_version",
    "options_sha256",
    "status",
    "error",
    "warning",
    "wall_s",
    "result",
)
"""Manifest columns before the analysis' key figures."""
MANIFEST_PERIOD_S = 2.0
"""Least time between two rewrites of the manifest while a batch runs, s."""
GLOB_CHARACTERS = frozenset("*?[")
FILE_MODE = 0o666
"""Permissions of written files before the process's umask applies."""


@dataclass(frozen=True)
class FileAnalysis:
    """How ``nirpoct batch`` runs one analysis.

    Attributes
    ----------
    name : str
        The analysis (``ppg``, ``nirs``, ``reconstruct``, ``rerun``).
    suffixes : tuple of str
        File name endings a directory search picks up.
    figures : tuple of str
        Key figures listed in the manifest.
    data_suffix : str or None
        Ending of the data file written beside the JSON result (None: JSON only).
    """

    name: str
    suffixes: tuple[str, ...]
    figures: tuple[str, ...]
    data_suffix: str | None


ANALYSES = {
    "ppg": FileAnalysis("ppg", (".h5", ".hdf5", ".csv"), ppg_file.KEY_FIGURES, None),
    "nirs": FileAnalysis("nirs", (".snirf",), nirs_file.KEY_FIGURES, ".hb.snirf"),
    "reconstruct": FileAnalysis(
        "reconstruct", (".snirf",), reconstruct_file.KEY_FIGURES, ".maps.h5"
    ),
    "rerun": FileAnalysis("rerun", (".h5", ".hdf5"), rerun.KEY_FIGURES, None),
}
"""Analysis name → how the batch runs it."""


@dataclass(frozen=True)
class Outputs:
    """Where the results of one input go.

    Attributes
    ----------
    json_path : str
        The single command's JSON output.
    data_path : str or None
        The data file (HbO/HbR SNIRF, DOT maps), if the analysis writes one.
    """

    json_path: str
    data_path: str | None

    def paths(self) -> tuple[Path, ...]:
        """The files, data file first."""
        return tuple(Path(p) for p in (self.data_path, self.json_path) if p is not None)


@dataclass(frozen=True)
class BatchSummary:
    """The outcome of a batch.

    Attributes
    ----------
    analysis : str
        The analysis run.
    inputs, ok, failed, skipped : int
        Inputs in the batch and how each ended.
    wall_s : float
        Wall time of the batch, s.
    files_per_s : float
        Inputs analysed (ok or failed) per second of wall time.
    workers : int
        Dask workers the batch ran on.
    manifest : str
        The manifest file.
    """

    analysis: str
    inputs: int
    ok: int
    failed: int
    skipped: int
    wall_s: float
    files_per_s: float
    workers: int
    manifest: str


def expand_inputs(
    patterns: Sequence[str], suffixes: Sequence[str], excluded: Iterable[Path] = ()
) -> list[Path]:
    """The input files named by files, directories (searched recursively) and globs.

    Files named one by one are taken whatever their ending; a directory search and a glob
    that matches a directory pick up the files whose name ends with one of `suffixes` (not
    hidden ones, such as the temporary files of a write in progress).
    Everything inside `excluded` (files or folders) is left out.

    Returns
    -------
    list of Path
        Absolute paths, sorted, each once.

    Raises
    ------
    ValueError
        If a pattern names nothing, or no input remains.
    """
    left_out = [p.resolve() for p in excluded]
    found: set[Path] = set()
    for pattern in patterns:
        if Path(pattern).exists():
            matches = [Path(pattern)]
        elif GLOB_CHARACTERS & set(pattern):
            matches = [Path(m) for m in glob.glob(pattern, recursive=True)]
        else:
            raise ValueError(f"{pattern}: no such file or directory")
        if not matches:
            raise ValueError(f"{pattern}: no file matches")
        for match in matches:
            if match.is_dir():
                found.update(
                    p.resolve()
                    for p in match.rglob("*")
                    if p.is_file()
                    and not p.name.startswith(".")
                    and p.name.lower().endswith(tuple(suffixes))
                )
            else:
                found.add(match.resolve())
    inputs = sorted(p for p in found if not any(p == x or x in p.parents for x in left_out))
    if not inputs:
        raise ValueError(f"no {'/'.join(suffixes)} input in {' '.join(patterns)}")
    return inputs


def output_names(inputs: Sequence[Path], out_dir: Path, analysis: FileAnalysis) -> list[Outputs]:
    """The result files of each input: its path below the inputs' common folder, in
    `out_dir`, with the analysis' endings (``run.h5`` → ``run.h5.ppg.json``)."""
    root = Path(os.path.commonpath([p.parent for p in inputs]))
    outputs = []
    for path in inputs:
        stem = out_dir.resolve() / path.relative_to(root)
        data = None if analysis.data_suffix is None else f"{stem}{analysis.data_suffix}"
        outputs.append(Outputs(f"{stem}.{analysis.name}.json", data))
    return outputs


def file_sha256(path: str | Path) -> tuple[str, int]:
    """SHA-256 (hex) and size (bytes) of a file."""
    with open(path, "rb") as stream:
        digest = hashlib.file_digest(stream, "sha256")
        return digest.hexdigest(), os.fstat(stream.fileno()).st_size


def options_sha256(analysis: str, options: Any, files: Sequence[Path] = ()) -> str:
    """Hash of the analysis, its settings and the content of the files they name (e.g. a
    DOT baseline): two batches with the same hash give the same results."""
    settings = dataclasses.asdict(options)  # the options are a frozen dataclass
    content = [file_sha256(path)[0] for path in files]
    text = json.dumps(
        {"analysis": analysis, "options": settings, "files": content}, sort_keys=True, default=str
    )
    return hashlib.sha256(text.encode()).hexdigest()


def one_line(exc: BaseException, path: str | None = None) -> str:
    """An exception as one line naming the input: the message of a refusal (ValueError,
    OSError), else the exception's type and message as the cause of an unreadable input."""
    message = " ".join(str(exc.args[0] if len(exc.args) == 1 else exc).split())
    if not isinstance(exc, ValueError | OSError) or not message:
        message = f"cannot be analysed ({type(exc).__name__}: {message})".replace(": )", ")")
    if path is not None and path not in message:
        message = f"{path}: {message}"
    return message


def write_text_atomically(path: Path, text: str) -> None:
    """Write `text` under a temporary name in the same folder, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, FILE_MODE & ~_umask())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _analysed(name: str, path: str, options: Any, outputs: Outputs) -> dict[str, Any]:
    """Run the analysis of `path`, write its results; return its key figures and a warning
    (a record of a run that did not finish)."""
    Path(outputs.json_path).parent.mkdir(parents=True, exist_ok=True)
    if name == "ppg":
        ppg = ppg_file.process(path, options)
        write_text_atomically(Path(outputs.json_path), json.dumps(ppg.report))
        return {**ppg_file.key_figures(ppg), "warning": ppg.warning}
    if name == "nirs":
        nirs = nirs_file.process(path, options)
        write_snirf(str(outputs.data_path), nirs.hemoglobin, overwrite=True)
        os.chmod(str(outputs.data_path), FILE_MODE & ~_umask())
        summary = {**nirs.summary, "out": outputs.data_path}
        write_text_atomically(Path(outputs.json_path), json.dumps(summary, indent=2))
        return {**nirs_file.key_figures(nirs), "warning": nirs.warning}
    if name == "reconstruct":
        dot = reconstruct_file.process(path, options)
        write_dot_maps(str(outputs.data_path), dot.dot)
        os.chmod(str(outputs.data_path), FILE_MODE & ~_umask())
        write_text_atomically(Path(outputs.json_path), json.dumps(dot.summary, indent=2))
        return reconstruct_file.key_figures(dot)
    if name == "rerun":
        reanalysis = rerun.process(path, options)
        write_text_atomically(Path(outputs.json_path), json.dumps(reanalysis.summary, indent=2))
        return {**rerun.key_figures(reanalysis), "warning": reanalysis.warning}
    raise ValueError(f"unknown analysis {name!r}; known: {', '.join(ANALYSES)}")


def analyse_file(
    name: str,
    path: str,
    options: Any,
    options_hash: str,
    outputs: Outputs,
    done_sha256: str | None = None,
) -> dict[str, Any]:
    """The Dask task: hash, analyse and write the results of one input.

    Parameters
    ----------
    name : str
        The analysis (a key of `ANALYSES`).
    path : str
        The input file (as the worker sees it).
    options : dataclass
        The analysis settings (`PpgOptions`, `NirsOptions`, `ReconstructOptions`).
    options_hash : str
        `options_sha256` of the batch, for the manifest.
    outputs : Outputs
        Where the results go.
    done_sha256 : str, optional
        The input's hash when an earlier batch analysed it with the same options: if it still
        has this hash and its results are there, it is skipped.

    Returns
    -------
    dict
        The manifest row. Never raises for a bad input: its row is ``failed`` with the error.
    """
    started = time.perf_counter()
    row: dict[str, Any] = {
        "path": path,
        "software_version": software_version(),
        "options_sha256": options_hash,
        "result": Path(outputs.json_path).name,
    }
    try:
        row["sha256"], row["size_bytes"] = file_sha256(path)
        if row["sha256"] == done_sha256 and all(p.is_file() for p in outputs.paths()):
            return {**row, "status": "skipped"}
        row.update(_analysed(name, path, options, outputs))
        row["status"] = "ok"
    except Exception as exc:  # any bad input is a failed row, never the end of the batch
        logger.info("%s failed: %s", path, exc)
        row.update(status="failed", error=one_line(exc, path), result="")
    row["wall_s"] = round(time.perf_counter() - started, 4)
    return row


def read_manifest(path: Path) -> dict[str, dict[str, str]]:
    """The rows of an existing manifest by input path (empty when there is none)."""
    if not path.is_file():
        return {}
    with open(path, newline="", encoding="utf-8") as stream:
        return {row["path"]: row for row in csv.DictReader(stream) if row.get("path")}


def write_manifest(path: Path, rows: Iterable[dict[str, Any]], figures: Sequence[str]) -> None:
    """Write the manifest (sorted by input path) atomically."""
    buffer = io.StringIO()
    writer = csv.DictWriter(
        buffer, fieldnames=[*MANIFEST_FIELDS, *figures], extrasaction="ignore", restval=""
    )
    writer.writeheader()
    for row in sorted(rows, key=lambda r: r["path"]):
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    write_text_atomically(path, buffer.getvalue())


def remove_partial_files(outputs: Iterable[Outputs]) -> int:
    """Delete temporary files a killed task left beside its outputs; return how many."""
    removed = 0
    for output in outputs:
        for target in output.paths():
            for partial in target.parent.glob(f".{glob.escape(target.name)}.*"):
                partial.unlink(missing_ok=True)
                removed += 1
    return removed


def machine_workers() -> int:
    """Worker processes a local cluster gets: the cores this process may use."""
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)


def _local_worker_settings() -> dict[str, object]:
    """Dask settings of the local cluster's workers.

    Dask's nanny sets MALLOC_TRIM_THRESHOLD_ in its workers, which pins glibc's mmap threshold:
    every large array is then mapped and unmapped afresh (page faults), 40-70 % slower
    analyses here; the workers keep glibc's default (and one BLAS thread each). The workers'
    statistical profiler (a stack sample every 10 ms) and frequent system monitoring cost
    another ≈ 10 ms of CPU per file; a batch needs neither.
    """
    environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ", {}))
    environ.pop("MALLOC_TRIM_THRESHOLD_", None)
    return {
        "distributed.nanny.pre-spawn-environ": environ,
        "distributed.worker.profile.enabled": False,
        "distributed.admin.system-monitor.interval": "2s",
    }


@contextmanager
def dask_client(workers: int | None = None, scheduler: str | None = None) -> Iterator[Client]:
    """A Dask client: of a running scheduler (``tcp://host:port``), else of a local cluster of
    `workers` single-threaded processes (default: one per core).

    Raises
    ------
    OSError
        If the scheduler cannot be reached or has no worker within a minute.
    """
    if scheduler is not None:
        with Client(scheduler, timeout="20s") as client:
            try:
                client.wait_for_workers(1, timeout=60)
            except TimeoutError:
                raise OSError(f"the scheduler {scheduler} has no worker") from None
            yield client
        return
    with (
        dask.config.set(_local_worker_settings()),
        LocalCluster(
            n_workers=workers or machine_workers(),
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            # No dashboard; its HTTP server on a free loopback port, not on 8787 for everyone.
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
            silence_logs=logging.ERROR,
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def _submitted(
    client: Client,
    name: str,
    inputs: Sequence[Path],
    outputs: Sequence[Outputs],
    options: Any,
    options_hash: str,
    earlier: dict[str, dict[str, str]],
) -> dict[Any, str]:
    futures = {}
    for path, output in zip(inputs, outputs, strict=True):
        row = earlier.get(str(path), {})
        done = row.get("status") in ("ok", "skipped") and row.get("options_sha256") == options_hash
        future = client.submit(
            analyse_file,
            name,
            str(path),
            options,
            options_hash,
            output,
            row.get("sha256") if done else None,
            pure=False,
            key=f"{name}-{hashlib.sha1(str(path).encode()).hexdigest()}-{time.time_ns()}",
        )
        futures[future] = str(path)
    return futures


def _collect(
    futures: dict[Any, str],
    earlier: dict[str, dict[str, str]],
    rows: dict[str, dict[str, Any]],
    on_progress: Callable[[int, int, int], None] | None,
    save: Callable[[], None],
) -> None:
    """Gather the rows of the tasks as they finish into `rows`; `save` them now and then."""
    failed = 0
    saved = time.monotonic()
    for done, future in enumerate(as_completed(futures), start=1):
        path = futures[future]
        try:
            row = future.result()
        except Exception as exc:  # the task itself was lost, e.g. it killed its workers
            row = {"path": path, "status": "failed", "error": one_line(exc, path)}
        if row["status"] == "skipped":
            row = {**earlier[path], "status": "skipped"}
        rows[path] = row
        failed += row["status"] == "failed"
        if on_progress is not None:
            on_progress(done, len(futures), failed)
        if time.monotonic() - saved > MANIFEST_PERIOD_S:
            save()
            saved = time.monotonic()


def run_batch(
    client: Client,
    name: str,
    inputs: Sequence[Path],
    options: Any,
    out_dir: Path,
    options_hash: str,
    resume: bool = False,
    on_progress: Callable[[int, int, int], None] | None = None,
) -> BatchSummary:
    """Analyse every input on the client's cluster; write results and the manifest.

    Parameters
    ----------
    client : Client
        Dask client (`dask_client`).
    name : str
        The analysis (a key of `ANALYSES`).
    inputs : sequence of Path
        Absolute input paths (`expand_inputs`).
    options : dataclass
        The analysis settings.
    out_dir : Path
        Output folder (created).
    options_hash : str
        `options_sha256` of the analysis and options.
    resume : bool
        Skip inputs the existing manifest lists as done with the same hash and options.
    on_progress : callable, optional
        Called with (done, total, failed) after each input.
    """
    analysis = ANALYSES[name]
    started = time.perf_counter()
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest = out_dir / MANIFEST_NAME
    earlier = read_manifest(manifest) if resume else {}
    outputs = output_names(inputs, out_dir, analysis)
    rows: dict[str, dict[str, Any]] = dict(earlier)
    futures = _submitted(client, name, inputs, outputs, options, options_hash, earlier)
    try:
        _collect(
            futures,
            earlier,
            rows,
            on_progress,
            lambda: write_manifest(manifest, rows.values(), analysis.figures),
        )
    finally:  # also when interrupted: what is done is kept for --resume
        write_manifest(manifest, rows.values(), analysis.figures)
    remove_partial_files(outputs)
    wall_s = time.perf_counter() - started
    statuses = [rows[str(path)]["status"] for path in inputs]
    skipped = statuses.count("skipped")
    return BatchSummary(
        analysis=name,
        inputs=len(inputs),
        ok=statuses.count("ok"),
        failed=statuses.count("failed"),
        skipped=skipped,
        wall_s=round(wall_s, 3),
        files_per_s=round((len(inputs) - skipped) / wall_s, 3) if wall_s > 0 else 0.0,
        workers=len(client.scheduler_info()["workers"]),
        manifest=str(manifest),
    )
