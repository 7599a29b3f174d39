"""One patient's recommendations, plan verdicts, alerts and headline, from memoised parts.

Why parts and not the whole patient: a synthetic cohort draws its plan entries and its facts
independently, so 19,195 of 20,000 patients had distinct (classes, findings, phase, plan)
combinations; but each *part* depends on few of those and repeats across patients:

- the applicable recommendations: on the treatment classes, the phase and whether a current
  drug is contraindicated by a fired shape (:class:`RecContext`, one per combination);
- one plan entry: on the action, its origin and either the best fired shape judging it, or
  "contradictory", or (the recommendation context, the first applicable alert naming it) --
  exactly the parameters of the step functions of :mod:`guidekg.decision.plan`;
- the headline's opening: on the recommendation context (the parameters of
  :func:`~guidekg.decision.headline.headline_start`); the patient's missing facts and
  contraindicated actions are appended per patient (:func:`~guidekg.decision.headline.finish`).

Each memo is keyed on exactly the arguments of the function it remembers, so a hit returns
what the call would. The values are shared between patients (results are read-only, as the
knowledge's own recommendation and evidence dicts already are). Every table is emptied when
full, so memory stays flat over any cohort; the memos live per Knowledge (a weak map), so a
mutated knowledge (mutation testing) never sees another's answers.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import count
from typing import Any

from ..model import Finding
from ..namespaces import curie, expand
from .headline import alert_missing, finish, headline_start, merge_missing
from .plan import (
    Item,
    contradictory_entry,
    judge_by_recommendations,
    raised_by,
    shape_verdicts,
    shaped_entry,
)

LIMIT = 20_000
"""Entries per memo table before it is emptied (flat memory over a million patients)."""

_SEVERITY_ORDER = {"violation": 0, "warning": 1, "info": 2}
_IDS = count()


@dataclass(frozen=True)
class RecContext:
    """The applicable recommendations of one (treatment classes, phases, current drug unsafe)."""

    id: int  # unique for the process: entry and headline memos key on it
    treatment: tuple[str, ...]
    ordered: list[dict[str, Any]]
    general: frozenset[str]
    items: list[Item]
    proposing: list[Item]
    avoiding: list[Item]
    proposed: set[str]


def _put(table: dict, key: Any, value: Any) -> Any:
    if len(table) >= LIMIT:
        table.clear()
    table[key] = value
    return value


class PlanMemo:
    """The memo tables of one Knowledge."""

    def __init__(self, kb) -> None:
        self.kb = kb
        self.tables = kb.plan_tables
        self._advisors: dict[str, frozenset[str]] = {}
        self._judging: dict[str, list[tuple[int, str, str]]] = {}
        self._contexts: dict[tuple, RecContext] = {}
        self._entries: dict[tuple, tuple[dict[str, Any], tuple[str, str] | None]] = {}
        self._bases: dict[str, dict[str, Any]] = {}
        self._phase_ok: dict[tuple[str, frozenset[str]], bool] = {}
        self._missing: dict[str, list[str]] = {}
        self._headlines: dict[tuple, tuple[str, dict[str, Any] | None, list[dict[str, Any]]]] = {}
        self._class_alerts: dict[tuple, list[tuple[str, str]]] = {}
        self._by_classes: dict[frozenset[str], tuple[list[str], tuple[str, ...], list[str]]] = {}

    # ---------------------------------------------------------------- per patient facts

    def classes(self, classes: frozenset[str]) -> tuple[list[str], tuple[str, ...], list[str]]:
        """(treatment classes sorted, alert classes sorted, their alerts in that order) of a class
        set (the reasoner shares equal sets, so this is one lookup a patient)."""
        found = self._by_classes.get(classes)
        if found is None:
            kb = self.kb
            alert_classes = tuple(sorted(c for c in classes if c in kb.alert_classes))
            found = _put(self._by_classes, classes, (sorted(c for c in classes if c in kb.treatment_classes),
                                                     alert_classes, [a for c in alert_classes for a in kb.class_alerts(c)]))
        return found

    def judging(self, action: str) -> list[tuple[int, str, str]]:
        """shape_verdicts of the action if every shape fired: the fired ones keep this order."""
        found = self._judging.get(action)
        if found is None:
            found = _put(self._judging, action, shape_verdicts(self.tables, action, self.tables.shapes_by_alert))
        return found

    def shaped(self, action: str, fired: set[str]) -> list[tuple[int, str, str]]:
        """Equal to shape_verdicts(tables, action, fired)."""
        return [v for v in self.judging(action) if v[2] in fired]

    # ---------------------------------------------------------------- parts

    def context(self, treatment: tuple[str, ...], phases: frozenset[str], current_unsafe: bool) -> RecContext:
        key = (treatment, phases, current_unsafe)
        found = self._contexts.get(key)
        if found is None:
            found = _put(self._contexts, key, self._context(treatment, phases, current_unsafe))
        return found

    def _context(self, treatment: tuple[str, ...], phases: frozenset[str], current_unsafe: bool) -> RecContext:
        kb, tables = self.kb, self.tables
        recs: dict[str, dict[str, Any]] = {}
        general: set[str] = set()
        specific: set[str] = set()
        for cls in treatment:
            for rec in kb.recommendations(cls):
                item = tables.items.get(expand(rec["id"]))
                if item is not None and (not item.applies_in(phases) or (item.continues and current_unsafe)):
                    continue
                entry = recs.setdefault(rec["id"], dict(rec, classes=[]))
                entry["classes"].append(curie(cls))
                (general if cls in tables.general_classes else specific).add(rec["id"])
        ordered = sorted(recs.values(), key=lambda r: (r["category"] or "", r["id"]))
        items = [tables.items[expand(r["id"])] for r in ordered if expand(r["id"]) in tables.items]
        proposing = [r for r in items if r.proposes]
        return RecContext(next(_IDS), treatment, ordered, frozenset(general - specific), items, proposing,
                          [r for r in items if r.avoid and not r.judged_by], {a for r in proposing for a in r.actions})

    def advisors(self, action: str) -> frozenset[str]:
        """The alert items that name the action (plan step 4)."""
        found = self._advisors.get(action)
        if found is None:
            found = _put(self._advisors, action, frozenset(iri for iri, item in self.tables.items.items()
                                                           if item.kind == "alert" and action in item.actions))
        return found

    def entry(self, action: str, origin: str, fired: set[str], ctx: RecContext, alert_ids: Sequence[str],
              contradictory: bool) -> tuple[dict[str, Any], tuple[str, str] | None]:
        """One plan entry and the verdict alert it raises (what plan.judge does for it).

        ``alert_ids``: the patient's class alerts then SHACL alerts, in plan.judge's order;
        the first that names the action is plan.advising_alert of their items."""
        shaped = self.shaped(action, fired)
        if shaped:
            _, code, alert = shaped[0]
            key: tuple = ("shape", action, origin, code, alert)
        elif contradictory:
            key = ("contradictory", action, origin)
        else:
            advisors = self.advisors(action)
            advising = next((a for a in alert_ids if a in advisors), None) if advisors else None
            key = ("recs", action, origin, ctx.id, advising)
        found = self._entries.get(key)
        if found is None:
            tables, kb = self.tables, self.kb
            if key[0] == "shape":
                found = (shaped_entry(tables, kb, action, origin, key[3], key[4]), None)
            else:
                entry = (contradictory_entry(tables, kb, action, origin) if contradictory else
                         judge_by_recommendations(tables, kb, action, origin, ctx.items, key[4],
                                                  ctx.proposing, ctx.avoiding, ctx.proposed))
                found = (entry, raised_by(tables, entry, origin))
            _put(self._entries, key, found)
        return found

    def headline(self, status: str, ctx: RecContext, alert_ids: Sequence[str], unsafe: tuple[str, ...]) -> dict[str, Any]:
        """headline_of(status, the context's treatment classes, recommendations and general
        principles, alert_ids, unsafe): its opening is kept per (status, context), the alerts
        matter only through their missing facts (kept per alert)."""
        key = (status, ctx.id)
        start = self._headlines.get(key)
        if start is None:
            start = _put(self._headlines, key, headline_start(self.kb, self.tables, status, ctx.treatment, ctx.ordered,
                                                               set(ctx.general)))
        return finish(status, start, merge_missing([self._missing_of(alert) for alert in alert_ids]), unsafe)

    def _missing_of(self, alert: str) -> list[str]:
        found = self._missing.get(alert)
        if found is None:
            found = _put(self._missing, alert, alert_missing(self.kb, self.tables, alert))
        return found

    def alerts(self, alert_classes: tuple[str, ...], findings: Iterable[Finding], phases: frozenset[str],
               raised: Iterable[tuple[str, str]]) -> list[dict[str, Any]]:
        """Alerts of the patient's classes, its SHACL findings and its plan verdicts, less those
        whose gk:appliesInPhase excludes the patient's phase (details are per patient)."""
        alerts: dict[str, dict[str, Any]] = {}
        for alert, by in self._alerts_of_classes(alert_classes, phases):
            if alert not in alerts:
                alerts[alert] = dict(self._alert_base(alert), raised_by=by)
        for by, pairs in (("shacl", [(f.alert, f.message) for f in findings if f.alert]), ("plan", raised)):
            for alert, detail in pairs:
                entry = alerts.get(alert)
                if entry is None:
                    if not self._applies(alert, phases):
                        continue
                    entry = alerts[alert] = dict(self._alert_base(alert), raised_by=by)
                if detail is not None:
                    details = entry.setdefault("details", [])
                    if detail not in details:
                        details.append(detail)
        if len(alerts) < 2:
            return list(alerts.values())
        return sorted(alerts.values(), key=lambda a: (_SEVERITY_ORDER.get(a["severity"], 3), a["id"]))

    def _alert_base(self, alert: str) -> dict[str, Any]:
        found = self._bases.get(alert)
        if found is None:
            found = _put(self._bases, alert, self.kb.alert(alert))
        return found

    def _applies(self, alert: str, phases: frozenset[str]) -> bool:
        """Whether the alert's gk:appliesInPhase admits the patient's phases (kept per alert and phases)."""
        key = (alert, phases)
        found = self._phase_ok.get(key)
        if found is None:
            item = self.tables.items.get(alert)
            found = _put(self._phase_ok, key, item is None or item.applies_in(phases))
        return found

    def _alerts_of_classes(self, alert_classes: tuple[str, ...], phases: frozenset[str]) -> list[tuple[str, str]]:
        key = (alert_classes, phases)
        found = self._class_alerts.get(key)
        if found is None:
            items = self.tables.items
            found = [(alert, curie(cls)) for cls in alert_classes for alert in self.kb.class_alerts(cls)
                     if (item := items.get(alert)) is None or item.applies_in(phases)]
            _put(self._class_alerts, key, found)
        return found


_MEMOS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def plan_memo(kb) -> PlanMemo:
    """The memo tables of this Knowledge (created on first use)."""
    memo = _MEMOS.get(kb)
    if memo is None or memo.tables is not kb.plan_tables:
        memo = _MEMOS[kb] = PlanMemo(kb)
    return memo
