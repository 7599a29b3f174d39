"""Concordance counts from plan verdicts, added up chunk by chunk (mergeable, small).

Definitions (per rule r: a recommendation or a safety rule, the ``rule`` of plan entries):

* ``eligible``: assessed patients (status ok or contradictory) to whom r applies: r is one of
  their recommendations, or the rule of one of their plan entries;
* ``judged``: eligible patients with at least one plan entry under r;
* ``concordant``: judged patients whose entries under r are all ``recommended`` or
  ``consistent``;
* ``not_planned``: eligible patients with no plan entry under r (a recommendation nobody
  planned for: a possible gap in care, or simply not yet written down);
* deviations by kind: judged patients with at least one entry under r of that verdict
  (``not-recommended``, ``contraindicated``, ``needs-data``, ``not-addressed``); a patient with
  two kinds counts once under each.

Entries with no rule (``not-addressed``: outside the guideline) are tallied under ``(none)``.
Per group the patient totals are kept too: read, ok, invalid, contradictory, patients with a
plan, and patients whose whole plan is concordant. Proportions are concordant / judged with a
Wilson 95% interval.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

GOOD = ("recommended", "consistent")
DEVIATIONS = ("not-recommended", "contraindicated", "needs-data", "not-addressed")
RULE_FIELDS = ("eligible", "judged", "concordant", "not_planned", *DEVIATIONS)
PATIENT_FIELDS = ("patients", "ok", "invalid", "contradictory", "with_plan", "plan_concordant")
NO_RULE = "(none)"
ALL = "all"

Tally = dict[str, Any]


def new_tally() -> Tally:
    return {"rules": {}, "patients": {}}


def _bump(table: dict, key: tuple, fields: tuple[str, ...], names: Iterable[str]) -> None:
    counts = table.get(key)
    if counts is None:
        counts = table[key] = dict.fromkeys(fields, 0)
    for name in names:
        counts[name] += 1


def add_patient(tally: Tally, full: dict[str, Any], group: str | None) -> None:
    """Count one patient (its full JSON form, ARCHITECTURE §5.1) in ``all`` and in its group."""
    groups = (ALL,) if group is None else (ALL, group)
    status = full["status"]
    plan = full.get("plan") or []
    patient_names = ["patients", status]
    if status != "invalid" and plan:
        patient_names.append("with_plan")
        if all(e["verdict"] in GOOD for e in plan):
            patient_names.append("plan_concordant")
    for g in groups:
        _bump(tally["patients"], (g,), PATIENT_FIELDS, patient_names)
    if status == "invalid":
        return
    verdicts: dict[str, set[str]] = {}
    for entry in plan:
        verdicts.setdefault(entry.get("rule") or NO_RULE, set()).add(entry["verdict"])
    rules = {r["id"] for r in full.get("recommendations") or []} | set(verdicts)
    for rule in rules:
        names = ["eligible"]
        seen = verdicts.get(rule)
        if not seen:
            names.append("not_planned")
        else:
            names.append("judged")
            if seen <= set(GOOD):
                names.append("concordant")
            names.extend(v for v in DEVIATIONS if v in seen)
        for g in groups:
            _bump(tally["rules"], (g, rule), RULE_FIELDS, names)


def merge(into: Tally, other: Tally) -> None:
    for table in ("rules", "patients"):
        for key, counts in other[table].items():
            target = into[table].get(key)
            if target is None:
                into[table][key] = dict(counts)
            else:
                for name, value in counts.items():
                    target[name] += value


def wilson(successes: int, total: int, z: float = 1.959963984540054) -> tuple[float | None, float | None]:
    """Wilson score interval for a binomial proportion (95% by default); (None, None) for n = 0."""
    if total <= 0:
        return None, None
    p = successes / total
    denominator = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denominator
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)
