"""A terminal table: one block per patient, what a clinician scans first."""

from __future__ import annotations

from collections.abc import Sequence

from ..namespaces import curie
from ..recommend import PatientResult


def render_table(results: Sequence[PatientResult]) -> str:
    lines: list[str] = []
    for r in results:
        lines.append(f"== {r.record.patient_id}  [{r.status}]  ({r.record.source})")
        if r.status == "contradictory":
            for conflict in r.conflicts:
                lines.append(f"   conflict: {conflict}")
        for finding in r.validation:
            lines.append(f"   {finding.severity}: {finding.path + ': ' if finding.path else ''}{finding.message}")
        if r.treatment_classes:
            lines.append("   classes: " + ", ".join(curie(c) for c in r.treatment_classes))
        for rec in r.recommendations:
            amend = f" (amends {rec['amends']})" if rec["amends"] else ""
            cites = ", ".join(e["id"] for e in rec["evidence"])
            lines.append(f"   [{rec['category']}] {rec['title'] or rec['id']}{amend}  <{cites}>")
        for alert in r.alerts:
            lines.append(f"   ALERT {alert['severity']}: {alert['label'] or alert['id']}")
        lines.append("")
    counts = {s: sum(1 for r in results if r.status == s) for s in ("ok", "invalid", "contradictory")}
    lines.append(f"{len(results)} patients: " + ", ".join(f"{n} {s}" for s, n in counts.items()))
    return "\n".join(lines)
