"""Building blocks of the protocol schema that step kinds and analyses share.

A step kind is one module of :mod:`protocols.steps` that exports ``KIND``, a :class:`StepKind`:
its options model (a :class:`StepBase` subclass whose ``kind`` field is a one-value
``Literal``), the figures it produces, whether it acquires, and ``run(step, context)``. An
analysis is one module of :mod:`protocols.analyses` exporting ``ANALYSIS``, an
:class:`AnalysisKind`. The protocol file's schema, the list of kinds and the figure tables are
derived from these, so adding a kind is adding one module.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from protocols.context import RunContext, StepOutcome

__all__ = [
    "AnalysisKind",
    "AnalysisRoi",
    "DarkLevel",
    "EarlierSteps",
    "Fail",
    "Fraction",
    "PositiveFloat",
    "PositiveSeconds",
    "StepBase",
    "StepKind",
    "StepName",
    "Strict",
    "earlier_step_problem",
    "explain",
]


class Strict(BaseModel):
    """A frozen model that refuses unknown fields, NaN and infinity."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


PositiveSeconds = Annotated[float, Field(gt=0, le=86_400)]
PositiveFloat = Annotated[float, Field(gt=0)]
Fraction = Annotated[float, Field(ge=0, le=1)]
DarkLevel = Annotated[float, Field(ge=0)]
StepName = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


class StepBase(Strict):
    """Fields every step has: an optional unique ``name`` (defaulted to the kind) and a
    description for the operator."""

    name: StepName | None = None
    description: str = ""


class AnalysisRoi(Strict):
    """Part of each frame an analysis uses, in frame pixels (after binning)."""

    row: Annotated[int, Field(ge=0)] = 0
    col: Annotated[int, Field(ge=0)] = 0
    height: Annotated[int, Field(ge=1)]
    width: Annotated[int, Field(ge=1)]


Fail = Callable[[str, str], NoReturn]
"""``fail(field, problem)`` raises the protocol error of a step's field (dotted name)."""


@dataclass(frozen=True)
class EarlierSteps:
    """What a step's cross-step check may look at: the steps before it by name (their kinds,
    models and the figures they produce) and the LED wavelengths of the protocol's own LED
    pattern (None when it uses the configuration's)."""

    kinds: dict[str, str]
    steps: dict[str, Any]
    figures: dict[str, tuple[str, ...]]
    led_wavelengths_nm: frozenset[int] | None


def earlier_step_problem(
    name: str, earlier: EarlierSteps, kinds: tuple[str, ...], holding: str
) -> str:
    """The message for a reference to ``name`` that is not an earlier step of ``kinds``."""
    candidates = [n for n, k in earlier.kinds.items() if k in kinds]
    return f"{name!r} is not an earlier step with {holding}; allowed: " + (
        ", ".join(candidates) or "none so far"
    )


def explain(error: Mapping[str, Any]) -> str:
    """A pydantic validation error in the words of a protocol file error."""
    if error["type"] == "extra_forbidden":
        return "unknown field (not allowed here)"
    return str(error["msg"]).removeprefix("Value error, ")


def _no_check(step: Any, earlier: EarlierSteps, fail: Fail) -> Any:
    return step


@dataclass(frozen=True)
class StepKind:
    """Everything about one step kind.

    Attributes
    ----------
    model : type of StepBase
        The step's options; its ``kind`` field is ``Literal["<name>"]``.
    run : callable
        ``run(step, context) -> StepOutcome``.
    figures : tuple of str, or callable
        Names (or regular-expression patterns, e.g. ``signal_\\d+_dn``) of the numeric figures
        the step produces, for QC gates; a callable gives them per step.
    acquires : bool
        The step takes data from the instrument: its failure stops the run.
    uses_bench : bool
        The step needs the bench instruments (others run without them connected).
    check : callable
        ``check(step, earlier, fail) -> step``: cross-step rules, run after the schema; returns
        the step (with options normalised).
    """

    model: type[StepBase]
    run: Callable[[Any, RunContext], StepOutcome]
    figures: tuple[str, ...] | Callable[[Any], tuple[str, ...]] = ()
    acquires: bool = False
    uses_bench: bool = False
    check: Callable[[Any, EarlierSteps, Fail], Any] = _no_check

    @property
    def name(self) -> str:
        """The kind's name, as written in protocol files."""
        return str(self.model.model_fields["kind"].annotation.__args__[0])  # type: ignore[union-attr]

    def figures_of(self, step: Any) -> tuple[str, ...]:
        """The figure names (or patterns) ``step`` produces."""
        return self.figures(step) if callable(self.figures) else self.figures


@dataclass(frozen=True)
class AnalysisKind:
    """Everything about one analysis of the ``analyse`` step.

    Attributes
    ----------
    name : str
        As written in protocol files (``analysis: spo2``).
    options : type of Strict
        The analysis's ``options`` model.
    sources : tuple of str
        Step kinds whose data it can analyse.
    figures : tuple of str
        Names or patterns of the numeric figures it produces.
    run : callable
        ``run(step, context) -> StepOutcome``.
    frame_options : tuple of str
        Options that name an earlier ``acquire`` step whose frames the analysis also reads
        (e.g. a baseline).
    """

    name: str
    options: type[Strict]
    sources: tuple[str, ...]
    figures: tuple[str, ...]
    run: Callable[[Any, RunContext], StepOutcome] = field(repr=False)
    frame_options: tuple[str, ...] = ()
