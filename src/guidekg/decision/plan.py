"""A verdict for every planned action and every drug of the current regimen (ARCHITECTURE §5.1).

Precedence, each step read from data (:mod:`guidekg.decision.tables`):

1. a safety shape that fired for this patient and judges the action (gk:judgesAction) gives its
   gk:planVerdict (contraindicated, not-recommended or needs-data; the lowest gk:verdictRank wins);
2. an applicable recommendation that says to avoid the action (or an action it is gk:consistentWith)
   -> ``not-recommended``;
3. an applicable recommendation that proposes it -> ``recommended``;
4. it is gk:consistentWith a proposed action, or an applicable alert names it -> ``consistent``;
5. an applicable recommendation must precede the action's category (gk:mustPrecede, e.g. testing
   before a first-line choice) -> ``needs-data``; one of the same category proposes something
   else -> ``not-recommended`` (unless it leaves the choice to the team, gk:leavesChoiceToTeam);
6. otherwise -> ``not-addressed``.

"Applicable" means triggered by the patient's classes and, when the recommendation states
phases (gk:appliesInPhase), in the patient's treatment phase. Verdicts from steps 2, 5 and 6
raise the alert their verdict names (gk:verdictAlert); a shape raises its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ..model import PatientRecord
from ..namespaces import curie
from .tables import CURRENT, PHASE, PLANNED, Item, PlanTables


@dataclass
class PlanContext:
    """What one patient brings to the judgement."""

    record: PatientRecord
    recs: Sequence[Item]  # applicable recommendations (phase-filtered)
    alerts: Sequence[Item]  # alerts raised for this patient (classes and shapes)
    fired: set[str]  # alert IRIs raised by safety shapes
    contradictory: bool = False
    entries: Sequence[tuple[str, str]] | None = None  # plan_entries(record), when the caller has it


def patient_phases(record: PatientRecord) -> frozenset[str]:
    return frozenset(str(v) for v in record.values(PHASE))


def plan_entries(record: PatientRecord) -> list[tuple[str, str]]:
    """(action IRI, 'planned'|'current'): planned actions first, then the regimen, each by IRI.

    Sorted, not in input order: RDF and FHIR inputs have no order, and every input form of one
    patient must give the same plan.
    """
    out: list[tuple[str, str]] = []
    for prop, origin in ((PLANNED, "planned"), (CURRENT, "current")):
        out.extend((action, origin) for action in sorted({str(v) for v in record.values(prop)}))
    return out


def shape_verdicts(tables: PlanTables, action: str, fired: Iterable[str]) -> list[tuple[int, str, str]]:
    """(rank, verdict code, alert IRI) of every fired shape that judges this action, best first."""
    types = tables.action_types(action)
    found = []
    for alert in fired:
        rule = tables.shapes_by_alert.get(alert)
        if rule is None or rule.verdict is None or not (rule.judges & types):
            continue
        verdict = tables.verdicts[rule.verdict]
        found.append((verdict.rank, verdict.code, alert))
    return sorted(found)


def _entry(tables: PlanTables, kb, action: str, origin: str, verdict: str, reason: str,
           rule: str | None) -> dict[str, Any]:
    return {"action": tables.written.get(action) or tables.labels.get(action) or curie(action), "from": origin,
            "codes": list(tables.codes.get(action, [])), "verdict": verdict, "reason": reason,
            "rule": curie(rule) if rule else None,
            "evidence": list(kb.evidence(rule)) if rule else []}


def _label(tables: PlanTables, kb, iri: str) -> str:
    return tables.labels.get(iri) or kb.alert(iri).get("label") or curie(iri)


def shaped_entry(tables: PlanTables, kb, action: str, origin: str, code: str, alert: str) -> dict[str, Any]:
    """Step 1: the verdict of the best fired safety shape judging the action (raises no verdict alert)."""
    info = kb.alert(alert)
    entry = _entry(tables, kb, action, origin, code, info["label"] or info["message"], tables.shapes_by_alert[alert].iri)
    entry["evidence"] = list(kb.evidence(alert))
    return entry


def contradictory_entry(tables: PlanTables, kb, action: str, origin: str) -> dict[str, Any]:
    return _entry(tables, kb, action, origin, "needs-data",
                  "the record is contradictory: resolve the conflicting facts before the plan can be judged", None)


def raised_by(tables: PlanTables, entry: dict[str, Any], origin: str) -> tuple[str, str] | None:
    """The (alert IRI, detail) a non-shape verdict raises, if its verdict names an alert."""
    alert = tables.verdict(entry["verdict"]).alert
    return (alert, f"{entry['action']} ({origin}): {entry['verdict']}: {entry['reason']}") if alert else None


def advising_alert(action: str, alerts: Sequence[Item]) -> str | None:
    """The first applicable alert that names the action (step 4), if any."""
    return next((alert.iri for alert in alerts if action in alert.actions), None)


def judge(tables: PlanTables, kb, ctx: PlanContext) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    """The plan entries of one patient and the (alert IRI, detail) pairs the verdicts raise.

    Each entry is a function of the action, its origin and the few patient facts named in the
    step functions' parameters; :mod:`guidekg.decision.memo` memoises them on exactly those."""
    entries: list[dict[str, Any]] = []
    raised: list[tuple[str, str]] = []
    proposing = [r for r in ctx.recs if r.proposes]
    avoiding = [r for r in ctx.recs if r.avoid and not r.judged_by]
    proposed = {a for r in proposing for a in r.actions}
    for action, origin in (ctx.entries if ctx.entries is not None else plan_entries(ctx.record)):
        shaped = shape_verdicts(tables, action, ctx.fired)
        if shaped:
            _, code, alert = shaped[0]
            entries.append(shaped_entry(tables, kb, action, origin, code, alert))
            continue
        if ctx.contradictory:
            entry = contradictory_entry(tables, kb, action, origin)
        else:
            entry = judge_by_recommendations(tables, kb, action, origin, ctx.recs, advising_alert(action, ctx.alerts),
                                             proposing, avoiding, proposed)
        entries.append(entry)
        if (pair := raised_by(tables, entry, origin)) is not None:
            raised.append(pair)
    return entries, raised


def judge_by_recommendations(tables: PlanTables, kb, action: str, origin: str, recs: Sequence[Item], advising: str | None,
                             proposing: Sequence[Item], avoiding: Sequence[Item], proposed: set[str]) -> dict[str, Any]:
    """Steps 2-6. ``proposing``, ``avoiding`` and ``proposed`` are derived from ``recs``;
    ``advising`` is :func:`advising_alert` of the patient's applicable alerts."""
    name = tables.labels.get(action, curie(action))
    avoided_too = tables.links.get(action, frozenset())  # avoiding B avoids the compatible ways of doing B
    for rec in avoiding:
        if action in rec.actions or rec.actions & avoided_too:
            return _entry(tables, kb, action, origin, "not-recommended",
                          f"the guideline says to avoid {name} for this patient now", rec.iri)
    for rec in proposing:
        if action in rec.actions:
            return _entry(tables, kb, action, origin, "recommended", f"{name} is recommended for this patient now", rec.iri)
    compatible = tables.links.get(action, frozenset()) & proposed
    if compatible:
        other = sorted(compatible)[0]
        rec = next(r for r in proposing if other in r.actions)
        return _entry(tables, kb, action, origin, "consistent",
                      f"compatible with the recommended {_label(tables, kb, other)}", rec.iri)
    if advising is not None:
        return _entry(tables, kb, action, origin, "consistent", f"{name} is advised by an alert for this patient", advising)
    categories = tables.categories.get(action, frozenset())
    for rec in recs:
        if rec.precedes & categories:
            return _entry(tables, kb, action, origin, "needs-data",
                          f"{rec.label or curie(rec.iri)} comes first: no {', '.join(sorted(rec.precedes & categories))} "
                          f"choice until its results are recorded", rec.iri)
    for rec in proposing:
        if rec.category in categories and not rec.open_choice:
            wanted = ", ".join(sorted(_label(tables, kb, a) for a in rec.actions))
            return _entry(tables, kb, action, origin, "not-recommended",
                          f"for this patient now the guideline recommends {wanted} ({rec.category}), not {name}", rec.iri)
    return _entry(tables, kb, action, origin, "not-addressed",
                  f"the guideline gives no rule on {name} for this patient now", None)
