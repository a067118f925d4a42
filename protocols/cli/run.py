"""``nirpoct run`` (a protocol, end to end) and ``nirpoct protocols`` (the shipped ones)."""

from __future__ import annotations

import argparse
import functools
import json
import math
import select
import sys
import termios
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from drivers.sim.scenario_names import DEFAULT_PERIOD_S, SCENARIOS
from protocols.cli.acquire import fault_plan
from protocols.cli.calib_records import (
    REGISTRY_ENV,
    add_override_options,
    default_registry,
    override_from_args,
)
from protocols.cli.commands import COMMAND_HELP
from protocols.cli.common import add_instrument_options, instrument_config
from protocols.cli.output_file import finalise_unfinished_records, output_folder
from protocols.cli.progress import ProgressBar
from protocols.outputs.lsl_streams import PPG_STREAM, VITALS_STREAM

if TYPE_CHECKING:  # the command's heavy modules load when it runs, not when it parses
    from calibration.registry import Registry
    from instrument.config import InstrumentConfig
    from protocols.events import RunEvent
    from protocols.protocol_file import Protocol
    from protocols.runner import ProtocolRunner

EXIT_INTERRUPTED = 130


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``run`` and ``protocols`` to the top-level parser."""
    parser = commands.add_parser(
        "run",
        help=COMMAND_HELP["run"],
        description=(
            "Run a protocol: validate it, run its steps on the instrument, and write the run "
            "record, a PDF report and a JSON summary. Exit code 0 only when every step and "
            "every QC gate passed."
        ),
    )
    parser.add_argument("protocol", metavar="PROTOCOL|FILE", help="shipped name or YAML file")
    add_instrument_options(parser)
    parser.add_argument("--operator", default="", help="who runs the protocol")
    parser.add_argument(
        "--subject", default="", help="subject id (records keep only its pseudonym)"
    )
    parser.add_argument(
        "--accession",
        default="",
        help="the order's accession number, sent with the results to the hospital",
    )
    parser.add_argument("--out", default="runs", metavar="DIR", help="directory for the outputs")
    parser.add_argument("--json", action="store_true", help="print the JSON summary on stdout")
    parser.add_argument(
        "--registry",
        type=Path,
        default=None,
        metavar="DIR",
        help=f"calibration registry (default ${REGISTRY_ENV})",
    )
    parser.add_argument(
        "--calibration",
        action="append",
        default=[],
        metavar="ID",
        help="calibration record the run uses besides the protocol's required ones",
    )
    add_override_options(parser, "a clinical run with an expired calibration")
    parser.add_argument(
        "--duration-scale",
        type=float,
        default=1.0,
        metavar="F",
        help="multiply every acquisition and warm-up time by F (0 < F <= 1; for tests and "
        "demonstrations — recorded in the run record and printed on the report)",
    )
    parser.add_argument(
        "--confirm-prompts",
        action="store_true",
        help="confirm the protocol's operator prompts (e.g. move the probe) at once, for "
        "headless runs; without it each prompt waits for Enter on the terminal",
    )
    parser.add_argument(
        "--sim-fault",
        type=fault_plan,
        metavar="KIND@SECONDS",
        help="inject a link fault on the simulated board: garbage, drop, crc, stall, unplug; "
        "unplug@SECONDS+SECONDS plugs it back after the second time",
    )
    _add_monitoring_options(parser)
    parser.set_defaults(run=run)


def _add_monitoring_options(parser: argparse.ArgumentParser) -> None:
    """Options of monitoring runs and of the simulated patient."""
    parser.add_argument(
        "--duration",
        type=float,
        default=None,
        metavar="S",
        help="monitor for S seconds instead of until stopped (monitor steps)",
    )
    parser.add_argument(
        "--jsonl",
        action="store_true",
        help="print one JSON object per second of monitoring on stdout (nothing else there; "
        "the summary stays in its .json file)",
    )
    parser.add_argument(
        "--lsl",
        action="store_true",
        help=f"open Lab Streaming Layer outlets {VITALS_STREAM!r} and {PPG_STREAM!r}",
    )
    parser.add_argument(
        "--sim-scenario",
        choices=SCENARIOS,
        default=None,
        help="simulated patient: events laid out over --duration (default "
        f"{DEFAULT_PERIOD_S:g} s) from the first frame",
    )
    parser.add_argument(
        "--sim-speed",
        type=float,
        default=1.0,
        metavar="N",
        help="run the simulated board N times faster than real time (timestamps stay on the "
        "simulated clock)",
    )


class ProgressPrinter:
    """Turns runner events into lines on ``stream`` (and a live bar on a terminal)."""

    def __init__(
        self,
        steps: int,
        stream: TextIO | None = None,
        *,
        confirm_prompts: bool = False,
        jsonl: TextIO | None = None,
    ) -> None:
        self.steps = steps
        self.stream = stream if stream is not None else sys.stderr
        self.bar = ProgressBar(stream=self.stream, indent="  ")
        self.confirm_prompts = confirm_prompts
        self.jsonl = jsonl
        self.prompt_waiting = threading.Event()
        self.monitoring = threading.Event()
        self._bar_shown = False

    def _line(self, text: str) -> None:
        if self._bar_shown:
            self.stream.write("\n")
            self._bar_shown = False
        self.stream.write(text + "\n")
        self.stream.flush()

    def __call__(self, event: RunEvent) -> None:
        from protocols.events import (
            LiveVitals,
            OperatorPrompt,
            QcResult,
            RunFailed,
            RunWarning,
            StepFinished,
            StepProgress,
            StepStarted,
        )
        from protocols.outputs.live_lines import vitals_json, vitals_line

        if isinstance(event, StepStarted):
            self._line(f"[{event.index + 1}/{self.steps}] {event.name} ({event.kind})")
            if event.kind == "monitor":
                self.monitoring.set()
                self._line(
                    "  monitoring: Ctrl-C stops it (early) and completes the record; "
                    "a + Enter acknowledges the alarms, p + Enter pauses them"
                )
        elif isinstance(event, LiveVitals):
            if self.jsonl is not None:
                self.jsonl.write(vitals_json(event) + "\n")
                self.jsonl.flush()
            else:
                self._line(vitals_line(event))
        elif isinstance(event, StepProgress) and self.bar.enabled and not self.monitoring.is_set():
            self.bar.draw(event.fraction, f"{event.message:50.50}")
            self._bar_shown = True
        elif isinstance(event, StepFinished):
            self.monitoring.clear()
            self._line(f"  {event.status}")
        elif isinstance(event, QcResult):
            low = "-inf" if event.low is None else f"{event.low:g}"
            high = "inf" if event.high is None else f"{event.high:g}"
            verdict = "PASS" if event.passed else "FAIL"
            self._line(
                f"  QC {verdict}: {event.figure} = {event.value:.4g} {event.unit} "
                f"(limits {low} … {high})"
            )
        elif isinstance(event, OperatorPrompt):
            if not self.confirm_prompts and sys.stdin.isatty():
                # Only a line typed after the prompt is shown confirms it.
                termios.tcflush(sys.stdin, termios.TCIFLUSH)
            self._line(f"  >>> {event.message}")
            if self.confirm_prompts:
                self._line("  (confirmed by --confirm-prompts)")
            else:
                self._line("  Press Enter when done (Ctrl-C aborts the run).")
                self.prompt_waiting.set()
        elif isinstance(event, RunWarning):
            self._line(f"nirpoct: warning: {event.message}")
        elif isinstance(event, RunFailed):
            self._line(f"nirpoct: error: {event.message}")


def _registry(args: argparse.Namespace) -> Registry | None:
    from calibration.registry import Registry

    root = args.registry or default_registry()
    if args.registry is not None and not root.is_dir():
        raise ValueError(f"--registry {root}: no such directory")
    return Registry(root) if root.is_dir() else None


def run(args: argparse.Namespace) -> int:
    """Execute ``nirpoct run``."""
    from protocols.events import RunFinished
    from protocols.protocol_file import load_protocol
    from protocols.runner import ProtocolRunner

    if not math.isfinite(args.duration_scale) or not 0 < args.duration_scale <= 1:
        raise ValueError(f"--duration-scale must be in (0, 1], got {args.duration_scale:g}")
    protocol = _with_duration(load_protocol(args.protocol), args.duration)
    output_folder(args.out)
    finalise_unfinished_records(args.out)
    config, text = instrument_config(args)
    if args.sim_fault is not None and not config.detector.simulated:
        raise ValueError("--sim-fault needs the simulated detector board (add --sim)")
    config = _simulated_patient(config, args)
    prompts = [step.name for step in protocol.steps if step.kind == "prompt"]
    if prompts and not args.confirm_prompts and not (sys.stdin.isatty() and sys.stderr.isatty()):
        raise ValueError(
            f"{protocol.name} asks the operator to act before going on (steps "
            f"{', '.join(prompts)}); run it on a terminal (standard input and error), or pass "
            "--confirm-prompts when the instrument is set up beforehand"
        )
    printer = ProgressPrinter(
        len(protocol.steps),
        confirm_prompts=args.confirm_prompts,
        jsonl=sys.stdout if args.jsonl else None,
    )
    listeners: list[Callable[[RunEvent], None]] = [printer]
    if args.lsl:
        from protocols.outputs.live_lsl import LslOutlets  # loads liblsl

        listeners.append(LslOutlets())
    runner = ProtocolRunner(
        protocol,
        config,
        args.out,
        args.operator,
        args.subject,
        functools.partial(_broadcast, listeners),
        config_text=text,
        registry=_registry(args),
        calibration_ids=tuple(args.calibration),
        override=override_from_args(args),
        sim_fault=args.sim_fault,
        duration_scale=args.duration_scale,
        confirm_prompts=args.confirm_prompts,
        accession=args.accession,
    )
    outcome: list[RunFinished | BaseException] = []
    done = threading.Event()

    def work() -> None:
        try:
            outcome.append(runner.run())
        except BaseException as exc:  # handed to the main thread, which reports it
            outcome.append(exc)
        finally:
            done.set()

    threading.Thread(target=work, name="protocol-runner", daemon=True).start()
    interrupted = _wait(done, runner, printer.prompt_waiting, printer.monitoring)
    result = outcome[0]
    if isinstance(result, BaseException):
        raise result
    summary = json.loads(result.summary_json.read_text()) if result.summary_json else {}
    if args.jsonl:
        print_human(summary, sys.stderr)
    elif args.json:
        print(json.dumps(summary))
    else:
        print_human(summary)
    if interrupted:
        return EXIT_INTERRUPTED
    return 0 if result.qc_passed else 1


def _broadcast(listeners: list[Callable[[RunEvent], None]], event: RunEvent) -> None:
    """Hand `event` to every listener (terminal printer, LSL outlets)."""
    for listener in listeners:
        listener(event)


def _with_duration(protocol: Protocol, duration_s: float | None) -> Protocol:
    """The protocol with every ``monitor`` step limited to ``duration_s`` (None: as written)."""
    if duration_s is None:
        return protocol
    if not math.isfinite(duration_s) or duration_s <= 0:
        raise ValueError(f"--duration must be a number of seconds > 0, got {duration_s:g}")
    return protocol.with_monitor_duration(duration_s)


def _simulated_patient(config: InstrumentConfig, args: argparse.Namespace) -> InstrumentConfig:
    """The configuration with ``--sim-scenario`` and ``--sim-speed`` applied."""
    if args.sim_scenario is None and args.sim_speed == 1.0:
        return config
    if not config.detector.simulated:
        raise ValueError("--sim-scenario and --sim-speed need the simulated board (add --sim)")
    if not math.isfinite(args.sim_speed) or not 0 < args.sim_speed <= 1000:
        raise ValueError(f"--sim-speed must be in (0, 1000], got {args.sim_speed:g}")
    simulator = config.simulator.model_copy(
        update={
            "scenario": args.sim_scenario,
            "scenario_period_s": args.duration,
            "speed": args.sim_speed,
        }
    )
    return config.model_copy(update={"simulator": simulator})


def _wait(
    done: threading.Event,
    runner: ProtocolRunner,
    prompt_waiting: threading.Event,
    monitoring: threading.Event,
) -> bool:
    """Wait until the run has ended, confirming each operator prompt when Enter is pressed;
    whether it was interrupted (aborted).

    A Ctrl-C while a monitor step runs stops the monitoring normally (the record, its results
    and alarm log are complete and the remaining steps run); any other Ctrl-C (or the end of
    the input at a prompt) aborts the run (again); the command still waits until the runner
    has closed the record and written the summary and the report.
    """
    interrupted = False
    while True:
        try:
            while not done.wait(0.2):
                if prompt_waiting.is_set() and not interrupted and _line_typed():
                    prompt_waiting.clear()
                    if sys.stdin.readline() == "":
                        raise KeyboardInterrupt  # no operator left to confirm
                    runner.confirm()
                elif monitoring.is_set() and sys.stdin.isatty() and _line_typed():
                    _alarm_command(sys.stdin.readline(), runner)
            return interrupted
        except KeyboardInterrupt:
            if monitoring.is_set() and not interrupted:
                monitoring.clear()
                print("nirpoct: stopping the monitoring; completing the record …", file=sys.stderr)
                runner.stop()
                continue
            print(
                "nirpoct: interrupted; aborting the run …"
                if not interrupted
                else "nirpoct: interrupted again; still closing the run record …",
                file=sys.stderr,
            )
            interrupted = True
            runner.abort()


def _alarm_command(line: str, runner: ProtocolRunner) -> None:
    """``a`` + Enter acknowledges the active alarms, ``p`` + Enter pauses the alarms."""
    command = line.strip().lower()
    if command == "a":
        runner.acknowledge_alarms()
    elif command == "p":
        runner.pause_alarms()
    elif command:
        print(
            "nirpoct: type a (acknowledge alarms) or p (pause alarms), then Enter", file=sys.stderr
        )


def _line_typed() -> bool:
    """True when standard input has something to read (a line, or its end)."""
    readable, _, _ = select.select([sys.stdin], [], [], 0.0)
    return bool(readable)


def print_human(summary: dict[str, Any], stream: TextIO | None = None) -> None:
    """The outcome for a person (on stdout unless ``stream`` is given)."""
    gates = summary["qc_gates"]
    passed = sum(g["passed"] for g in gates)
    print(
        f"{summary['protocol']['name']} {summary['status']}: "
        f"QC {'passed' if summary['qc_passed'] else 'NOT passed'} "
        f"({passed}/{len(gates)} gates)\n"
        f"  record  {summary['record'] or '(none: no device was opened)'}\n"
        f"  report  {summary['report_pdf'] or '(not written: see the warning above)'}\n"
        f"  summary {summary['summary_json']}",
        file=stream or sys.stdout,
    )
