"""Real receivers for the exchange tests, and finished runs to send.

- :class:`Hl7Receiver`: hl7apy's own MLLP server (``hl7apy.mllp.MLLPServer``) on loopback,
  answering AA, AE or AR, or staying silent, as a test asks; it keeps every message it got.
- :class:`FhirReceiver`: an ``http.server`` endpoint that validates each Bundle it receives
  with fhir.resources and creates each entry at most once (honouring ``ifNoneExist``), or
  answers 500, or answers too late.
- :class:`Orthanc`: Debian's ``Orthanc`` PACS started with a generated configuration on free
  loopback ports in a temporary directory (not the system service), queried over REST.
- :func:`session_runs`: the product's own commands set up a site (people, detector
  characterisation, SpO2 curve, reviewed and approved) and run ``spo2-screening``,
  ``dot-lesion-scan`` and ``tissue-oxygenation-map`` on the simulator, shortened by
  ``--duration-scale``.
"""

from __future__ import annotations

import atexit
import http.server
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from hl7apy.core import Message
from hl7apy.mllp import AbstractHandler, MLLPServer
from hl7apy.parser import parse_message

REPOSITORY = Path(__file__).resolve().parents[1]
EXAMPLES = REPOSITORY / "docs" / "examples"


def free_port() -> int:
    """A TCP port free on loopback now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# ---------------------------------------------------------------------------------------- HL7


class _AckHandler(AbstractHandler):
    """Answers an ORU^R01 as its receiver's current mode says."""

    def __init__(self, message: str, receiver: Hl7Receiver) -> None:
        super().__init__(message)
        self.receiver = receiver

    def reply(self) -> str:
        incoming = parse_message(self.incoming_message, find_groups=True)
        mode = self.receiver.record(incoming)
        if mode == "silent":
            time.sleep(self.receiver.silence_s)
        if mode == "hold":
            self.receiver.release.wait(30)
        ack = Message("ACK", version="2.6")
        ack.msh.msh_3 = "TEST-RECEIVER"
        ack.msh.msh_9 = "ACK^R01^ACK"
        ack.msh.msh_10 = f"ACK{len(self.receiver.received)}"
        ack.msh.msh_11 = "P"
        ack.msa.msa_1 = "AA" if mode in ("silent", "hold") else mode
        ack.msa.msa_2 = incoming.msh.msh_10.value
        if mode in ("AE", "AR"):
            ack.msa.msa_3 = "test receiver refuses"
        return "\x0b" + ack.to_er7() + "\x1c\r"


class Hl7Receiver:
    """hl7apy's MLLP server on a loopback port; ``mode`` is AA, AE, AR, silent (answers AA
    after ``silence_s``) or hold (answers AA once ``release`` is set)."""

    def __init__(self, port: int | None = None, mode: str = "AA") -> None:
        self.port = port or free_port()
        self.mode = mode
        self.silence_s = 3.0
        self.release = threading.Event()
        self.received: list[Any] = []
        self.acknowledged: list[str] = []
        self._lock = threading.Lock()
        self._server: MLLPServer | None = None

    def record(self, message: Any) -> str:
        with self._lock:
            self.received.append(message)
            if self.mode == "AA":
                self.acknowledged.append(message.msh.msh_10.value)
            return self.mode

    def start(self) -> Hl7Receiver:
        handlers = {"ORU^R01^ORU_R01": (_AckHandler, self)}
        self._server = MLLPServer("127.0.0.1", self.port, handlers, timeout=10)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


# --------------------------------------------------------------------------------------- FHIR


class FhirReceiver:
    """A FHIR transaction endpoint on loopback that validates with fhir.resources.

    ``mode``: ``ok`` (validate, create entries not yet present, 200 with a
    transaction-response), ``error`` (500) or ``slow`` (answer after ``delay_s``).
    """

    def __init__(self, mode: str = "ok") -> None:
        self.mode = mode
        self.delay_s = 3.0
        self.posts: list[dict[str, Any]] = []
        self.invalid: list[str] = []
        self.created: dict[str, dict[str, Any]] = {}
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status, answer = receiver.handle(body, self.headers.get("Content-Type", ""))
                payload = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/fhir+json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: object) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/fhir"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def handle(self, body: bytes, content_type: str) -> tuple[int, dict[str, Any]]:
        """Answer one POST; ``slow`` takes the Bundle, then answers too late."""
        mode = self.mode
        if mode == "error":
            return 500, {"resourceType": "OperationOutcome", "issue": []}
        try:
            data = json.loads(body)
            Bundle.model_validate(data)
            assert content_type.startswith("application/fhir+json"), content_type
        except Exception as exc:  # the endpoint answers any bad request with 400
            self.invalid.append(str(exc))
            return 400, {"resourceType": "OperationOutcome", "issue": []}
        self.posts.append(data)
        responses = []
        for entry in data["entry"]:
            key = entry["request"]["ifNoneExist"]
            status = "200 OK" if key in self.created else "201 Created"
            self.created.setdefault(key, entry["resource"])
            responses.append({"response": {"status": status}})
        if mode == "slow":
            time.sleep(self.delay_s)
        return 200, {"resourceType": "Bundle", "type": "transaction-response", "entry": responses}

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


# ------------------------------------------------------------------------------------ Orthanc


@dataclass
class Orthanc:
    """A running Orthanc: its DICOM port, AE title and REST base URL."""

    dicom_port: int
    http_port: int
    ae_title: str
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(self.url + path, timeout=10) as answer:
            data = answer.read()
        return json.loads(data) if path.split("?")[0].rsplit("/", 1)[-1] != "file" else data

    def delete_everything(self) -> None:
        for patient in self.get("/patients"):
            request = urllib.request.Request(f"{self.url}/patients/{patient}", method="DELETE")
            urllib.request.urlopen(request, timeout=10).read()


def start_orthanc(directory: Path, dicom_port: int | None = None) -> Orthanc:
    """Start Orthanc with a generated configuration (loopback REST, free ports)."""
    binary = shutil.which("Orthanc") or (
        "/usr/sbin/Orthanc" if Path("/usr/sbin/Orthanc").exists() else None
    )
    if binary is None:
        pytest.skip("Orthanc is not installed (apt-get install orthanc; .ci/run does)")
    http_port, dicom_port = free_port(), dicom_port or free_port()
    storage = directory / "orthanc-db"
    config = {
        "Name": "nirpoct-test-pacs",
        "StorageDirectory": str(storage),
        "IndexDirectory": str(storage),
        "HttpPort": http_port,
        "DicomPort": dicom_port,
        "DicomAet": "TESTPACS",
        "DicomCheckCalledAet": True,
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": False,
        "Plugins": [],
        "LuaScripts": [],
        "SaveJobs": False,
    }
    directory.mkdir(parents=True, exist_ok=True)
    config_path = directory / "orthanc.json"
    config_path.write_text(json.dumps(config))
    log = (directory / "orthanc.log").open("wb")
    process = subprocess.Popen([binary, str(config_path)], stdout=log, stderr=subprocess.STDOUT)
    orthanc = Orthanc(dicom_port, http_port, "TESTPACS", process)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"Orthanc exited: {(directory / 'orthanc.log').read_text()}")
        try:
            orthanc.get("/system")
            return orthanc
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("Orthanc did not answer within 30 s")


# ------------------------------------------------------------------------------- finished runs


@dataclass(frozen=True)
class FinishedRun:
    """The three files a protocol run leaves."""

    record: Path
    summary: Path
    report: Path


def run_nirpoct(site: Path, *args: str, **environment: str) -> str:
    env = {
        **os.environ,
        "PYTHONPATH": str(REPOSITORY),
        "NIRPOCT_CALIBRATION_DIR": str(site / "registry"),
        "NIRPOCT_KEY_FILE": str(site / "site.key"),
        **environment,
    }
    result = subprocess.run(
        [sys.executable, "-m", "protocols.cli", *args],
        capture_output=True,
        text=True,
        cwd=site,
        env=env,
        timeout=200,
    )
    assert result.returncode == 0, f"nirpoct {' '.join(args)}: {result.stderr}"
    return result.stdout


def make_site_and_runs(site: Path) -> dict[str, FinishedRun]:
    """Set up a site as docs/clinical-setup.md does and run three protocols on the simulator."""
    passwords = {
        "admin": "admin-password",
        "tech": "tech-password",
        "rev": "rev-password",
        "boss": "boss-password",
    }
    run_nirpoct(
        site,
        "calib",
        "users",
        "add",
        "admin",
        "--name",
        "Ada Admin",
        "--role",
        "administrator",
        NIRPOCT_NEW_PASSWORD=passwords["admin"],
    )
    for user, role in (("tech", "performer"), ("rev", "reviewer"), ("boss", "approver")):
        run_nirpoct(
            site,
            "calib",
            "users",
            "add",
            user,
            "--name",
            user.title(),
            "--role",
            role,
            "--admin",
            "admin",
            NIRPOCT_ADMIN_PASSWORD=passwords["admin"],
            NIRPOCT_NEW_PASSWORD=passwords[user],
        )
    run_nirpoct(site, "calib", "simulate-ptc", "ptc.h5")
    created = [
        run_nirpoct(
            site,
            "calib",
            "record-detector",
            "ptc.h5",
            "--context",
            str(EXAMPLES / "detector-context.yaml"),
            "--performer",
            "tech",
            NIRPOCT_PASSWORD=passwords["tech"],
        ),
        run_nirpoct(
            site,
            "calib",
            "record-spo2-curve",
            str(EXAMPLES / "spo2-study-sim.csv"),
            "--study-id",
            "SIM-DESAT-1",
            "--pair",
            "660,940",
            "--context",
            str(EXAMPLES / "spo2-curve-context.yaml"),
            "--performer",
            "tech",
            NIRPOCT_PASSWORD=passwords["tech"],
        ),
    ]
    for output in created:
        record = re.search(r"^created (\S+) \(draft\)", output, re.MULTILINE).group(1)
        for meaning, user in (("reviewed", "rev"), ("approved", "boss")):
            run_nirpoct(
                site,
                "calib",
                "sign",
                record,
                "--meaning",
                meaning,
                "--user",
                user,
                NIRPOCT_PASSWORD=passwords[user],
            )
    runs = {}
    # DOT at 0.1 once failed its plausibility check (inclusion StO2 outside 0-100 %) under load:
    # its two acquisitions get 3 s each, not 1 s
    # tissue-oxygenation-map's imaging-PPG step needs at least 5 s of its 30 s acquisition
    for protocol, scale in (
        ("spo2-screening", "0.1"),
        ("dot-lesion-scan", "0.3"),
        ("tissue-oxygenation-map", "0.2"),
    ):
        output = run_nirpoct(
            site,
            *("run", protocol, "--sim", "--operator", "op", "--subject", "SUBJECT-7"),
            *("--registry", "registry", "--duration-scale", scale, "--confirm-prompts"),
            *("--out", "runs", "--json"),
        )
        summary = json.loads(output)
        record = site / summary["record"]
        runs[protocol] = FinishedRun(
            record, record.with_suffix(".json"), record.with_suffix(".pdf")
        )
    return runs


_RUNS: dict[str, FinishedRun] = {}


def session_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, FinishedRun]:
    """The finished runs, made once per test session (every test module shares them)."""
    if not _RUNS:
        _RUNS.update(make_site_and_runs(tmp_path_factory.mktemp("site")))
    return dict(_RUNS)


_ORTHANC: list[Orthanc] = []


def session_orthanc(tmp_path_factory: pytest.TempPathFactory) -> Orthanc:
    """One Orthanc per test session, emptied before each test."""
    if not _ORTHANC:
        started = start_orthanc(tmp_path_factory.mktemp("orthanc"))
        _ORTHANC.append(started)
        atexit.register(lambda: (started.process.terminate(), started.process.wait(10)))
    _ORTHANC[0].delete_everything()
    return _ORTHANC[0]
