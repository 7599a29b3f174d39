"""The one sentence a clinician reads first (ARCHITECTURE §5.1 ``headline``).

The first-line choice is the patient's first-line systemic class (a subclass of
gk:FirstLineSystemicClass); when there is none and a testing recommendation applies, testing
comes first. Next steps are the patient-specific recommendations (not the general principles
of gk:everyPatient classes) other than the first-line ones, in pathway order; missing facts are
the gk:missingFact of every alert raised (shapes and classes).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..namespaces import curie, expand

# Display order of recommendation categories in the headline's next steps (§5.1 categories);
# presentation only: which recommendation applies is decided by the ontology.
_STEP_ORDER = ("testing", "reassessment", "primary-tumour", "sequencing", "hepatectomy", "postoperative")


def first_line_class(tables, treatment_classes: Sequence[str]) -> str | None:
    chosen = [c for c in treatment_classes if c in tables.first_line]
    return chosen[0] if chosen else None


def next_steps(recommendations: Sequence[dict[str, Any]], general: set[str]) -> list[dict[str, Any]]:
    specific = [r for r in recommendations if r["id"] not in general and r["category"] in _STEP_ORDER]
    specific.sort(key=lambda r: (_STEP_ORDER.index(r["category"]), r["id"]))
    return [{"id": r["id"], "label": r["title"] or r["label"]} for r in specific]


def alert_missing(kb, tables, alert: str) -> list[str]:
    """Labels of the facts one alert says are missing (its gk:missingFact and its shape's), sorted by fact."""
    item = tables.items.get(alert)
    facts = set(item.missing) if item else set()
    rule = tables.shapes_by_alert.get(alert)
    if rule:
        facts |= rule.missing
    return [kb.label(fact) or curie(fact) for fact in sorted(facts)]


def merge_missing(per_alert: Sequence[Sequence[str]]) -> list[str]:
    """The alerts' missing-fact labels in alert order, each once."""
    out: list[str] = []
    for labels in per_alert:
        for label in labels:
            if label not in out:
                out.append(label)
    return out


def missing_facts(kb, tables, alert_ids: Sequence[str]) -> list[str]:
    return merge_missing([alert_missing(kb, tables, alert) for alert in alert_ids])


def unsafe_actions(plan: Sequence[dict[str, Any]]) -> tuple[str, ...]:
    """The plan's contraindicated actions, in plan order: all the headline reads of the plan."""
    return tuple(p["action"] for p in plan if p["verdict"] == "contraindicated")


def headline(kb, tables, status: str, treatment_classes: Sequence[str], recommendations: Sequence[dict[str, Any]],
             general: set[str], alert_ids: Sequence[str], plan: Sequence[dict[str, Any]],
             conflicts: Sequence[str] = ()) -> dict[str, Any]:
    """The headline; ``conflicts`` are not part of it (the record's conflicts are listed beside it)."""
    return headline_of(kb, tables, status, treatment_classes, recommendations, general, alert_ids, unsafe_actions(plan))


def headline_of(kb, tables, status: str, treatment_classes: Sequence[str], recommendations: Sequence[dict[str, Any]],
                general: set[str] | frozenset[str], alert_ids: Sequence[str], unsafe: Sequence[str]) -> dict[str, Any]:
    return headline_text(kb, tables, status, treatment_classes, recommendations, general,
                         missing_facts(kb, tables, alert_ids), unsafe)


def headline_text(kb, tables, status: str, treatment_classes: Sequence[str], recommendations: Sequence[dict[str, Any]],
                  general: set[str] | frozenset[str], missing: list[str], unsafe: Sequence[str]) -> dict[str, Any]:
    """The headline from the alerts' missing facts and the plan's contraindicated actions."""
    return finish(status, headline_start(kb, tables, status, treatment_classes, recommendations, general), missing, unsafe)


def headline_start(kb, tables, status: str, treatment_classes: Sequence[str], recommendations: Sequence[dict[str, Any]],
                   general: set[str] | frozenset[str]) -> tuple[str, dict[str, Any] | None, list[dict[str, Any]]]:
    """(opening text, first line, next steps): the part that depends on the recommendations only
    (:mod:`guidekg.decision.memo` keeps one per recommendation context)."""
    if status == "invalid":
        return "Invalid record: correct the validation findings before any recommendation.", None, []
    if status == "contradictory":
        return "Contradictory record: resolve the conflicting facts first.", None, []
    chosen = first_line_class(tables, [c for c in treatment_classes
                                   if any(curie(c) in r.get("classes", ()) for r in recommendations)])
    steps = next_steps(recommendations, general)
    first = {"class": curie(chosen), "label": kb.label(chosen)} if chosen else None
    before = [s for s in steps if (item := tables.items.get(expand(s["id"]))) is not None and item.precedes]
    if first:
        text = f"First line: {first['label']}."
    elif before:
        text = f"Test first: {before[0]['label']}; no first-line regimen until the results are in."
    else:
        text = "No first-line choice at this stage."
    follow = [s for s in steps if s not in before[:1]]
    if follow:
        text += f" Next: {follow[0]['label']}."
    return text, first, steps


def finish(status: str, start: tuple[str, dict[str, Any] | None, list[dict[str, Any]]], missing: list[str],
           unsafe: Sequence[str]) -> dict[str, Any]:
    """The headline from its opening (:func:`headline_start`) and the patient's missing facts and contraindications."""
    text, first, steps = start
    if status == "contradictory" and unsafe:
        text += " Contraindicated now: " + ", ".join(unsafe) + "."
    elif status == "ok":
        if unsafe:
            text += " Contraindicated in the plan: " + ", ".join(unsafe) + "."
        if missing:
            text += " Missing: " + ", ".join(missing) + "."
    return {"text": text, "first_line": first, "next_steps": steps, "missing": missing}
