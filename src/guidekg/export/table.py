"""A terminal table: one block per patient, in the order a clinician reads it.

Headline first, then the verdict on each planned or current action, then the alerts with their
messages, then the recommendations specific to this patient. Recommendations that are general
principles for every patient (classes flagged gk:everyPatient) collapse to one counted line;
``show_all`` lists them.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..namespaces import curie
from ..recommend import PatientResult

_MARK = {"recommended": "ok ", "consistent": "ok ", "not-recommended": "!! ", "contraindicated": "XX ",
         "needs-data": "?? ", "not-addressed": ".. "}


def _alert_lines(alert: dict) -> list[str]:
    lines = [f"   ALERT {alert['severity']}: {alert['label'] or alert['id']}"]
    details = alert.get("details") or []
    for detail in details:
        lines.append(f"       {detail}")
    if not details and alert.get("message"):
        lines.append(f"       {alert['message']}")
    return lines


def render_table(results: Sequence[PatientResult], show_all: bool = False) -> str:
    lines: list[str] = []
    for r in results:
        lines.append(f"== {r.record.patient_id}  [{r.status}]  ({r.record.source})")
        if r.headline.get("text"):
            lines.append(f"   >> {r.headline['text']}")
        if r.status == "contradictory":
            for conflict in r.conflicts:
                lines.append(f"   conflict: {conflict}")
        for finding in r.validation:
            lines.append(f"   {finding.severity}: {finding.path + ': ' if finding.path else ''}{finding.message}")
        for entry in r.plan:
            rule = f"  [{entry['rule']}]" if entry["rule"] else ""
            lines.append(f"   plan {_MARK.get(entry['verdict'], '   ')}{entry['action']} ({entry['from']}): "
                         f"{entry['verdict']}: {entry['reason']}{rule}")
        for alert in r.alerts:
            lines.extend(_alert_lines(alert))
        if r.treatment_classes:
            lines.append("   classes: " + ", ".join(curie(c) for c in r.treatment_classes))
        general = [rec for rec in r.recommendations if rec["id"] in r.general]
        for rec in r.recommendations:
            if rec["id"] in r.general and not show_all:
                continue
            amend = f" (amends {rec['amends']})" if rec["amends"] else ""
            cites = ", ".join(e["id"] for e in rec["evidence"])
            lines.append(f"   [{rec['category']}] {rec['title'] or rec['id']}{amend}  <{cites}>")
        if general and not show_all:
            lines.append(f"   + {len(general)} general principles that apply to every patient (--all shows them)")
        lines.append("")
    counts = {s: sum(1 for r in results if r.status == s) for s in ("ok", "invalid", "contradictory")}
    lines.append(f"{len(results)} patients: " + ", ".join(f"{n} {s}" for s, n in counts.items()))
    return "\n".join(lines)
