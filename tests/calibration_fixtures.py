"""Builders of calibration registries and records for the tests."""

from __future__ import annotations

import datetime as dt

import numpy as np

from calibration.record import (
    Environment,
    Item,
    Laboratory,
    Method,
    RecordContent,
    ReferenceStandard,
    Tolerance,
)
from calibration.registry import Registry
from calibration.uncertainty import Budget, Result, type_a, type_b

PASSWORDS = {
    "admin": "admin-pass-1",
    "tech": "tech-pass-1",
    "rev": "rev-pass-11",
    "boss": "boss-pass-1",
}


def make_registry(root) -> Registry:
    registry = Registry(root)
    registry.add_user("admin", "Ada Admin", ("administrator",), PASSWORDS["admin"])
    for user_id, name, roles in [
        ("tech", "Tom Technician", ("performer",)),
        ("rev", "Rita Reviewer", ("reviewer", "performer")),
        ("boss", "Bo Approver", ("approver", "reviewer")),
    ]:
        registry.add_user(
            user_id,
            name,
            roles,
            PASSWORDS[user_id],
            admin_id="admin",
            admin_password=PASSWORDS["admin"],
        )
    return registry


def gain_result(value: float) -> Result:
    repeat = type_a(
        "repeated gain measurements", [value * (1 + d) for d in (-1e-3, 0, 1e-3)], "DN/e⁻"
    )
    reference = type_b("reference radiometer", value, value * 0.004, "DN/e⁻", "normal")
    return Result("system gain", value, "DN/e⁻", Budget((repeat, reference)))


def make_content(
    *,
    calibration_date: str | None = None,
    interval_days: int = 365,
    as_found_gain: float | None = None,
    reference_due: str = "2099-01-01",
    performer: str = "tech",
) -> RecordContent:
    day = calibration_date or dt.date.today().isoformat()
    return RecordContent(
        kind="detector-characterisation",
        title="Detector characterisation (EMVA 1288)",
        laboratory=Laboratory("nirpoct QC lab", "1 Lab Road, Jinan", "bench 2"),
        customer="Qilu Hospital pilot",
        item=Item("NIR POCT", "NIRPD-A64", "SIM000000", "detector array"),
        method=Method("EMVA 1288 photon transfer", "SOP-DET-001", "2", "0.1.0"),
        references=(
            ReferenceStandard("radiometer", "RAD-7", "CERT-RAD-2026-11", "NIM", reference_due),
        ),
        environment=Environment(23.1, 41.0),
        performed_by=performer,
        calibration_date=day,
        interval_days=interval_days,
        as_left=(gain_result(0.1002),),
        as_found=() if as_found_gain is None else (gain_result(as_found_gain),),
        tolerances=(Tolerance("system gain", 0.095, 0.105, "DN/e⁻"),),
        arrays={"coefficients/flat_gain": np.ones((4, 4)), "raw/means_dn": np.arange(10.0)},
    )


def approved_record(registry: Registry, **content_options) -> str:
    entry = registry.create(make_content(**content_options), PASSWORDS["tech"])
    registry.sign(entry.reference, "reviewed", "rev", PASSWORDS["rev"])
    registry.sign(entry.reference, "approved", "boss", PASSWORDS["boss"])
    return entry.reference
