"""``nirpoct calib photodiode``: figures of merit of the photodiode on the optical bench."""

from __future__ import annotations

import argparse
import datetime as dt
import json

from protocols.cli.common import add_instrument_options, instrument_config

NEEDED = ("lockin", "sourcemeter", "powermeter", "ledsource", "photodiode")


def register(actions: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the action to ``nirpoct calib``."""
    from protocols.cli.calib_records import registry_option

    parser = actions.add_parser(
        "photodiode",
        parents=[registry_option()],
        help="measure the bench photodiode's figures of merit (R, EQE, noise, NEP, D*, LDR, f3dB)",
    )
    add_instrument_options(parser)
    parser.add_argument("--json", action="store_true", help="print JSON on stdout")
    parser.add_argument("--context", metavar="CONTEXT.yaml", help="store a draft record too")
    parser.add_argument("--performer", help="user id of who performed it (with --context)")
    parser.add_argument("--date", default=dt.date.today().isoformat(), help="calibration date")
    parser.set_defaults(run=run, supersedes="", reason="")


def run(args: argparse.Namespace) -> int:
    """Execute ``calib photodiode``."""
    from calibration.photodiode_figures import (
        BenchSetup,
        compute_figures,
        figure_results,
        record_content,
    )
    from instrument.bench import BenchInstruments
    from instrument.instrument import software_version
    from instrument.photodiode_bench import measure_photodiode
    from protocols.cli.calib_records import context_from_file, create_record

    if bool(args.context) != bool(args.performer):
        raise ValueError("--context and --performer go together")
    config, _ = instrument_config(args)
    missing = [name for name in NEEDED if getattr(config.bench, name) is None]
    if missing:
        raise ValueError(f"the configuration's bench lacks {', '.join(missing)}")
    setup_config = config.bench.photodiode
    assert setup_config is not None  # checked with the other needed parts
    setup = BenchSetup(
        area_cm2=setup_config.area_cm2,
        tia_gain_v_per_a=setup_config.tia_gain_v_per_a,
        split_ratio=setup_config.split_ratio,
    )
    with BenchInstruments(config.bench, seed=config.simulator.seed) as bench:
        led, meter, power, lockin = (
            bench.ledsource,
            bench.sourcemeter,
            bench.powermeter,
            bench.lockin,
        )
        assert led is not None and meter is not None and power is not None and lockin is not None
        raw = measure_photodiode(led, meter, power, lockin)
    figures = compute_figures(raw, setup)
    results = figure_results(figures)
    if args.json:
        print(
            json.dumps(
                {
                    "figures": [
                        {
                            "name": r.name,
                            "value": r.value,
                            "unit": r.unit,
                            "standard_uncertainty": r.standard_uncertainty,
                            "expanded_uncertainty": r.expanded_uncertainty,
                            "k": r.coverage_factor,
                        }
                        for r in results
                    ],
                    "warnings": list(figures.warnings),
                }
            )
        )
    else:
        for r in results:
            print(f"{r.name:60s} {r.value:.4g} ± {r.expanded_uncertainty:.2g} {r.unit} (k=2)")
        for warning in figures.warnings:
            print(f"warning: {warning}")
    if args.context:
        content = record_content(
            figures,
            raw,
            context_from_file(args.context),
            performed_by=args.performer,
            calibration_date=args.date,
            software_version=software_version(),
        )
        return create_record(args, content)
    return 0
