"""Does a cancer Condition count? FHIR clinicalStatus, verificationStatus and abatement, read as data.

Why: a resolved cancer, a 'differential' diagnosis or an abated metastasis must not get a
first-line regimen. The status codes and what they mean live in ``ontology/mappings/fhir.csv``
(slots ``clinical-status`` and ``verification-status``, kind ``counts`` / ``not-active`` /
``needs-confirmation``); an absent status counts, as FHIR leaves it to the sender. Each
decision that stops a condition from counting is returned as words the caller puts in the
patient's validation output.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .fhir_map import FhirMapping


@dataclass(frozen=True)
class StatusDecision:
    """``counts``, ``not-active`` or ``needs-confirmation``, and why (None when it simply counts)."""

    kind: str
    reason: str | None = None


def _codes(concept: Any) -> list[tuple[str, str]]:
    return [(c.system or "", c.code or "") for c in (concept.coding or [])] if concept is not None else []


def condition_status(res: Any, mapping: FhirMapping) -> StatusDecision:
    """The decision for one Condition (already known to be a cancer code the guideline reads)."""
    for slot, element, concept in (("verification-status", "verificationStatus", res.verificationStatus),
                                   ("clinical-status", "clinicalStatus", res.clinicalStatus)):
        for system, code in _codes(concept):
            rules = mapping.lookup(slot, system, code)
            kind = rules[0].kind if rules else ""
            if kind in ("not-active", "needs-confirmation"):
                return StatusDecision(kind, f"{element} is '{code}'")
    for name in ("abatementDateTime", "abatementAge", "abatementPeriod", "abatementRange", "abatementString"):
        value = getattr(res, name, None)
        if value is not None:
            shown = value.isoformat() if hasattr(value, "isoformat") else str(value) if isinstance(value, str) else "recorded"
            return StatusDecision("not-active", f"{name} is {shown} (the condition has abated)")
    return StatusDecision("counts")
