"""Code systems and the codes of every result nirpoct sends.

SpO2, pulse rate and perfusion index have standard codes (LOINC, ISO/IEEE 11073-10101 "MDC"
nomenclature, UCUM units). Tissue StO2, the DOT lesion findings and the QC verdict have none:
they use the local code system below, documented in ``docs/exchange.md`` (HL7 v2 coding system
name ``99NIRPOCT``, the ``99`` prefix HL7 keeps for local tables; FHIR system
:data:`LOCAL_SYSTEM_URI`).
"""

from __future__ import annotations

from dataclasses import dataclass

LOINC_URI = "http://loinc.org"
UCUM_URI = "http://unitsofmeasure.org"
MDC_URI = "urn:iso:std:iso:11073:10101"
LOCAL_SYSTEM_URI = "urn:nirpoct:result-codes"
HL7_SYSTEM_NAMES = {
    LOINC_URI: "LN",
    MDC_URI: "MDC",
    LOCAL_SYSTEM_URI: "99NIRPOCT",
    UCUM_URI: "UCUM",
}
"""FHIR system URI → HL7 v2 coding system name (table 0396)."""


@dataclass(frozen=True)
class Code:
    """One code: system URI, code and display text."""

    system: str
    code: str
    display: str


@dataclass(frozen=True)
class Unit:
    """A unit: its UCUM code and, where one exists, its MDC code."""

    ucum: str
    display: str
    mdc: Code | None = None


@dataclass(frozen=True)
class ResultCoding:
    """How one kind of result is coded.

    Attributes
    ----------
    primary : Code
        The code HL7 OBX-3 leads with (MDC where one exists, else local).
    alternates : tuple of Code
        Further codes of the same concept (LOINC first); FHIR sends every code, HL7 v2.6 OBX-3
        the primary and the first alternate (a CWE holds two).
    unit : Unit
        Unit of the value.
    vital_sign : bool
        True for the results sent with the FHIR vital-signs profile.
    """

    primary: Code
    alternates: tuple[Code, ...]
    unit: Unit
    vital_sign: bool = False

    @property
    def codes(self) -> tuple[Code, ...]:
        """Every code, primary first."""
        return (self.primary, *self.alternates)

    @property
    def loinc(self) -> tuple[Code, ...]:
        """The LOINC codes among them."""
        return tuple(code for code in self.codes if code.system == LOINC_URI)


def _local(code: str, display: str) -> Code:
    return Code(LOCAL_SYSTEM_URI, code, display)


PERCENT = Unit("%", "%", Code(MDC_URI, "262688", "MDC_DIM_PERCENT"))
PER_MINUTE = Unit("/min", "/min", Code(MDC_URI, "264864", "MDC_DIM_BEAT_PER_MIN"))
MICROMOLAR = Unit("umol/L", "µmol/L")
MILLIMETRE = Unit("mm", "mm")
CUBIC_MILLIMETRE = Unit("mm3", "mm³")
RATIO = Unit("1", "ratio")
COUNT = Unit("{count}", "count")
NO_UNIT = Unit("", "")

SPO2 = ResultCoding(
    Code(MDC_URI, "150456", "MDC_PULS_OXIM_SAT_O2"),
    (
        Code(LOINC_URI, "59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry"),
        Code(LOINC_URI, "2708-6", "Oxygen saturation in Arterial blood"),
    ),
    PERCENT,
    vital_sign=True,
)
PULSE_RATE = ResultCoding(
    Code(MDC_URI, "149530", "MDC_PULS_OXIM_PULS_RATE"),
    (Code(LOINC_URI, "8889-8", "Heart rate by Pulse oximetry"),),
    PER_MINUTE,
    vital_sign=True,
)
PERFUSION_INDEX = ResultCoding(
    Code(MDC_URI, "150488", "MDC_PULS_OXIM_PERF_REL"),
    (Code(LOINC_URI, "61006-3", "Perfusion index Blood Postductal Pulse oximetry"),),
    PERCENT,
)
TISSUE_STO2 = ResultCoding(_local("STO2", "Tissue oxygen saturation (StO2), SRS"), (), PERCENT)
TISSUE_TOI = ResultCoding(_local("TOI", "Tissue oxygenation index (TOI)"), (), PERCENT)
TISSUE_HBT = ResultCoding(_local("HBT", "Tissue total haemoglobin (HbT)"), (), MICROMOLAR)
LESION_COUNT = ResultCoding(_local("DOT-LESION-COUNT", "DOT lesions found"), (), COUNT)
LESION_X = ResultCoding(_local("DOT-LESION-X", "DOT lesion centroid x"), (), MILLIMETRE)
LESION_Y = ResultCoding(_local("DOT-LESION-Y", "DOT lesion centroid y"), (), MILLIMETRE)
LESION_DEPTH = ResultCoding(_local("DOT-LESION-DEPTH", "DOT lesion centroid depth"), (), MILLIMETRE)
LESION_VOLUME = ResultCoding(
    _local("DOT-LESION-VOLUME", "DOT lesion half-maximum volume"), (), CUBIC_MILLIMETRE
)
LESION_CONTRAST = ResultCoding(
    _local("DOT-LESION-CONTRAST", "DOT lesion peak contrast to background"), (), RATIO
)
LESION_HBT = ResultCoding(_local("DOT-LESION-HBT", "DOT lesion peak HbT"), (), MICROMOLAR)
LESION_STO2 = ResultCoding(_local("DOT-LESION-STO2", "DOT lesion peak StO2"), (), PERCENT)
BACKGROUND_HBT = ResultCoding(_local("DOT-BACKGROUND-HBT", "DOT background HbT"), (), MICROMOLAR)
BACKGROUND_STO2 = ResultCoding(_local("DOT-BACKGROUND-STO2", "DOT background StO2"), (), PERCENT)
QC_VERDICT = ResultCoding(_local("QC-VERDICT", "Run quality control verdict"), (), NO_UNIT)
QC_PASSED = _local("QC-PASSED", "Every QC gate and step passed")
QC_FAILED = _local("QC-FAILED", "A QC gate or step did not pass: results are not reliable")
