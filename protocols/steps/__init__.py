"""Step kinds of a protocol: one module per kind, each exporting ``KIND``
(a :class:`protocols.schema.StepKind`: options model, figures, ``run``).

The protocol file's schema, its list of kinds and the runner's dispatch all come from
:data:`STEP_KINDS`; adding a kind is one module here and its line below.
"""

from __future__ import annotations

from protocols.schema import StepKind
from protocols.steps import (
    acquire,
    analyse,
    check_calibrations,
    dark_reference,
    lockin_sweep,
    monitor,
    photon_transfer,
    prompt,
    qc_gate,
    report,
    warm_up,
)

STEP_KINDS: dict[str, StepKind] = {
    module.KIND.name: module.KIND
    for module in (
        check_calibrations,
        warm_up,
        dark_reference,
        acquire,
        monitor,
        lockin_sweep,
        photon_transfer,
        analyse,
        qc_gate,
        prompt,
        report,
    )
}
"""Kind name → what it is, in the order error messages list them."""
